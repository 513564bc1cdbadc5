// SPDX-License-Identifier: Apache-2.0
// File: costs.cc
// FLOPs, HBM bytes and collective sizes of a transformer layer, the embedding and the logits
// for one micro-batch on one tensor-parallel rank; parameter counts; model and hardware FLOPs
// per step. Conventions follow Narayanan et al. SC'21 (arXiv 2104.04473) §5.1 and Korthikanti
// et al. 2022 (arXiv 2205.05198); docs/models/compute.md has the derivations.
#include "stepsim/error.h"
#include "stepsim/random.h"
#include "stepsim/workload.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

namespace stepsim {

namespace {

constexpr double kBf16Bytes = 2.0;

std::int64_t ceil_div_params(std::int64_t a, std::int64_t b) {
    return (a + b - 1) / b;
}

constexpr double kFp32Bytes = 4.0;

/// The kernels of one layer for `batch` sequences, split `tp` ways, with the element-wise part
/// replicated unless `sequence_parallel`: forward, backward for inputs (B), backward for
/// weights (W), and the attention core alone (what selective recompute re-runs).
struct LayerKernels {
    WorkAmount forward;
    WorkAmount backward_input;
    WorkAmount backward_weight;
    WorkAmount attention_core;  ///< unfused attention's GEMMs and softmax (empty with flash)
};

Kernel gemm(std::string_view name, double m, double n, double k) {
    Kernel g;
    g.kind = KernelKind::kGemm;
    g.name = name;
    g.m = static_cast<std::int64_t>(std::ceil(m));
    g.n = static_cast<std::int64_t>(std::ceil(n));
    g.k = static_cast<std::int64_t>(std::ceil(k));
    return g;
}

Kernel memory(std::string_view name, double bytes, bool is_backward = false) {
    Kernel kernel;
    kernel.kind = KernelKind::kMemory;
    kernel.name = name;
    kernel.bytes = bytes;
    kernel.is_backward = is_backward;
    return kernel;
}

/// Adds the three GEMMs of a linear layer Y[T×n] = X[T×k]·W[k×n]: forward; dX = dY·Wᵀ to B;
/// dW = Xᵀ·dY to W (each as many FLOPs as the forward). In fp8 (Transformer Engine) the input
/// is cast to fp8 before the forward GEMM and the output gradient before the backward ones
/// (read 2 bytes, write 1 per element).
void add_linear(LayerKernels& out,
                std::string_view name,
                double tokens,
                double n,
                double k,
                Dtype dtype = Dtype::kBf16) {
    Kernel forward = gemm(name, tokens, n, k);
    Kernel dgrad = gemm(name, tokens, k, n);
    Kernel wgrad = gemm(name, k, n, tokens);
    forward.dtype = dgrad.dtype = wgrad.dtype = dtype;
    if (dtype == Dtype::kFp8) {
        out.forward.add(memory("cast_fp8", 3.0 * tokens * k));
        out.backward_input.add(memory("cast_fp8", 3.0 * tokens * n, true));
    }
    out.forward.add(forward);
    out.backward_input.add(dgrad);
    out.backward_weight.add(wgrad);
}

/// A memory-bound kernel forward and its backward (twice the bytes: read the saved input and
/// the incoming gradient, write the outgoing gradient) in B.
void add_elementwise(LayerKernels& out, std::string_view name, double bytes) {
    out.forward.add(memory(name, bytes));
    out.backward_input.add(memory(name, 2.0 * bytes, true));
}

/// Context parallelism of a layer's kernels: cp ranks, and how K and V are exchanged.
struct CpSplit {
    int ranks = 1;
    CpCommType type = CpCommType::kP2p;
};

LayerKernels layer_kernels(const ModelConfig& m,
                           double batch,
                           double tp,
                           bool sequence_parallel,
                           bool flash_attention,
                           AttentionKernel attention_kernel,
                           Dtype gemm_dtype = Dtype::kBf16,
                           CpSplit cp = {},
                           bool is_moe_layer = false) {
    // With context parallelism every token-wise kernel sees this rank's s/cp tokens; only the
    // attention core reaches the other ranks' keys.
    const double s_full = static_cast<double>(m.seq_len);
    const double s = s_full / cp.ranks;
    const double h = static_cast<double>(m.hidden);
    const double f = static_cast<double>(m.ffn_hidden);
    const double kv = static_cast<double>(m.kv_dim());
    const double a = static_cast<double>(m.heads);
    const double d = static_cast<double>(m.head_dim());
    const double tokens = batch * s;
    const double f_in = m.is_gated ? 2.0 * f : f;

    LayerKernels out;
    // Memory-bound kernels (HBM bytes; bf16 activations), in layer order.
    const double norm_rows = sequence_parallel ? tokens / tp : tokens;
    const double norm_bytes = 2.0 * h * kBf16Bytes * norm_rows;  // read h, write h
    // Residual add with the bias and dropout fused in: read 2h, write h, 1-byte mask.
    const double residual_bytes = (3.0 * h * kBf16Bytes + (m.has_dropout ? h : 0.0)) * norm_rows;
    add_elementwise(out, "layernorm", norm_bytes);
    // Column-parallel QKV projection h -> h + 2·kv (per rank 1/tp of the outputs).
    add_linear(out, "qkv", tokens, (h + 2.0 * kv) / tp, h, gemm_dtype);
    if (m.position_embedding == PositionEmbedding::kRotary) {
        add_elementwise(out, "rotary", 2.0 * (h + kv) * kBf16Bytes * tokens / tp);
    }
    // Attention core over the rank's a/tp heads: Q·Kᵀ and softmax·V, the causal mask not
    // exploited in the FLOP count (Megatron's convention).
    const double heads_batch = batch * a / tp;
    if (flash_attention) {
        Kernel attention;
        attention.kind = KernelKind::kAttention;
        attention.name = "flash_attention";
        attention.attention = attention_kernel;
        attention.m = m.seq_len / cp.ranks;
        attention.n = m.seq_len;
        attention.k = m.head_dim();
        attention.batch = static_cast<std::int64_t>(heads_batch);
        if (cp.ranks > 1 && cp.type == CpCommType::kP2p) {
            // The ring: one block per K/V chunk. With the load-balanced chunks (rank i holds
            // chunks i and 2cp−1−i) the diagonal block is causal over s/cp × s/cp and every
            // other block is s/cp × s/(2cp) (or s/(2cp) × s/cp) without a mask: the same
            // work as the causal diagonal block, so each block is timed and counted as one.
            attention.n = m.seq_len / cp.ranks;
            attention.repeat = cp.ranks;
        }
        // The all-gather variant: s/cp queries (two load-balanced chunks) against all s keys,
        // half of it under the causal mask, as the kernel's causal flag times it.
        out.forward.add(attention);
        attention.is_backward = true;
        out.backward_input.add(attention);
    } else {
        // Unfused: two batched GEMMs with the s×s scores in HBM, a softmax kernel between
        // (read + write the scores, plus dropout: read, write, 1-byte mask).
        Kernel scores = gemm("attention_scores", s, s, d);
        Kernel context = gemm("attention_context", s, d, s);
        for (Kernel* g : {&scores, &context}) {
            g->batch = static_cast<std::int64_t>(heads_batch);
            g->is_attention_core = true;
        }
        const double score_elements = heads_batch * s * s;
        double softmax_bytes = 2.0 * kBf16Bytes * score_elements;
        if (m.has_dropout) {
            softmax_bytes += (2.0 * kBf16Bytes + 1.0) * score_elements;
        }
        for (WorkAmount* w : {&out.forward, &out.attention_core}) {
            w->add(scores);
            w->add(memory("softmax", softmax_bytes));
            w->add(context);
        }
        // Backward: dP = dO·Vᵀ (s×s), then dV = Pᵀ·dO, dQ = dS·K, dK = dSᵀ·Q (s×d each),
        // and the softmax backward between.
        Kernel score_grad = gemm("attention_scores", s, s, d);
        Kernel operand_grads = gemm("attention_context", s, d, s);
        score_grad.batch = static_cast<std::int64_t>(heads_batch);
        score_grad.is_attention_core = true;
        operand_grads.batch = static_cast<std::int64_t>(heads_batch);
        operand_grads.is_attention_core = true;
        operand_grads.repeat = 3.0;
        out.backward_input.add(score_grad);
        out.backward_input.add(memory("softmax", 2.0 * softmax_bytes, true));
        out.backward_input.add(operand_grads);
    }
    // Row-parallel output projection h/tp -> h.
    add_linear(out, "proj", tokens, h, h / tp, gemm_dtype);
    add_elementwise(out, "bias_dropout_add", residual_bytes);
    add_elementwise(out, "layernorm", norm_bytes);
    if (is_moe_layer) {
        // MoE: the router's scores (h -> experts, bf16, replicated over TP) and softmax /
        // top-k; the shared experts as one wider MLP; the routed experts are MoeCosts.
        const double experts = static_cast<double>(m.experts);
        add_linear(out, "router", tokens, experts, h);
        add_elementwise(out, "router_topk", 2.0 * experts * kFp32Bytes * tokens);
        if (m.shared_experts > 0) {
            const double fe = static_cast<double>(m.expert_ffn_hidden) * m.shared_experts;
            const double fe_in = m.is_gated ? 2.0 * fe : fe;
            add_linear(out, "shared_fc1", tokens, fe_in / tp, h, gemm_dtype);
            add_elementwise(out, "activation", (fe_in + fe) * kBf16Bytes * tokens / tp);
            add_linear(out, "shared_fc2", tokens, h, fe / tp, gemm_dtype);
        }
        add_elementwise(out, "bias_dropout_add", residual_bytes);
        return out;
    }
    // MLP: h -> f (twice when gated), activation, f -> h.
    add_linear(out, "fc1", tokens, f_in / tp, h, gemm_dtype);
    add_elementwise(out, "activation", (f_in + f) * kBf16Bytes * tokens / tp);
    add_linear(out, "fc2", tokens, h, f / tp, gemm_dtype);
    add_elementwise(out, "bias_dropout_add", residual_bytes);
    return out;
}

/// Tokens one GPU routes per micro-batch: its sequences' tokens, split over TP with sequence
/// parallelism (each TP rank dispatches its shard).
double routed_source_tokens(const TrainingJob& job) {
    const double tokens = static_cast<double>(microbatch_tokens_per_rank(job));
    return job.layout.is_sequence_parallel ? tokens / job.layout.tp : tokens;
}

/// The routed experts of one MoE layer on the most loaded EP rank, and the all-to-alls.
/// Every EP rank routes the same number of tokens T with the same expert shares w_e; expert
/// e keeps min(w_e, capacity_factor/E) of each source's T·k routed pairs. Rank r holds
/// experts [r·E/ep, (r+1)·E/ep) and receives T·k·L_r from every rank (itself included),
/// L_r the sum of its experts' kept shares; the busiest rank sets the time.
MoeCosts moe_costs(const TrainingJob& job) {
    const ModelConfig& m = job.model;
    const int ep = std::max(1, job.layout.ep);
    const double tp = job.layout.tp;
    const double k = m.top_k;
    const double h = static_cast<double>(m.hidden);
    const double fe = static_cast<double>(m.expert_ffn_hidden);
    const double fe_in = m.is_gated ? 2.0 * fe : fe;
    const double tokens = routed_source_tokens(job);
    const std::vector<double> shares = expert_load_shares(m, job.training);
    const int per_rank = std::max(1, m.experts / ep);
    const double cap = m.capacity_factor > 0 ? m.capacity_factor / m.experts : 1.0;
    std::vector<double> rank_load(static_cast<std::size_t>(ep), 0.0);
    double kept = 0.0;
    for (int e = 0; e < m.experts; ++e) {
        const double share = std::min(shares[static_cast<std::size_t>(e)], cap);
        rank_load[static_cast<std::size_t>(std::min(ep - 1, e / per_rank))] += share;
        kept += share;
    }
    const double busiest = *std::max_element(rank_load.begin(), rank_load.end());
    MoeCosts out;
    out.kept_fraction = kept;
    out.load_imbalance_factor = kept > 0 ? busiest * ep / kept : 1.0;

    // Routed (token, expert) pairs the busiest rank computes: T·k·L_r from each of ep ranks,
    // as a grouped GEMM over its experts/ep experts (batch), each with the mean count.
    const double received = tokens * k * busiest * ep;
    const double per_expert = received / per_rank;
    LayerKernels kernels;
    const auto grouped = [&](std::string_view name, double rows, double n, double kk) {
        Kernel forward = gemm(name, rows, n, kk);
        Kernel dgrad = gemm(name, rows, kk, n);
        Kernel wgrad = gemm(name, kk, n, rows);
        for (Kernel* g : {&forward, &dgrad, &wgrad}) {
            g->batch = per_rank;
            g->dtype = job.training.gemm_dtype;
        }
        if (job.training.gemm_dtype == Dtype::kFp8) {
            kernels.forward.add(memory("cast_fp8", 3.0 * received * kk / tp));
            kernels.backward_input.add(memory("cast_fp8", 3.0 * received * n / tp, true));
        }
        kernels.forward.add(forward);
        kernels.backward_input.add(dgrad);
        kernels.backward_weight.add(wgrad);
    };
    // Permute the routed copies into expert order before the dispatch and back after the
    // combine (read + write k·h per token), and the weighted sum of the k outputs.
    add_elementwise(kernels, "moe_permute", 2.0 * k * h * kBf16Bytes * tokens);
    grouped("expert_fc1", per_expert, fe_in / tp, h);
    add_elementwise(kernels, "activation", (fe_in + fe) * kBf16Bytes * received / tp);
    grouped("expert_fc2", per_expert, h, fe / tp);
    add_elementwise(kernels, "moe_unpermute", 2.0 * k * h * kBf16Bytes * tokens);
    out.forward = std::move(kernels.forward);
    out.backward_input = std::move(kernels.backward_input);
    out.backward_weight = std::move(kernels.backward_weight);

    if (ep > 1) {
        // Bytes per routed copy: dispatch in the GEMM dtype (fp8 carries one fp32 scale per
        // 128 elements, DeepSeek-V3 §3.3.2), combine in bf16; backward the gradient into the
        // experts goes like a dispatch (fp8 with fp8 GEMMs), the one back like a combine.
        const double fp8_bytes = 1.0 + 4.0 / 128.0;
        const double dispatch_element =
            job.training.gemm_dtype == Dtype::kFp8 ? fp8_bytes : kBf16Bytes;
        const double combine_element = kBf16Bytes;
        const double per_copy = k * h * tokens * kept;  // routed copies × h per source rank
        out.dispatch_bytes = static_cast<std::int64_t>(std::llround(per_copy * dispatch_element));
        out.combine_bytes = static_cast<std::int64_t>(std::llround(per_copy * combine_element));
        out.backward_dispatch_bytes = out.dispatch_bytes;
        out.backward_combine_bytes = out.combine_bytes;
        if (job.training.expert_skew > 0 || m.capacity_factor > 0) {
            // Source i sends T·k·h·L_j·bytes to rank j (dispatch); the combine reverses it.
            const auto matrix = [&](double element, bool toward_experts) {
                std::vector<std::int64_t> pairs(static_cast<std::size_t>(ep) * ep, 0);
                for (int i = 0; i < ep; ++i) {
                    for (int j = 0; j < ep; ++j) {
                        if (i == j) {
                            continue;
                        }
                        const int expert_rank = toward_experts ? j : i;
                        pairs[static_cast<std::size_t>(i) * ep + j] =
                            std::llround(tokens * k * h * element *
                                         rank_load[static_cast<std::size_t>(expert_rank)]);
                    }
                }
                return pairs;
            };
            out.dispatch_pairs = matrix(dispatch_element, true);
            out.combine_pairs = matrix(combine_element, false);
            out.backward_dispatch_pairs = out.dispatch_pairs;
            out.backward_combine_pairs = out.combine_pairs;
            // size_bytes: the largest row (positive for the request's checks).
            const auto largest_row = [&](const std::vector<std::int64_t>& pairs) {
                std::int64_t best = 1;
                for (int i = 0; i < ep; ++i) {
                    std::int64_t row = 0;
                    for (int j = 0; j < ep; ++j) {
                        row += pairs[static_cast<std::size_t>(i) * ep + j];
                    }
                    best = std::max(best, row);
                }
                return best;
            };
            out.dispatch_bytes = largest_row(out.dispatch_pairs);
            out.combine_bytes = largest_row(out.combine_pairs);
            out.backward_dispatch_bytes = out.dispatch_bytes;
            out.backward_combine_bytes = out.combine_bytes;
        }
    }
    return out;
}

std::int64_t activation_size_bytes(const TrainingJob& job) {
    return microbatch_tokens_per_rank(job) * job.model.hidden * 2;
}

CpSplit cp_split(const TrainingJob& job) {
    return CpSplit{std::max(1, job.layout.cp), job.layout.cp_comm};
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

/// The conjugates of the forward ones in reverse order, which is the same list: with sequence
/// parallelism MLP (all-gather for fc2's reduce-scatter, reduce-scatter for fc1's all-gather),
/// then attention the same way; without, the two all-reduces.
std::vector<TpCollective> backward_collectives(const TrainingJob& job) {
    return forward_collectives(job);
}

}  // namespace

LayerCosts layer_costs(const TrainingJob& job) {
    return layer_costs(job, 0);
}

LayerCosts layer_costs(const TrainingJob& job, int layer) {
    const double tp = job.layout.tp;
    const bool is_moe = job.model.is_moe_layer(layer);
    LayerKernels kernels = layer_kernels(
        job.model, static_cast<double>(job.training.micro_batch), tp,
        job.layout.is_sequence_parallel, job.training.is_flash_attention,
        job.training.attention_kernel, job.training.gemm_dtype, cp_split(job), is_moe);
    LayerCosts costs;
    if (job.layout.cp > 1) {
        costs.cp.type = job.layout.cp_comm;
        costs.cp.ranks = job.layout.cp;
        costs.cp.blocks = job.layout.cp_comm == CpCommType::kP2p ? job.layout.cp : 1;
        // K and V (kv_heads/tp heads each) of the rank's b·s/cp tokens, bf16.
        costs.cp.kv_chunk_bytes = 2 * microbatch_tokens_per_rank(job) *
                                  (job.model.kv_dim() / std::max(1, job.layout.tp)) * 2;
    }
    if (is_moe) {
        costs.is_moe = true;
        costs.moe = moe_costs(job);
    }
    // Backward of a GEMM Y = X·W: dX = dY·Wᵀ (B) and dW = Xᵀ·dY (W), each as many flops as
    // the forward. The attention core has no weights: its whole backward (2x forward) is B.
    // Element-wise backward reads the saved input and the incoming gradient and writes the
    // outgoing gradient: about twice the forward bytes, counted in B.
    switch (job.training.recompute) {
        case Recompute::kNone:
            break;
        case Recompute::kSelective:
            // Only the attention core is recomputed. A fused (flash) kernel stores no scores
            // and already recomputes them inside its backward, so there is nothing extra.
            costs.recompute = kernels.attention_core;
            break;
        case Recompute::kFull:
            costs.recompute = kernels.forward;
            costs.recompute_collectives = forward_collectives(job);
            break;
    }
    costs.forward = std::move(kernels.forward);
    costs.backward_input = std::move(kernels.backward_input);
    costs.backward_weight = std::move(kernels.backward_weight);
    costs.forward_collectives = forward_collectives(job);
    costs.backward_collectives = backward_collectives(job);
    return costs;
}

EdgeCosts edge_costs(const TrainingJob& job) {
    const ModelConfig& m = job.model;
    const double tp = job.layout.tp;
    const double tokens = static_cast<double>(microbatch_tokens_per_rank(job));
    const double h = static_cast<double>(m.hidden);
    const double vocab = static_cast<double>(m.vocab);
    const double rows = job.layout.is_sequence_parallel ? tokens / tp : tokens;

    EdgeCosts costs;
    // Embedding lookup: read a row of h per token, write it (plus positions when learned).
    costs.embedding_forward.add(
        memory("embedding", tokens * h * kBf16Bytes *
                                (m.position_embedding == PositionEmbedding::kLearned ? 3.0 : 2.0)));
    // Backward scatters the gradient rows into the embedding gradient (read + write).
    costs.embedding_backward.add(memory("embedding", 2.0 * tokens * h * kBf16Bytes, true));
    // Final norm (replicated rows unless sequence parallel) and the vocabulary-parallel logits
    // with an fp32 softmax for the cross entropy.
    const double norm_bytes = 2.0 * h * kBf16Bytes * rows;
    const double cross_entropy_bytes = 2.0 * kFp32Bytes * tokens * vocab / tp;
    costs.logits_forward.add(memory("layernorm", norm_bytes));
    costs.logits_forward.add(gemm("logits", tokens, vocab / tp, h));
    costs.logits_forward.add(memory("cross_entropy", cross_entropy_bytes));
    costs.logits_backward_input.add(memory("cross_entropy", cross_entropy_bytes, true));
    costs.logits_backward_input.add(gemm("logits", tokens, h, vocab / tp));
    costs.logits_backward_input.add(memory("layernorm", 2.0 * norm_bytes, true));
    costs.logits_backward_weight.add(gemm("logits", h, vocab / tp, tokens));
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

std::vector<double> expert_load_shares(const ModelConfig& model, const TrainingConfig& training) {
    const auto experts = static_cast<std::size_t>(std::max(1, model.experts));
    std::vector<double> shares(experts, 1.0 / static_cast<double>(experts));
    if (training.expert_skew <= 0 || experts < 2) {
        return shares;
    }
    // A seeded Fisher-Yates permutation decides which expert is the r-th most popular; the
    // popularity of rank r is (r + 1)^−skew (a Zipf law), normalized.
    std::vector<std::size_t> order(experts);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::uint64_t state = stream_seed(training.expert_skew_seed, "moe/expert-popularity");
    for (std::size_t i = experts - 1; i > 0; --i) {
        state = splitmix64(state);
        std::swap(order[i], order[state % (i + 1)]);
    }
    double total = 0.0;
    for (std::size_t r = 0; r < experts; ++r) {
        const double weight = std::pow(static_cast<double>(r + 1), -training.expert_skew);
        shares[order[r]] = weight;
        total += weight;
    }
    for (double& share : shares) {
        share /= total;
    }
    return shares;
}

namespace {

/// Parameters of one expert's MLP (gated: three h×f_e matrices), biases included.
std::int64_t expert_parameter_count(const ModelConfig& m) {
    const std::int64_t fe = m.expert_ffn_hidden;
    const std::int64_t in_out = m.is_gated ? 2 * fe : fe;
    std::int64_t params = m.hidden * in_out + fe * m.hidden;
    if (m.has_bias) {
        params += in_out + m.hidden;
    }
    return params;
}

}  // namespace

std::int64_t layer_parameter_count(const ModelConfig& m, int layer) {
    if (!m.is_moe_layer(layer)) {
        return layer_parameter_count(m);
    }
    ModelConfig attention_only = m;
    attention_only.ffn_hidden = 0;
    attention_only.experts = 1;
    // Attention + norms (the MLP of width 0 leaves only its output bias), the router, and
    // the shared and routed experts.
    std::int64_t params = layer_parameter_count(attention_only);
    params += m.experts * m.hidden;
    params += static_cast<std::int64_t>(m.shared_experts + m.experts) * expert_parameter_count(m);
    return params;
}

std::int64_t active_parameter_count(const ModelConfig& m) {
    std::int64_t total = parameter_count(m);
    if (m.is_moe()) {
        total -= static_cast<std::int64_t>(m.moe_layer_count()) *
                 static_cast<std::int64_t>(m.experts - m.top_k) * expert_parameter_count(m);
    }
    return total;
}

std::int64_t stage_expert_parameter_count(const TrainingJob& job, int stage) {
    const ModelConfig& m = job.model;
    if (!m.is_moe()) {
        return 0;
    }
    std::int64_t moe_layers = 0;
    for (const int layer : stage_layer_indices(m, job.layout, stage)) {
        moe_layers += m.is_moe_layer(layer) ? 1 : 0;
    }
    const std::int64_t local_experts = m.experts / std::max(1, job.layout.ep);
    return moe_layers * local_experts * ceil_div_params(expert_parameter_count(m), job.layout.tp);
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
    std::int64_t total = 0;
    for (int l = 0; l < m.layers; ++l) {
        total += layer_parameter_count(m, l);
    }
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
    const std::int64_t qkv_out = h + 2 * m.kv_dim();
    // Column-parallel (QKV, fc1) and row-parallel (projection, fc2) matrices are split tp
    // ways; column-parallel biases are split, row-parallel biases and norms are replicated.
    const auto layer_of = [&](std::int64_t f) {
        const std::int64_t mlp_in_out = m.is_gated ? 2 * f : f;
        std::int64_t layer = ceil_div(h * qkv_out + h * h + h * mlp_in_out + f * h, tp);
        if (m.has_bias) {
            layer += ceil_div(qkv_out + mlp_in_out, tp) + 2 * h;
        }
        return layer + 2 * norm_parameters(m);
    };
    const std::int64_t dense_layer = layer_of(m.ffn_hidden);
    std::int64_t total = 0;
    if (!m.is_moe()) {
        total = static_cast<std::int64_t>(stage_layers(m, job.layout, stage)) * dense_layer;
    } else {
        // A MoE layer: attention and norms, the replicated router, the shared experts (split
        // tp ways like an MLP) and this GPU's experts/ep routed experts.
        const std::int64_t moe_layer = layer_of(0) + m.experts * h +
                                       m.shared_experts * ceil_div(expert_parameter_count(m), tp);
        for (const int layer : stage_layer_indices(m, job.layout, stage)) {
            total += m.is_moe_layer(layer) ? moe_layer : dense_layer;
        }
        total += stage_expert_parameter_count(job, stage);
    }
    const std::int64_t vocab_shard = ceil_div(m.vocab, tp) * h;
    // The embedding rides with model chunk 0, the final norm and output layer with the last
    // (DualPipe: both end ranks hold chunk 0 of one copy and the last chunk of the other).
    const std::vector<int> chunks = stage_chunks(job.layout, stage);
    const int last_chunk = static_cast<int>(model_chunk_count(job.layout)) - 1;
    const bool has_first = std::find(chunks.begin(), chunks.end(), 0) != chunks.end();
    const bool has_last = std::find(chunks.begin(), chunks.end(), last_chunk) != chunks.end();
    if (has_first) {
        total += vocab_shard;
        if (m.position_embedding == PositionEmbedding::kLearned) {
            total += m.seq_len * h;
        }
    }
    if (has_last) {
        total += norm_parameters(m);
        // The output layer, or the last stage's copy of the tied embedding (Megatron keeps one
        // and all-reduces its gradient with stage 0); one tied matrix where one GPU holds both
        // ends of the same copy (no pipeline, DualPipeV's rank 0).
        const bool same_copy_ends =
            has_first && job.layout.schedule != PipelineScheduleKind::kDualPipe;
        if (!m.has_tied_embeddings || !same_copy_ends) {
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
    const LayerKernels layer = layer_kernels(m, static_cast<double>(job.training.global_batch), 1.0,
                                             false, true, AttentionKernel::kFlash2);
    const double tokens = static_cast<double>(job.training.global_batch * m.seq_len);
    const double logits =
        2.0 * tokens * static_cast<double>(m.hidden) * static_cast<double>(m.vocab);
    // Forward + backward (B + W) = 3x forward for the GEMMs and the attention core alike.
    if (!m.is_moe()) {
        return 3.0 * (static_cast<double>(m.layers) * layer.forward.flops() + logits);
    }
    // MoE layers: attention, router and shared experts, plus top_k routed experts per token
    // (the active-parameter convention: no drops, no imbalance, no padding).
    const LayerKernels moe =
        layer_kernels(m, static_cast<double>(job.training.global_batch), 1.0, false, true,
                      AttentionKernel::kFlash2, Dtype::kBf16, CpSplit{}, true);
    const double fe = static_cast<double>(m.expert_ffn_hidden);
    const double fe_in = m.is_gated ? 2.0 * fe : fe;
    const double routed = 2.0 * tokens * m.top_k * (fe_in + fe) * static_cast<double>(m.hidden);
    const double moe_layers = m.moe_layer_count();
    return 3.0 * ((static_cast<double>(m.layers) - moe_layers) * layer.forward.flops() +
                  moe_layers * (moe.forward.flops() + routed) + logits);
}

double hardware_flops_per_step(const TrainingJob& job) {
    const ModelConfig& m = job.model;
    double extra = 0.0;
    if (job.training.recompute == Recompute::kFull ||
        (job.training.recompute == Recompute::kSelective && !job.training.is_flash_attention)) {
        const LayerKernels layer = layer_kernels(m, static_cast<double>(job.training.global_batch),
                                                 1.0, false, true, AttentionKernel::kFlash2);
        extra = static_cast<double>(m.layers) * (job.training.recompute == Recompute::kFull
                                                     ? layer.forward.flops()
                                                     : layer.forward.attention_flops);
    }
    return model_flops_per_step(job) + extra;
}

}  // namespace stepsim
