// SPDX-License-Identifier: Apache-2.0
// File: workload_loader.cc
// load_workload_file / load_workload_text: parse (syntax errors from protobuf), apply --set
// overrides, convert quantities with units, look the GPU up, then validate the job (every
// problem located through the parse tree) and return a stepsim::TrainingJob.
#include "stepsim/spec.h"
#include "stepsim/units.h"
#include "stepsim/workload.h"

#include "diagnostics.h"
#include "overrides.h"
#include "spec_locator.h"
#include "text_parser.h"
#include "workloads/workload.pb.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace stepsim {

namespace {

namespace gp = google::protobuf;

class WorkloadConverter {
public:
    WorkloadConverter(const spec::Workload& message,
                      const spec::SpecLocator& locator,
                      spec::Diagnostics& diagnostics,
                      std::string file)
        : message_(message)
        , locator_(locator)
        , diagnostics_(diagnostics)
        , file_(std::move(file)) {}

    TrainingJob convert() {
        TrainingJob job;
        switch (message_.stack()) {
            case spec::MEGATRON_LM_2021:
                job.stack = SoftwareStack::kMegatronLm2021;
                break;
            case spec::MEGATRON_CORE_2024:
                job.stack = SoftwareStack::kMegatronCore2024;
                break;
            case spec::MEGATRON_DEEPSPEED_2022:
                job.stack = SoftwareStack::kMegatronDeepSpeed2022;
                break;
            default:
                job.stack = SoftwareStack::kCustom;
                break;
        }
        // The stack's defaults first; every field the spec gives overrides them.
        apply_stack_defaults(job);
        convert_model(job.model);
        convert_training(job.training);
        convert_layout(job.layout);
        convert_gpu(job.gpu, job.stack);
        convert_attention_kernel(job);
        return job;
    }

    /// Reports a validate_job problem at its field ("parallelism.tp").
    void report(const JobProblem& problem) {
        const std::size_t dot = problem.field_path.find('.');
        const std::string section = problem.field_path.substr(0, dot);
        const gp::Message* sub = nullptr;
        if (section == "model") {
            sub = &message_.model();
        } else if (section == "training") {
            sub = &message_.training();
        } else if (section == "parallelism") {
            sub = &message_.parallelism();
        } else if (section == "hardware") {
            sub = &message_.hardware();
        }
        if (sub == nullptr || dot == std::string::npos) {
            diagnostics_.error(locator_.where(message_), problem.field_path, problem.message);
            return;
        }
        const std::string field = problem.field_path.substr(dot + 1);
        diagnostics_.error(locator_.where(*sub, field), problem.field_path, problem.message);
    }

private:
    void error(const gp::Message& message, const std::string& field, const std::string& text) {
        diagnostics_.error(locator_.where(message, field), locator_.path(message, field), text);
    }

    template <typename Parse>
    auto quantity(const gp::Message& message,
                  const std::string& field,
                  const std::string& text,
                  Parse parse) -> std::optional<decltype(parse(text))> {
        try {
            return parse(text);
        } catch (const UnitError& e) {
            error(message, field, field + " \"" + text + "\": " + e.what());
            return std::nullopt;
        }
    }

