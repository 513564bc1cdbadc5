// SPDX-License-Identifier: Apache-2.0
// File: validation_json.cc
// `stepsim validate --json`: a ValidationResult as JSON.
#include "stepsim/report.h"
#include "stepsim/results_json.h"
#include "stepsim/study/validation.h"

namespace stepsim {

namespace {

using study::ValidationMetric;
using study::ValidationRow;
using study::ValidationRowResult;
using study::ValidationTable;

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
    if (row.source().metric != ValidationMetric::kStepTime) {
        json.field("published_tflops_per_gpu", row.published);
    } else {
        json.field("published_step_time_s", row.published);
    }
}

}  // namespace

std::string to_json(const study::ValidationResult& result) {
    JsonWriter json;
    json.begin_object();
    json.field("source", "Narayanan et al., SC'21 (arXiv 2104.04473), Table 1");
    json.field("topology", result.sc21.topology);
    json.field("workload", result.sc21.workload);
    json.key("rows").begin_array();
    if (result.results.empty()) {
        for (const ValidationRow* row : result.rows) {
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
    for (const ValidationRowResult& r : result.results) {
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
        write_json(json, r.cluster);
        json.end_object();
    }
    json.end_array();
    if (!result.results.empty()) {
        json.key("tables").begin_array();
        for (const ValidationTable& table : study::validation_tables()) {
            const std::vector<const ValidationRowResult*> rows = result.of_table(table.id);
            if (rows.empty()) {
                continue;
            }
            const study::ValidationSummary s = study::summarize(rows);
            const study::ValidationFiles files = result.files_of(table);
            json.begin_object();
            json.field("table", table.id);
            json.field("title", table.title);
            json.field("source", table.source);
            json.field("topology", files.topology);
            json.field("workload", files.workload);
            json.field("metric", metric_name(table.metric));
            json.field("is_reported_only", table.is_reported_only);
            json.field("rows", rows.size());
            json.field("mean_absolute_error_fraction", s.mean_absolute_error_fraction);
            json.field("max_absolute_error_fraction", s.max_absolute_error_fraction);
            json.end_object();
        }
        json.end_array();
        // The targets (every row <= 10%, mean <= 5%) over the tables held to them.
        const study::ValidationSummary s = study::summarize(result.held_to_targets());
        json.field("mean_absolute_error_fraction", s.mean_absolute_error_fraction);
        json.field("max_absolute_error_fraction", s.max_absolute_error_fraction);
        json.field("row_tolerance_fraction", study::kValidationRowTolerance);
        json.field("mean_tolerance_fraction", study::kValidationMeanTolerance);
        json.field("is_every_row_within_tolerance", s.is_every_row_within);
        json.field("is_mean_within_tolerance", s.is_mean_within);
    }
    json.end_object();
    return json.str() + "\n";
}

}  // namespace stepsim
