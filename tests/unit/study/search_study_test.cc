// SPDX-License-Identifier: Apache-2.0
// File: search_study_test.cc
// The layout search study. with_layout() on the loaded job must be the job the loader builds
// from the same layout given as overrides (what `stepsim search` did before it edited structs):
// the same validate_job verdict and, when valid, the same simulated step to the picosecond.
// run_search() must not depend on the thread count.
#include "stepsim/error.h"
#include "stepsim/results_json.h"
#include "stepsim/spec.h"
#include "stepsim/study/search.h"
#include "stepsim/topology.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace {

const std::string kTopology = std::string(STEPSIM_SOURCE_DIR) + "/topologies/dgx-h100-16.textproto";
const std::string kWorkload = std::string(STEPSIM_SOURCE_DIR) + "/workloads/tiny-pp.textproto";

std::vector<stepsim::SpecOverride> as_overrides(const stepsim::study::LayoutCandidate& c) {
    const char* schedule =
        c.schedule == stepsim::PipelineScheduleKind::kGPipe          ? "GPIPE"
        : c.schedule == stepsim::PipelineScheduleKind::kInterleaved  ? "INTERLEAVED"
        : c.schedule == stepsim::PipelineScheduleKind::kZeroBubbleH1 ? "ZB_H1"
        : c.schedule == stepsim::PipelineScheduleKind::kDualPipe     ? "DUALPIPE"
        : c.schedule == stepsim::PipelineScheduleKind::kDualPipeV    ? "DUALPIPEV"
                                                                     : "ONE_F_ONE_B";
    return {{"parallelism.tp", std::to_string(c.tp)},
            {"parallelism.pp", std::to_string(c.pp)},
            {"parallelism.dp", std::to_string(c.dp)},
            {"parallelism.sequence_parallel", c.tp > 1 ? "true" : "false"},
            {"parallelism.schedule", schedule},
            {"parallelism.virtual_stages", std::to_string(c.virtual_stages)},
            {"parallelism.zero_stage", std::to_string(c.zero_stage)},
            {"parallelism.ep", std::to_string(c.ep)},
            {"parallelism.cp", std::to_string(c.cp)},
            {"training.micro_batch", std::to_string(c.micro_batch)}};
}

}  // namespace

TEST_CASE("with_layout equals loading the layout as overrides", "[study][search]") {
    const stepsim::Topology topology = stepsim::load_topology_file(kTopology);
    const stepsim::TrainingJob base = stepsim::load_workload_file(kWorkload);
    stepsim::study::SearchSpace space;
    space.tp = {1, 2, 4};
    space.pp = {1, 2, 4};
    space.micro_batch = {1, 2, 3};  // 3 does not divide the batch: invalid layouts too
    space.zero_stage = {0, 1};
    const auto candidates = stepsim::study::enumerate_layouts(space, 16);
    REQUIRE(candidates.size() > 10);
    int simulated = 0;
    int invalid = 0;
    for (const stepsim::study::LayoutCandidate& c : candidates) {
        INFO("tp " << c.tp << " pp " << c.pp << " dp " << c.dp << " mb " << c.micro_batch << " "
                   << stepsim::study::schedule_label(c) << " zero " << c.zero_stage);
        const stepsim::TrainingJob edited = stepsim::study::with_layout(base, c);
        bool loads = true;
        stepsim::TrainingJob loaded;
        try {
            loaded = stepsim::load_workload_file(kWorkload, as_overrides(c));
        } catch (const stepsim::SpecError&) {
            loads = false;
        }
        REQUIRE(stepsim::validate_job(edited).empty() == loads);
        if (!loads) {
            ++invalid;
            continue;
        }
        ++simulated;
        const stepsim::StepResult a = stepsim::simulate_step(edited, topology, {});
        const stepsim::StepResult b = stepsim::simulate_step(loaded, topology, {});
        CHECK(a.step_time_s == b.step_time_s);
        CHECK(a.fingerprint == b.fingerprint);
    }
    CHECK(simulated > 0);
    CHECK(invalid > 0);
}

