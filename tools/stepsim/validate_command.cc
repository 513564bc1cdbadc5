// SPDX-License-Identifier: Apache-2.0
// File: validate_command.cc
// `stepsim validate [--rows 1.7B,18B] [--list] [--json] [--jobs N] [--set FIELD=VALUE]...`:
// reproduces Megatron-LM's weak-scaling table (Narayanan et al., SC'21, arXiv 2104.04473,
// Table 1; reference.md §3a) on a Selene-like DGX A100 cluster. Each row is the bundled base
// workload and topology with the row's shape, layout and node count set by overrides; the
// predicted TFLOP/s per GPU is the paper's F_iter (full recomputation, four passes) over the
// simulated step time and the GPU count, as the paper computes its own figure.
// docs/validation.md states the assumptions (micro-batch, interleaving) and the results.
#include "stepsim/analytic.h"
#include "stepsim/report.h"
#include "stepsim/spec.h"
#include "stepsim/training_step.h"
#include "stepsim/workload.h"

#include "command.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <exception>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace po = boost::program_options;

namespace stepsim::cli {

namespace {

constexpr int kGpusPerNode = 8;  // DGX A100
constexpr double kRowTolerance = 0.10;
constexpr double kMeanTolerance = 0.05;

/// One row of Table 1 with the settings the table does not give (docs/validation.md):
/// micro-batch 1 where there is a pipeline, and the interleaved schedule (the paper's §5.1 runs
/// use it) with the fewest chunks that split a stage's layers evenly (Megatron-LM requires an
/// even split).
struct MegatronRow {
    std::string_view model;
    std::int64_t hidden;
    int layers;
    int heads;  ///< reference.md marks the list unconfirmed; heads do not enter F_iter
    int tp;
    int pp;
    int dp;
    std::int64_t global_batch;
    double published_tflops_per_gpu;

    int gpus() const { return tp * pp * dp; }

    int nodes() const { return (gpus() + kGpusPerNode - 1) / kGpusPerNode; }

    /// Sequences per micro-batch: 1 with a pipeline; without one a replica's whole share of
    /// the batch (no gradient accumulation; the model's step time does not depend on it).
    std::int64_t micro_batch() const { return pp > 1 ? 1 : global_batch / dp; }

    /// Chunks per pipeline rank: the smallest v >= 2 dividing the layers per stage.
    int virtual_stages() const {
        if (pp == 1) {
            return 1;
        }
        const int stage_layers = layers / pp;
        for (int v = 2; v <= stage_layers; ++v) {
            if (stage_layers % v == 0) {
                return v;
            }
        }
        return 1;
    }

