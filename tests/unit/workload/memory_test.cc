// SPDX-License-Identifier: Apache-2.0
// File: memory_test.cc
// Memory per GPU. Mixed-precision Adam (Rajbhandari et al. 2020, ZeRO §3): 2 bytes/param of
// bf16 weights, 2 of bf16 gradients, 12 of optimizer state (fp32 master 4 + Adam m 4 + v 4).
// ZeRO stage 1 divides the optimizer state by dp, 2 also the gradients, 3 also the weights.
// Activations per layer per micro-batch: Korthikanti et al. 2022 Table 2.
#include "stepsim/analytic.h"
#include "stepsim/workload.h"

#include "workload_test_models.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>

using stepsim::MemoryBreakdown;
using stepsim::TrainingJob;
using stepsim::test::gpt_model;
using stepsim::test::make_job;

TEST_CASE("a 7B model needs 2 bytes/param of weights and 12 of optimizer state", "[workload]") {
    const TrainingJob job = make_job(stepsim::test::llama_7b_model(), 8);
    const std::int64_t n = stepsim::parameter_count(job.model);
    const MemoryBreakdown memory = stepsim::memory_per_gpu(job, 0);
    REQUIRE(memory.weights_bytes == 2 * n);
    REQUIRE(memory.gradients_bytes == 2 * n);
    // fp32 master copy (4 bytes) + Adam's two fp32 moments (8 bytes).
    REQUIRE(memory.optimizer_bytes == 4 * n + 8 * n);
    // Llama-2-7B has 6.74e9 parameters: "about 14 GB" of bf16 weights.
    REQUIRE(n == Approx(6.74e9).epsilon(0.001));
    REQUIRE(static_cast<double>(memory.weights_bytes) == Approx(13.5e9).epsilon(0.01));

    TrainingJob fp32 = job;
    fp32.training.gradient_precision = stepsim::GradientPrecision::kFp32;
    REQUIRE(stepsim::memory_per_gpu(fp32, 0).gradients_bytes == 4 * n);
}

TEST_CASE("ZeRO stage k divides what it shards by dp", "[workload]") {
    const int dp = 8;
    TrainingJob job = make_job(stepsim::test::llama_7b_model(), 64, 1, 1, dp);
    const MemoryBreakdown base = stepsim::memory_per_gpu(job, 0);
    REQUIRE(base.optimizer_bytes % dp == 0);
    REQUIRE(base.gradients_bytes % dp == 0);
    REQUIRE(base.weights_bytes % dp == 0);
    for (int stage = 1; stage <= 3; ++stage) {
        job.layout.zero_stage = stage;
        const MemoryBreakdown zero = stepsim::memory_per_gpu(job, 0);
        INFO("zero stage " << stage);
        REQUIRE(zero.optimizer_bytes == base.optimizer_bytes / dp);
        REQUIRE(zero.gradients_bytes ==
                (stage >= 2 ? base.gradients_bytes / dp : base.gradients_bytes));
        REQUIRE(zero.weights_bytes == (stage >= 3 ? base.weights_bytes / dp : base.weights_bytes));
        REQUIRE(zero.activations_bytes == base.activations_bytes);
    }
    // ZeRO-3 holds two gathered layers (current + prefetch, bf16) and one layer's unsharded
    // bf16 gradient before its reduce-scatter transiently.
    const std::int64_t layer = stepsim::layer_parameter_count(job.model);
    REQUIRE(stepsim::memory_per_gpu(job, 0).transient_bytes ==
            base.transient_bytes + 2 * 2 * layer + 2 * layer);
}

