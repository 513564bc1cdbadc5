// SPDX-License-Identifier: Apache-2.0
// File: memory.cc
// Memory per GPU: bf16 weights, gradients, fp32 optimizer state (Rajbhandari et al. 2020,
// ZeRO, §3: 2Ψ + 2Ψ + 12Ψ bytes) sharded by the ZeRO stage, and activations per layer per
// micro-batch (Korthikanti et al. 2022, arXiv 2205.05198, §4 and Table 2) times the schedule's
// in-flight micro-batches. docs/models/compute.md, "Memory model".
#include "stepsim/error.h"
#include "stepsim/workload.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace stepsim {

namespace {

constexpr std::int64_t kWeightBytesPerParam = 2;      // bf16
constexpr std::int64_t kOptimizerBytesPerParam = 12;  // fp32 master + Adam m and v

std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
    return (a + b - 1) / b;
}

void check_stage(const TrainingJob& job, int stage) {
    if (stage < 0 || stage >= job.layout.pp) {
        throw InternalError("stage " + std::to_string(stage) + " outside [0, " +
                            std::to_string(job.layout.pp) + ")");
    }
}

/// Activation bytes per token for one layer on one GPU (before × s·b).
double layer_activation_bytes_per_token(const TrainingJob& job) {
    const ModelConfig& m = job.model;
    const double t = job.layout.tp;
    const double h = static_cast<double>(m.hidden);
    const double s = static_cast<double>(m.seq_len);
    const double replicated_divisor = job.layout.is_sequence_parallel ? t : 1.0;
    if (job.training.recompute == Recompute::kFull) {
        return 2.0 * h / replicated_divisor;  // the layer's bf16 input only
    }
    // Outside the tensor-parallel regions (split only by sequence parallelism): the inputs of
    // the two norms (2h each), the norm outputs feeding QKV and fc1 (2h each) and, with
    // dropout, two 1-byte masks. GPT: 10h.
    const double replicated = 8.0 * h + (m.has_dropout ? 2.0 * h : 0.0);
    // Inside them (split tp ways): Q (2h), K and V (2·kv each), the output projection's input
    // (2h); the MLP's fc1 output and fc2 input (2f + 2f), or gate, up and product when gated
    // (6f). GPT: 8h + 16h = 24h.
    const double kv = static_cast<double>(m.kv_dim());
    const double f = static_cast<double>(m.ffn_hidden);
    const double sharded = 4.0 * h + 4.0 * kv + (m.is_gated ? 6.0 : 4.0) * f;
    // Unfused attention without selective recompute keeps the softmax output (2·a·s bytes per
    // token) and, with dropout, its mask and output (a·s + 2·a·s): Korthikanti's 5·a·s²·b.
    double core = 0.0;
    if (!job.training.is_flash_attention && job.training.recompute == Recompute::kNone) {
        const double a = m.heads;
        core = a * s * (m.has_dropout ? 5.0 : 2.0);
    }
    return replicated / replicated_divisor + (sharded + core) / t;
}

}  // namespace

std::int64_t layer_activation_bytes(const TrainingJob& job) {
    const double tokens = static_cast<double>(microbatch_tokens_per_rank(job));
    return std::llround(tokens * layer_activation_bytes_per_token(job));
}

std::int64_t in_flight_chunk_microbatches(const TrainingJob& job, int stage) {
    check_stage(job, stage);
    const std::int64_t m = microbatches(job);
    const std::int64_t p = job.layout.pp;
    const std::int64_t v = job.layout.virtual_stages;
    switch (job.layout.schedule) {
        case PipelineScheduleKind::kGPipe:
            return m;
        case PipelineScheduleKind::kOneFOneB:
        case PipelineScheduleKind::kZeroBubbleH1:
            return std::min(p - stage, m);
        case PipelineScheduleKind::kInterleaved:
            // Megatron-LM's get_forward_backward_func: warm-up (p - rank - 1)·2 + (v - 1)·p
            // forwards, then one more before the first backward.
            return std::min((p - stage - 1) * 2 + (v - 1) * p + 1, v * m);
        case PipelineScheduleKind::kDualPipe:
            // DeepSeek-V3 Table 2: PP + 1 chunk activations on every rank (the warm-up holds
            // PP, the first overlapped forward-and-backward pair one more); chunks of L/pp.
            return std::min(p + 1, m);
        case PipelineScheduleKind::kDualPipeV:
            // The same table for 2·pp stages on pp ranks: 2·pp + 1 chunks of L/(2·pp).
            return std::min(2 * p + 1, 2 * m);
    }
    return m;
}

