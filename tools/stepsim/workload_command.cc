// SPDX-License-Identifier: Apache-2.0
// File: workload_command.cc
// `stepsim workload FILE [--gpus N] [--allow-oom] [--json] [--set FIELD=VALUE]`: load and
// validate a workload spec and print what follows from it: parameters, micro-batches, model
// and hardware FLOPs per step beside 6·N·D, per-layer costs and times on one TP rank, the TP
// and pipeline message sizes, memory per GPU per stage, and the closed-form bubble. With
// --gpus, also the checks that need the cluster (tp·cp·pp·dp = N, fits in HBM).
#include "stepsim/analytic.h"
#include "stepsim/collective.h"
#include "stepsim/report.h"
#include "stepsim/units.h"
#include "stepsim/workload.h"

#include "command.h"

#include <cstdio>
#include <optional>
#include <sstream>

namespace po = boost::program_options;

namespace stepsim::cli {

namespace {

struct Derived {
    std::int64_t parameters = 0;
    std::int64_t microbatches = 0;
    std::int64_t tokens = 0;
    double model_flops = 0.0;
    double hardware_flops = 0.0;
    double six_n_d = 0.0;
    LayerCosts layer;
    LayerCosts moe_layer;  ///< the last layer (MoE) of a MoE model
    EdgeCosts edge;
    std::int64_t layer_activation_bytes = 0;
    std::int64_t pipeline_message_bytes = 0;
    std::vector<MemoryBreakdown> memory;  ///< per stage, at the schedule's peak
    std::vector<int> stage_layers;
    int most_loaded_stage = 0;
    double bubble_rate = 0.0;  ///< closed form, rate of the total
};

Derived derive(const TrainingJob& job) {
    Derived d;
    d.parameters = parameter_count(job.model);
    d.microbatches = microbatches(job);
    d.tokens = tokens_per_step(job);
    d.model_flops = model_flops_per_step(job);
    d.hardware_flops = hardware_flops_per_step(job);
    d.six_n_d = analytic::six_n_d_flops(static_cast<double>(active_parameter_count(job.model)),
                                        static_cast<double>(d.tokens));
    d.layer = layer_costs(job);
    if (job.model.moe_layer_count() > 0) {
        d.moe_layer = layer_costs(job, job.model.layers - 1);
    }
    d.edge = edge_costs(job);
    d.layer_activation_bytes = layer_activation_bytes(job);
    d.pipeline_message_bytes = pipeline_message_bytes(job);
    for (int stage = 0; stage < job.layout.pp; ++stage) {
        d.memory.push_back(memory_per_gpu(job, stage));
        d.stage_layers.push_back(stage_layers(job.model, job.layout, stage));
    }
    d.most_loaded_stage = most_loaded_stage(job);
    const std::int64_t p = job.layout.pp;
    const std::int64_t m = d.microbatches;
    switch (job.layout.schedule) {
        case PipelineScheduleKind::kGPipe:
        case PipelineScheduleKind::kOneFOneB:
            d.bubble_rate = analytic::one_f_one_b_bubble_rate(p, m);
            break;
        case PipelineScheduleKind::kInterleaved:
            d.bubble_rate = analytic::interleaved_bubble_rate(p, m, job.layout.virtual_stages);
            break;
        case PipelineScheduleKind::kZeroBubbleH1: {
            const double f = compute_time_s(job.gpu, d.layer.forward);
            const double b = compute_time_s(job.gpu, d.layer.backward_input);
            const double w = compute_time_s(job.gpu, d.layer.backward_weight);
            d.bubble_rate = analytic::zero_bubble_h1_bubble_rate(p, m, f, b, w);
            break;
        }
        case PipelineScheduleKind::kDualPipe:
        case PipelineScheduleKind::kDualPipeV: {
            // Per model chunk: a DualPipe rank's chunk is pp's share of the layers, a
            // DualPipeV rank's half of it.
            const bool is_v = job.layout.schedule == PipelineScheduleKind::kDualPipeV;
            const double layers_per_chunk = static_cast<double>(job.model.layers) /
                                            static_cast<double>(model_chunk_count(job.layout));
            const double f = layers_per_chunk * compute_time_s(job.gpu, d.layer.forward);
            const double b = layers_per_chunk * compute_time_s(job.gpu, d.layer.backward_input);
            const double w = layers_per_chunk * compute_time_s(job.gpu, d.layer.backward_weight);
            d.bubble_rate =
                analytic::dual_pipe_bubble_rate(is_v ? 2 * p : p, is_v ? 2 * m : m, f, b, w);
            break;
        }
    }
    return d;
}

void work_json(JsonWriter& json, std::string_view name, const GpuSpec& gpu, const WorkAmount& w) {
    json.key(name).begin_object();
    json.field("gemm_flops", w.gemm_flops);
    json.field("attention_flops", w.attention_flops);
    json.field("memory_bytes", w.memory_bytes);
    json.field("time_s", compute_time_s(gpu, w));
    json.end_object();
}

void collectives_json(JsonWriter& json,
                      std::string_view name,
                      const std::vector<TpCollective>& collectives) {
    json.key(name).begin_array();
    for (const TpCollective& c : collectives) {
        json.begin_object();
        json.field("op", to_string(c.op));
        json.field("size_bytes", c.size_bytes);
        json.end_object();
    }
    json.end_array();
}

void memory_json(JsonWriter& json, const MemoryBreakdown& m) {
    json.field("weights_bytes", m.weights_bytes);
    json.field("gradients_bytes", m.gradients_bytes);
    json.field("optimizer_bytes", m.optimizer_bytes);
    json.field("activations_bytes", m.activations_bytes);
    json.field("transient_bytes", m.transient_bytes);
    json.field("total_bytes", m.total_bytes());
}

std::string order_text(const ParallelLayout& layout) {
    std::string text;
    for (const ParallelDim dim : layout.order) {
        if (dim == ParallelDim::kCp && layout.cp == 1) {
            continue;  // without context parallelism the order reads as before (tp-dp-pp)
        }
        text += text.empty() ? "" : "-";
        text += to_string(dim);
    }
    return text;
}

std::string derived_json(const std::string& file, const TrainingJob& job, const Derived& d) {
    JsonWriter json;
    json.begin_object();
    json.field("workload", file);
    json.field("model", job.model.name);
    json.field("gpu", job.gpu.name);
    json.key("layout").begin_object();
    json.field("tp", job.layout.tp);
    json.field("pp", job.layout.pp);
    json.field("dp", job.layout.dp);
    json.field("cp", job.layout.cp);
    json.field("cp_comm_type", to_string(job.layout.cp_comm));
    json.field("gpus", job.layout.world_size());
    json.field("sequence_parallel", job.layout.is_sequence_parallel);
    json.field("virtual_stages", job.layout.virtual_stages);
    json.field("zero_stage", job.layout.zero_stage);
    json.field("schedule", to_string(job.layout.schedule));
    json.field("rank_order", order_text(job.layout));
    json.field("recompute", to_string(job.training.recompute));
    json.end_object();
    json.field("parameters", d.parameters);
    json.field("microbatches", d.microbatches);
    json.field("tokens_per_step", d.tokens);
    json.field("model_flops_per_step", d.model_flops);
    json.field("hardware_flops_per_step", d.hardware_flops);
    json.field("six_n_d_flops", d.six_n_d);
    json.key("layer_per_microbatch_per_tp_rank").begin_object();
    work_json(json, "forward", job.gpu, d.layer.forward);
    work_json(json, "backward_input", job.gpu, d.layer.backward_input);
    work_json(json, "backward_weight", job.gpu, d.layer.backward_weight);
    work_json(json, "recompute", job.gpu, d.layer.recompute);
    collectives_json(json, "forward_collectives", d.layer.forward_collectives);
    collectives_json(json, "backward_collectives", d.layer.backward_collectives);
    json.field("activation_bytes", d.layer_activation_bytes);
    json.end_object();
    json.key("edges_per_microbatch_per_tp_rank").begin_object();
    work_json(json, "embedding_forward", job.gpu, d.edge.embedding_forward);
    work_json(json, "logits_forward", job.gpu, d.edge.logits_forward);
    work_json(json, "logits_backward_input", job.gpu, d.edge.logits_backward_input);
    work_json(json, "logits_backward_weight", job.gpu, d.edge.logits_backward_weight);
    json.end_object();
    if (d.moe_layer.is_moe) {
        // The routed experts of one MoE layer on the busiest EP rank (docs/models/moe.md).
        const MoeCosts& moe = d.moe_layer.moe;
        json.key("moe").begin_object();
        json.field("experts", job.model.experts);
        json.field("top_k", job.model.top_k);
        json.field("ep", job.layout.ep);
        json.field("moe_layers", job.model.moe_layer_count());
        json.field("active_parameters", active_parameter_count(job.model));
        work_json(json, "experts_forward", job.gpu, moe.forward);
        work_json(json, "experts_backward_input", job.gpu, moe.backward_input);
        work_json(json, "experts_backward_weight", job.gpu, moe.backward_weight);
        json.field("dispatch_bytes", moe.dispatch_bytes);
        json.field("combine_bytes", moe.combine_bytes);
        json.field("load_imbalance_factor", moe.load_imbalance_factor);
        json.field("kept_fraction", moe.kept_fraction);
        json.end_object();
    }
    json.field("pipeline_message_bytes", d.pipeline_message_bytes);
    json.field("bubble_rate_closed_form", d.bubble_rate);
    json.key("stages").begin_array();
    for (std::size_t stage = 0; stage < d.memory.size(); ++stage) {
        json.begin_object();
        json.field("stage", static_cast<std::int64_t>(stage));
        json.field("layers", d.stage_layers[stage]);
        json.field("parameters_per_gpu", stage_parameter_count(job, static_cast<int>(stage)));
        json.field("in_flight_chunk_microbatches",
                   in_flight_chunk_microbatches(job, static_cast<int>(stage)));
        json.key("memory_per_gpu").begin_object();
        memory_json(json, d.memory[stage]);
        json.end_object();
        json.end_object();
    }
    json.end_array();
    json.field("most_loaded_stage", d.most_loaded_stage);
    json.field("hbm_bytes", job.gpu.hbm_bytes);
    json.end_object();
    return json.str();
}

std::string work_line(const char* name, const GpuSpec& gpu, const WorkAmount& w) {
    char line[200];
    std::snprintf(line, sizeof line, "  %-16s %10.4g GFLOP gemm  %10.4g GFLOP attn  %9s HBM  %s\n",
                  name, w.gemm_flops / 1e9, w.attention_flops / 1e9,
                  format_size(w.memory_bytes).c_str(),
                  format_duration(compute_time_s(gpu, w)).c_str());
    return line;
}

std::string derived_table(const std::string& file, const TrainingJob& job, const Derived& d) {
    std::ostringstream out;
    char line[200];
    out << "workload: " << file << "  (" << job.model.name << " on " << job.gpu.name << ")\n";
    std::snprintf(line, sizeof line,
                  "layout: tp %d  pp %d  dp %d  = %d gpus   schedule %s (v %d)   zero %d   sp %s   "
                  "recompute %s   order %s\n",
                  job.layout.tp, job.layout.pp, job.layout.dp, job.layout.world_size(),
                  std::string(to_string(job.layout.schedule)).c_str(), job.layout.virtual_stages,
                  job.layout.zero_stage, job.layout.is_sequence_parallel ? "on" : "off",
                  std::string(to_string(job.training.recompute)).c_str(),
                  order_text(job.layout).c_str());
    out << line;
    if (job.layout.cp > 1) {
        std::snprintf(line, sizeof line,
                      "context parallelism: cp %d (%s), %lld tokens per GPU per micro-batch\n",
                      job.layout.cp, std::string(to_string(job.layout.cp_comm)).c_str(),
                      static_cast<long long>(microbatch_tokens_per_rank(job)));
        out << line;
    }
    std::snprintf(line, sizeof line,
                  "parameters: %.4g B   micro-batches per pipeline: %lld   tokens per step: %lld\n",
                  static_cast<double>(d.parameters) / 1e9, static_cast<long long>(d.microbatches),
                  static_cast<long long>(d.tokens));
    out << line;
    std::snprintf(line, sizeof line,
                  "FLOPs per step: model %.6g  hardware %.6g  6ND %.6g  (model/6ND = %.4f)\n",
                  d.model_flops, d.hardware_flops, d.six_n_d, d.model_flops / d.six_n_d);
    out << line;
    out << "\none layer, one micro-batch, one TP rank (time at the GPU's efficiencies):\n";
    out << work_line("forward", job.gpu, d.layer.forward);
    out << work_line("backward-input", job.gpu, d.layer.backward_input);
    out << work_line("backward-weight", job.gpu, d.layer.backward_weight);
    out << work_line("recompute", job.gpu, d.layer.recompute);
    out << work_line("logits forward", job.gpu, d.edge.logits_forward);
    std::snprintf(
        line, sizeof line,
        "  TP collectives: %zu forward, %zu backward, %s each   pipeline message %s   "
        "activations %s\n",
        d.layer.forward_collectives.size(), d.layer.backward_collectives.size(),
        d.layer.forward_collectives.empty()
            ? "-"
            : format_size(static_cast<double>(d.layer.forward_collectives[0].size_bytes)).c_str(),
        format_size(static_cast<double>(d.pipeline_message_bytes)).c_str(),
        format_size(static_cast<double>(d.layer_activation_bytes)).c_str());
    out << line;
    if (d.moe_layer.is_moe) {
        const MoeCosts& moe = d.moe_layer.moe;
        std::snprintf(line, sizeof line,
                      "MoE layers (%d of %d): %d experts, top-%d, ep %d, %.4g B active "
                      "parameters; routed experts on the busiest EP rank:\n",
                      job.model.moe_layer_count(), job.model.layers, job.model.experts,
                      job.model.top_k, job.layout.ep,
                      static_cast<double>(active_parameter_count(job.model)) / 1e9);
        out << line;
        out << work_line("experts fwd", job.gpu, moe.forward);
        out << work_line("experts bwd-in", job.gpu, moe.backward_input);
        out << work_line("experts bwd-w", job.gpu, moe.backward_weight);
        std::snprintf(line, sizeof line,
                      "  all-to-alls per EP rank: dispatch %s, combine %s (forward; backward "
                      "the same)   load imbalance %.3f   kept %.3f\n",
                      format_size(static_cast<double>(moe.dispatch_bytes)).c_str(),
                      format_size(static_cast<double>(moe.combine_bytes)).c_str(),
                      moe.load_imbalance_factor, moe.kept_fraction);
        out << line;
    }
    std::snprintf(line, sizeof line, "closed-form bubble (rate of the step): %.4f\n",
                  d.bubble_rate);
    out << line;
    out << "\nmemory per GPU at the schedule's peak (HBM " +
               format_size(static_cast<double>(job.gpu.hbm_bytes)) + "):\n";
    out << "  stage layers in-flight    weights  gradients  optimizer activations  transient"
           "      total\n";
    for (std::size_t stage = 0; stage < d.memory.size(); ++stage) {
        const MemoryBreakdown& m = d.memory[stage];
        std::snprintf(
            line, sizeof line, "  %5zu %6d %9lld %10s %10s %10s %11s %10s %10s%s\n", stage,
            d.stage_layers[stage],
            static_cast<long long>(in_flight_chunk_microbatches(job, static_cast<int>(stage))),
            format_size(static_cast<double>(m.weights_bytes)).c_str(),
            format_size(static_cast<double>(m.gradients_bytes)).c_str(),
            format_size(static_cast<double>(m.optimizer_bytes)).c_str(),
            format_size(static_cast<double>(m.activations_bytes)).c_str(),
            format_size(static_cast<double>(m.transient_bytes)).c_str(),
            format_size(static_cast<double>(m.total_bytes())).c_str(),
            static_cast<int>(stage) == d.most_loaded_stage ? "  <- most loaded" : "");
        out << line;
    }
    return out.str();
}

}  // namespace

int workload_command(const std::vector<std::string>& args, CommandIo& io) {
    CommonOptions common;
    std::string file;
    std::optional<int> gpus;
    bool allow_oom = false;
    po::options_description description("stepsim workload options");
    description.add_options()("file", po::value<std::string>(&file), "workload spec (.textproto)")(
        "gpus", po::value<int>()->notifier([&gpus](int n) { gpus = n; }),
        "also check against a cluster of N GPUs (tp*cp*pp*dp = N, fits in HBM)")(
        "allow-oom", po::bool_switch(&allow_oom), "with --gpus: do not fail when out of memory");
    add_common_options(description, common);
    if (!parse_command_line(
            args, description, {"file"}, common, io,
            "stepsim workload FILE [--gpus N [--allow-oom]] [--json] [--set FIELD=VALUE]...")) {
        return 0;
    }
    if (file.empty()) {
        throw UsageError("missing the workload spec FILE");
    }
    const auto overrides = common.overrides();
    const TrainingJob job = load_workload_file(file, overrides);
    if (gpus) {
        validate_job_against_cluster(job, *gpus, allow_oom, file);
    }
    const Derived derived = derive(job);
    io.emit(common.json ? derived_json(file, job, derived) : derived_table(file, job, derived));
    return 0;
}

}  // namespace stepsim::cli
