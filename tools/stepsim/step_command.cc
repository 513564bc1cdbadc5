// SPDX-License-Identifier: Apache-2.0
// File: step_command.cc
// `stepsim step --topology T --workload W [--json] [--trace FILE] [--set FIELD=VALUE]...
// [--allow-oom] [--fidelity fast|full] [--network fair_share|alpha_beta] [--free-comm]
// [--exact]`: simulate one training step and report where its time goes (--exact: every DP
// replica simulated, the reference for the default's symmetry folding). --set applies to the
// workload; a path starting with "topology." applies (without the prefix) to the topology, and
// so does a path that is a topology field but not a workload field ("instance[0].count").
#include "stepsim/chakra.h"
#include "stepsim/report.h"
#include "stepsim/results_json.h"
#include "stepsim/study/step.h"
#include "stepsim/topology.h"
#include "stepsim/training_step.h"
#include "stepsim/units.h"
#include "stepsim/workload.h"

#include "command.h"
#include "step_plot.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>
#include <thread>

namespace po = boost::program_options;

namespace stepsim::cli {

namespace {

std::string result_table(const std::string& topology_file,
                         const std::string& workload_file,
                         const TrainingJob& job,
                         const StepResult& r) {
    std::ostringstream out;
    char line[256];
    out << "step: " << workload_file << " on " << topology_file << '\n';
    std::snprintf(
        line, sizeof line,
        "schedule %s, %d stages x %d micro-batches x %d chunks, %d GPUs (%d simulated: one "
        "per stage, the others by symmetry; fidelity %s)\n\n",
        r.schedule.c_str(), r.stages_count, r.microbatches, r.chunks, r.gpus, r.simulated_gpus,
        std::string(to_string(r.fidelity)).c_str());
    out << line;
    std::snprintf(line, sizeof line,
                  "step time        %s\nMFU / HFU        %.1f%% / %.1f%%\ntokens/s         "
                  "%.4g (useful %.4g)\nbubble           %.2f%% of the step (mean over GPUs); "
                  "schedule's closed-form ratio %.4f (bubble over ideal time, (p-1)/m for 1F1B)\n",
                  format_duration(r.step_time_s).c_str(), 100 * r.mfu, 100 * r.hfu, r.tokens_per_s,
                  r.useful_tokens_per_s, 100 * r.bubble_fraction, r.bubble_ratio);
    out << line;
    std::snprintf(line, sizeof line, "model FLOPs      %.4g per step (6·N·tokens %.4g)\n",
                  r.model_flops_per_step, r.six_n_tokens_flops);
    out << line;
    {
        KernelTiming total;
        for (const StageResult& stage : r.stages) {
            total += stage.kernels;
        }
        const double n = r.stages.empty() ? 1.0 : static_cast<double>(r.stages.size());
        std::snprintf(line, sizeof line,
                      "compute model    %s, stack %s, attention %s%s%s\n"
                      "kernels/GPU      %.0f per step: GEMM %s, attention %s, memory-bound %s, "
                      "launch %s (mean over stages); %.0f from the profile\n",
                      r.compute_model.c_str(), r.stack.c_str(), r.attention_kernel.c_str(),
                      r.kernel_profile.empty() ? "" : ", profile ", r.kernel_profile.c_str(),
                      total.kernels / n, format_duration(total.gemm_s / n).c_str(),
                      format_duration(total.attention_s / n).c_str(),
                      format_duration(total.memory_s / n).c_str(),
                      format_duration(total.launch_s / n).c_str(), total.kernels_from_profile);
    }
    out << line;
    std::snprintf(line, sizeof line,
                  "memory per GPU   %s of %s (stage %d: weights %s, gradients %s, optimizer %s, "
                  "activations %s, transient %s)\n\n",
                  format_size(static_cast<double>(r.memory_per_gpu.total_bytes())).c_str(),
                  format_size(static_cast<double>(job.gpu.hbm_bytes)).c_str(), r.memory_stage,
                  format_size(static_cast<double>(r.memory_per_gpu.weights_bytes)).c_str(),
                  format_size(static_cast<double>(r.memory_per_gpu.gradients_bytes)).c_str(),
                  format_size(static_cast<double>(r.memory_per_gpu.optimizer_bytes)).c_str(),
                  format_size(static_cast<double>(r.memory_per_gpu.activations_bytes)).c_str(),
                  format_size(static_cast<double>(r.memory_per_gpu.transient_bytes)).c_str());
    out << line;
    out << "breakdown (s)  compute  recompute       tp       pp       dp     zero       ep       cp"
           "     fsdp   bubble  other\n";
    const auto row = [&](const std::string& name, const StepBreakdown& b) {
        std::snprintf(line, sizeof line,
                      "%-12s %8.4f %10.4f %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f %6.4f\n",
                      name.c_str(), b.compute_s, b.recompute_s, b.tp_s, b.pp_s, b.dp_s, b.zero_s,
                      b.ep_s, b.cp_s, b.fsdp_s, b.bubble_s, b.other_idle_s);
        out << line;
    };
    row("cluster mean", r.cluster);
    for (const StageResult& s : r.stages) {
        row("stage " + std::to_string(s.stage), s.breakdown);
    }
    out << "\nsimulated vs closed form (s; the slowest stage's figures, not the cluster mean)\n"
           "  name        simulated   estimate difference  closed form of the estimate\n";
    for (const StepEstimate& e : r.estimates) {
        std::snprintf(line, sizeof line, "  %-10s %10.6f %10.6f %+10.6f  %s\n", e.name.c_str(),
                      e.simulated_s, e.closed_form_s, e.difference_s, e.closed_form.c_str());
        out << line << "             why: " << e.explanation << '\n';
    }
    // The critical path, summed by kind.
    std::map<std::string, double> by_kind;
    for (const CriticalPathEntry& e : r.critical_path) {
        by_kind[e.kind] += e.time_s;
    }
    out << "\ncritical path by kind:";
    for (const auto& [kind, time_s] : by_kind) {
        std::snprintf(line, sizeof line, "  %s %.4f s", kind.c_str(), time_s);
        out << line;
    }
    out << '\n';
    return out.str();
}

}  // namespace

int step_command(const std::vector<std::string>& args, CommandIo& io) {
    CommonOptions common;
    std::string topology_file;
    std::string workload_file;
    std::string trace_file;
    std::string chakra_prefix;
    std::string plot_file;
    std::string fidelity = "fast";
    std::string network = "fair_share";
    bool allow_oom = false;
    bool free_comm = false;
    bool exact_groups = false;
    bool exact = false;
    int threads = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
    po::options_description description("stepsim step options");
    description.add_options()("topology", po::value<std::string>(&topology_file)->required(),
                              "cluster topology spec (.textproto)")(
        "workload", po::value<std::string>(&workload_file)->required(),
        "workload spec (.textproto)")("trace", po::value<std::string>(&trace_file),
                                      "write a Chrome trace-event JSON (Perfetto) to FILE")(
        "allow-oom", po::bool_switch(&allow_oom),
        "simulate even when the model does not fit in HBM")(
        "fidelity", po::value<std::string>(&fidelity),
        "fast (uncontended collectives memoized; default) or full (everything chunk level on "
        "the shared network)")("network", po::value<std::string>(&network),
                               "fair_share (default) or alpha_beta")(
        "free-comm", po::bool_switch(&free_comm), "make every communication take zero time")(
        "exact", po::bool_switch(&exact),
        "simulate every DP replica's pipeline and time every collective group itself, instead "
        "of folding alike replicas into one (the check of the symmetry the default relies on)")(
        "exact-groups", po::bool_switch(&exact_groups),
        "fast fidelity: time every collective group itself instead of sharing one run among "
        "groups of the same shape")(
        "plot", po::value<std::string>(&plot_file),
        "write the pipeline picture (one row per stage, time left to right) as SVG to FILE")(
        "chakra-out", po::value<std::string>(&chakra_prefix),
        "write the step's per-GPU graphs as Chakra traces PREFIX.<npu>.et (docs/chakra.md)")(
        "threads", po::value<int>(&threads),
        "fast fidelity: threads timing the distinct collectives (default: all cores; the "
        "result does not depend on it)");
    add_common_options(description, common);
    if (!parse_command_line(
            args, description, {}, common, io,
            "stepsim step --topology FILE --workload FILE [--json] [--trace FILE] "
            "[--set FIELD=VALUE]... [--allow-oom] [--fidelity fast|full] "
            "[--network fair_share|alpha_beta] [--free-comm] [--exact] [--exact-groups] "
            "[--threads N] [--plot FILE.svg] [--chakra-out PREFIX] [-o FILE]")) {
        return 0;
    }
    StepOptions options;
    options.fidelity = parse_fidelity_flag(fidelity);
    options.network = parse_network_flag(network);
    options.is_communication_free = free_comm;
    options.is_memoized_by_shape = !exact_groups;
    options.is_exact = exact;
    options.keeps_timeline = !trace_file.empty() || !chakra_prefix.empty() || !plot_file.empty();
    if (threads < 1) {
        throw UsageError("--threads must be >= 1, got " + std::to_string(threads));
    }
    options.threads = threads;

    std::vector<SpecOverride> workload_overrides = common.overrides();
    const std::vector<SpecOverride> topology_overrides =
        take_topology_overrides(workload_overrides);
    const Topology topology = load_topology_file(topology_file, topology_overrides);
    const TrainingJob job = load_workload_file(workload_file, workload_overrides);
    study::StepStudyOptions study_options;
    study_options.step = options;
    study_options.allows_oom = allow_oom;
    study_options.topology_file = topology_file;
    study_options.workload_file = workload_file;
    const study::StepStudyResult study_result = study::run_step(job, topology, study_options);
    const StepResult& result = study_result.step;
    if (!trace_file.empty()) {
        write_file_atomically(trace_file, to_chrome_trace_json(topology, result.timeline));
    }
    if (!plot_file.empty()) {
        write_file_atomically(
            plot_file, step_timeline_svg(result, "one step: " + workload_file + " on " +
                                                     topology_file + " (" + result.schedule + ", " +
                                                     std::to_string(result.gpus) + " GPUs)"));
    }
    if (!chakra_prefix.empty()) {
        // One file at a time: only one GPU's graph is in memory.
        std::map<std::int64_t, std::vector<int>> groups;
        try {
            groups = chakra::export_step_traces(result, job.layout, [&](chakra::Trace&& trace) {
                chakra::write_chakra_trace(chakra_prefix, trace);
            });
        } catch (const UserError& e) {
            throw UsageError(std::string("--chakra-out: ") + e.what());
        }
        chakra::finish_chakra_export(chakra_prefix,
                                     static_cast<std::size_t>(job.layout.world_size()), groups);
    }
    io.emit(common.json ? to_json(study_result)
                        : result_table(topology_file, workload_file, job, result));
    return 0;
}

}  // namespace stepsim::cli
