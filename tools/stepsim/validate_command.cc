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
#include "stepsim/error.h"
#include "stepsim/report.h"
#include "stepsim/spec.h"
#include "stepsim/training_step.h"
#include "stepsim/workload.h"

#include "command.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
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

constexpr double kRowTolerance = 0.10;
constexpr double kMeanTolerance = 0.05;

/// What a table publishes, and so what the prediction is compared with.
enum class Metric : std::uint8_t {
    kMegatronTflops,  ///< F_iter (Narayanan et al.'s formula) / (step time · GPUs)
    kStepTime,        ///< seconds per iteration
    kModelTflops,     ///< the simulator's model FLOPs / (step time · GPUs)
    kHardwareTflops,  ///< the simulator's hardware FLOPs (with recompute) / (step time · GPUs)
};

/// A published table: its source, the bundled specs its rows start from, and how its figure
/// is defined. Row settings the source does not state are the specs' (docs/validation.md).
struct ValidationTable {
    std::string_view id;
    std::string_view title;
    std::string_view source;
    std::string_view topology;
    std::string_view workload;
    Metric metric;
    /// Reported, not held to the targets: the published figure is an upper bound ("up to") or
    /// a secondary figure the issue says to report and not fit.
    bool is_reported_only;
    /// The sc21 rows set the model's shape (one base workload for ten models); the others'
    /// workload files hold their model.
    bool sets_shape;
    /// Extra overrides for every row, "path=value" separated by ';' ("" for none): the Llama 3
    /// cluster needs a third tier; its run used an interleaved schedule.
    std::string_view topology_set;
    std::string_view workload_set;
    /// Simulate even when Megatron's memory model says the job does not fit (Llama 3: Meta's
    /// interleaved schedule tunes its warm-up to fit; Megatron's holds more, see the docs).
    bool allows_oom;
};

constexpr ValidationTable kTables[] = {
    {"sc21", "Megatron-LM weak scaling (Narayanan et al., SC'21, Table 1)",
     "Narayanan et al., SC'21 (arXiv 2104.04473), Table 1; reference.md §3a",
     "topologies/dgx-a100-selene.textproto", "workloads/megatron/gpt-weak-scaling.textproto",
     Metric::kMegatronTflops, false, true, "", "", false},
    {"mt-nlg", "MT-NLG 530B on 280 / 350 / 420 DGX A100 (seconds per iteration)",
     "Smith et al. 2022 (arXiv 2201.11990); compute-reference.md §6",
     "topologies/dgx-a100-selene.textproto", "workloads/megatron/mt-nlg-530b.textproto",
     Metric::kStepTime, false, false, "", "", false},
    {"bloom", "BLOOM-176B on 384 A100-80GB, Jean Zay (seconds per iteration)",
     "bigscience train/tr11-176B-ml README (iteration 85376); compute-reference.md §6",
     "topologies/jean-zay-a100.textproto", "workloads/megatron/bloom-176b.textproto",
     Metric::kStepTime, false, false, "", "", false},
    {"opt", "OPT-175B on 992 A100-80GB (\"up to\" TFLOP/s per GPU, hardware FLOPs)",
     "Zhang et al. 2022 (arXiv 2205.01068) §2.4; compute-reference.md §6",
     "topologies/dgx-a100-selene.textproto", "workloads/megatron/opt-175b.textproto",
     Metric::kHardwareTflops, true, false, "", "", false},
    {"llama3", "Llama 3 405B on 8,192 / 16,384 H100 (TFLOP/s per GPU, model FLOPs)",
     "Llama 3 Herd of Models (arXiv 2407.21783) §3.3, Table 4; compute-reference.md §5",
     "topologies/dgx-h100-1024.textproto", "workloads/llama3-405b.textproto", Metric::kModelTflops,
     true, false, "fabric[0].fat_tree.tiers=3",
     "parallelism.schedule=INTERLEAVED;parallelism.virtual_stages=2", true},
};

const ValidationTable& table_named(std::string_view id) {
    for (const ValidationTable& table : kTables) {
        if (table.id == id) {
            return table;
        }
    }
    throw InternalError("validate: no table " + std::string(id));
}

