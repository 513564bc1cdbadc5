// SPDX-License-Identifier: Apache-2.0
// File: model_flops_test.cc
// Model and hardware FLOPs per step against Megatron's closed form and 6·N·D.
//
// Per token, a GPT layer's forward is 24h² (QKV 6h², projection 2h², MLP 16h²) + 4sh
// (Q·Kᵀ and softmax·V); backward is twice the forward; the logits are 2hV forward. So
//   F = 3·B·s·(l·(24h² + 4sh) + 2hV) = 72·B·s·l·h²·(1 + s/(6h) + V/(12·h·l))
//     = 72·B·s·l·h² + 12·B·s²·l·h + 6·B·s·h·V                               (exact integers)
// and 6·N·D with N = 12lh² + 13lh + (V + s)h + 2h, D = B·s differs from F by exactly
//   F − 6·N·D = B·s·(12·s·l·h − 78·l·h − 6·s·h − 12·h)
// (attention's s² term in, biases/norms/positions out).
#include "stepsim/analytic.h"
#include "stepsim/workload.h"

#include "workload_test_models.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>

namespace {

using stepsim::TrainingJob;
using stepsim::test::gpt_model;
using stepsim::test::make_job;
using Int = __int128;

constexpr double kUlp = 0x1p-53;  // relative rounding of one double operation

// Exact F = 72·B·s·l·h² + 12·B·s²·l·h + 6·B·s·h·V.
Int exact_megatron_flops(Int batch, Int s, Int l, Int h, Int vocab) {
    return 72 * batch * s * l * h * h + 12 * batch * s * s * l * h + 6 * batch * s * h * vocab;
}

struct Case {
    int layers;
    std::int64_t hidden;
    int heads;
    std::int64_t batch;
};

}  // namespace

TEST_CASE("model FLOPs per step equal Megatron's 72BslH²(1 + s/6h + V/12hl)", "[workload]") {
    // GPT-3 175B with batch 1536, and three Megatron Table 1 rows (1.7B, 39.1B, 1T).
    const Case cases[] = {
        {96, 12288, 96, 1536}, {24, 2304, 24, 512}, {48, 8192, 64, 1536}, {128, 25600, 160, 3072}};
    for (const Case& c : cases) {
        const TrainingJob job = make_job(gpt_model(c.layers, c.hidden, c.heads), c.batch);
        const double simulated = stepsim::model_flops_per_step(job);
        const double exact =
            static_cast<double>(exact_megatron_flops(c.batch, 2048, c.layers, c.hidden, 51200));
        const double formula = stepsim::analytic::megatron_flops_per_iteration(
            static_cast<double>(c.batch), 2048, c.layers, static_cast<double>(c.hidden), 51200,
            false);
        // model_flops_per_step sums ~6 double products/sums above 2^53 (each rounds by at
        // most 2^-53 relative); the closed form does ~12 operations. Both agree with the
        // exact integer to within those roundings: the last printed digit of %.15g.
        INFO("layers " << c.layers << " hidden " << c.hidden);
        REQUIRE(std::abs(simulated - exact) <= 8 * kUlp * exact);
        REQUIRE(std::abs(formula - exact) <= 16 * kUlp * exact);
    }
}

TEST_CASE("model FLOPs exceed 6·N·D by the attention and logits terms", "[workload]") {
    const TrainingJob job = make_job(gpt_model(96, 12288, 96), 1536);
    const Int b = 1536, s = 2048, l = 96, h = 12288;
    const Int n = stepsim::parameter_count(job.model);
    const Int tokens = b * s;
    const Int difference = tokens * (12 * s * l * h - 78 * l * h - 6 * s * h - 12 * h);
    const double six_nd =
        stepsim::analytic::six_n_d_flops(static_cast<double>(n), static_cast<double>(tokens));
    const double simulated = stepsim::model_flops_per_step(job);
    REQUIRE(std::abs(simulated - (six_nd + static_cast<double>(difference))) <=
            16 * kUlp * simulated);
    // The relative gap is about s/(6h) = 2.8% for GPT-3 (attention dominates it).
    const double gap = simulated / six_nd - 1.0;
    REQUIRE(gap > 0.0);
    REQUIRE(gap < 2048.0 / (6.0 * 12288.0));
}