    void convert_model(ModelConfig& m) {
        const spec::Model& p = message_.model();
        m.name = message_.name();
        m.layers = p.layers();
        m.hidden = p.hidden();
        // The default 4h, saturated: a hidden too large for it is rejected by check_limits.
        constexpr std::int64_t kMaxQuarter = std::numeric_limits<std::int64_t>::max() / 4;
        m.ffn_hidden = p.ffn_hidden() != 0 ? p.ffn_hidden()
                       : std::abs(p.hidden()) <= kMaxQuarter
                           ? 4 * p.hidden()
                           : std::numeric_limits<std::int64_t>::max();
        m.is_gated = p.gated();
        m.heads = p.heads();
        m.kv_heads = p.has_kv_heads() ? p.kv_heads() : p.heads();
        m.seq_len = p.seq_len();
        m.vocab = p.vocab();
        m.has_bias = p.has_bias() ? p.bias() : true;
        m.norm = p.norm() == spec::Model::RMS_NORM ? NormKind::kRmsNorm : NormKind::kLayerNorm;
        m.position_embedding = p.position_embedding() == spec::Model::ROTARY
                                   ? PositionEmbedding::kRotary
                                   : PositionEmbedding::kLearned;
        m.has_tied_embeddings = p.has_tied_embeddings() ? p.tied_embeddings() : true;
        m.has_dropout = p.has_dropout() ? p.dropout() : true;
        m.experts = p.has_experts() ? p.experts() : 1;
        m.top_k = p.has_top_k() ? p.top_k() : 1;
        m.expert_ffn_hidden = p.has_expert_ffn_hidden() ? p.expert_ffn_hidden() : m.ffn_hidden;
        m.shared_experts = p.shared_experts();
        m.capacity_factor = p.capacity_factor();
        m.dense_layers = p.dense_layers();
    }

    void convert_training(TrainingConfig& t) {
        const spec::Training& p = message_.training();
        t.global_batch = p.global_batch();
        t.micro_batch = p.has_micro_batch() ? p.micro_batch() : 1;
        switch (p.recompute()) {
            case spec::Training::SELECTIVE:
                t.recompute = Recompute::kSelective;
                break;
            case spec::Training::FULL:
                t.recompute = Recompute::kFull;
                break;
            default:
                t.recompute = Recompute::kNone;
                break;
        }
        t.gradient_precision = p.gradient_precision() == spec::Training::FP32
                                   ? GradientPrecision::kFp32
                                   : GradientPrecision::kBf16;
        if (p.has_flash_attention()) {
            t.is_flash_attention = p.flash_attention();
        }
        if (!p.pipeline_op_overhead().empty()) {
            t.pipeline_op_overhead_s =
                quantity(p, "pipeline_op_overhead", p.pipeline_op_overhead(),
                         [](const std::string& s) { return parse_duration_s(s); })
                    .value_or(0.0);
            if (t.pipeline_op_overhead_s < 0 || t.pipeline_op_overhead_s > 10.0) {
                error(p, "pipeline_op_overhead", "pipeline_op_overhead must be 0..10s");
            }
        }
        t.packing_utilization_fraction =
            p.has_packing_utilization() ? p.packing_utilization() : 1.0;
        t.expert_skew = p.expert_skew();
        t.expert_skew_seed = p.has_expert_skew_seed() ? p.expert_skew_seed() : 1;
        if (!p.data_loader_time().empty()) {
            t.data_loader_s =
                quantity(p, "data_loader_time", p.data_loader_time(), [](const std::string& s) {
                    return parse_duration_s(s);
                }).value_or(0.0);
        }
    }

