// SPDX-License-Identifier: Apache-2.0
// File: workload_test_models.h
// Model shapes used by the workload tests: a GPT-style layer (Megatron's formulas hold for it
// exactly) and a Llama-style one (GQA, SwiGLU, RMSNorm, rotary, no biases, untied); the small
// bundled cluster and the uncontended time of one collective, shared with the straggler tests.
#pragma once

#include "stepsim/collective.h"
#include "stepsim/network.h"
#include "stepsim/spec.h"
#include "stepsim/workload.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace stepsim::test {

/// GPT-style: 4h non-gated MLP, multi-head attention, biases, LayerNorm, learned positions,
/// tied embeddings, dropout. Megatron's Table 1 models use V = 51200, s = 2048.
inline ModelConfig gpt_model(int layers,
                             std::int64_t hidden,
                             int heads,
                             std::int64_t seq_len = 2048,
                             std::int64_t vocab = 51200) {
    ModelConfig m;
    m.name = "gpt";
    m.layers = layers;
    m.hidden = hidden;
    m.ffn_hidden = 4 * hidden;
    m.is_gated = false;
    m.heads = heads;
    m.kv_heads = heads;
    m.seq_len = seq_len;
    m.vocab = vocab;
    return m;
}

/// A Llama-style model: SwiGLU MLP of `ffn_hidden`, `kv_heads` KV heads (GQA when fewer than
/// `heads`), RMSNorm, rotary positions, no biases, untied embeddings, no dropout.
inline ModelConfig llama_model(std::string name,
                               int layers,
                               std::int64_t hidden,
                               std::int64_t ffn_hidden,
                               int heads,
                               int kv_heads,
                               std::int64_t seq_len,
                               std::int64_t vocab) {
    ModelConfig m;
    m.name = std::move(name);
    m.layers = layers;
    m.hidden = hidden;
    m.ffn_hidden = ffn_hidden;
    m.is_gated = true;
    m.heads = heads;
    m.kv_heads = kv_heads;
    m.seq_len = seq_len;
    m.vocab = vocab;
    m.has_bias = false;
    m.norm = NormKind::kRmsNorm;
    m.position_embedding = PositionEmbedding::kRotary;
    m.has_tied_embeddings = false;
    m.has_dropout = false;
    return m;
}

/// Llama-2-7B's shape (Touvron et al. 2023, Table 1 / HF config): 32 layers, h 4096,
/// f 11008 SwiGLU, 32 heads, V 32000, s 4096.
inline ModelConfig llama_7b_model() {
    return llama_model("llama-7b", 32, 4096, 11008, 32, 32, 4096, 32000);
}

/// Llama-3-70B-like with GQA (64 query heads, 8 KV heads).
inline ModelConfig llama_gqa_model() {
    return llama_model("llama-gqa", 80, 8192, 28672, 64, 8, 8192, 128256);
}

/// `model` with routed experts in its layers: `experts` experts of `expert_ffn_hidden`, each
/// token routed to `top_k` of them.
inline ModelConfig with_experts(ModelConfig model,
                                int experts,
                                int top_k,
                                std::int64_t expert_ffn_hidden) {
    model.experts = experts;
    model.top_k = top_k;
    model.expert_ffn_hidden = expert_ffn_hidden;
    return model;
}

inline TrainingJob make_job(
    const ModelConfig& model, std::int64_t global_batch, int tp = 1, int pp = 1, int dp = 1) {
    TrainingJob job;
    job.model = model;
    job.training.global_batch = global_batch;
    job.training.micro_batch = 1;
    job.layout.tp = tp;
    job.layout.pp = pp;
    job.layout.dp = dp;
    job.gpu = *find_gpu("H100-SXM");
    return job;
}

/// topologies/explicit-4gpu.textproto: two servers of two GPUs.
inline Topology four_gpus() {
    return load_topology_file(std::filesystem::path(STEPSIM_SOURCE_DIR) / "topologies" /
                              "explicit-4gpu.textproto");
}

/// Time of one collective run alone on `topology` (fair-share network, chunk level).
inline double alone_s(const Topology& topology,
                      CollectiveOp op,
                      std::vector<RankId> ranks,
                      std::int64_t size_bytes) {
    Simulator sim(0);
    Router router(topology);
    auto network = make_network_model(NetworkKind::kFairShare, sim, topology, router);
    CollectiveExecutor executor(sim, topology, *network);
    Time done{0};
    executor.start(CollectiveRequest{op, std::move(ranks), size_bytes}, [&] { done = sim.now(); });
    sim.run();
    return to_seconds(done);
}

}  // namespace stepsim::test
