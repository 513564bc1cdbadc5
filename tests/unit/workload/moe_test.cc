// SPDX-License-Identifier: Apache-2.0
// Mixture-of-experts costs (docs/models/moe.md): parameter counts (total and active), the
// routed experts' FLOPs and the all-to-all volumes per token against their closed forms, the
// seeded load skew, capacity-factor drops, memory of expert state per EP rank, and the
// active-parameter model-FLOP convention.
#include "stepsim/workload.h"

#include "workload_test_models.h"

#include <catch2/catch.hpp>

#include <numeric>

using namespace stepsim;

namespace {

/// Mixtral 8x7B's shape (Megatron-Core's MoE example): 32 layers, h 4096, f 14336 SwiGLU,
/// 32 heads, 8 KV heads, 8 experts, top-2, V 32000, s 4096.
ModelConfig mixtral() {
    return test::with_experts(test::llama_model("mixtral", 32, 4096, 14336, 32, 8, 4096, 32000), 8,
                              2, 14336);
}

double gemm_flops(const WorkAmount& work, std::string_view name) {
    double total = 0;
    for (const Kernel& k : work.kernels) {
        if (k.kind == KernelKind::kGemm && k.name == name) {
            total += 2.0 * static_cast<double>(k.m) * static_cast<double>(k.n) *
                     static_cast<double>(k.k) * static_cast<double>(k.batch) * k.repeat;
        }
    }
    return total;
}

}  // namespace

TEST_CASE("Mixtral 8x7B: 46.7B parameters, 12.9B active", "[workload][moe]") {
    const ModelConfig m = mixtral();
    // Per layer: attention h·(h + 2·kv) + h·h, router 8·h, two RMSNorms 2h, experts
    // 8 · 3·h·f; plus the untied embedding and output layer 2·V·h and the final norm h.
    const std::int64_t h = 4096, f = 14336, kv = 8 * 128;
    const std::int64_t attention = h * (h + 2 * kv) + h * h;
    const std::int64_t expert = 3 * h * f;
    const std::int64_t layer = attention + 8 * h + 2 * h + 8 * expert;
    CHECK(layer_parameter_count(m, 0) == layer);
    const std::int64_t total = 32 * layer + 2 * 32000 * h + h;
    CHECK(parameter_count(m) == total);
    CHECK(active_parameter_count(m) == total - 32 * 6 * expert);
    CHECK(static_cast<double>(total) == Approx(46.7e9).epsilon(0.005));
    CHECK(static_cast<double>(active_parameter_count(m)) == Approx(12.9e9).epsilon(0.005));
}

TEST_CASE("balanced MoE layer: expert FLOPs and all-to-all bytes per token", "[workload][moe]") {
    // EP 8 (tp 1): each rank routes T = b·s tokens, receives T·k routed copies, and sends
    // T·k·h·2 bytes in each of dispatch and combine (bf16), its own share included.
    TrainingJob job = test::make_job(mixtral(), 64, 1, 1, 8);
    job.layout.ep = 8;
    const double tokens = 4096, k = 2, h = 4096, f = 14336;
    const LayerCosts layer = layer_costs(job, 5);
    REQUIRE(layer.is_moe);
    const MoeCosts& moe = layer.moe;
    CHECK(moe.load_imbalance_factor == Approx(1.0));
    CHECK(moe.kept_fraction == Approx(1.0));
    // fc1 (h -> 2f, gated) and fc2 (f -> h) on T·k rows, one expert per rank.
    CHECK(gemm_flops(moe.forward, "expert_fc1") == Approx(2 * tokens * k * h * 2 * f));
    CHECK(gemm_flops(moe.forward, "expert_fc2") == Approx(2 * tokens * k * f * h));
    CHECK(moe.backward_input.gemm_flops + moe.backward_weight.gemm_flops ==
          Approx(2 * moe.forward.gemm_flops));
    CHECK(moe.dispatch_bytes == static_cast<std::int64_t>(tokens * k * h * 2));
    CHECK(moe.combine_bytes == moe.dispatch_bytes);
    CHECK(moe.dispatch_pairs.empty());
    // The router (h -> experts) is in the layer's own forward, no dense MLP there.
    CHECK(gemm_flops(layer.forward, "router") == Approx(2 * tokens * 8 * h));
    CHECK(gemm_flops(layer.forward, "fc1") == 0);
    // fp8 dispatch: 1 byte plus one fp32 scale per 128 elements; combine stays bf16.
    job.training.gemm_dtype = Dtype::kFp8;
    const MoeCosts fp8 = layer_costs(job, 5).moe;
    CHECK(fp8.dispatch_bytes == std::llround(tokens * k * h * (1 + 4.0 / 128)));
    CHECK(fp8.combine_bytes == static_cast<std::int64_t>(tokens * k * h * 2));
}