    void convert_layout(ParallelLayout& l) {
        const spec::Parallelism& p = message_.parallelism();
        l.tp = p.has_tp() ? p.tp() : 1;
        l.pp = p.has_pp() ? p.pp() : 1;
        l.dp = p.has_dp() ? p.dp() : 1;
        l.cp = p.has_cp() ? p.cp() : 1;
        l.cp_comm = p.cp_comm_type() == spec::Parallelism::CP_ALL_GATHER ? CpCommType::kAllGather
                                                                         : CpCommType::kP2p;
        if (p.has_fsdp_prefetch_layers()) {
            l.fsdp_prefetch_layers = p.fsdp_prefetch_layers();
        }
        l.is_sequence_parallel = p.sequence_parallel();
        l.virtual_stages = p.has_virtual_stages() ? p.virtual_stages() : 1;
        l.ep = p.has_ep() ? p.ep() : 1;
        if (p.has_zero_stage()) {
            l.zero_stage = p.zero_stage();
        }
        if (!p.grad_bucket().empty()) {
            l.grad_bucket_bytes =
                quantity(p, "grad_bucket", p.grad_bucket(), [](const std::string& s) {
                    return parse_size_bytes(s);
                }).value_or(l.grad_bucket_bytes);
        }
        if (p.has_overlap_grad_reduce()) {
            l.is_grad_reduce_overlapped = p.overlap_grad_reduce();
        }
        if (p.has_overlap_param_gather()) {
            l.is_param_gather_overlapped = p.overlap_param_gather();
        }
        if (p.has_tp_comm_overlap()) {
            l.is_tp_comm_overlapped = p.tp_comm_overlap();
            if (p.tp_comm_overlap() && !p.sequence_parallel()) {
                error(p, "tp_comm_overlap",
                      "tp_comm_overlap needs sequence_parallel: true (Megatron overlaps the "
                      "sequence-parallel all-gather and reduce-scatter)");
            }
        }
        const auto sms = [&](bool has, std::int32_t value, const char* field, int& target) {
            if (!has) {
                return;
            }
            if (value < 0 || value > 1024) {
                error(p, field,
                      std::string(field) + " must be 0..1024 SMs, got " + std::to_string(value));
                return;
            }
            target = value;
        };
        sms(p.has_tp_comm_overlap_ag_sms(), p.tp_comm_overlap_ag_sms(), "tp_comm_overlap_ag_sms",
            l.tp_comm_overlap_ag_sms);
        sms(p.has_tp_comm_overlap_rs_sms(), p.tp_comm_overlap_rs_sms(), "tp_comm_overlap_rs_sms",
            l.tp_comm_overlap_rs_sms);
        sms(p.has_ep_comm_sms(), p.ep_comm_sms(), "ep_comm_sms", l.ep_comm_sms);
        if (p.has_overlap_p2p_comm()) {
            l.is_p2p_overlapped = p.overlap_p2p_comm();
        }
        if (p.has_scatter_gather_p2p()) {
            l.is_p2p_scatter_gather = p.scatter_gather_p2p();
        }
        if (!p.rank_order().empty()) {
            parse_rank_order(p, l);
        }
        switch (p.schedule()) {
            case spec::Parallelism::GPIPE:
                l.schedule = PipelineScheduleKind::kGPipe;
                break;
            case spec::Parallelism::INTERLEAVED:
                l.schedule = PipelineScheduleKind::kInterleaved;
                break;
            case spec::Parallelism::ZB_H1:
                l.schedule = PipelineScheduleKind::kZeroBubbleH1;
                break;
            case spec::Parallelism::DUALPIPE:
                l.schedule = PipelineScheduleKind::kDualPipe;
                break;
            case spec::Parallelism::DUALPIPEV:
                l.schedule = PipelineScheduleKind::kDualPipeV;
                break;
            default:
                l.schedule = PipelineScheduleKind::kOneFOneB;
                break;
        }
    }

    void parse_rank_order(const spec::Parallelism& p, ParallelLayout& l) {
        std::vector<ParallelDim> dims;
        std::string text = p.rank_order();
        std::size_t start = 0;
        bool ok = true;
        while (ok && start <= text.size()) {
            const std::size_t dash = text.find('-', start);
            const std::string part =
                text.substr(start, dash == std::string::npos ? std::string::npos : dash - start);
            if (part == "tp") {
                dims.push_back(ParallelDim::kTp);
            } else if (part == "dp") {
                dims.push_back(ParallelDim::kDp);
            } else if (part == "pp") {
                dims.push_back(ParallelDim::kPp);
            } else if (part == "cp") {
                dims.push_back(ParallelDim::kCp);
            } else {
                ok = false;
            }
            if (dash == std::string::npos) {
                break;
            }
            start = dash + 1;
        }
        // Without cp the order names tp, dp and pp, and cp sits right outside tp (Megatron's
        // place for it).
        if (ok && dims.size() == 3 &&
            std::find(dims.begin(), dims.end(), ParallelDim::kCp) == dims.end()) {
            dims.insert(std::find(dims.begin(), dims.end(), ParallelDim::kTp) + 1,
                        ParallelDim::kCp);
        }
        for (std::size_t i = 0; ok && i < dims.size(); ++i) {
            for (std::size_t j = i + 1; j < dims.size(); ++j) {
                ok = ok && dims[i] != dims[j];
            }
        }
        ok = ok && dims.size() == 4;
        if (!ok) {
            error(p, "rank_order",
                  "rank_order \"" + text +
                      "\" must name tp, dp and pp (and optionally cp) once each, innermost first "
                      "(e.g. \"tp-dp-pp\" or \"tp-cp-dp-pp\")");
            return;
        }
        l.order = {dims[0], dims[1], dims[2], dims[3]};
    }

