// SPDX-License-Identifier: Apache-2.0
// File: workload_test_models.h
// Model shapes used by the workload tests: a GPT-style layer (Megatron's formulas hold for it
// exactly) and a Llama-style one (GQA, SwiGLU, RMSNorm, rotary, no biases, untied).
#pragma once

#include "stepsim/workload.h"

#include <cstdint>
#include <string>

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

/// Llama-2-7B's shape (Touvron et al. 2023, Table 1 / HF config): 32 layers, h 4096,
/// f 11008 SwiGLU, 32 heads, V 32000, s 4096.
inline ModelConfig llama_7b_model() {
    ModelConfig m;
    m.name = "llama-7b";
    m.layers = 32;
    m.hidden = 4096;
    m.ffn_hidden = 11008;
    m.is_gated = true;
    m.heads = 32;
    m.kv_heads = 32;
    m.seq_len = 4096;
    m.vocab = 32000;
    m.has_bias = false;
    m.norm = NormKind::kRmsNorm;
    m.position_embedding = PositionEmbedding::kRotary;
    m.has_tied_embeddings = false;
    m.has_dropout = false;
    return m;
}

/// Llama-3-70B-like with GQA (64 query heads, 8 KV heads).
inline ModelConfig llama_gqa_model() {
    ModelConfig m = llama_7b_model();
    m.name = "llama-gqa";
    m.layers = 80;
    m.hidden = 8192;
    m.ffn_hidden = 28672;
    m.heads = 64;
    m.kv_heads = 8;
    m.seq_len = 8192;
    m.vocab = 128256;
    return m;
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

}  // namespace stepsim::test