TEST_CASE("run_search ranks the same whatever the thread count", "[study][search]") {
    const stepsim::Topology topology = stepsim::load_topology_file(kTopology);
    const stepsim::TrainingJob base = stepsim::load_workload_file(kWorkload);
    stepsim::study::SearchSpace space;
    space.tp = {2, 4};
    space.pp = {1, 2, 4};
    space.micro_batch = {1};
    const auto candidates = stepsim::study::enumerate_layouts(space, 16);
    stepsim::study::SearchOptions options;
    options.jobs = 1;
    const stepsim::study::SearchResult one =
        stepsim::study::run_search(base, topology, candidates, options);
    options.jobs = 3;
    const stepsim::study::SearchResult three =
        stepsim::study::run_search(base, topology, candidates, options);
    REQUIRE(one.ranked == three.ranked);
    CHECK(stepsim::to_json(one, 0) == stepsim::to_json(three, 0));
    REQUIRE(!one.ranked.empty());
    // Ranked by step time, best first.
    for (std::size_t k = 1; k < one.ranked.size(); ++k) {
        CHECK(one.evaluations[one.ranked[k - 1]].step_time_s <=
              one.evaluations[one.ranked[k]].step_time_s);
    }
}

TEST_CASE("search enumerates context- and expert-parallel degrees that fit the GPUs",
          "[study][search]") {
    // tp·cp·pp·dp = 16 GPUs, ep | dp: every candidate fits, and every (tp, pp, cp, ep) that
    // fits is there once.
    stepsim::study::SearchSpace space;
    space.tp = {1, 2, 4};
    space.pp = {1, 2};
    space.micro_batch = {1};
    space.schedules = {{stepsim::PipelineScheduleKind::kOneFOneB, 1}};
    space.zero_stage = {0};
    space.cp = {1, 2, 4, 3};  // 3 does not divide 16
    space.ep = {1, 2, 4};
    const auto candidates = stepsim::study::enumerate_layouts(space, 16);
    int expected = 0;
    for (const int tp : space.tp) {
        for (const int pp : space.pp) {
            for (const int cp : space.cp) {
                if (16 % (tp * pp * cp) != 0) {
                    continue;
                }
                for (const int ep : space.ep) {
                    expected += (16 / (tp * pp * cp)) % ep == 0 ? 1 : 0;
                }
            }
        }
    }
    REQUIRE(static_cast<int>(candidates.size()) == expected);
    bool has_cp4 = false;
    for (const stepsim::study::LayoutCandidate& c : candidates) {
        REQUIRE(c.tp * c.cp * c.pp * c.dp == 16);
        REQUIRE(c.dp % c.ep == 0);
        REQUIRE(c.cp != 3);
        has_cp4 = has_cp4 || c.cp == 4;
    }
    REQUIRE(has_cp4);
}

TEST_CASE("search simulates CP layouts and marks the ones the model refuses", "[study][search]") {
    const stepsim::Topology topology = stepsim::load_topology_file(kTopology);
    stepsim::TrainingJob base = stepsim::load_workload_file(kWorkload);
    base.training.is_flash_attention = true;  // context parallelism needs fused attention
    stepsim::study::SearchSpace space;
    space.tp = {2};
    space.pp = {2};
    space.micro_batch = {2};
    space.schedules = {{stepsim::PipelineScheduleKind::kOneFOneB, 1}};
    space.zero_stage = {1};
    space.cp = {1, 2, 4};
    const auto candidates = stepsim::study::enumerate_layouts(space, 16);
    REQUIRE(candidates.size() == 3);  // dp 4, 2, 1
    const stepsim::study::SearchResult result =
        stepsim::study::run_search(base, topology, candidates, {});
    REQUIRE(result.has_cp);
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        const auto& c = candidates[i];
        const auto& e = result.evaluations[i];
        INFO("cp " << c.cp << ": " << e.reason);
        // seq 2048 splits into 2·cp chunks; the batch of 32 needs micro_batch·dp to divide it.
        REQUIRE(e.verdict == stepsim::study::LayoutVerdict::kSimulated);
        REQUIRE(stepsim::study::with_layout(base, c).layout.cp == c.cp);
    }
    // CP halves each GPU's tokens per micro-batch and doubles the micro-batches: the step runs.
    REQUIRE(result.evaluations[1].step_time_s > 0);
    // A sequence that 2·cp does not split: the layout is invalid, with the reason.
    stepsim::TrainingJob odd = base;
    odd.model.seq_len = 2052;  // 4 | 2052, 8 does not
    const stepsim::study::SearchResult refused =
        stepsim::study::run_search(odd, topology, candidates, {});
    REQUIRE(refused.evaluations[1].verdict == stepsim::study::LayoutVerdict::kSimulated);
    REQUIRE(refused.evaluations[2].verdict == stepsim::study::LayoutVerdict::kInvalid);
    REQUIRE(refused.evaluations[2].reason.find("cp") != std::string::npos);
}