    void convert_attention_kernel(TrainingJob& job) {
        const spec::Training& p = message_.training();
        if (p.gemm_dtype() == spec::Training::FP8_GEMM) {
            job.training.gemm_dtype = Dtype::kFp8;
            if (!(job.gpu.peak_fp8_flops_per_s > 0.0)) {
                error(p, "gemm_dtype",
                      "FP8_GEMM needs a GPU with fp8 tensor cores (" + job.gpu.name + " has none)");
            }
        }
        switch (p.attention_kernel()) {
            case spec::Training::FLASH2:
                job.training.attention_kernel = AttentionKernel::kFlash2;
                break;
            case spec::Training::FLASH3:
                job.training.attention_kernel = AttentionKernel::kFlash3;
                if (!(job.gpu.flash3.max_fraction_d128 > 0.0)) {
                    error(p, "attention_kernel",
                          "FLASH3 needs a Hopper or later GPU (" + job.gpu.name +
                              " has no FlashAttention-3)");
                }
                break;
            default:
                job.training.attention_kernel = default_attention_kernel(job.stack, job.gpu);
                break;
        }
    }

    void convert_gpu(GpuSpec& gpu, SoftwareStack stack) {
        const spec::Hardware& p = message_.hardware();
        if (!p.gpu().empty()) {
            const std::optional<GpuSpec> found = find_gpu(p.gpu());
            if (!found) {
                std::string names;
                for (const GpuSpec& g : gpu_library()) {
                    names += names.empty() ? "" : ", ";
                    names += g.name;
                }
                error(p, "gpu",
                      "unknown gpu \"" + p.gpu() + "\" (the library has " + names +
                          "; or leave gpu empty and give peak_bf16, hbm_capacity, hbm_bandwidth)");
                return;
            }
            gpu = *found;
            apply_stack_gpu_constants(stack, gpu);
        } else {
            gpu.name = "custom";
            for (const char* field : {"peak_bf16", "hbm_capacity", "hbm_bandwidth"}) {
                const gp::FieldDescriptor* f = p.GetDescriptor()->FindFieldByName(field);
                if (p.GetReflection()->GetString(p, f).empty()) {
                    error(p, field, std::string("a custom gpu (no hardware.gpu) needs ") + field);
                }
            }
        }
        if (!p.peak_bf16().empty()) {
            gpu.peak_bf16_flops_per_s =
                quantity(p, "peak_bf16", p.peak_bf16(), [](const std::string& s) {
                    return parse_flops_per_s(s);
                }).value_or(gpu.peak_bf16_flops_per_s);
        }
        if (!p.hbm_capacity().empty()) {
            gpu.hbm_bytes = quantity(p, "hbm_capacity", p.hbm_capacity(), [](const std::string& s) {
                                return parse_size_bytes(s);
                            }).value_or(gpu.hbm_bytes);
        }
        if (!p.hbm_bandwidth().empty()) {
            gpu.hbm_Bps = quantity(p, "hbm_bandwidth", p.hbm_bandwidth(), [](const std::string& s) {
                              return parse_bandwidth_Bps(s);
                          }).value_or(gpu.hbm_Bps);
        }
        if (p.has_gemm_efficiency()) {
            gpu.efficiency.gemm_fraction = p.gemm_efficiency();
        }
        gpu.compute_model = p.compute_model() == spec::Hardware::SCALAR ? ComputeModel::kScalar
                                                                        : ComputeModel::kKernel;
        if (!p.launch_overhead().empty()) {
            gpu.launch_overhead_s =
                quantity(p, "launch_overhead", p.launch_overhead(), [](const std::string& s) {
                    return parse_duration_s(s);
                }).value_or(gpu.launch_overhead_s);
            if (gpu.launch_overhead_s < 0 || gpu.launch_overhead_s > 1.0) {
                error(p, "launch_overhead", "launch_overhead must be 0..1s");
            }
        }
        if (p.has_sm_count()) {
            if (p.sm_count() < 1 || p.sm_count() > 100000) {
                error(p, "sm_count",
                      "sm_count must be 1..100000, got " + std::to_string(p.sm_count()));
            } else {
                gpu.sm_count = p.sm_count();
            }
        }
        if (!p.kernel_profile().empty()) {
            std::filesystem::path path(p.kernel_profile());
            if (path.is_relative()) {
                const std::filesystem::path base = std::filesystem::path(file_).parent_path();
                path = base / path;
            }
            try {
                gpu.kernel_profile =
                    std::make_shared<const KernelProfile>(load_kernel_profile_file(path));
            } catch (const SpecError& e) {
                for (const Diagnostic& d : e.diagnostics()) {
                    diagnostics_.error(d.location, d.field_path, d.message);
                }
                return;
            }
            // A profile names the GPU it was measured on; under a library GPU it must name that
            // one (a GPU the library does not know is another GPU). A custom GPU has no
            // library name to compare with.
            const std::optional<GpuSpec> measured_on = find_gpu(gpu.kernel_profile->gpu);
            if (!gpu.kernel_profile->gpu.empty() &&
                (measured_on ? measured_on->name != gpu.name : !p.gpu().empty())) {
                error(p, "kernel_profile",
                      "kernel profile " + path.string() + " was measured on " +
                          gpu.kernel_profile->gpu + ", the workload runs on " + gpu.name);
            }
        }
        if (p.has_attention_efficiency()) {
            gpu.efficiency.attention_fraction = p.attention_efficiency();
        }
        if (p.has_memory_efficiency()) {
            gpu.efficiency.memory_fraction = p.memory_efficiency();
        }
    }

