// SPDX-License-Identifier: Apache-2.0
// File: search_json.cc
// `stepsim search --json`: a SearchResult as JSON.
#include "stepsim/report.h"
#include "stepsim/results_json.h"
#include "stepsim/study/search.h"

#include <algorithm>

namespace stepsim {

std::string to_json(const study::SearchResult& result, std::size_t top) {
    using study::SearchObjective;
    const std::size_t shown = top == 0 ? result.ranked.size() : std::min(result.ranked.size(), top);
    JsonWriter json;
    json.begin_object();
    json.field("topology", result.topology_file);
    json.field("workload", result.workload_file);
    json.field("model", result.model);
    json.field("gpus", result.gpus);
    json.field("by", to_string(result.by));
    json.field("layouts", static_cast<std::int64_t>(result.candidates.size()));
    json.field("invalid", result.invalid);
    json.field("out_of_memory", result.out_of_memory);
    json.field("simulated", static_cast<std::int64_t>(result.ranked.size()));
    json.key("ranked").begin_array();
    for (std::size_t k = 0; k < shown; ++k) {
        const study::LayoutCandidate& c = result.candidates[result.ranked[k]];
        const study::LayoutEvaluation& e = result.evaluations[result.ranked[k]];
        json.begin_object();
        json.field("rank", static_cast<std::int64_t>(k + 1));
        json.field("tp", c.tp);
        json.field("pp", c.pp);
        json.field("dp", c.dp);
        json.field("micro_batch", c.micro_batch);
        json.field("schedule", study::schedule_label(c));
        json.field("zero_stage", c.zero_stage);
        if (result.is_moe) {
            json.field("ep", c.ep);
        }
        if (result.has_cp) {
            json.field("cp", c.cp);
        }
        json.field("step_time_s", e.step_time_s);
        json.field("mfu", e.mfu);
        json.field("tokens_per_s", e.tokens_per_s);
        json.field("memory_per_gpu_bytes", e.memory_per_gpu_bytes);
        if (result.by == SearchObjective::kStraggler) {
            json.field("straggler_step_time_s", e.straggler_step_time_s);
            json.field("slowdown", e.slowdown);
        }
        if (result.by == SearchObjective::kGoodput) {
            json.field("goodput", e.goodput);
            json.field("goodput_ci95", e.goodput_ci95);
            json.field("checkpoint_interval_s", e.checkpoint_interval_s);
            json.field("effective_step_time_s", e.effective_step_time_s);
        }
        json.end_object();
    }
    json.end_array();
    json.end_object();
    return json.str() + "\n";
}

}  // namespace stepsim