    bool is_interleaved() const { return virtual_stages() > 1; }
};

// Narayanan et al., SC'21, Table 1, as reference.md §3a transcribes it: hidden, layers, heads,
// TP, PP, DP = GPUs / (TP·PP), global batch, achieved TFLOP/s per GPU. Sequence 2048 and
// vocabulary 51,200 come from the base workload.
constexpr MegatronRow kRows[] = {
    {"1.7B", 2304, 24, 24, 1, 1, 32, 512, 137},     {"3.6B", 3072, 30, 32, 2, 1, 32, 512, 138},
    {"7.5B", 4096, 36, 32, 4, 1, 32, 512, 142},     {"18B", 6144, 40, 48, 8, 1, 32, 1024, 135},
    {"39B", 8192, 48, 64, 8, 2, 32, 1536, 138},     {"76B", 10240, 60, 80, 8, 4, 32, 1792, 140},
    {"145B", 12288, 80, 96, 8, 8, 24, 2304, 148},   {"310B", 16384, 96, 128, 8, 16, 15, 2160, 155},
    {"530B", 20480, 105, 128, 8, 35, 9, 2520, 163}, {"1T", 25600, 128, 160, 8, 64, 6, 3072, 163},
};

struct RowResult {
    const MegatronRow* row = nullptr;
    double step_time_s = 0;
    double megatron_flops = 0;    ///< F_iter with full recomputation
    double hardware_flops = 0;    ///< the simulator's own count (recompute included)
    double predicted_tflops = 0;  ///< F_iter / (step time · GPUs) / 1e12
    double error_fraction = 0;    ///< predicted / published − 1
    double bubble_fraction = 0;
    std::int64_t microbatches = 0;
    std::int64_t memory_bytes = 0;
    // The settings simulated (the row's assumptions, or what --set changed them to).
    std::int64_t micro_batch = 0;
    std::string schedule;  ///< "none" without a pipeline, else the schedule's name
    int virtual_stages = 1;
    StepBreakdown cluster;
};

std::vector<SpecOverride> row_overrides(const MegatronRow& row) {
    const auto set = [](std::string path, auto value) {
        std::ostringstream text;
        text << value;
        return SpecOverride{std::move(path), text.str()};
    };
    return {
        set("model.hidden", row.hidden),
        set("model.ffn_hidden", 4 * row.hidden),
        set("model.layers", row.layers),
        set("model.heads", row.heads),
        set("training.global_batch", row.global_batch),
        set("training.micro_batch", row.micro_batch()),
        set("parallelism.tp", row.tp),
        set("parallelism.pp", row.pp),
        set("parallelism.dp", row.dp),
        set("parallelism.schedule", row.is_interleaved() ? "INTERLEAVED" : "ONE_F_ONE_B"),
        set("parallelism.virtual_stages", row.virtual_stages()),
    };
}

std::vector<const MegatronRow*> select_rows(const std::string& rows_flag) {
    std::vector<const MegatronRow*> selected;
    if (rows_flag.empty() || rows_flag == "all") {
        for (const MegatronRow& row : kRows) {
            selected.push_back(&row);
        }
        return selected;
    }
    std::stringstream list(rows_flag);
    std::string name;
    while (std::getline(list, name, ',')) {
        const auto it = std::find_if(std::begin(kRows), std::end(kRows),
                                     [&](const MegatronRow& row) { return row.model == name; });
        if (it == std::end(kRows)) {
            std::string known;
            for (const MegatronRow& row : kRows) {
                known += (known.empty() ? "" : ",") + std::string(row.model);
            }
            throw UsageError("--rows: unknown row \"" + name + "\" (rows: " + known + ")");
        }
        if (std::find(selected.begin(), selected.end(), &*it) == selected.end()) {
            selected.push_back(&*it);
        }
    }
    if (selected.empty()) {
        throw UsageError("--rows: no row named");
    }
    return selected;
}

RowResult run_row(const MegatronRow& row,
                  const std::string& topology_file,
                  const std::string& workload_file,
                  const std::vector<SpecOverride>& topology_overrides,
                  const std::vector<SpecOverride>& workload_overrides,
                  const StepOptions& options) {
    // The row's node count first, so that a user's topology.* override wins.
    std::vector<SpecOverride> topology_set = {
        SpecOverride{"instance[0].count", std::to_string(row.nodes())}};
    topology_set.insert(topology_set.end(), topology_overrides.begin(), topology_overrides.end());
    std::vector<SpecOverride> workload_set = row_overrides(row);
    workload_set.insert(workload_set.end(), workload_overrides.begin(), workload_overrides.end());

    const Topology topology = load_topology_file(topology_file, topology_set);
    const TrainingJob job = load_workload_file(workload_file, workload_set);
    validate_job_against_cluster(job, static_cast<int>(topology.gpu_count()), false, workload_file);
    const StepResult step = simulate_step(job, topology, options);

    RowResult result;
    result.row = &row;
    result.step_time_s = step.step_time_s;
    result.megatron_flops = analytic::megatron_flops_per_iteration(
        static_cast<double>(job.training.global_batch), static_cast<double>(job.model.seq_len),
        job.model.layers, static_cast<double>(job.model.hidden),
        static_cast<double>(job.model.vocab), job.training.recompute == Recompute::kFull);
    result.hardware_flops = step.hardware_flops_per_step;
    result.predicted_tflops = result.megatron_flops / (step.step_time_s * step.gpus) / 1e12;
    result.error_fraction = result.predicted_tflops / row.published_tflops_per_gpu - 1.0;
    result.bubble_fraction = step.bubble_fraction;
    result.microbatches = step.microbatches;
    result.memory_bytes = step.memory_per_gpu.total_bytes();
    result.cluster = step.cluster;
    result.micro_batch = job.training.micro_batch;
    result.schedule = job.layout.pp == 1 ? "none" : step.schedule;
    result.virtual_stages = job.layout.virtual_stages;
    return result;
}

struct Summary {
    double mean_absolute_error_fraction = 0;
    double max_absolute_error_fraction = 0;
    bool is_every_row_within = true;
    bool is_mean_within = true;
};

Summary summarize(const std::vector<RowResult>& results) {
    Summary s;
    for (const RowResult& r : results) {
        const double e = std::abs(r.error_fraction);
        s.mean_absolute_error_fraction += e / static_cast<double>(results.size());
        s.max_absolute_error_fraction = std::max(s.max_absolute_error_fraction, e);
    }
    s.is_every_row_within = s.max_absolute_error_fraction <= kRowTolerance;
    s.is_mean_within = s.mean_absolute_error_fraction <= kMeanTolerance;
    return s;
}

std::string schedule_name(const MegatronRow& row) {
    if (row.pp == 1) {
        return "none";
    }
    return row.is_interleaved() ? "interleaved v=" + std::to_string(row.virtual_stages()) : "1f1b";
}

std::string schedule_name(const RowResult& r) {
    return r.virtual_stages > 1 ? r.schedule + " v=" + std::to_string(r.virtual_stages)
                                : r.schedule;
}

/// The row's shape and published figure; the settings (micro-batch, schedule) come after.
void write_row_fields(JsonWriter& json, const MegatronRow& row) {
    json.field("model", row.model);
    json.field("hidden", row.hidden);
    json.field("layers", row.layers);
    json.field("heads", row.heads);
    json.field("gpus", row.gpus());
    json.field("nodes", row.nodes());
    json.field("tp", row.tp);
    json.field("pp", row.pp);
    json.field("dp", row.dp);
    json.field("global_batch", row.global_batch);
    json.field("published_tflops_per_gpu", row.published_tflops_per_gpu);
}

void write_settings(JsonWriter& json,
                    std::int64_t micro_batch,
                    const std::string& schedule,
                    int virtual_stages) {
    json.field("micro_batch", micro_batch);
    json.field("schedule", schedule);
    json.field("virtual_stages", virtual_stages);
}

std::string result_json(const std::string& topology_file,
                        const std::string& workload_file,
                        const std::vector<RowResult>& results,
                        const std::vector<const MegatronRow*>& listed) {
    JsonWriter json;
    json.begin_object();
    json.field("source", "Narayanan et al., SC'21 (arXiv 2104.04473), Table 1");
    json.field("topology", topology_file);
    json.field("workload", workload_file);
    json.key("rows").begin_array();
    if (results.empty()) {
        for (const MegatronRow* row : listed) {
            json.begin_object();
            write_row_fields(json, *row);
            write_settings(json, row->micro_batch(),
                           row->pp == 1            ? "none"
                           : row->is_interleaved() ? "interleaved"
                                                   : "1f1b",
                           row->virtual_stages());
            json.end_object();
        }
    }
    for (const RowResult& r : results) {
        json.begin_object();
        write_row_fields(json, *r.row);
        write_settings(json, r.micro_batch, r.schedule, r.virtual_stages);
        json.field("microbatches", r.microbatches);
        json.field("step_time_s", r.step_time_s);
        json.field("megatron_flops_per_iteration", r.megatron_flops);
        json.field("hardware_flops_per_step", r.hardware_flops);
        json.field("predicted_tflops_per_gpu", r.predicted_tflops);
        json.field("error_fraction", r.error_fraction);
        json.field("bubble_fraction", r.bubble_fraction);
        json.field("memory_per_gpu_bytes", r.memory_bytes);
        json.key("cluster_breakdown").begin_object();
        json.field("compute_s", r.cluster.compute_s);
        json.field("recompute_s", r.cluster.recompute_s);
        json.field("tp_s", r.cluster.tp_s);
        json.field("pp_s", r.cluster.pp_s);
        json.field("dp_s", r.cluster.dp_s);
        json.field("bubble_s", r.cluster.bubble_s);
        json.field("other_idle_s", r.cluster.other_idle_s);
        json.end_object();
        json.end_object();
    }
    json.end_array();
    if (!results.empty()) {
        const Summary s = summarize(results);
        json.field("mean_absolute_error_fraction", s.mean_absolute_error_fraction);
        json.field("max_absolute_error_fraction", s.max_absolute_error_fraction);
        json.field("row_tolerance_fraction", kRowTolerance);
        json.field("mean_tolerance_fraction", kMeanTolerance);
        json.field("is_every_row_within_tolerance", s.is_every_row_within);
        json.field("is_mean_within_tolerance", s.is_mean_within);
    }
    json.end_object();
    return json.str() + "\n";
}

std::string result_table(const std::string& topology_file,
                         const std::string& workload_file,
                         const std::vector<RowResult>& results,
                         const std::vector<const MegatronRow*>& listed) {
    std::ostringstream out;
    char line[256];
    out << "validate: Megatron-LM weak scaling (Narayanan et al., SC'21, Table 1)\n"
        << "on " << topology_file << " with " << workload_file << '\n'
        << "full recomputation; TFLOP/s per GPU = F_iter / (step time x GPUs), "
           "F_iter = 96·B·s·l·h²·(1 + s/(6h) + V/(16·l·h))\n\n";
    std::snprintf(line, sizeof line, "%-6s %5s %3s %3s %3s %6s %5s %-15s %10s %10s %10s %8s\n",
                  "model", "GPUs", "TP", "PP", "DP", "batch", "micro", "schedule", "step (s)",
                  "predicted", "published", "error");
    out << line;
    if (results.empty()) {
        for (const MegatronRow* row : listed) {
            std::snprintf(line, sizeof line,
                          "%-6s %5d %3d %3d %3d %6lld %5lld %-15s %10s %10s %10.0f %8s\n",
                          std::string(row->model).c_str(), row->gpus(), row->tp, row->pp, row->dp,
                          static_cast<long long>(row->global_batch),
                          static_cast<long long>(row->micro_batch()), schedule_name(*row).c_str(),
                          "-", "-", row->published_tflops_per_gpu, "-");
            out << line;
        }
        return out.str();
    }
    for (const RowResult& r : results) {
        const MegatronRow& row = *r.row;
        std::snprintf(line, sizeof line,
                      "%-6s %5d %3d %3d %3d %6lld %5lld %-15s %10.3f %10.1f %10.0f %+7.1f%%\n",
                      std::string(row.model).c_str(), row.gpus(), row.tp, row.pp, row.dp,
                      static_cast<long long>(row.global_batch),
                      static_cast<long long>(r.micro_batch), schedule_name(r).c_str(),
                      r.step_time_s, r.predicted_tflops, row.published_tflops_per_gpu,
                      100 * r.error_fraction);
        out << line;
    }
    const Summary s = summarize(results);
    std::snprintf(line, sizeof line,
                  "\nmean absolute error %.1f%% (target <= %.0f%%: %s); worst row %.1f%% "
                  "(target every row <= %.0f%%: %s)\n",
                  100 * s.mean_absolute_error_fraction, 100 * kMeanTolerance,
                  s.is_mean_within ? "met" : "NOT met", 100 * s.max_absolute_error_fraction,
                  100 * kRowTolerance, s.is_every_row_within ? "met" : "NOT met");
    out << line;
    return out.str();
}

}  // namespace

int validate_command(const std::vector<std::string>& args, CommandIo& io) {
    CommonOptions common;
    std::string topology_file = "topologies/dgx-a100-selene.textproto";
    std::string workload_file = "workloads/megatron/gpt-weak-scaling.textproto";
    std::string rows_flag;
    std::string fidelity = "fast";
    bool list_only = false;
    int jobs = 1;
    po::options_description description("stepsim validate options");
    description.add_options()(
        "topology", po::value<std::string>(&topology_file),
        "cluster spec (default topologies/dgx-a100-selene.textproto; its instance[0] count is "
        "set to each row's nodes)")(
        "workload", po::value<std::string>(&workload_file),
        "base workload (default workloads/megatron/gpt-weak-scaling.textproto)")(
        "rows", po::value<std::string>(&rows_flag),
        "comma-separated rows, e.g. 1.7B,18B (default: all)")(
        "list", po::bool_switch(&list_only), "print the rows and settings without simulating")(
        "fidelity", po::value<std::string>(&fidelity), "fast (default) or full")(
        "jobs", po::value<int>(&jobs), "rows simulated at once on threads (default 1)");
    add_common_options(description, common);
    if (!parse_command_line(args, description, {}, common, io,
                            "stepsim validate [--rows 1.7B,18B] [--list] [--json] [--jobs N] "
                            "[--fidelity fast|full] [--set FIELD=VALUE]...")) {
        return 0;
    }
    if (jobs < 1) {
        throw UsageError("--jobs must be at least 1, got " + std::to_string(jobs));
    }
    StepOptions options;
    options.fidelity = parse_fidelity_flag(fidelity);
    const std::vector<const MegatronRow*> rows = select_rows(rows_flag);

    // --set: "topology."-prefixed paths edit the topology, the rest the workload (as in step);
    // they apply to every row, after the row's own settings.
    std::vector<SpecOverride> workload_overrides = common.overrides();
    const std::vector<SpecOverride> topology_overrides =
        take_prefixed_overrides(workload_overrides, "topology.");

    std::vector<RowResult> results;
    if (!list_only) {
        results.resize(rows.size());
        std::atomic<std::size_t> next{0};
        std::exception_ptr failure;
        std::mutex failure_mutex;
        const auto work = [&] {
            try {
                while (true) {
                    const std::size_t i = next.fetch_add(1);
                    if (i >= rows.size()) {
                        return;
                    }
                    results[i] = run_row(*rows[i], topology_file, workload_file, topology_overrides,
                                         workload_overrides, options);
                }
            } catch (...) {
                const std::lock_guard<std::mutex> lock(failure_mutex);
                if (!failure) {
                    failure = std::current_exception();
                }
                next = rows.size();
            }
        };
        std::vector<std::thread> workers;
        const int threads = std::min<int>(jobs, static_cast<int>(rows.size()));
        for (int t = 0; t < threads; ++t) {
            workers.emplace_back(work);
        }
        for (std::thread& t : workers) {
            t.join();
        }
        if (failure) {
            std::rethrow_exception(failure);
        }
    }
    io.emit(common.json ? result_json(topology_file, workload_file, results, rows)
                        : result_table(topology_file, workload_file, results, rows));
    return 0;
}

}  // namespace stepsim::cli