/// One published row with the settings the source does not give (docs/validation.md): for
/// sc21, micro-batch 1 where there is a pipeline, and the interleaved schedule (the paper's
/// §5.1 runs use it) with the fewest chunks that split a stage's layers evenly.
struct ValidationRow {
    std::string_view table;
    std::string_view model;
    std::int64_t hidden;
    int layers;
    int heads;  ///< sc21: reference.md marks the list unconfirmed; heads do not enter F_iter
    int tp;
    int pp;
    int dp;
    std::int64_t global_batch;
    double published;  ///< in the table's metric
    bool is_slow;      ///< takes most of a minute: run with --slow

    int gpus() const { return tp * pp * dp; }

    int nodes() const { return (gpus() + 7) / 8; }  // 8 GPUs per server on every cluster here

    const ValidationTable& source() const { return table_named(table); }

    /// sc21 sequences per micro-batch: 1 with a pipeline; without one a replica's whole share
    /// of the batch (no gradient accumulation). Other tables: their workload file's.
    std::int64_t micro_batch() const { return pp > 1 ? 1 : global_batch / dp; }

    /// sc21 chunks per pipeline rank: the smallest v >= 2 dividing the layers per stage.
    int virtual_stages() const {
        if (pp == 1 || table != "sc21") {
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

// sc21: Narayanan et al., SC'21, Table 1, as reference.md §3a transcribes it: hidden, layers,
// heads, TP, PP, DP = GPUs / (TP·PP), global batch, achieved TFLOP/s per GPU. Sequence 2048 and
// vocabulary 51,200 come from the base workload. The other tables' shapes are in their
// workload files; here only the layout, the batch and the published figure.
constexpr ValidationRow kRows[] = {
    {"sc21", "1.7B", 2304, 24, 24, 1, 1, 32, 512, 137, false},
    {"sc21", "3.6B", 3072, 30, 32, 2, 1, 32, 512, 138, false},
    {"sc21", "7.5B", 4096, 36, 32, 4, 1, 32, 512, 142, false},
    {"sc21", "18B", 6144, 40, 48, 8, 1, 32, 1024, 135, false},
    {"sc21", "39B", 8192, 48, 64, 8, 2, 32, 1536, 138, false},
    {"sc21", "76B", 10240, 60, 80, 8, 4, 32, 1792, 140, false},
    {"sc21", "145B", 12288, 80, 96, 8, 8, 24, 2304, 148, false},
    {"sc21", "310B", 16384, 96, 128, 8, 16, 15, 2160, 155, false},
    {"sc21", "530B", 20480, 105, 128, 8, 35, 9, 2520, 163, false},
    {"sc21", "1T", 25600, 128, 160, 8, 64, 6, 3072, 163, false},
    // MT-NLG: 60.1 / 50.2 / 44.4 s per iteration at DP 8 / 10 / 12.
    {"mt-nlg", "mt-nlg-280", 20480, 105, 128, 8, 35, 8, 1920, 60.1, false},
    {"mt-nlg", "mt-nlg-350", 20480, 105, 128, 8, 35, 10, 1920, 50.2, false},
    {"mt-nlg", "mt-nlg-420", 20480, 105, 128, 8, 35, 12, 1920, 44.4, false},
    // BLOOM: 104.70 s per iteration (iteration 85376).
    {"bloom", "bloom-176b", 14336, 70, 112, 4, 12, 8, 2048, 104.70, false},
    // OPT: "up to 147 TFLOP/s per GPU"; 992 GPUs = TP 8 x DP 124, ~2M tokens (992 x 2048).
    {"opt", "opt-175b", 12288, 96, 96, 8, 1, 124, 992, 147, false},
    // Llama 3: 430 and 400 TFLOP/s per GPU at 8,192 and 16,384 GPUs, 16M tokens per step.
    {"llama3", "llama3-405b-8k", 16384, 126, 128, 8, 16, 64, 2048, 430, false},
    {"llama3", "llama3-405b-16k", 16384, 126, 128, 8, 16, 128, 2048, 400, true},
};

struct RowResult {
    const ValidationRow* row = nullptr;
    double step_time_s = 0;
    double megatron_flops = 0;    ///< F_iter with the row's recompute mode
    double hardware_flops = 0;    ///< the simulator's own count (recompute included)
    double model_flops = 0;       ///< the simulator's model FLOPs (no recompute)
    double predicted = 0;         ///< in the table's metric
    double predicted_tflops = 0;  ///< in the table's FLOP convention (step-time tables: hardware)
    double error_fraction = 0;    ///< predicted / published − 1, signed so that + is too fast
    double bubble_fraction = 0;
    std::int64_t microbatches = 0;
    std::int64_t memory_bytes = 0;
    // The settings simulated (the row's assumptions, or what --set changed them to).
    std::int64_t micro_batch = 0;
    std::string schedule;  ///< "none" without a pipeline, else the schedule's name
    int virtual_stages = 1;
    std::string stack;
    StepBreakdown cluster;
};

std::vector<SpecOverride> row_overrides(const ValidationRow& row) {
    const auto set = [](std::string path, auto value) {
        std::ostringstream text;
        text << value;
        return SpecOverride{std::move(path), text.str()};
    };
    std::vector<SpecOverride> overrides = {
        set("training.global_batch", row.global_batch),
        set("parallelism.tp", row.tp),
        set("parallelism.pp", row.pp),
        set("parallelism.dp", row.dp),
    };
    if (row.source().sets_shape) {
        for (SpecOverride o :
             {set("model.hidden", row.hidden), set("model.ffn_hidden", 4 * row.hidden),
              set("model.layers", row.layers), set("model.heads", row.heads),
              set("training.micro_batch", row.micro_batch()),
              set("parallelism.schedule", row.is_interleaved() ? "INTERLEAVED" : "ONE_F_ONE_B"),
              set("parallelism.virtual_stages", row.virtual_stages())}) {
            overrides.push_back(std::move(o));
        }
    }
    return overrides;
}

std::string known_names() {
    std::string known;
    for (const ValidationTable& table : kTables) {
        known += (known.empty() ? "" : ", ") + std::string(table.id) + " (";
        bool first = true;
        for (const ValidationRow& row : kRows) {
            if (row.table == table.id) {
                known += (first ? "" : ",") + std::string(row.model);
                first = false;
            }
        }
        known += ")";
    }
    return known;
}

/// Rows named by --rows (row or table names) and --tables; all but the slow ones by default.
std::vector<const ValidationRow*> select_rows(const std::string& rows_flag,
                                              const std::string& tables_flag,
                                              bool include_slow) {
    std::vector<const ValidationRow*> selected;
    const auto add = [&](const ValidationRow& row) {
        if (std::find(selected.begin(), selected.end(), &row) == selected.end()) {
            selected.push_back(&row);
        }
    };
    const auto names = [](const std::string& flag) {
        std::vector<std::string> out;
        std::stringstream list(flag);
        std::string name;
        while (std::getline(list, name, ',')) {
            out.push_back(name);
        }
        return out;
    };
    if (rows_flag.empty() && (tables_flag.empty() || tables_flag == "all")) {
        for (const ValidationRow& row : kRows) {
            if (!row.is_slow || include_slow) {
                add(row);
            }
        }
        return selected;
    }
    for (const std::string& name : names(tables_flag == "all" ? std::string() : tables_flag)) {
        bool found = false;
        for (const ValidationRow& row : kRows) {
            if (row.table == name) {
                found = true;
                if (!row.is_slow || include_slow) {
                    add(row);
                }
            }
        }
        if (!found) {
            throw UsageError("--tables: unknown table \"" + name +
                             "\" (tables and rows: " + known_names() + ")");
        }
    }
    for (const std::string& name : names(rows_flag)) {
        const auto it = std::find_if(std::begin(kRows), std::end(kRows),
                                     [&](const ValidationRow& row) { return row.model == name; });
        if (it == std::end(kRows)) {
            throw UsageError("--rows: unknown row \"" + name +
                             "\" (tables and rows: " + known_names() + ")");
        }
        add(*it);
    }
    if (selected.empty()) {
        throw UsageError("--rows / --tables: no row named");
    }
    return selected;
}

/// The files a row's table runs on: its own, or for sc21 the --topology / --workload given.
struct TableFiles {
    std::string topology;
    std::string workload;
};

RowResult run_row(const ValidationRow& row,
                  const TableFiles& files,
                  const std::vector<SpecOverride>& topology_overrides,
                  const std::vector<SpecOverride>& workload_overrides,
                  const StepOptions& options) {
    // The row's node count first, so that a user's topology.* override wins.
    std::vector<SpecOverride> topology_set = {
        SpecOverride{"instance[0].count", std::to_string(row.nodes())}};
    const auto append = [](std::vector<SpecOverride>& to, std::string_view list) {
        while (!list.empty()) {
            const std::size_t end = std::min(list.find(';'), list.size());
            const std::string_view item = list.substr(0, end);
            const std::size_t eq = item.find('=');
            to.push_back(
                SpecOverride{std::string(item.substr(0, eq)), std::string(item.substr(eq + 1))});
            list.remove_prefix(std::min(end + 1, list.size()));
        }
    };
    append(topology_set, row.source().topology_set);
    topology_set.insert(topology_set.end(), topology_overrides.begin(), topology_overrides.end());
    std::vector<SpecOverride> workload_set = row_overrides(row);
    append(workload_set, row.source().workload_set);
    workload_set.insert(workload_set.end(), workload_overrides.begin(), workload_overrides.end());

    const Topology topology = load_topology_file(files.topology, topology_set);
    const TrainingJob job = load_workload_file(files.workload, workload_set);
    validate_job_against_cluster(job, static_cast<int>(topology.gpu_count()),
                                 row.source().allows_oom, files.workload, files.topology);
    const StepResult step = simulate_step(job, topology, options);

    RowResult result;
    result.row = &row;
    result.step_time_s = step.step_time_s;
    result.megatron_flops = analytic::megatron_flops_per_iteration(
        static_cast<double>(job.training.global_batch), static_cast<double>(job.model.seq_len),
        job.model.layers, static_cast<double>(job.model.hidden),
        static_cast<double>(job.model.vocab), job.training.recompute == Recompute::kFull);
    result.hardware_flops = step.hardware_flops_per_step;
    result.model_flops = step.model_flops_per_step;
    // The table's FLOP convention (step-time tables report the hardware FLOP rate).
    const Metric metric = row.source().metric;
    const double flops = metric == Metric::kMegatronTflops ? result.megatron_flops
                         : metric == Metric::kModelTflops  ? result.model_flops
                                                           : result.hardware_flops;
    result.predicted_tflops = flops / (step.step_time_s * step.gpus * 1e12);
    if (metric == Metric::kStepTime) {
        result.predicted = step.step_time_s;
        // Signed as the throughput tables: + means the prediction is too fast.
        result.error_fraction = row.published / result.predicted - 1.0;
    } else {
        result.predicted = result.predicted_tflops;
        result.error_fraction = result.predicted / row.published - 1.0;
    }
    result.bubble_fraction = step.bubble_fraction;
    result.microbatches = step.microbatches;
    result.memory_bytes = step.memory_per_gpu.total_bytes();
    result.cluster = step.cluster;
    result.micro_batch = job.training.micro_batch;
    result.schedule = job.layout.pp == 1 ? "none" : step.schedule;
    result.virtual_stages = job.layout.virtual_stages;
    result.stack = std::string(to_string(job.stack));
    return result;
}

struct Summary {
    std::size_t rows = 0;
    double mean_absolute_error_fraction = 0;
    double max_absolute_error_fraction = 0;
    bool is_every_row_within = true;
    bool is_mean_within = true;
};

Summary summarize(const std::vector<const RowResult*>& results) {
    Summary s;
    s.rows = results.size();
    for (const RowResult* r : results) {
        const double e = std::abs(r->error_fraction);
        s.mean_absolute_error_fraction += e / static_cast<double>(results.size());
        s.max_absolute_error_fraction = std::max(s.max_absolute_error_fraction, e);
    }
    s.is_every_row_within = s.max_absolute_error_fraction <= kRowTolerance;
    s.is_mean_within = s.mean_absolute_error_fraction <= kMeanTolerance;
    return s;
}

/// The results of one table, in row order.
std::vector<const RowResult*> of_table(const std::vector<RowResult>& results,
                                       std::string_view table) {
    std::vector<const RowResult*> out;
    for (const RowResult& r : results) {
        if (r.row->table == table) {
            out.push_back(&r);
        }
    }
    return out;
}

std::string_view metric_name(Metric metric) {
    switch (metric) {
        case Metric::kMegatronTflops:
            return "megatron_tflops_per_gpu";
        case Metric::kStepTime:
            return "step_time_s";
        case Metric::kModelTflops:
            return "model_tflops_per_gpu";
        case Metric::kHardwareTflops:
            return "hardware_tflops_per_gpu";
    }
    return "?";
}

std::string schedule_name(const ValidationRow& row) {
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
void write_row_fields(JsonWriter& json, const ValidationRow& row) {
    json.field("table", row.table);
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
    json.field("metric", metric_name(row.source().metric));
    json.field("published", row.published);
    if (row.source().metric != Metric::kStepTime) {
        json.field("published_tflops_per_gpu", row.published);
    } else {
        json.field("published_step_time_s", row.published);
    }
}

std::string result_json(const TableFiles& sc21_files,
                        const std::vector<RowResult>& results,
                        const std::vector<const ValidationRow*>& listed) {
    JsonWriter json;
    json.begin_object();
    json.field("source", "Narayanan et al., SC'21 (arXiv 2104.04473), Table 1");
    json.field("topology", sc21_files.topology);
    json.field("workload", sc21_files.workload);
    json.key("rows").begin_array();
    if (results.empty()) {
        for (const ValidationRow* row : listed) {
            json.begin_object();
            write_row_fields(json, *row);
            json.field("micro_batch", row->micro_batch());
            json.field("schedule", row->pp == 1            ? "none"
                                   : row->is_interleaved() ? "interleaved"
                                                           : "1f1b");
            json.field("virtual_stages", row->virtual_stages());
            json.end_object();
        }
    }
    for (const RowResult& r : results) {
        json.begin_object();
        write_row_fields(json, *r.row);
        json.field("stack", r.stack);
        json.field("micro_batch", r.micro_batch);
        json.field("schedule", r.schedule);
        json.field("virtual_stages", r.virtual_stages);
        json.field("microbatches", r.microbatches);
        json.field("step_time_s", r.step_time_s);
        json.field("megatron_flops_per_iteration", r.megatron_flops);
        json.field("hardware_flops_per_step", r.hardware_flops);
        json.field("model_flops_per_step", r.model_flops);
        json.field("predicted", r.predicted);
        json.field("predicted_tflops_per_gpu", r.predicted_tflops);
        json.field("error_fraction", r.error_fraction);
        json.field("bubble_fraction", r.bubble_fraction);
        json.field("memory_per_gpu_bytes", r.memory_bytes);
        json.key("cluster_breakdown");
        write_breakdown(json, r.cluster);
        json.end_object();
    }
    json.end_array();
    if (!results.empty()) {
        json.key("tables").begin_array();
        for (const ValidationTable& table : kTables) {
            const std::vector<const RowResult*> rows = of_table(results, table.id);
            if (rows.empty()) {
                continue;
            }
            const Summary s = summarize(rows);
            json.begin_object();
            json.field("table", table.id);
            json.field("title", table.title);
            json.field("source", table.source);
            json.field("topology", table.id == "sc21" ? sc21_files.topology : table.topology);
            json.field("workload", table.id == "sc21" ? sc21_files.workload : table.workload);
            json.field("metric", metric_name(table.metric));
            json.field("is_reported_only", table.is_reported_only);
            json.field("rows", rows.size());
            json.field("mean_absolute_error_fraction", s.mean_absolute_error_fraction);
            json.field("max_absolute_error_fraction", s.max_absolute_error_fraction);
            json.end_object();
        }
        json.end_array();
        // The targets (every row <= 10%, mean <= 5%) over the tables held to them.
        std::vector<const RowResult*> held;
        for (const RowResult& r : results) {
            if (!r.row->source().is_reported_only) {
                held.push_back(&r);
            }
        }
        const Summary s = summarize(held);
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

std::string result_table(const TableFiles& sc21_files,
                         const std::vector<RowResult>& results,
                         const std::vector<const ValidationRow*>& listed,
                         bool include_slow) {
    std::ostringstream out;
    char line[320];
    out << "validate: published training runs, predicted (A100 constant fitted on sc21 only)\n";
    for (const ValidationTable& table : kTables) {
        std::vector<const ValidationRow*> rows;
        for (const ValidationRow* row : listed) {
            if (row->table == table.id) {
                rows.push_back(row);
            }
        }
        if (rows.empty()) {
            continue;
        }
        const bool step_time = table.metric == Metric::kStepTime;
        out << "\n[" << table.id << "] " << table.title
            << (table.is_reported_only ? "  (reported, not held to the targets)" : "") << '\n'
            << "  source: " << table.source << '\n'
            << "  on " << (table.id == "sc21" ? sc21_files.topology : std::string(table.topology))
            << " with " << (table.id == "sc21" ? sc21_files.workload : std::string(table.workload))
            << '\n';
        if (table.metric == Metric::kMegatronTflops) {
            out << "  TFLOP/s per GPU = F_iter / (step time x GPUs), "
                   "F_iter = 96·B·s·l·h²·(1 + s/(6h) + V/(16·l·h))\n";
        }
        std::snprintf(line, sizeof line, "%-16s %5s %3s %3s %4s %6s %5s %-15s %10s %10s %10s %8s\n",
                      "row", "GPUs", "TP", "PP", "DP", "batch", "micro", "schedule", "step (s)",
                      step_time ? "pred. (s)" : "predicted", step_time ? "publ. (s)" : "published",
                      "error");
        out << line;
        const std::vector<const RowResult*> done = of_table(results, table.id);
        if (done.empty()) {
            for (const ValidationRow* row : rows) {
                std::snprintf(line, sizeof line,
                              "%-16s %5d %3d %3d %4d %6lld %5s %-15s %10s %10s %10.4g %8s\n",
                              std::string(row->model).c_str(), row->gpus(), row->tp, row->pp,
                              row->dp, static_cast<long long>(row->global_batch),
                              table.sets_shape ? std::to_string(row->micro_batch()).c_str() : "-",
                              table.sets_shape ? schedule_name(*row).c_str() : "(workload)", "-",
                              "-", row->published, "-");
                out << line;
            }
            continue;
        }
        for (const RowResult* r : done) {
            const ValidationRow& row = *r->row;
            std::snprintf(line, sizeof line,
                          "%-16s %5d %3d %3d %4d %6lld %5lld %-15s %10.3f %10.4g %10.4g %+7.1f%%\n",
                          std::string(row.model).c_str(), row.gpus(), row.tp, row.pp, row.dp,
                          static_cast<long long>(row.global_batch),
                          static_cast<long long>(r->micro_batch), schedule_name(*r).c_str(),
                          r->step_time_s, r->predicted, row.published, 100 * r->error_fraction);
            out << line;
        }
        const Summary s = summarize(done);
        std::snprintf(line, sizeof line, "  %zu rows: mean absolute error %.1f%%, worst %.1f%%\n",
                      s.rows, 100 * s.mean_absolute_error_fraction,
                      100 * s.max_absolute_error_fraction);
        out << line;
    }
    if (!include_slow) {
        for (const ValidationRow& row : kRows) {
            if (row.is_slow) {
                out << "\n(skipped " << row.model << ": about a minute on 2 cores; add --slow)\n";
            }
        }
    }
    if (results.empty()) {
        return out.str();
    }
    std::vector<const RowResult*> held;
    for (const RowResult& r : results) {
        if (!r.row->source().is_reported_only) {
            held.push_back(&r);
        }
    }
    if (held.empty()) {
        return out.str();
    }
    const Summary s = summarize(held);
    std::snprintf(line, sizeof line,
                  "\nrows held to the targets (%zu): mean absolute error %.1f%% (target <= %.0f%%: "
                  "%s); worst row %.1f%% (target every row <= %.0f%%: %s)\n",
                  s.rows, 100 * s.mean_absolute_error_fraction, 100 * kMeanTolerance,
                  s.is_mean_within ? "met" : "NOT met", 100 * s.max_absolute_error_fraction,
                  100 * kRowTolerance, s.is_every_row_within ? "met" : "NOT met");
    out << line;
    return out.str();
}

}  // namespace

int validate_command(const std::vector<std::string>& args, CommandIo& io) {
    CommonOptions common;
    TableFiles sc21{std::string(kTables[0].topology), std::string(kTables[0].workload)};
    std::string rows_flag;
    std::string tables_flag;
    std::string fidelity = "fast";
    bool list_only = false;
    bool include_slow = false;
    int jobs = 1;
    po::options_description description("stepsim validate options");
    description.add_options()(
        "topology", po::value<std::string>(&sc21.topology),
        "sc21 table's cluster spec (default topologies/dgx-a100-selene.textproto; its "
        "instance[0] count is set to each row's nodes)")(
        "workload", po::value<std::string>(&sc21.workload),
        "sc21 table's base workload (default workloads/megatron/gpt-weak-scaling.textproto)")(
        "rows", po::value<std::string>(&rows_flag),
        "comma-separated rows, e.g. 1.7B,18B,bloom-176b (default: all)")(
        "tables", po::value<std::string>(&tables_flag),
        "comma-separated tables: sc21, mt-nlg, bloom, opt, llama3 (default: all)")(
        "slow", po::bool_switch(&include_slow),
        "also the rows that take most of a minute (llama3-405b-16k)")(
        "list", po::bool_switch(&list_only), "print the rows and settings without simulating")(
        "fidelity", po::value<std::string>(&fidelity), "fast (default) or full")(
        "jobs", po::value<int>(&jobs), "rows simulated at once on threads (default 1)");
    add_common_options(description, common);
    if (!parse_command_line(args, description, {}, common, io,
                            "stepsim validate [--tables sc21,bloom] [--rows 1.7B,18B] [--slow] "
                            "[--list] [--json] [--jobs N] [--fidelity fast|full] "
                            "[--set FIELD=VALUE]...")) {
        return 0;
    }
    if (jobs < 1) {
        throw UsageError("--jobs must be at least 1, got " + std::to_string(jobs));
    }
    StepOptions options;
    options.fidelity = parse_fidelity_flag(fidelity);
    // The largest rows spend most of their time timing distinct collectives: let them use the
    // threads too (results do not depend on the thread count).
    options.threads = jobs;
    const std::vector<const ValidationRow*> rows =
        select_rows(rows_flag, tables_flag, include_slow || !rows_flag.empty());

    // --set: topology paths ("topology."-prefixed, or topology-only fields) edit the topology,
    // the rest the workload (as in step); they apply to every row, after the row's own
    // settings.
    std::vector<SpecOverride> workload_overrides = common.overrides();
    const std::vector<SpecOverride> topology_overrides =
        take_topology_overrides(workload_overrides);

    std::vector<RowResult> results;
    if (!list_only) {
        // The slowest rows first, so that threads finish together.
        std::vector<std::size_t> order(rows.size());
        for (std::size_t i = 0; i < order.size(); ++i) {
            order[i] = i;
        }
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            return rows[a]->gpus() > rows[b]->gpus();
        });
        results.resize(rows.size());
        std::atomic<std::size_t> next{0};
        std::exception_ptr failure;
        std::mutex failure_mutex;
        const auto work = [&] {
            try {
                while (true) {
                    const std::size_t k = next.fetch_add(1);
                    if (k >= rows.size()) {
                        return;
                    }
                    const std::size_t i = order[k];
                    const ValidationRow& row = *rows[i];
                    const TableFiles files = row.table == "sc21"
                                                 ? sc21
                                                 : TableFiles{std::string(row.source().topology),
                                                              std::string(row.source().workload)};
                    results[i] =
                        run_row(row, files, topology_overrides, workload_overrides, options);
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
    io.emit(common.json ? result_json(sc21, results, rows)
                        : result_table(sc21, results, rows, include_slow || !rows_flag.empty()));
    return 0;
}

}  // namespace stepsim::cli