    const spec::Workload& message_;
    const spec::SpecLocator& locator_;
    spec::Diagnostics& diagnostics_;
    std::string file_;  ///< the workload file (kernel profile paths are relative to it)
};

/// Defaults of the spec's limits block (workload.proto).
constexpr std::int64_t kMaxGpus = 10'000'000;
constexpr std::int64_t kMaxMicrobatches = 100'000;

std::string limit_hint(const std::string& name, std::int64_t value) {
    return " (limits." + name + " = " + std::to_string(value) + "; raise it with --set limits." +
           name + "=N or a limits { " + name + ": N } block in the spec)";
}

/// Rejects jobs whose step simulation would exhaust memory or time (the task graph grows with
/// GPUs and micro-batches) before validate_job or anything else multiplies their sizes.
/// Products are formed in double, so that no size overflows on the way.
void check_limits(const spec::Workload& message,
                  const TrainingJob& job,
                  const spec::SpecLocator& locator,
                  spec::Diagnostics& diagnostics) {
    std::int64_t max_gpus = kMaxGpus;
    std::int64_t max_microbatches = kMaxMicrobatches;
    const spec::WorkloadLimits& limits = message.limits();
    auto read = [&](bool has, std::int64_t value, const char* field, std::int64_t& target) {
        if (!has) {
            return;
        }
        if (value < 1) {
            diagnostics.error(locator.where(limits, field), locator.path(limits, field),
                              std::string("limits.") + field + " must be at least 1, got " +
                                  std::to_string(value));
            return;
        }
        target = value;
    };
    read(limits.has_max_gpus(), limits.max_gpus(), "max_gpus", max_gpus);
    read(limits.has_max_microbatches(), limits.max_microbatches(), "max_microbatches",
         max_microbatches);

    // Sizes beyond these overflow the 64-bit byte and FLOP counts of the workload model (a
    // fuzz find: hidden 4e9 overflowed costs.cc); they are representational bounds, far above
    // any real model, so they are not in the limits block.
    const ModelConfig& m = job.model;
    const spec::Model& model = message.model();
    auto too_large = [&](const char* field, double value, double bound, const std::string& what) {
        if (value > bound) {
            char text[64];
            std::snprintf(text, sizeof text, "%.6g exceeds %.6g", value, bound);
            diagnostics.error(
                locator.where(model, field), locator.path(model, field),
                what + " " + text + ", the largest the workload model can count in 64 bits");
        }
    };
    constexpr double kMaxWidth = 1 << 20;
    constexpr double kMaxTokens = 4294967296.0;  // 2^32
    constexpr double kMaxParameters = 1e15;      // 16 PB of weights, gradients, Adam state
    too_large("hidden", static_cast<double>(m.hidden), kMaxWidth, "hidden");
    too_large("ffn_hidden", static_cast<double>(m.ffn_hidden), 4 * kMaxWidth, "ffn_hidden");
    too_large("vocab", static_cast<double>(m.vocab), 16 * kMaxWidth, "vocab");
    too_large("seq_len", static_cast<double>(m.seq_len), 16 * kMaxWidth, "seq_len");
    too_large("seq_len",
              static_cast<double>(m.seq_len) * static_cast<double>(job.training.micro_batch),
              kMaxTokens, "tokens per micro-batch (seq_len x micro_batch)");
    too_large("expert_ffn_hidden", static_cast<double>(m.expert_ffn_hidden), 4 * kMaxWidth,
              "expert_ffn_hidden");
    if (m.hidden <= kMaxWidth && m.ffn_hidden <= 4 * kMaxWidth &&
        m.expert_ffn_hidden <= 4 * kMaxWidth) {
        const double h = static_cast<double>(m.hidden);
        // Every layer counted with its experts (routed and shared, 3·h·f_e each) on top of the
        // dense MLP: an upper bound, so that no per-layer count overflows (a fuzz find:
        // shared_experts 2^30 overflowed parameter_count()).
        const double experts =
            m.experts > 1 ? static_cast<double>(m.experts) + std::max(0.0, double(m.shared_experts))
                          : 0.0;
        const double parameters =
            static_cast<double>(m.layers) *
                (4 * h * h + 3 * h * static_cast<double>(m.ffn_hidden) +
                 experts * (h + 3 * h * static_cast<double>(m.expert_ffn_hidden))) +
            (static_cast<double>(m.vocab) + static_cast<double>(m.seq_len)) * h;
        too_large("layers", parameters, kMaxParameters, "parameters (about)");
    }
    if (m.hidden <= kMaxWidth && m.seq_len <= 16 * kMaxWidth) {
        // Korthikanti's activation bytes per layer (34·s·b·h, plus 5·a·s²·b unfused) times the
        // layers: a stage's memory in int64 bytes (a fuzz find: 292,554 layers of 105 TiB
        // each wrapped the memory count negative).
        const double s_b =
            static_cast<double>(m.seq_len) * static_cast<double>(job.training.micro_batch);
        const double scores = job.training.is_flash_attention
                                  ? 0.0
                                  : 5.0 * m.heads * static_cast<double>(m.seq_len) * s_b;
        too_large(
            "layers",
            static_cast<double>(m.layers) * (34.0 * s_b * static_cast<double>(m.hidden) + scores),
            1e18, "activation bytes of all layers (about)");
    }
    if (!job.training.is_flash_attention) {
        // Unfused attention stores a·s·s·b score bytes per layer.
        too_large("seq_len",
                  5.0 * m.heads * static_cast<double>(m.seq_len) * static_cast<double>(m.seq_len) *
                      static_cast<double>(job.training.micro_batch),
                  1e18, "attention score bytes per layer (5 x heads x seq_len^2 x micro_batch)");
    }

    const ParallelLayout& l = job.layout;
    const spec::Parallelism& p = message.parallelism();
    const double gpus = static_cast<double>(l.tp) * l.cp * l.pp * l.dp;
    if (l.tp > 0 && l.pp > 0 && l.dp > 0 && l.cp > 0 && gpus > static_cast<double>(max_gpus)) {
        const char* field = l.dp >= l.tp && l.dp >= l.pp && l.dp >= l.cp ? "dp"
                            : l.pp >= l.tp && l.pp >= l.cp               ? "pp"
                            : l.cp >= l.tp                               ? "cp"
                                                                         : "tp";
        char text[32];
        std::snprintf(text, sizeof text, "%.6g", gpus);
        const std::string product = l.cp > 1 ? "tp x cp x pp x dp = " + std::to_string(l.tp) +
                                                   " x " + std::to_string(l.cp) + " x "
                                             : "tp x pp x dp = " + std::to_string(l.tp) + " x ";
        diagnostics.error(locator.where(p, field), locator.path(p, field),
                          product + std::to_string(l.pp) + " x " + std::to_string(l.dp) + " = " +
                              text + " GPUs, more than " + std::to_string(max_gpus) +
                              limit_hint("max_gpus", max_gpus));
    }
    const TrainingConfig& t = job.training;
    if (t.global_batch > 0 && t.micro_batch > 0 && l.dp > 0) {
        const double per_pipeline =
            static_cast<double>(t.global_batch) / (static_cast<double>(t.micro_batch) * l.dp);
        if (per_pipeline > static_cast<double>(max_microbatches)) {
            char text[32];
            std::snprintf(text, sizeof text, "%.6g", per_pipeline);
            diagnostics.error(locator.where(message.training(), "global_batch"),
                              locator.path(message.training(), "global_batch"),
                              std::string("global_batch / (micro_batch x dp) = ") + text +
                                  " micro-batches per pipeline, more than " +
                                  std::to_string(max_microbatches) +
                                  limit_hint("max_microbatches", max_microbatches));
        }
    }
}

}  // namespace

