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

TEST_CASE("fp8 GEMMs: the fp8 peak at the fp8 MAMF share, casts, an fp8 weight copy",
          "[workload][kernel]") {
    const std::string base =
        "model { layers: 4 hidden: 8192 heads: 64 seq_len: 4096 vocab: 32000 }\n"
        "training { global_batch: 8 micro_batch: 1 %s }\n"
        "parallelism { tp: 8 pp: 1 dp: 1 sequence_parallel: true }\n"
        "hardware { gpu: \"%s\" }\n";
    const auto workload = [&](const std::string& dtype, const std::string& gpu) {
        std::string text = base;
        text.replace(text.find("%s"), 2, dtype);
        text.replace(text.find("%s"), 2, gpu);
        return text;
    };
    const TrainingJob bf16 = load_workload_text(workload("", "H100-SXM"), "w.textproto");
    const TrainingJob fp8 =
        load_workload_text(workload("gemm_dtype: FP8_GEMM", "H100-SXM"), "w.textproto");
    REQUIRE(fp8.training.gemm_dtype == Dtype::kFp8);
    // H100: fp8 MAMF 1402.6 of 1979, bf16 794.5 of 989 TFLOP/s; the same sustained share.
    REQUIRE(fp8.gpu.fp8_gemm_fraction ==
            Approx(1402.6 / 1979 * kSustainedFractionOfMamf).epsilon(1e-12));
    const LayerCosts a = layer_costs(bf16);
    const LayerCosts b = layer_costs(fp8);
    // Same FLOPs; the fc1 GEMM (4096 x 4096 x 8192 per rank) runs at the fp8 rate: large
    // and well quantized, it is math-bound in both, so the ratio is the rates' ratio within
    // the quantization difference of their tiles.
    REQUIRE(b.forward.gemm_flops == Approx(a.forward.gemm_flops));
    const auto fc1 = [](const GpuSpec& gpu, const WorkAmount& w) {
        for (const Kernel& k : w.kernels) {
            if (k.kind == KernelKind::kGemm && k.name == "fc1") {
                return kernel_model_time_s(gpu, k);
            }
        }
        FAIL("no fc1 kernel");
        return 0.0;
    };
    const double rate_ratio = (1979 * 1402.6 / 1979) / (989 * 794.5 / 989);
    REQUIRE(fc1(bf16.gpu, a.forward) / fc1(fp8.gpu, b.forward) == Approx(rate_ratio).epsilon(0.02));
    // Each of the four linear layers casts its input forward and its output gradient backward.
    int casts = 0;
    for (const Kernel& k : b.forward.kernels) {
        casts += k.name == "cast_fp8" ? 1 : 0;
    }
    REQUIRE(casts == 4);
    REQUIRE(b.forward.memory_bytes > a.forward.memory_bytes);
    // One more byte per parameter for the fp8 weight copy.
    const std::int64_t params = stage_parameter_count(bf16, 0);
    REQUIRE(memory_per_gpu(fp8, 0).weights_bytes - memory_per_gpu(bf16, 0).weights_bytes == params);
    // A100 has no fp8 tensor cores: a located spec error.
    REQUIRE_THROWS_WITH(
        load_workload_text(workload("gemm_dtype: FP8_GEMM", "A100-80GB-SXM"), "w.textproto"),
        Catch::Contains("w.textproto:2") && Catch::Contains("fp8 tensor cores"));
}
