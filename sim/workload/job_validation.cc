// SPDX-License-Identifier: Apache-2.0
// File: job_validation.cc
// Checks on a TrainingJob: what the model and layout need to be well formed (validate_job,
// located by the spec loader) and what needs the cluster (GPU count, HBM capacity).
#include "stepsim/error.h"
#include "stepsim/workload.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stepsim {

namespace {

std::string str(std::int64_t value) {
    return std::to_string(value);
}

/// A double in the fewest digits that read back to it ("-1", "0.5").
std::string shortest(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.17g", value);
    for (int digits = 1; digits <= 17; ++digits) {
        std::snprintf(text, sizeof text, "%.*g", digits, value);
        if (std::strtod(text, nullptr) == value) {
            break;
        }
    }
    return text;
}

/// "71.3 GiB" (units.h's format_size lives in the spec module, which this one may not use).
std::string format_size(double bytes) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
    return text;
}

}  // namespace

std::vector<JobProblem> validate_job(const TrainingJob& job) {
    std::vector<JobProblem> problems;
    auto add = [&problems](std::string field, std::string message) {
        problems.push_back({std::move(field), std::move(message)});
    };
    const ModelConfig& m = job.model;
    const TrainingConfig& t = job.training;
    const ParallelLayout& p = job.layout;

    auto positive = [&add](const char* field, std::int64_t value) {
        if (value <= 0) {
            add(field, std::string(field).substr(std::string(field).find('.') + 1) +
                           " must be positive, got " + str(value));
            return false;
        }
        return true;
    };
    bool shape_ok = positive("model.layers", m.layers);
    shape_ok = positive("model.hidden", m.hidden) && shape_ok;
    shape_ok = positive("model.ffn_hidden", m.ffn_hidden) && shape_ok;
    shape_ok = positive("model.heads", m.heads) && shape_ok;
    shape_ok = positive("model.kv_heads", m.kv_heads) && shape_ok;
    shape_ok = positive("model.seq_len", m.seq_len) && shape_ok;
    shape_ok = positive("model.vocab", m.vocab) && shape_ok;
    bool layout_ok = positive("parallelism.tp", p.tp);
    layout_ok = positive("parallelism.pp", p.pp) && layout_ok;
    layout_ok = positive("parallelism.dp", p.dp) && layout_ok;
    layout_ok = positive("parallelism.cp", p.cp) && layout_ok;
    layout_ok = positive("parallelism.virtual_stages", p.virtual_stages) && layout_ok;
    bool batch_ok = positive("training.global_batch", t.global_batch);
    batch_ok = positive("training.micro_batch", t.micro_batch) && batch_ok;

    if (shape_ok) {
        if (m.hidden % m.heads != 0) {
            add("model.heads",
                "heads (" + str(m.heads) + ") must divide hidden (" + str(m.hidden) + ") evenly");
        }
        if (m.heads % m.kv_heads != 0) {
            add("model.kv_heads", "kv_heads (" + str(m.kv_heads) + ") must divide heads (" +
                                      str(m.heads) + ") evenly");
        }
    }
    if (m.experts < 1) {
        add("model.experts", "experts must be >= 1 (1 = dense), got " + str(m.experts));
    } else if (m.experts > kMaxExperts) {
        // The load model keeps a share per expert: 2^31 experts took 16 GB (a fuzz find).
        add("model.experts", "experts (" + str(m.experts) + ") exceeds the limit of " +
                                 str(kMaxExperts) + " (fixed)");
    }
    if (m.shared_experts < 0 || m.shared_experts > kMaxExperts) {
        // Checked for dense models too: -1 took a dense layer's parameters negative.
        add("model.shared_experts",
            "shared_experts must be 0.." + str(kMaxExperts) + ", got " + str(m.shared_experts));
    }
    if (m.top_k < 1 || m.top_k > std::max(1, m.experts)) {
        add("model.top_k",
            "top_k (" + str(m.top_k) + ") must be between 1 and experts (" + str(m.experts) + ")");
    }
    if (m.is_moe()) {
        if (m.expert_ffn_hidden <= 0) {
            add("model.expert_ffn_hidden",
                "expert_ffn_hidden must be positive, got " + str(m.expert_ffn_hidden));
        }
        if (!(m.capacity_factor >= 0) || !std::isfinite(m.capacity_factor)) {  // NaN too
            add("model.capacity_factor",
                "capacity_factor must be a finite number >= 0 (0 = "
                "dropless), got " +
                    shortest(m.capacity_factor));
        }
        if (m.dense_layers < 0 || m.dense_layers > m.layers) {
            add("model.dense_layers", "dense_layers (" + str(m.dense_layers) +
                                          ") must be between 0 and layers (" + str(m.layers) + ")");
        }
    }
    if (!(t.expert_skew >= 0) || !std::isfinite(t.expert_skew)) {
        // NaN passed a "< 0" check and reached the GEMM sizes as NaN (a fuzz find).
        add("training.expert_skew",
            "expert_skew must be a finite number >= 0, got " + shortest(t.expert_skew));
    }
    if (p.ep < 1) {
        add("parallelism.ep", "ep must be >= 1, got " + str(p.ep));
    } else if (p.ep > 1) {
        if (!m.is_moe()) {
            add("parallelism.ep",
                "ep (" + str(p.ep) + ") needs a mixture-of-experts model " + "(experts > 1)");
        } else if (m.experts % p.ep != 0) {
            add("parallelism.ep",
                "ep (" + str(p.ep) + ") must divide experts (" + str(m.experts) + ") evenly");
        }
        if (p.dp % p.ep != 0) {
            add("parallelism.ep", "ep (" + str(p.ep) + ") must divide dp (" + str(p.dp) +
                                      ") evenly: expert-parallel ranks come from data parallelism");
        }
    }
    if (m.is_moe() && shape_ok && layout_ok && m.expert_ffn_hidden % p.tp != 0) {
        add("parallelism.tp", "tp (" + str(p.tp) + ") must divide expert_ffn_hidden (" +
                                  str(m.expert_ffn_hidden) + ") evenly");
    }
    if (shape_ok && layout_ok) {
        if (m.heads % p.tp != 0) {
            add("parallelism.tp",
                "tp (" + str(p.tp) + ") must divide heads (" + str(m.heads) + ") evenly");
        } else if (m.kv_heads % p.tp != 0) {
            add("parallelism.tp",
                "tp (" + str(p.tp) + ") must divide kv_heads (" + str(m.kv_heads) + ") evenly");
        }
        if (m.ffn_hidden % p.tp != 0) {
            add("parallelism.tp",
                "tp (" + str(p.tp) + ") must divide ffn_hidden (" + str(m.ffn_hidden) + ") evenly");
        }
        // Context parallelism cuts the sequence into 2·cp load-balanced chunks.
        const bool cp_ok = p.cp == 1 || m.seq_len % (2 * static_cast<std::int64_t>(p.cp)) == 0;
        if (!cp_ok) {
            add("parallelism.cp", "cp (" + str(p.cp) + ") needs seq_len (" + str(m.seq_len) +
                                      ") divisible by 2 x cp = " + str(2 * p.cp) +
                                      " (two load-balanced chunks per context-parallel rank)");
        }
        if (cp_ok && p.is_sequence_parallel && (m.seq_len / p.cp) % p.tp != 0) {
            add("parallelism.sequence_parallel",
                "sequence parallelism needs tp (" + str(p.tp) + ") to divide seq_len" +
                    (p.cp > 1 ? " / cp (" + str(m.seq_len / p.cp) + ")"
                              : " (" + str(m.seq_len) + ")") +
                    " evenly");
        }
        if (p.cp > 1 && !t.is_flash_attention) {
            add("parallelism.cp", "context parallelism (cp " + str(p.cp) +
                                      ") needs fused attention (training.flash_attention: true)");
        }
        const std::int64_t chunks = model_chunk_count(p);
        if (m.layers < chunks) {
            add("parallelism.pp",
                p.schedule == PipelineScheduleKind::kDualPipeV
                    ? "DualPipeV cuts the model in 2 x pp (" + str(p.pp) + ") = " + str(chunks) +
                          " chunks, which need at least as many layers, model has " + str(m.layers)
                    : "pp (" + str(p.pp) + ") x virtual_stages (" + str(p.virtual_stages) +
                          ") = " + str(chunks) +
                          " model chunks need at least as many layers, model has " + str(m.layers));
        }
    }
    if (layout_ok) {
        const bool interleaved = p.schedule == PipelineScheduleKind::kInterleaved;
        if (interleaved && p.virtual_stages < 2) {
            add("parallelism.virtual_stages",
                "the interleaved schedule needs virtual_stages >= 2, got " + str(p.virtual_stages));
        }
        if (!interleaved && p.virtual_stages != 1) {
            add("parallelism.virtual_stages", "virtual_stages (" + str(p.virtual_stages) +
                                                  ") needs the interleaved schedule, schedule is " +
                                                  std::string(to_string(p.schedule)));
        }
        if (interleaved && p.pp < 2) {
            add("parallelism.schedule", "the interleaved schedule needs pp >= 2, got " + str(p.pp));
        }
        // DeepSeek-V3 §3.2.1: DualPipe needs the pipeline stages and the micro-batches to be
        // divisible by 2 (DualPipeV's 2·pp stages always are).
        const bool dual = p.schedule == PipelineScheduleKind::kDualPipe ||
                          p.schedule == PipelineScheduleKind::kDualPipeV;
        if (dual && p.pp < 2) {
            add("parallelism.schedule",
                std::string(to_string(p.schedule)) + " needs pp >= 2, got " + str(p.pp));
        } else if (p.schedule == PipelineScheduleKind::kDualPipe && p.pp % 2 != 0) {
            add("parallelism.pp",
                "DualPipe needs an even number of pipeline stages, got pp " + str(p.pp));
        }
    }
    if (p.fsdp_prefetch_layers < 0 || p.fsdp_prefetch_layers > 64) {
        add("parallelism.fsdp_prefetch_layers",
            "fsdp_prefetch_layers must be 0..64, got " + str(p.fsdp_prefetch_layers));
    }
    if (p.zero_stage < 0 || p.zero_stage > 3) {
        add("parallelism.zero_stage", "zero_stage must be 0, 1, 2 or 3, got " + str(p.zero_stage));
    }
    // The GEMM pieces of an overlapped TP collective run on the SMs the communication leaves.
    if (p.is_tp_comm_overlapped && p.is_sequence_parallel && job.gpu.sm_count > 0) {
        for (const auto& [field, sms] :
             {std::pair{"tp_comm_overlap_ag_sms", p.tp_comm_overlap_ag_sms},
              std::pair{"tp_comm_overlap_rs_sms", p.tp_comm_overlap_rs_sms}}) {
            if (sms >= job.gpu.sm_count) {
                add(std::string("parallelism.") + field,
                    std::string(field) + " (" + str(sms) + ") leaves no SMs for the GEMM: " +
                        job.gpu.name + " has " + str(job.gpu.sm_count));
            }
        }
    }
    if (p.ep_comm_sms > 0 && p.ep < 2) {
        add("parallelism.ep_comm_sms",
            "ep_comm_sms (" + str(p.ep_comm_sms) + ") needs expert parallelism (ep >= 2)");
    } else if (p.ep_comm_sms > 0 && job.gpu.sm_count > 0 && p.ep_comm_sms >= job.gpu.sm_count) {
        add("parallelism.ep_comm_sms", "ep_comm_sms (" + str(p.ep_comm_sms) +
                                           ") leaves no SMs for compute: " + job.gpu.name +
                                           " has " + str(job.gpu.sm_count));
    }
    if (p.grad_bucket_bytes <= 0) {
        add("parallelism.grad_bucket",
            "grad_bucket must be positive, got " + str(p.grad_bucket_bytes) + " bytes");
    }
    if (batch_ok && layout_ok) {
        std::int64_t per_pipeline = 0;
        if (__builtin_mul_overflow(t.micro_batch, std::int64_t{p.dp}, &per_pipeline)) {
            // micro_batch: 9223372036854775807 overflowed the product (a fuzz find).
            add("training.micro_batch", "micro_batch x dp (" + str(t.micro_batch) + " x " +
                                            str(p.dp) + ") exceeds global_batch (" +
                                            str(t.global_batch) + ")");
        } else if (t.global_batch % per_pipeline != 0) {
            add("training.global_batch", "global_batch (" + str(t.global_batch) +
                                             ") must be divisible by micro_batch x dp (" +
                                             str(t.micro_batch) + " x " + str(p.dp) + " = " +
                                             str(per_pipeline) + ")");
        } else if (p.schedule == PipelineScheduleKind::kInterleaved &&
                   (t.global_batch / per_pipeline) % p.pp != 0) {
            add("training.global_batch",
                "micro-batches per pipeline (" + str(t.global_batch / per_pipeline) +
                    ") must be a multiple of pp (" + str(p.pp) + ") for the interleaved schedule");
        } else if (p.schedule == PipelineScheduleKind::kDualPipe &&
                   (t.global_batch / per_pipeline) % 2 != 0) {
            add("training.global_batch",
                "DualPipe feeds half the micro-batches from each end: "
                "micro-batches per pipeline (" +
                    str(t.global_batch / per_pipeline) + ") must be even");
        } else if ((p.schedule == PipelineScheduleKind::kDualPipe ||
                    p.schedule == PipelineScheduleKind::kDualPipeV) &&
                   t.global_batch / per_pipeline < 2 * static_cast<std::int64_t>(p.pp)) {
            add("training.global_batch",
                std::string(to_string(p.schedule)) +
                    " needs at least 2 x pp = " + str(2 * static_cast<std::int64_t>(p.pp)) +
                    " micro-batches per pipeline (its steady state pairs a forward with a "
                    "backward on every rank), got " +
                    str(t.global_batch / per_pipeline));
        }
    }
    if (!(t.packing_utilization_fraction > 0.0 && t.packing_utilization_fraction <= 1.0)) {
        add("training.packing_utilization", "packing_utilization must be in (0, 1], got " +
                                                std::to_string(t.packing_utilization_fraction));
    }
    if (!(t.data_loader_s >= 0.0)) {
        add("training.data_loader_time", "data_loader_time must not be negative");
    }
    const GpuEfficiency& e = job.gpu.efficiency;
    for (const auto& [field, value] :
         {std::pair{"hardware.gemm_efficiency", e.gemm_fraction},
          std::pair{"hardware.attention_efficiency", e.attention_fraction},
          std::pair{"hardware.memory_efficiency", e.memory_fraction}}) {
        if (!(value > 0.0 && value <= 1.0)) {
            add(field,
                std::string(field).substr(9) + " must be in (0, 1], got " + std::to_string(value));
        }
    }
    return problems;
}

