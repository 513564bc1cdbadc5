// SPDX-License-Identifier: Apache-2.0
// File: workload_command.cc
// `stepsim workload FILE [--gpus N] [--allow-oom] [--json] [--set FIELD=VALUE]`: load and
// validate a workload spec and print what follows from it: parameters, micro-batches, model
// and hardware FLOPs per step beside 6·N·D, per-layer costs and times on one TP rank, the TP
// and pipeline message sizes, memory per GPU per stage, and the closed-form bubble. With
// --gpus, also the checks that need the cluster (tp·cp·pp·dp = N, fits in HBM). The numbers
// are the workload study's (sim/study/workload.cc); --json is sim/report/workload_json.cc.
#include "stepsim/collective.h"
#include "stepsim/results_json.h"
#include "stepsim/study/workload.h"
#include "stepsim/units.h"
#include "stepsim/workload.h"

#include "command.h"

#include <cstdio>
#include <optional>
#include <sstream>

namespace po = boost::program_options;

namespace stepsim::cli {

namespace {

std::string work_line(const char* name, const study::TimedWork& w) {
    char line[200];
    std::snprintf(line, sizeof line, "  %-16s %10.4g GFLOP gemm  %10.4g GFLOP attn  %9s HBM  %s\n",
                  name, w.work.gemm_flops / 1e9, w.work.attention_flops / 1e9,
                  format_size(w.work.memory_bytes).c_str(), format_duration(w.time_s).c_str());
    return line;
}

std::string derived_table(const study::WorkloadStudyResult& d) {
    const TrainingJob& job = d.job;
    std::ostringstream out;
    char line[200];
    out << "workload: " << d.workload_file << "  (" << job.model.name << " on " << job.gpu.name
        << ")\n";
    std::snprintf(line, sizeof line,
                  "layout: tp %d  pp %d  dp %d  = %d gpus   schedule %s (v %d)   zero %d   sp %s   "
                  "recompute %s   order %s\n",
                  job.layout.tp, job.layout.pp, job.layout.dp, job.layout.world_size(),
                  std::string(to_string(job.layout.schedule)).c_str(), job.layout.virtual_stages,
                  job.layout.zero_stage, job.layout.is_sequence_parallel ? "on" : "off",
                  std::string(to_string(job.training.recompute)).c_str(), d.rank_order.c_str());
    out << line;
    if (job.layout.cp > 1) {
        std::snprintf(line, sizeof line,
                      "context parallelism: cp %d (%s), %lld tokens per GPU per micro-batch\n",
                      job.layout.cp, std::string(to_string(job.layout.cp_comm)).c_str(),
                      static_cast<long long>(d.microbatch_tokens_per_rank));
        out << line;
    }
    std::snprintf(line, sizeof line,
                  "parameters: %.4g B   micro-batches per pipeline: %lld   tokens per step: %lld\n",
                  static_cast<double>(d.parameters) / 1e9, static_cast<long long>(d.microbatches),
                  static_cast<long long>(d.tokens_per_step));
    out << line;
    std::snprintf(line, sizeof line,
                  "FLOPs per step: model %.6g  hardware %.6g  6ND %.6g  (model/6ND = %.4f)\n",
                  d.model_flops_per_step, d.hardware_flops_per_step, d.six_n_d_flops,
                  d.model_flops_per_step / d.six_n_d_flops);
    out << line;
    out << "\none layer, one micro-batch, one TP rank (time at the GPU's efficiencies):\n";
    out << work_line("forward", d.layer.forward);
    out << work_line("backward-input", d.layer.backward_input);
    out << work_line("backward-weight", d.layer.backward_weight);
    out << work_line("recompute", d.layer.recompute);
    out << work_line("logits forward", d.edges.logits_forward);
    std::snprintf(
        line, sizeof line,
        "  TP collectives: %zu forward, %zu backward, %s each   pipeline message %s   "
        "activations %s\n",
        d.layer.forward_collectives.size(), d.layer.backward_collectives.size(),
        d.layer.forward_collectives.empty()
            ? "-"
            : format_size(static_cast<double>(d.layer.forward_collectives[0].size_bytes)).c_str(),
        format_size(static_cast<double>(d.pipeline_message_bytes)).c_str(),
        format_size(static_cast<double>(d.layer.activation_bytes)).c_str());
    out << line;
    if (d.moe) {
        const study::WorkloadMoe& moe = *d.moe;
        std::snprintf(line, sizeof line,
                      "MoE layers (%d of %d): %d experts, top-%d, ep %d, %.4g B active "
                      "parameters; routed experts on the busiest EP rank:\n",
                      moe.moe_layers, job.model.layers, job.model.experts, job.model.top_k,
                      job.layout.ep, static_cast<double>(moe.active_parameters) / 1e9);
        out << line;
        out << work_line("experts fwd", moe.experts_forward);
        out << work_line("experts bwd-in", moe.experts_backward_input);
        out << work_line("experts bwd-w", moe.experts_backward_weight);
        std::snprintf(line, sizeof line,
                      "  all-to-alls per EP rank: dispatch %s, combine %s (forward; backward "
                      "the same)   load imbalance %.3f   kept %.3f\n",
                      format_size(static_cast<double>(moe.dispatch_bytes)).c_str(),
                      format_size(static_cast<double>(moe.combine_bytes)).c_str(),
                      moe.load_imbalance_factor, moe.kept_fraction);
        out << line;
    }
    std::snprintf(line, sizeof line, "closed-form bubble (rate of the step): %.4f\n",
                  d.bubble_rate_closed_form);
    out << line;
    out << "\nmemory per GPU at the schedule's peak (HBM " +
               format_size(static_cast<double>(job.gpu.hbm_bytes)) + "):\n";
    out << "  stage layers in-flight    weights  gradients  optimizer activations  transient"
           "      total\n";
    for (std::size_t stage = 0; stage < d.stages.size(); ++stage) {
        const MemoryBreakdown& m = d.stages[stage].memory_per_gpu;
        std::snprintf(line, sizeof line, "  %5zu %6d %9lld %10s %10s %10s %11s %10s %10s%s\n",
                      stage, d.stages[stage].layers,
                      static_cast<long long>(d.stages[stage].in_flight_chunk_microbatches),
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
    const TrainingJob job = load_workload_file(file, common.overrides());
    study::WorkloadStudyOptions options;
    options.gpus = gpus;
    options.allows_oom = allow_oom;
    options.workload_file = file;
    const study::WorkloadStudyResult result = study::run_workload_study(job, options);
    io.emit(common.json ? to_json(result) : derived_table(result));
    return 0;
}

}  // namespace stepsim::cli