MemoryBreakdown memory_per_gpu(const TrainingJob& job,
                               int stage,
                               std::int64_t in_flight_chunk_microbatches) {
    check_stage(job, stage);
    if (in_flight_chunk_microbatches < 0) {
        throw InternalError("memory_per_gpu: negative in-flight count");
    }
    const int zero = job.layout.zero_stage;
    // ZeRO shards over the stage's gradient group: the DP replicas times the CP ranks.
    const std::int64_t dp = job.layout.gradient_group_size();
    const std::int64_t params = stage_parameter_count(job, stage);
    const std::int64_t grad_bytes_per_param =
        job.training.gradient_precision == GradientPrecision::kFp32 ? 4 : 2;

    MemoryBreakdown memory;
    // fp8 GEMMs keep an fp8 copy of the weights beside the bf16 ones (1 byte per parameter;
    // Transformer Engine's cached fp8 weights).
    const std::int64_t weight_bytes_per_param =
        kWeightBytesPerParam + (job.training.gemm_dtype == Dtype::kFp8 ? 1 : 0);
    // Routed experts are replicated over dp/ep expert-data-parallel ranks only, so ZeRO
    // shards their state that many ways; everything else over dp.
    const std::int64_t expert_params = stage_expert_parameter_count(job, stage);
    const std::int64_t dense_params = params - expert_params;
    const std::int64_t expert_dp = std::max<std::int64_t>(1, dp / std::max(1, job.layout.ep));
    const auto sharded = [&](std::int64_t bytes_per_param, bool is_sharded) {
        if (!is_sharded) {
            return params * bytes_per_param;
        }
        return ceil_div(dense_params * bytes_per_param, dp) +
               ceil_div(expert_params * bytes_per_param, expert_dp);
    };
    memory.weights_bytes = sharded(weight_bytes_per_param, zero >= 3);
    memory.gradients_bytes = sharded(grad_bytes_per_param, zero >= 2);
    memory.optimizer_bytes = sharded(kOptimizerBytesPerParam, zero >= 1);

    // Activations: each in-flight chunk holds (stage layers / v) layers' worth; the first
    // stage also keeps the embedding's dropout mask per micro-batch.
    const ModelConfig& m = job.model;
    const double chunks = static_cast<double>(chunks_per_stage(job.layout));
    const double layers_per_chunk =
        static_cast<double>(stage_layers(m, job.layout, stage)) / chunks;
    const double tokens = static_cast<double>(microbatch_tokens_per_rank(job));
    const double h = static_cast<double>(m.hidden);
    const double replicated_divisor = job.layout.is_sequence_parallel ? job.layout.tp : 1.0;
    double per_chunk = layers_per_chunk * static_cast<double>(layer_activation_bytes(job));
    if (m.is_moe()) {
        // MoE layers keep, instead of the MLP's, the shared experts' and each routed copy's
        // (top_k per token, times the busiest rank's imbalance) expert activations, plus the
        // permuted dispatch input (k·h·2 bytes per token). Averaged over the model's layers.
        TrainingJob moe_job = job;
        const LayerCosts moe = layer_costs(job, m.layers - 1);
        moe_job.model.ffn_hidden =
            m.expert_ffn_hidden *
            std::max<std::int64_t>(
                1, std::llround(m.shared_experts +
                                m.top_k * moe.moe.load_imbalance_factor * moe.moe.kept_fraction));
        const double moe_bytes = static_cast<double>(layer_activation_bytes(moe_job)) +
                                 tokens * m.top_k * h * 2.0 / replicated_divisor;
        const double moe_share = static_cast<double>(m.moe_layer_count()) / m.layers;
        per_chunk = layers_per_chunk *
                    ((1.0 - moe_share) * static_cast<double>(layer_activation_bytes(job)) +
                     moe_share * moe_bytes);
    }
    const std::vector<int> held = stage_chunks(job.layout, stage);
    const bool has_first = std::find(held.begin(), held.end(), 0) != held.end();
    const bool has_last =
        std::find(held.begin(), held.end(), model_chunk_count(job.layout) - 1) != held.end();
    if (has_first && m.has_dropout) {
        per_chunk += tokens * h / replicated_divisor / chunks;
    }
    memory.activations_bytes =
        std::llround(static_cast<double>(in_flight_chunk_microbatches) * per_chunk);

    // Transient: the last stage's fp32 logits of one micro-batch and the inputs of the final
    // norm and the output layer; ZeRO-3's gathered layers (the one running and the
    // fsdp_prefetch_layers gathered ahead of it) and one layer's unsharded gradient before
    // its reduce-scatter; context parallelism's K/V buffers of one layer.
    double transient = 0.0;
    if (has_last) {
        transient += 4.0 * tokens * static_cast<double>(m.vocab) / job.layout.tp;
        transient += 2.0 * (2.0 * tokens * h / replicated_divisor);
    }
    if (zero >= 3) {
        const double layer_shard = static_cast<double>(layer_parameter_count(m)) / job.layout.tp;
        const double gathered = 1.0 + std::max(0, job.layout.fsdp_prefetch_layers);
        transient += gathered * layer_shard * kWeightBytesPerParam;
        transient += layer_shard * static_cast<double>(grad_bytes_per_param);
    }
    if (job.layout.cp > 1) {
        // K and V of the rank's tokens for its kv_heads/tp heads, bf16.
        const double kv_chunk = 2.0 * tokens * static_cast<double>(m.kv_dim()) / job.layout.tp *
                                static_cast<double>(kWeightBytesPerParam);
        // p2p: the chunk being received beside the one in use (double buffer); all_gather:
        // the whole sequence's K and V (cp chunks).
        transient +=
            job.layout.cp_comm == CpCommType::kP2p ? 2.0 * kv_chunk : kv_chunk * job.layout.cp;
    }
    memory.transient_bytes = std::llround(transient);
    return memory;
}

MemoryBreakdown memory_per_gpu(const TrainingJob& job, int stage) {
    return memory_per_gpu(job, stage, in_flight_chunk_microbatches(job, stage));
}

int most_loaded_stage(const TrainingJob& job) {
    int best = 0;
    std::int64_t best_bytes = -1;
    for (int stage = 0; stage < job.layout.pp; ++stage) {
        const std::int64_t bytes = memory_per_gpu(job, stage).total_bytes();
        if (bytes > best_bytes) {
            best = stage;
            best_bytes = bytes;
        }
    }
    return best;
}

}  // namespace stepsim
