// SPDX-License-Identifier: Apache-2.0
// File: costs.cc
// FLOPs, HBM bytes and collective sizes of a transformer layer, the embedding and the logits
// for one micro-batch on one tensor-parallel rank; parameter counts; model and hardware FLOPs
// per step. Conventions follow Narayanan et al. SC'21 (arXiv 2104.04473) §5.1 and Korthikanti
// et al. 2022 (arXiv 2205.05198); docs/models/compute.md has the derivations.
#include "stepsim/error.h"
#include "stepsim/workload.h"

#include <stdexcept>
#include <vector>

namespace stepsim {

namespace {

constexpr double kBf16Bytes = 2.0;
constexpr double kFp32Bytes = 4.0;

/// Forward work of one layer for `tokens` tokens (batch · seq_len), split `tp` ways, with the
/// element-wise part replicated unless `sequence_parallel`.
struct LayerForward {
    WorkAmount work;
    /// Softmax (and its dropout) HBM bytes of an unfused attention core; the part selective
    /// recompute re-runs. Already included in work.memory_bytes.
    double attention_core_bytes = 0.0;
};

LayerForward layer_forward(
    const ModelConfig& m, double batch, double tp, bool sequence_parallel, bool flash_attention) {
    const double s = static_cast<double>(m.seq_len);
    const double h = static_cast<double>(m.hidden);
    const double f = static_cast<double>(m.ffn_hidden);
    const double kv = static_cast<double>(m.kv_dim());
    const double a = static_cast<double>(m.heads);
    const double tokens = batch * s;

    LayerForward out;
    // GEMMs: 2 flops per multiply-add. QKV projection h -> h + 2·kv, output projection h -> h,
    // MLP h -> f (twice when gated) and f -> h.
    const double qkv = 2.0 * tokens * h * (h + 2.0 * kv);
    const double projection = 2.0 * tokens * h * h;
    const double mlp = 2.0 * tokens * h * f * (m.is_gated ? 3.0 : 2.0);
    out.work.gemm_flops = (qkv + projection + mlp) / tp;
    // Attention core: Q·Kᵀ (2·b·s²·h) and softmax·V (2·b·s²·h); causal masking not exploited,
    // as in Megatron's count.
    out.work.attention_flops = 4.0 * batch * s * s * h / tp;

    // Memory-bound element-wise kernels (HBM bytes; bf16 activations).
    const double norm_rows = sequence_parallel ? tokens / tp : tokens;
    double bytes = 0.0;
    bytes += 2.0 * (2.0 * h * kBf16Bytes) * norm_rows;  // two norms: read h, write h
    bytes += 2.0 * (3.0 * h * kBf16Bytes) * norm_rows;  // two residual adds: read 2h, write h
    if (m.has_dropout) {
        bytes += 2.0 * h * 1.0 * norm_rows;  // two dropout masks (1 byte per element)
    }
    const double activation_in = m.is_gated ? 2.0 * f : f;
    bytes += (activation_in + f) * kBf16Bytes * tokens / tp;  // GeLU / SwiGLU
    if (m.position_embedding == PositionEmbedding::kRotary) {
        bytes += 2.0 * (h + kv) * kBf16Bytes * tokens / tp;  // rotate Q and K in place
    }
    if (!flash_attention) {
        // Unfused softmax over b·(a/t)·s² scores: read + write, plus dropout (read, write,
        // 1-byte mask).
        const double scores = batch * a * s * s / tp;
        out.attention_core_bytes = 2.0 * kBf16Bytes * scores;
        if (m.has_dropout) {
            out.attention_core_bytes += (2.0 * kBf16Bytes + 1.0) * scores;
        }
        bytes += out.attention_core_bytes;
    }
    out.work.memory_bytes = bytes;
    return out;
}

std::int64_t activation_size_bytes(const TrainingJob& job) {
    return job.training.micro_batch * job.model.seq_len * job.model.hidden * 2;
}

std::vector<TpCollective> forward_collectives(const TrainingJob& job) {
    if (job.layout.tp == 1) {
        return {};
    }
    const std::int64_t size = activation_size_bytes(job);
    if (job.layout.is_sequence_parallel) {
        // g = all-gather before QKV and fc1, ḡ = reduce-scatter after the output projection
        // and fc2 (Korthikanti et al. 2022, Fig. 5).
        return {{CollectiveOp::kAllGather, size},
                {CollectiveOp::kReduceScatter, size},
                {CollectiveOp::kAllGather, size},
                {CollectiveOp::kReduceScatter, size}};
    }
    // f / g of Megatron (Shoeybi et al. 2019, Fig. 3): all-reduce after attention and MLP.
    return {{CollectiveOp::kAllReduce, size}, {CollectiveOp::kAllReduce, size}};
}

std::vector<TpCollective> backward_collectives(const TrainingJob& job) {
    if (job.layout.tp == 1) {
        return {};
    }
    const std::int64_t size = activation_size_bytes(job);
    if (job.layout.is_sequence_parallel) {
        // The conjugates in reverse order: MLP (all-gather for fc2's reduce-scatter,
        // reduce-scatter for fc1's all-gather), then attention the same way.
        return {{CollectiveOp::kAllGather, size},
                {CollectiveOp::kReduceScatter, size},
                {CollectiveOp::kAllGather, size},
                {CollectiveOp::kReduceScatter, size}};
    }
    return {{CollectiveOp::kAllReduce, size}, {CollectiveOp::kAllReduce, size}};
}

}  // namespace

LayerCosts layer_costs(const TrainingJob& job) {
    const double tp = job.layout.tp;
    const LayerForward fwd =
        layer_forward(job.model, static_cast<double>(job.training.micro_batch), tp,
                      job.layout.is_sequence_parallel, job.training.is_flash_attention);
    LayerCosts costs;
    costs.forward = fwd.work;
    // Backward of a GEMM Y = X·W: dX = dY·Wᵀ (B) and dW = Xᵀ·dY (W), each as many flops as
    // the forward. The attention core has no weights: its whole backward (2x forward) is B.
    // Element-wise backward reads the saved input and the incoming gradient and writes the
    // outgoing gradient: about twice the forward bytes, counted in B.
    costs.backward_input.gemm_flops = fwd.work.gemm_flops;
    costs.backward_input.attention_flops = 2.0 * fwd.work.attention_flops;
    costs.backward_input.memory_bytes = 2.0 * fwd.work.memory_bytes;
    costs.backward_weight.gemm_flops = fwd.work.gemm_flops;
    switch (job.training.recompute) {
        case Recompute::kNone:
            break;
        case Recompute::kSelective:
            // Only the attention core is recomputed. A fused (flash) kernel stores no scores
            // and already recomputes them inside its backward, so there is nothing extra.
            if (!job.training.is_flash_attention) {
                costs.recompute.attention_flops = fwd.work.attention_flops;
                costs.recompute.memory_bytes = fwd.attention_core_bytes;
            }
            break;
        case Recompute::kFull:
            costs.recompute = fwd.work;
            costs.recompute_collectives = forward_collectives(job);
            break;
    }
    costs.forward_collectives = forward_collectives(job);
    costs.backward_collectives = backward_collectives(job);
    return costs;
}

EdgeCosts edge_costs(const TrainingJob& job) {
    const ModelConfig& m = job.model;
    const double tp = job.layout.tp;
    const double tokens = static_cast<double>(job.training.micro_batch * m.seq_len);
    const double h = static_cast<double>(m.hidden);
    const double vocab = static_cast<double>(m.vocab);
    const double rows = job.layout.is_sequence_parallel ? tokens / tp : tokens;

    EdgeCosts costs;
    // Embedding lookup: read a row of h per token, write it (plus positions when learned).
    costs.embedding_forward.memory_bytes =
        tokens * h * kBf16Bytes * (m.position_embedding == PositionEmbedding::kLearned ? 3.0 : 2.0);
    // Backward scatters the gradient rows into the embedding gradient (read + write).
    costs.embedding_backward.memory_bytes = 2.0 * tokens * h * kBf16Bytes;
    // Final norm (replicated rows unless sequence parallel) and the vocabulary-parallel logits.
    costs.logits_forward.gemm_flops = 2.0 * tokens * h * vocab / tp;
    costs.logits_forward.memory_bytes =
        2.0 * h * kBf16Bytes * rows +            // final norm
        2.0 * kFp32Bytes * tokens * vocab / tp;  // fp32 softmax for the cross entropy
    costs.logits_backward_input.gemm_flops = 2.0 * tokens * h * vocab / tp;
    costs.logits_backward_input.memory_bytes =
        2.0 * (2.0 * h * kBf16Bytes * rows) + 2.0 * kFp32Bytes * tokens * vocab / tp;
    costs.logits_backward_weight.gemm_flops = 2.0 * tokens * h * vocab / tp;
    if (job.layout.tp > 1) {
        const std::int64_t size = activation_size_bytes(job);
        if (job.layout.is_sequence_parallel) {
            costs.embedding_forward_collectives = {{CollectiveOp::kReduceScatter, size}};
            costs.embedding_backward_collectives = {{CollectiveOp::kAllGather, size}};
            costs.logits_forward_collectives = {{CollectiveOp::kAllGather, size}};
            costs.logits_backward_collectives = {{CollectiveOp::kReduceScatter, size}};
        } else {
            costs.embedding_forward_collectives = {{CollectiveOp::kAllReduce, size}};
            costs.logits_backward_collectives = {{CollectiveOp::kAllReduce, size}};
        }
    }
    return costs;
}

std::int64_t pipeline_message_bytes(const TrainingJob& job) {
    const std::int64_t size = activation_size_bytes(job);
    return job.layout.is_sequence_parallel ? size / job.layout.tp : size;
}

std::int64_t layer_parameter_count(const ModelConfig& m) {
    const std::int64_t h = m.hidden;
    const std::int64_t f = m.ffn_hidden;
    const std::int64_t qkv_out = h + 2 * m.kv_dim();
    const std::int64_t mlp_in_out = m.is_gated ? 2 * f : f;
    std::int64_t weights = h * qkv_out + h * h + h * mlp_in_out + f * h;
    if (m.has_bias) {
        weights += qkv_out + h + mlp_in_out + h;
    }
    const std::int64_t norm = m.norm == NormKind::kLayerNorm ? 2 * h : h;
    return weights + 2 * norm;
}

namespace {

std::int64_t norm_parameters(const ModelConfig& m) {
    return m.norm == NormKind::kLayerNorm ? 2 * m.hidden : m.hidden;
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
    return (a + b - 1) / b;
}

}  // namespace

std::int64_t parameter_count(const ModelConfig& m) {
    std::int64_t total = static_cast<std::int64_t>(m.layers) * layer_parameter_count(m);
    total += m.vocab * m.hidden;  // input embedding
    if (m.position_embedding == PositionEmbedding::kLearned) {
        total += m.seq_len * m.hidden;
    }
    total += norm_parameters(m);  // final norm
    if (!m.has_tied_embeddings) {
        total += m.vocab * m.hidden;  // output layer
    }
    return total;
}

std::int64_t stage_parameter_count(const TrainingJob& job, int stage) {
    const ModelConfig& m = job.model;
    const std::int64_t tp = job.layout.tp;
    const std::int64_t h = m.hidden;
    const std::int64_t f = m.ffn_hidden;
    const std::int64_t qkv_out = h + 2 * m.kv_dim();
    const std::int64_t mlp_in_out = m.is_gated ? 2 * f : f;
    // Column-parallel (QKV, fc1) and row-parallel (projection, fc2) matrices are split tp
    // ways; column-parallel biases are split, row-parallel biases and norms are replicated.
    std::int64_t layer = ceil_div(h * qkv_out + h * h + h * mlp_in_out + f * h, tp);
    if (m.has_bias) {
        layer += ceil_div(qkv_out + mlp_in_out, tp) + 2 * h;
    }
    layer += 2 * norm_parameters(m);
    std::int64_t total = static_cast<std::int64_t>(stage_layers(m, job.layout, stage)) * layer;
    const std::int64_t vocab_shard = ceil_div(m.vocab, tp) * h;
    if (stage == 0) {
        total += vocab_shard;
        if (m.position_embedding == PositionEmbedding::kLearned) {
            total += m.seq_len * h;
        }
    }
    if (stage == job.layout.pp - 1) {
        total += norm_parameters(m);
        // The output layer, or the last stage's copy of the tied embedding (Megatron keeps one
        // and all-reduces its gradient with stage 0).
        if (!m.has_tied_embeddings || job.layout.pp > 1) {
            total += vocab_shard;
        }
    }
    return total;
}

std::int64_t stage_gradient_bytes(const TrainingJob& job, int stage) {
    const std::int64_t bytes_per_param =
        job.training.gradient_precision == GradientPrecision::kFp32 ? 4 : 2;
    return stage_parameter_count(job, stage) * bytes_per_param;
}

double model_flops_per_step(const TrainingJob& job) {
    const ModelConfig& m = job.model;
    // The whole global batch on one (virtual) device, no tensor parallelism.
    const LayerForward layer =
        layer_forward(m, static_cast<double>(job.training.global_batch), 1.0, false, true);
    const double tokens = static_cast<double>(job.training.global_batch * m.seq_len);
    const double logits =
        2.0 * tokens * static_cast<double>(m.hidden) * static_cast<double>(m.vocab);
    // Forward + backward (B + W) = 3x forward for the GEMMs and the attention core alike.
    return 3.0 * (static_cast<double>(m.layers) * layer.work.flops() + logits);
}

double hardware_flops_per_step(const TrainingJob& job) {
    const ModelConfig& m = job.model;
    double extra = 0.0;
    if (job.training.recompute == Recompute::kFull) {
        const LayerForward layer =
            layer_forward(m, static_cast<double>(job.training.global_batch), 1.0, false, true);
        extra = static_cast<double>(m.layers) * layer.work.flops();
    } else if (job.training.recompute == Recompute::kSelective &&
               !job.training.is_flash_attention) {
        const LayerForward layer =
            layer_forward(m, static_cast<double>(job.training.global_batch), 1.0, false, true);
        extra = static_cast<double>(m.layers) * layer.work.attention_flops;
    }
    return model_flops_per_step(job) + extra;
}

}  // namespace stepsim
