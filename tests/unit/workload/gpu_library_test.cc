// SPDX-License-Identifier: Apache-2.0
// File: gpu_library_test.cc
// The GPU library and the compute-time model:
//   t = gemm / (peak · e_gemm) + attention / (peak · e_attention) + bytes / (HBM · e_memory).
#include "stepsim/workload.h"

#include <catch2/catch.hpp>

#include <set>
#include <string>

TEST_CASE("the library has the five GPUs, found by loose name", "[workload]") {
    std::set<std::string> names;
    for (const stepsim::GpuSpec& gpu : stepsim::gpu_library()) {
        names.insert(gpu.name);
        REQUIRE(gpu.peak_bf16_flops_per_s > 0.0);
        REQUIRE(gpu.hbm_bytes > 0);
        REQUIRE(gpu.hbm_Bps > 0.0);
    }
    REQUIRE(names == std::set<std::string>{"A100-80GB-SXM", "H100-SXM", "H200", "B200", "H800"});
    REQUIRE(stepsim::find_gpu("h100_sxm")->name == "H100-SXM");
    REQUIRE_FALSE(stepsim::find_gpu("V100").has_value());
    // H200 is H100's compute with more, faster memory (reference.md §6).
    const stepsim::GpuSpec h100 = *stepsim::find_gpu("H100-SXM");
    const stepsim::GpuSpec h200 = *stepsim::find_gpu("H200");
    REQUIRE(h200.peak_bf16_flops_per_s == h100.peak_bf16_flops_per_s);
    REQUIRE(h200.hbm_bytes > h100.hbm_bytes);
    REQUIRE(h200.hbm_Bps > h100.hbm_Bps);
    // H800 is the H100 SXM's compute and memory (its NVLink is the topology's).
    const stepsim::GpuSpec h800 = *stepsim::find_gpu("h800");
    REQUIRE(h800.peak_bf16_flops_per_s == h100.peak_bf16_flops_per_s);
    REQUIRE(h800.peak_fp8_flops_per_s == h100.peak_fp8_flops_per_s);
    REQUIRE(h800.sm_count == h100.sm_count);
    REQUIRE(h800.hbm_bytes == h100.hbm_bytes);
}

TEST_CASE("compute time sums each kind of work at its own efficiency", "[workload]") {
    stepsim::GpuSpec gpu;
    gpu.name = "test";
    gpu.peak_bf16_flops_per_s = 1e15;
    gpu.hbm_bytes = 80'000'000'000;
    gpu.hbm_Bps = 2e12;
    gpu.efficiency = {0.8, 0.5, 0.9};
    // Work given as totals only (no kernels) is timed by the shape-blind formula.
    stepsim::WorkAmount work;
    work.gemm_flops = 4e12;
    work.attention_flops = 1e12;
    work.memory_bytes = 9e9;
    const double expected = 4e12 / (1e15 * 0.8) + 1e12 / (1e15 * 0.5) + 9e9 / (2e12 * 0.9);
    REQUIRE(stepsim::compute_time_s(gpu, work) == Approx(expected).epsilon(1e-15));
    // Linear in the work.
    REQUIRE(stepsim::compute_time_s(gpu, 3.0 * work) == Approx(3 * expected).epsilon(1e-15));
    gpu.efficiency.gemm_fraction = 0.0;
    REQUIRE_THROWS_AS(stepsim::compute_time_s(gpu, work), std::invalid_argument);
}

TEST_CASE("TP collectives: all-reduce, or all-gather/reduce-scatter with SP; b·s·h·2 bytes",
          "[workload]") {
    stepsim::TrainingJob job;
    job.model = {};
    job.model.layers = 4;
    job.model.hidden = 1024;
    job.model.ffn_hidden = 4096;
    job.model.heads = 16;
    job.model.kv_heads = 16;
    job.model.seq_len = 512;
    job.model.vocab = 1000;
    job.training.global_batch = 8;
    job.training.micro_batch = 2;
    job.layout.tp = 4;
    job.layout.dp = 4;
    job.gpu = *stepsim::find_gpu("A100-80GB-SXM");
    const std::int64_t size = 2 * 512 * 1024 * 2;
    stepsim::LayerCosts costs = stepsim::layer_costs(job);
    REQUIRE(costs.forward_collectives.size() == 2);
    REQUIRE(costs.backward_collectives.size() == 2);
    for (const auto& c : costs.forward_collectives) {
        REQUIRE(c.op == stepsim::CollectiveOp::kAllReduce);
        REQUIRE(c.size_bytes == size);
    }
    REQUIRE(stepsim::pipeline_message_bytes(job) == size);
    job.layout.is_sequence_parallel = true;
    costs = stepsim::layer_costs(job);
    REQUIRE(costs.forward_collectives.size() == 4);
    REQUIRE(costs.forward_collectives[0].op == stepsim::CollectiveOp::kAllGather);
    REQUIRE(costs.forward_collectives[1].op == stepsim::CollectiveOp::kReduceScatter);
    REQUIRE(stepsim::pipeline_message_bytes(job) == size / 4);
    job.layout.tp = 1;
    REQUIRE(stepsim::layer_costs(job).forward_collectives.empty());
}