TEST_CASE("activation bytes per layer follow Korthikanti's Table 2", "[workload]") {
    // GPT layer with dropout, unfused attention: the table's assumptions.
    TrainingJob job = make_job(gpt_model(96, 12288, 96), 1536, 1, 1, 1);
    job.training.is_flash_attention = false;
    job.training.micro_batch = 2;
    for (int tp : {1, 2, 8}) {
        for (bool sp : {false, true}) {
            for (auto mode : {stepsim::Recompute::kNone, stepsim::Recompute::kSelective,
                              stepsim::Recompute::kFull}) {
                job.layout.tp = tp;
                job.layout.is_sequence_parallel = sp;
                job.training.recompute = mode;
                const double expected = stepsim::analytic::korthikanti_activation_bytes(
                    2048, 2, 12288, 96, tp, sp, mode == stepsim::Recompute::kSelective,
                    mode == stepsim::Recompute::kFull);
                INFO("tp " << tp << " sp " << sp << " mode " << stepsim::to_string(mode));
                // Ours rounds once to whole bytes; both sides are sums of a few doubles.
                REQUIRE(std::abs(static_cast<double>(stepsim::layer_activation_bytes(job)) -
                                 expected) <= 1.0);
            }
        }
    }
    // s·b·h·34 with no parallelism and no recompute, plus 5·a·s²·b.
    job.layout.tp = 1;
    job.layout.is_sequence_parallel = false;
    job.training.recompute = stepsim::Recompute::kNone;
    const std::int64_t sbh = 2048LL * 2 * 12288;
    REQUIRE(stepsim::layer_activation_bytes(job) == 34 * sbh + 5LL * 96 * 2048 * 2048 * 2);
    // Fused attention stores no scores: the s² term goes, as with selective recompute.
    job.training.is_flash_attention = true;
    REQUIRE(stepsim::layer_activation_bytes(job) == 34 * sbh);
}

TEST_CASE("in-flight micro-batches: GPipe m, 1F1B p - stage, interleaved Megatron warm-up",
          "[workload]") {
    const int p = 4;
    TrainingJob job = make_job(gpt_model(16, 1024, 16), 64, 1, p, 2);  // m = 32
    REQUIRE(stepsim::microbatches(job) == 32);
    job.layout.schedule = stepsim::PipelineScheduleKind::kGPipe;
    REQUIRE(stepsim::in_flight_chunk_microbatches(job, 0) == 32);
    job.layout.schedule = stepsim::PipelineScheduleKind::kOneFOneB;
    for (int stage = 0; stage < p; ++stage) {
        REQUIRE(stepsim::in_flight_chunk_microbatches(job, stage) == p - stage);
    }
    job.layout.schedule = stepsim::PipelineScheduleKind::kZeroBubbleH1;
    REQUIRE(stepsim::in_flight_chunk_microbatches(job, 0) == p);
    job.layout.schedule = stepsim::PipelineScheduleKind::kInterleaved;
    job.layout.virtual_stages = 2;
    // (p - stage - 1)·2 + (v - 1)·p + 1 chunks
    REQUIRE(stepsim::in_flight_chunk_microbatches(job, 0) == 3 * 2 + 4 + 1);
    REQUIRE(stepsim::in_flight_chunk_microbatches(job, 3) == 0 + 4 + 1);
    // Few micro-batches cap every schedule at what exists.
    job.training.global_batch = 4;  // m = 2
    job.layout.schedule = stepsim::PipelineScheduleKind::kOneFOneB;
    job.layout.virtual_stages = 1;
    REQUIRE(stepsim::in_flight_chunk_microbatches(job, 0) == 2);
}

TEST_CASE("activation memory scales with the in-flight count; 1F1B keeps p on stage 0",
          "[workload]") {
    const int p = 4;
    TrainingJob job = make_job(gpt_model(16, 1024, 16), 64, 1, p, 2);
    job.model.has_dropout = false;  // no embedding mask: activations are layers only
    const std::int64_t layer = stepsim::layer_activation_bytes(job);
    const int layers = stepsim::stage_layers(job.model, job.layout, 0);
    REQUIRE(stepsim::memory_per_gpu(job, 0).activations_bytes == p * layers * layer);
    job.layout.schedule = stepsim::PipelineScheduleKind::kGPipe;
    REQUIRE(stepsim::memory_per_gpu(job, 0).activations_bytes == 32 * layers * layer);
    REQUIRE(stepsim::memory_per_gpu(job, 0, 5).activations_bytes == 5 * layers * layer);
}