TEST_CASE("load skew is seeded, sums to one and loads the busiest EP rank", "[workload][moe]") {
    ModelConfig m = mixtral();
    m.experts = 64;
    TrainingConfig t;
    const auto balanced = expert_load_shares(m, t);
    CHECK(balanced == std::vector<double>(64, 1.0 / 64));
    t.expert_skew = 1.0;
    t.expert_skew_seed = 7;
    const auto a = expert_load_shares(m, t);
    CHECK(a == expert_load_shares(m, t));  // deterministic
    CHECK(std::accumulate(a.begin(), a.end(), 0.0) == Approx(1.0));
    // Zipf(1): the largest share is 1/H_64 (harmonic number), the smallest 1/(64·H_64).
    double harmonic = 0;
    for (int r = 1; r <= 64; ++r) {
        harmonic += 1.0 / r;
    }
    CHECK(*std::max_element(a.begin(), a.end()) == Approx(1.0 / harmonic));
    CHECK(*std::min_element(a.begin(), a.end()) == Approx(1.0 / (64 * harmonic)));
    t.expert_skew_seed = 8;
    CHECK(expert_load_shares(m, t) != a);  // another seed, another permutation

    TrainingJob job = test::make_job(m, 64, 1, 1, 8);
    job.layout.ep = 8;
    job.training = t;
    job.training.global_batch = 64;
    const MoeCosts moe = layer_costs(job, 0).moe;
    // Rank loads L_r (8 experts each); the busiest receives T·k·L_max·ep copies.
    std::vector<double> load(8, 0.0);
    const auto shares = expert_load_shares(m, job.training);
    for (int e = 0; e < 64; ++e) {
        load[static_cast<std::size_t>(e / 8)] += shares[static_cast<std::size_t>(e)];
    }
    const double busiest = *std::max_element(load.begin(), load.end());
    CHECK(moe.load_imbalance_factor == Approx(busiest * 8));
    CHECK(moe.load_imbalance_factor > 1.0);
    // Dispatch pair i -> j carries T·k·h·2·L_j; the combine is the transpose.
    REQUIRE(moe.dispatch_pairs.size() == 64);
    for (int i = 0; i < 8; ++i) {
        for (int j = 0; j < 8; ++j) {
            const double expected = i == j ? 0.0 : 4096.0 * 2 * 4096 * 2 * load[j];
            CHECK(static_cast<double>(moe.dispatch_pairs[static_cast<std::size_t>(i * 8 + j)]) ==
                  Approx(expected).margin(1));
            CHECK(moe.combine_pairs[static_cast<std::size_t>(j * 8 + i)] ==
                  moe.dispatch_pairs[static_cast<std::size_t>(i * 8 + j)]);
        }
    }
}

TEST_CASE("capacity factor drops the overflow of hot experts", "[workload][moe]") {
    // Capacity per expert: T·k·cf/E of each source; kept share = Σ_e min(w_e, cf/E).
    TrainingJob job = test::make_job(mixtral(), 64, 1, 1, 8);
    job.layout.ep = 8;
    job.model.capacity_factor = 1.0;
    job.training.expert_skew = 1.5;
    const auto shares = expert_load_shares(job.model, job.training);
    double kept = 0;
    for (const double w : shares) {
        kept += std::min(w, 1.0 / 8);
    }
    const MoeCosts moe = layer_costs(job, 0).moe;
    CHECK(moe.kept_fraction == Approx(kept));
    CHECK(moe.kept_fraction < 1.0);
    // With capacity 1 every expert gets at most the balanced share: no rank above the mean.
    CHECK(moe.load_imbalance_factor <= 1.0 / kept + 1e-12);
}

TEST_CASE("expert state is sharded over dp/ep ranks, the rest over dp", "[workload][moe]") {
    // One stage, dp 16, ep 8, ZeRO-1: optimizer = 12·(dense/16 + experts/2) bytes.
    TrainingJob job = test::make_job(mixtral(), 64, 1, 1, 16);
    job.layout.ep = 8;
    job.layout.zero_stage = 1;
    const std::int64_t experts = stage_expert_parameter_count(job, 0);
    CHECK(experts == std::int64_t{32} * 3 * 4096 * 14336);  // one expert per rank, 32 layers
    const std::int64_t params = stage_parameter_count(job, 0);
    CHECK(params == parameter_count(job.model) - 32 * 7 * std::int64_t{3 * 4096 * 14336});
    const MemoryBreakdown memory = memory_per_gpu(job, 0);
    CHECK(memory.weights_bytes == 2 * params);
    CHECK(memory.optimizer_bytes == (12 * (params - experts) + 15) / 16 + (12 * experts + 1) / 2);
}

TEST_CASE("MoE model FLOPs count the active parameters", "[workload][moe]") {
    // The MoE layer's FLOPs = those of a dense layer whose MLP is k experts wide, plus the
    // router's 2·tokens·h·E forward (times 3 for forward + backward).
    TrainingJob moe = test::make_job(mixtral(), 64, 1, 1, 8);
    moe.layout.ep = 8;
    TrainingJob dense = moe;
    dense.model.experts = 1;
    dense.model.top_k = 1;
    dense.model.ffn_hidden = 2 * 14336;
    dense.layout.ep = 1;
    const double tokens = 64.0 * 4096;
    CHECK(model_flops_per_step(moe) ==
          Approx(model_flops_per_step(dense) + 3 * 32 * 2 * tokens * 4096 * 8));
}

TEST_CASE("MoE layouts are validated", "[workload][moe]") {
    TrainingJob job = test::make_job(mixtral(), 64, 1, 1, 8);
    job.layout.ep = 3;
    auto problems = validate_job(job);
    REQUIRE(!problems.empty());
    CHECK(problems[0].field_path == "parallelism.ep");
    CHECK(problems[0].message == "ep (3) must divide experts (8) evenly");
    job.layout.ep = 8;
    job.model.top_k = 9;
    problems = validate_job(job);
    REQUIRE(!problems.empty());
    CHECK(problems[0].message == "top_k (9) must be between 1 and experts (8)");
}