TrainingJob load_workload_text(std::string_view text,
                               std::string_view display_name,
                               std::span<const SpecOverride> overrides) {
    const std::string file(display_name);
    spec::Workload message;
    gp::TextFormat::ParseInfoTree tree;
    // Every section exists before the locator indexes the message, so that each field has a
    // message to be located in.
    const spec::SpecLocator locator =
        spec::parse_with_overrides(text, file, message, tree, overrides, [&message] {
            message.mutable_model();
            message.mutable_training();
            message.mutable_parallelism();
            message.mutable_hardware();
        });
    spec::Diagnostics diagnostics;
    WorkloadConverter converter(message, locator, diagnostics, file);
    TrainingJob job = converter.convert();
    // Where the fields that validate_job_against_cluster() names were written.
    job.source.file = file;
    job.source.fields.emplace("parallelism", locator.where(message.parallelism()));
    for (const char* field : {"tp", "pp", "dp", "zero_stage"}) {
        job.source.fields.emplace(std::string("parallelism.") + field,
                                  locator.where(message.parallelism(), field));
    }
    job.source.fields.emplace("hardware.gpu", locator.where(message.hardware(), "gpu"));
    diagnostics.throw_if_any();
    check_limits(message, job, locator, diagnostics);
    diagnostics.throw_if_any();
    for (const JobProblem& problem : validate_job(job)) {
        converter.report(problem);
    }
    diagnostics.throw_if_any();
    return job;
}

TrainingJob load_workload_file(const std::filesystem::path& path,
                               std::span<const SpecOverride> overrides) {
    return load_workload_text(spec::read_spec_file(path), path.string(), overrides);
}

}  // namespace stepsim