void validate_job_against_cluster(const TrainingJob& job,
                                  int gpu_count,
                                  bool allow_oom,
                                  const std::string& workload_file,
                                  const std::string& topology_file) {
    const auto where = [&](std::string_view field) {
        return job.source.file.empty() ? SourceLocation{workload_file, 0, 0}
                                       : job.source.locate(field);
    };
    const ParallelLayout& p = job.layout;
    const std::int64_t world = static_cast<std::int64_t>(p.tp) * p.cp * p.pp * p.dp;
    if (world != gpu_count) {
        throw JobClusterMismatch(
            where("parallelism.tp"), "parallelism.tp",
            (p.cp > 1 ? "tp x cp x pp x dp (" + str(p.tp) + " x " + str(p.cp) + " x "
                      : "tp x pp x dp (" + str(p.tp) + " x ") +
                str(p.pp) + " x " + str(p.dp) + " = " + str(world) +
                ") must equal the topology's gpu count (" + str(gpu_count) +
                (topology_file.empty() ? "" : " in " + topology_file) + ")");
    }
    if (allow_oom) {
        return;
    }
    const int stage = most_loaded_stage(job);
    const MemoryBreakdown memory = memory_per_gpu(job, stage);
    if (memory.total_bytes() > job.gpu.hbm_bytes) {
        throw JobClusterMismatch(
            where("parallelism"), "parallelism",
            "out of memory: pipeline stage " + str(stage) + " needs " +
                format_size(static_cast<double>(memory.total_bytes())) + " per gpu, " +
                job.gpu.name + " has " + format_size(static_cast<double>(job.gpu.hbm_bytes)) +
                " (weights " + format_size(static_cast<double>(memory.weights_bytes)) +
                ", gradients " + format_size(static_cast<double>(memory.gradients_bytes)) +
                ", optimizer " + format_size(static_cast<double>(memory.optimizer_bytes)) +
                ", activations " + format_size(static_cast<double>(memory.activations_bytes)) +
                ", transient " + format_size(static_cast<double>(memory.transient_bytes)) +
                "); shard more (zero_stage, tp, pp), recompute, or pass --allow-oom");
    }
}

}  // namespace stepsim
