// SPDX-License-Identifier: Apache-2.0
// File: search.h
// The layout search study: every TP × PP × DP × micro-batch × schedule × ZeRO layout of a
// workload's model on a cluster, pruned (validate_job; memory against HBM), the rest simulated
// one step each on worker threads and ranked by step time, by step time over goodput (the
// run-level failure/checkpoint simulation at Daly's interval) or by the step time under a
// straggler scenario (the what-if study). Layouts are applied to the loaded job struct: no
// re-parsing, no override strings. The CLI (`stepsim search`) parses flags and prints;
// sim/report/search_json.cc serializes.
#pragma once

#include "stepsim/error.h"
#include "stepsim/failures.h"
#include "stepsim/stragglers.h"
#include "stepsim/training_step.h"
#include "stepsim/workload.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace stepsim {
class Topology;
}  // namespace stepsim

namespace stepsim::study {

enum class SearchObjective : std::uint8_t { kStepTime, kGoodput, kStraggler };

/// "step_time", "goodput", "straggler".
std::string_view to_string(SearchObjective objective);

/// One layout: the parallelism, micro-batch, schedule and ZeRO stage tried.
struct LayoutCandidate {
    int tp = 1;
    int pp = 1;
    int dp = 1;
    int micro_batch = 1;
    PipelineScheduleKind schedule = PipelineScheduleKind::kOneFOneB;
    int virtual_stages = 1;
    int zero_stage = 0;
    int ep = 1;  ///< expert parallelism (MoE workloads; EP ranks come from data parallelism)
    int cp = 1;  ///< context parallelism (tp·cp·pp·dp = GPUs)
};

/// "1f1b", "gpipe", "zb-h1", "interleaved:V".
std::string schedule_label(const LayoutCandidate& candidate);

/// The values tried on each axis.
struct SearchSpace {
    std::vector<int> tp = {1, 2, 4, 8};
    std::vector<int> pp = {1, 2, 4, 8, 16, 32, 64};
    std::vector<int> micro_batch = {1, 2, 4};
    /// (schedule, virtual stages).
    std::vector<std::pair<PipelineScheduleKind, int>> schedules = {
        {PipelineScheduleKind::kOneFOneB, 1},
        {PipelineScheduleKind::kInterleaved, 2},
        {PipelineScheduleKind::kZeroBubbleH1, 1}};
    std::vector<int> zero_stage = {0, 1};
    std::vector<int> ep = {1};
    std::vector<int> cp = {1};
};

/// Every layout of `space` on `gpus` GPUs (dp = gpus / (tp·cp·pp), tp·cp·pp dividing gpus), in
/// tp, pp, micro-batch, schedule, ZeRO, CP, EP order; without a pipeline only 1F1B; EP sizes
/// that divide dp. What depends on the model (experts % ep, seq_len % 2·cp, ...) is left to
/// validate_job(), which marks such a layout invalid with its reason.
std::vector<LayoutCandidate> enumerate_layouts(const SearchSpace& space, int gpus);

/// `job` with `candidate`'s layout: tp, pp, dp, sequence parallelism (on when tp > 1),
/// schedule, virtual stages, ZeRO stage, expert and context parallelism and micro-batch.
TrainingJob with_layout(TrainingJob job, const LayoutCandidate& candidate);

/// Goodput ranking: the run each layout's step time goes through.
struct SearchGoodput {
    RunSpec base;  ///< step_time and the checkpoint interval are each layout's
    std::int64_t seeds = 20;
    std::uint64_t seed = 1;
};

struct SearchOptions {
    SearchObjective by = SearchObjective::kStepTime;
    StepOptions step;
    int jobs = 1;           ///< layouts simulated at once (the results do not depend on it)
    SearchGoodput goodput;  ///< by goodput
    /// By straggler: the scenario for one layout's job, on the worker's own topology (a
    /// scenario names ranks and links of the layout). May throw SpecError or
    /// another UserError: the layout is then invalid, with the message as its reason.
    std::function<Scenario(Topology& topology, const TrainingJob& job)> scenario;
    WhatIfOptions whatif;  ///< by straggler (no attribution or sensitivity needed)
};

enum class LayoutVerdict : std::uint8_t { kSimulated, kInvalid, kOutOfMemory };

struct LayoutEvaluation {
    LayoutVerdict verdict = LayoutVerdict::kInvalid;
    std::string reason;  ///< why invalid or out of memory
    double step_time_s = 0;
    double mfu = 0;
    double tokens_per_s = 0;
    std::int64_t memory_per_gpu_bytes = 0;
    double goodput = 0;
    double goodput_ci95 = 0;
    double checkpoint_interval_s = 0;
    double effective_step_time_s = 0;  ///< what ranks: step time, / goodput, or with stragglers
    double straggler_step_time_s = 0;
    double slowdown = 0;
};

struct SearchResult {
    /// Where the specs came from, for reports (set by the caller; the study reads no file).
    std::string topology_file;
    std::string workload_file;
    std::string model;
    bool is_moe = false;  ///< the model has experts (the layouts then carry an EP size)
    bool has_cp = false;  ///< some layout has cp > 1 (the layouts then carry a CP size)
    int gpus = 0;
    SearchObjective by = SearchObjective::kStepTime;
    std::vector<LayoutCandidate> candidates;
    std::vector<LayoutEvaluation> evaluations;  ///< one per candidate
    std::vector<std::size_t> ranked;            ///< simulated candidates, best first (stable)
    std::int64_t invalid = 0;
    std::int64_t out_of_memory = 0;
};

/// A goodput run too long for the run clock at some layout's step time (bad input: fewer
/// steps). what(): the run model's message.
class SearchRunTooLong : public UserError {
public:
    SearchRunTooLong(double step_time_s, const std::string& message)
        : UserError(message)
        , step_time_s(step_time_s) {}

    double step_time_s;
};

/// Evaluates every candidate of `base` on `topology` and ranks them. Throws SearchRunTooLong,
/// or what a step simulation throws (the lowest candidate's, whatever options.jobs).
SearchResult run_search(const TrainingJob& base,
                        const Topology& topology,
                        const std::vector<LayoutCandidate>& candidates,
                        const SearchOptions& options);

}  // namespace stepsim::study