TEST_CASE("full recompute adds one forward of every layer: Megatron's 96-coefficient form",
          "[workload]") {
    TrainingJob job = make_job(gpt_model(96, 12288, 96), 1536);
    job.training.recompute = stepsim::Recompute::kFull;
    const double formula =
        stepsim::analytic::megatron_flops_per_iteration(1536, 2048, 96, 12288, 51200, true);
    // F_hw = F + B·s·l·(24h² + 4sh) = 96·B·s·l·h² + 16·B·s²·l·h + 6·B·s·h·V.
    const Int b = 1536, s = 2048, l = 96, h = 12288, v = 51200;
    const double exact =
        static_cast<double>(96 * b * s * l * h * h + 16 * b * s * s * l * h + 6 * b * s * h * v);
    REQUIRE(std::abs(stepsim::hardware_flops_per_step(job) - exact) <= 16 * kUlp * exact);
    REQUIRE(std::abs(formula - exact) <= 16 * kUlp * exact);
    // Model FLOPs do not count recompute.
    job.training.recompute = stepsim::Recompute::kNone;
    REQUIRE(stepsim::hardware_flops_per_step(job) == stepsim::model_flops_per_step(job));
}

TEST_CASE("GQA and gated MLP FLOPs per layer follow the shapes", "[workload]") {
    // Per token forward: QKV 2h(h + 2·kv), projection 2h², gated MLP 3·2hf, attention 4sh;
    // one TP rank does 1/t of each.
    const stepsim::ModelConfig model = stepsim::test::llama_gqa_model();
    const int tp = 8;
    TrainingJob job = make_job(model, 64, tp, 1, 8);
    job.training.micro_batch = 2;
    const stepsim::LayerCosts costs = stepsim::layer_costs(job);
    const double tokens = 2.0 * 8192;
    const double h = 8192, f = 28672, kv = 8 * 128, s = 8192;
    const double gemm = tokens * (2 * h * (h + 2 * kv) + 2 * h * h + 6 * h * f) / tp;
    const double attention = tokens * 4 * s * h / tp;
    REQUIRE(costs.forward.gemm_flops == Approx(gemm).epsilon(4 * kUlp));
    REQUIRE(costs.forward.attention_flops == Approx(attention).epsilon(4 * kUlp));
    // Backward: B = GEMMs + 2x attention core, W = GEMMs; B + W = 2x forward.
    REQUIRE(costs.backward_input.gemm_flops == costs.forward.gemm_flops);
    REQUIRE(costs.backward_input.attention_flops == 2 * costs.forward.attention_flops);
    REQUIRE(costs.backward_weight.gemm_flops == costs.forward.gemm_flops);
    REQUIRE(costs.backward_weight.attention_flops == 0.0);
    REQUIRE(costs.backward_input.flops() + costs.backward_weight.flops() ==
            Approx(2 * costs.forward.flops()).epsilon(4 * kUlp));
    // No recompute by default.
    REQUIRE(costs.recompute.flops() == 0.0);
}

TEST_CASE("recompute modes add the work they re-run", "[workload]") {
    TrainingJob job = make_job(gpt_model(4, 1024, 16), 8, 2, 1, 4);
    job.training.is_flash_attention = false;
    job.training.recompute = stepsim::Recompute::kFull;
    stepsim::LayerCosts costs = stepsim::layer_costs(job);
    REQUIRE(costs.recompute.flops() == costs.forward.flops());
    REQUIRE(costs.recompute_collectives.size() == costs.forward_collectives.size());

    job.training.recompute = stepsim::Recompute::kSelective;
    costs = stepsim::layer_costs(job);
    REQUIRE(costs.recompute.gemm_flops == 0.0);
    REQUIRE(costs.recompute.attention_flops == costs.forward.attention_flops);
    REQUIRE(costs.recompute_collectives.empty());

    // A fused attention kernel keeps no scores: selective recompute has nothing to redo.
    job.training.is_flash_attention = true;
    costs = stepsim::layer_costs(job);
    REQUIRE(costs.recompute.flops() == 0.0);
    REQUIRE(costs.recompute.memory_bytes == 0.0);
}

TEST_CASE("logits cost 2·b·s·h·V/t forward and twice that backward", "[workload]") {
    TrainingJob job = make_job(gpt_model(4, 1024, 16, 512, 50000), 16, 4, 2, 2);
    job.training.micro_batch = 2;
    const stepsim::EdgeCosts edge = stepsim::edge_costs(job);
    const double logits = 2.0 * (2 * 512) * 1024 * 50000 / 4;
    REQUIRE(edge.logits_forward.gemm_flops == logits);
    REQUIRE(edge.logits_backward_input.gemm_flops == logits);
    REQUIRE(edge.logits_backward_weight.gemm_flops == logits);
    REQUIRE(edge.embedding_forward.flops() == 0.0);
    REQUIRE(edge.embedding_forward.memory_bytes > 0.0);
}
