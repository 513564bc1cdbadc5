// SPDX-License-Identifier: Apache-2.0
// File: validation.cc
// The validation study: each row's specs loaded with its settings, one step simulated, the
// prediction in the table's metric (the SC'21 table's F_iter over the step time and GPU count,
// as the paper computes its figure) and its signed error against the published figure.
#include "stepsim/study/validation.h"

#include "stepsim/analytic.h"
#include "stepsim/error.h"
#include "stepsim/parallel.h"
#include "stepsim/spec.h"
#include "stepsim/topology.h"
#include "stepsim/workload.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>
#include <string>

namespace stepsim::study {

namespace {

/// The row's settings as workload overrides: the layout and batch; the model's shape, micro-
/// batch and schedule for tables that set the shape.
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

/// Appends "path=value;path=value" (a table's fixed settings) to `to`.
void append_settings(std::vector<SpecOverride>& to, std::string_view list) {
    while (!list.empty()) {
        const std::size_t end = std::min(list.find(';'), list.size());
        const std::string_view item = list.substr(0, end);
        const std::size_t eq = item.find('=');
        to.push_back(
            SpecOverride{std::string(item.substr(0, eq)), std::string(item.substr(eq + 1))});
        list.remove_prefix(std::min(end + 1, list.size()));
    }
}

}  // namespace

std::string_view metric_name(ValidationMetric metric) {
    switch (metric) {
        case ValidationMetric::kMegatronTflops:
            return "megatron_tflops_per_gpu";
        case ValidationMetric::kStepTime:
            return "step_time_s";
        case ValidationMetric::kModelTflops:
            return "model_tflops_per_gpu";
        case ValidationMetric::kHardwareTflops:
            return "hardware_tflops_per_gpu";
    }
    return "?";
}

const ValidationTable& ValidationRow::source() const {
    return validation_table(table);
}

int ValidationRow::virtual_stages() const {
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

ValidationOptions default_validation_options() {
    const ValidationTable& sc21 = validation_tables().front();
    ValidationOptions options;
    options.sc21 = {std::string(sc21.topology), std::string(sc21.workload)};
    return options;
}

ValidationSummary summarize(const std::vector<const ValidationRowResult*>& results) {
    ValidationSummary s;
    s.rows = results.size();
    for (const ValidationRowResult* r : results) {
        const double e = std::abs(r->error_fraction);
        s.mean_absolute_error_fraction += e / static_cast<double>(results.size());
        s.max_absolute_error_fraction = std::max(s.max_absolute_error_fraction, e);
    }
    s.is_every_row_within = s.max_absolute_error_fraction <= kValidationRowTolerance;
    s.is_mean_within = s.mean_absolute_error_fraction <= kValidationMeanTolerance;
    return s;
}

ValidationFiles ValidationResult::files_of(const ValidationTable& table) const {
    return table.id == "sc21"
               ? sc21
               : ValidationFiles{std::string(table.topology), std::string(table.workload)};
}

std::vector<const ValidationRowResult*> ValidationResult::of_table(std::string_view table) const {
    std::vector<const ValidationRowResult*> out;
    for (const ValidationRowResult& r : results) {
        if (r.row->table == table) {
            out.push_back(&r);
        }
    }
    return out;
}

std::vector<const ValidationRowResult*> ValidationResult::held_to_targets() const {
    std::vector<const ValidationRowResult*> held;
    for (const ValidationRowResult& r : results) {
        if (!r.row->source().is_reported_only) {
            held.push_back(&r);
        }
    }
    return held;
}

ValidationRowResult run_validation_row(const ValidationRow& row,
                                       const ValidationFiles& files,
                                       const ValidationOptions& options) {
    // The row's node count first, so that a caller's topology override wins.
    std::vector<SpecOverride> topology_set = {
        SpecOverride{"instance[0].count", std::to_string(row.nodes())}};
    append_settings(topology_set, row.source().topology_set);
    topology_set.insert(topology_set.end(), options.topology_overrides.begin(),
                        options.topology_overrides.end());
    std::vector<SpecOverride> workload_set = row_overrides(row);
    append_settings(workload_set, row.source().workload_set);
    workload_set.insert(workload_set.end(), options.workload_overrides.begin(),
                        options.workload_overrides.end());

    const Topology topology = load_topology_file(files.topology, topology_set);
    const TrainingJob job = load_workload_file(files.workload, workload_set);
    validate_job_against_cluster(job, static_cast<int>(topology.gpu_count()),
                                 row.source().allows_oom, files.workload);
    const StepResult step = simulate_step(job, topology, options.step);

    ValidationRowResult result;
    result.row = &row;
    result.step_time_s = step.step_time_s;
    result.megatron_flops = analytic::megatron_flops_per_iteration(
        static_cast<double>(job.training.global_batch), static_cast<double>(job.model.seq_len),
        job.model.layers, static_cast<double>(job.model.hidden),
        static_cast<double>(job.model.vocab), job.training.recompute == Recompute::kFull);
    result.hardware_flops = step.hardware_flops_per_step;
    result.model_flops = step.model_flops_per_step;
    // The table's FLOP convention (step-time tables report the hardware FLOP rate).
    const ValidationMetric metric = row.source().metric;
    const double flops = metric == ValidationMetric::kMegatronTflops ? result.megatron_flops
                         : metric == ValidationMetric::kModelTflops  ? result.model_flops
                                                                     : result.hardware_flops;
    result.predicted_tflops = flops / (step.step_time_s * step.gpus * 1e12);
    if (metric == ValidationMetric::kStepTime) {
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

ValidationResult list_validation(const std::vector<const ValidationRow*>& rows,
                                 const ValidationOptions& options) {
    ValidationResult result;
    result.sc21 = options.sc21;
    result.rows = rows;
    return result;
}

ValidationResult run_validation(const std::vector<const ValidationRow*>& rows,
                                const ValidationOptions& options) {
    ValidationResult result = list_validation(rows, options);
    // The slowest rows first, so that threads finish together.
    std::vector<std::size_t> order(rows.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return rows[a]->gpus() > rows[b]->gpus();
    });
    result.results.resize(rows.size());
    parallel_for(rows.size(), options.jobs, [&](std::size_t k, std::size_t) {
        const std::size_t i = order[k];
        const ValidationRow& row = *rows[i];
        result.results[i] = run_validation_row(row, result.files_of(row.source()), options);
    });
    return result;
}

}  // namespace stepsim::study
