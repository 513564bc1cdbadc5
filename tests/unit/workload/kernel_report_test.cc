// SPDX-License-Identifier: Apache-2.0
// File: kernel_report_test.cc
// The step reports its kernels: per stage, the time by kind (GEMM, attention, memory-bound,
// launch) adds up to the stage's compute, and a kernel profile's rows are counted where they
// match. The shipped H100 profile (workloads/profiles/h100-published.textproto) times
// FlashAttention-3 forward at 16 heads × 16,384 tokens: a 2048-wide, 16-head model at that
// sequence length on one GPU per stage matches it once per layer per micro-batch.
#include "stepsim/spec.h"
#include "stepsim/training_step.h"
#include "stepsim/workload.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

using namespace stepsim;

namespace {

const std::filesystem::path kSource = STEPSIM_SOURCE_DIR;

std::string long_context_workload(const std::string& profile_line) {
    return "stack: MEGATRON_CORE_2024\n"
           "model { layers: 4 hidden: 2048 heads: 16 seq_len: 16384 vocab: 32000 }\n"
           "training { global_batch: 8 micro_batch: 1 }\n"
           "parallelism { tp: 1 pp: 2 dp: 8 zero_stage: 0 }\n"
           "hardware { gpu: \"H100-SXM\" " +
           profile_line + " }\n";
}

}  // namespace

TEST_CASE("the step's kernels by kind add up, and profile rows are counted", "[workload][kernel]") {
    const Topology topology = load_topology_file(kSource / "topologies/dgx-h100-16.textproto");
    const std::string profile = (kSource / "workloads/profiles/h100-published.textproto").string();
    const TrainingJob modelled =
        load_workload_text(long_context_workload(""), (kSource / "w.textproto").string());
    const TrainingJob profiled =
        load_workload_text(long_context_workload("kernel_profile: \"" + profile + "\""),
                           (kSource / "w.textproto").string());
    REQUIRE(profiled.gpu.kernel_profile != nullptr);
    const StepResult a = simulate_step(modelled, topology);
    const StepResult b = simulate_step(profiled, topology);
    REQUIRE(a.compute_model == "kernel");
    REQUIRE(a.attention_kernel == "flash3");
    REQUIRE(a.stages.size() == 2);
    const double microbatches = 8.0 / 8.0;  // global 8 / (micro 1 · dp 8)
    for (std::size_t s = 0; s < 2; ++s) {
        const KernelTiming& k = a.stages[s].kernels;
        INFO("stage " << s);
        CHECK(k.time_s == Approx(k.gemm_s + k.attention_s + k.memory_s + k.launch_s));
        CHECK(k.gemm_s > 0);
        CHECK(k.attention_s > 0);
        // 2 us per launch, the library default.
        CHECK(k.launch_s == Approx(k.kernels * 2e-6));
        CHECK(k.kernels_from_profile == 0);
        // Two layers per stage, one forward attention kernel each per micro-batch.
        CHECK(b.stages[s].kernels.kernels_from_profile == Approx(2 * microbatches));
        CHECK(b.stages[s].kernels.kernels == Approx(k.kernels));
        // The profile's measured FA3 forward (616 TFLOP/s) differs from the curve's.
        CHECK(b.stages[s].kernels.attention_s != Approx(k.attention_s).epsilon(1e-6));
    }
    // Compute in the breakdown is the kernels' time (no recompute, no other compute).
    CHECK(a.stages[0].breakdown.compute_s == Approx(a.stages[0].kernels.time_s).epsilon(1e-6));
}
