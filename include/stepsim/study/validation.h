// SPDX-License-Identifier: Apache-2.0
// File: validation.h
// The validation study: predicted against published training runs (Megatron-LM's SC'21 weak
// scaling table, MT-NLG, BLOOM, OPT, Llama 3; docs/validation.md). Each row is a bundled base
// workload and topology with the row's shape, layout and node count set on load; the
// prediction is the step simulation's, in the table's metric. The tables and rows themselves
// are data, in sim/study/validation_tables.cc. No argv, no JSON: the CLI (`stepsim validate`)
// selects rows and prints, sim/report/validation_json.cc serializes.
#pragma once

#include "stepsim/spec.h"
#include "stepsim/training_step.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stepsim::study {

/// Targets over the rows held to them (docs/validation.md): every row within 10%, the mean
/// absolute error within 5%.
constexpr double kValidationRowTolerance = 0.10;
constexpr double kValidationMeanTolerance = 0.05;

/// What a table publishes, and so what the prediction is compared with.
enum class ValidationMetric : std::uint8_t {
    kMegatronTflops,  ///< F_iter (Narayanan et al.'s formula) / (step time · GPUs)
    kStepTime,        ///< seconds per iteration
    kModelTflops,     ///< the simulator's model FLOPs / (step time · GPUs)
    kHardwareTflops,  ///< the simulator's hardware FLOPs (with recompute) / (step time · GPUs)
};

/// "megatron_tflops_per_gpu", "step_time_s", "model_tflops_per_gpu", "hardware_tflops_per_gpu".
std::string_view metric_name(ValidationMetric metric);

/// A published table: its source, the bundled specs its rows start from, and how its figure
/// is defined. Row settings the source does not state are the specs' (docs/validation.md).
struct ValidationTable {
    std::string_view id;
    std::string_view title;
    std::string_view source;
    std::string_view topology;
    std::string_view workload;
    ValidationMetric metric;
    /// Reported, not held to the targets: the published figure is an upper bound ("up to") or
    /// a secondary figure the issue says to report and not fit.
    bool is_reported_only;
    /// The rows set the model's shape (sc21: one base workload for ten models); the others'
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

/// One published row with the settings the source does not give (docs/validation.md): for
/// tables that set the shape, micro-batch 1 where there is a pipeline, and the interleaved
/// schedule (the SC'21 paper's §5.1 runs use it) with the fewest chunks that split a stage's
/// layers evenly.
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
    bool is_slow;      ///< takes most of a minute: only when named or asked for

    int gpus() const { return tp * pp * dp; }

    int nodes() const { return (gpus() + 7) / 8; }  // 8 GPUs per server on every cluster here

    const ValidationTable& source() const;

    /// Shape-setting tables: sequences per micro-batch, 1 with a pipeline; without one a
    /// replica's whole share of the batch (no gradient accumulation). Others: the workload's.
    std::int64_t micro_batch() const { return pp > 1 ? 1 : global_batch / dp; }

    /// Shape-setting tables: chunks per pipeline rank, the smallest v >= 2 dividing the layers
    /// per stage (1 without a pipeline, or when none divides).
    int virtual_stages() const;

    bool is_interleaved() const { return virtual_stages() > 1; }
};

/// Every table, in the order they are printed.
std::span<const ValidationTable> validation_tables();

/// Every row, grouped by table.
std::span<const ValidationRow> validation_rows();

/// The table called `id`; InternalError if there is none (rows name only known tables).
const ValidationTable& validation_table(std::string_view id);

/// The spec files a table runs on (sc21's may be replaced by the caller).
struct ValidationFiles {
    std::string topology;
    std::string workload;
};

struct ValidationOptions {
    /// The sc21 table's cluster and base workload (the defaults are the table's own).
    ValidationFiles sc21;
    /// Applied to every row after the row's own settings (the CLI's --set).
    std::vector<SpecOverride> topology_overrides;
    std::vector<SpecOverride> workload_overrides;
    StepOptions step;
    /// Rows simulated at once (the results do not depend on it).
    int jobs = 1;
};

/// ValidationOptions with sc21's files set to the table's own.
ValidationOptions default_validation_options();

/// One row simulated.
struct ValidationRowResult {
    const ValidationRow* row = nullptr;
    double step_time_s = 0;
    double megatron_flops = 0;    ///< F_iter with the row's recompute mode
    double hardware_flops = 0;    ///< the simulator's own count (recompute included)
    double model_flops = 0;       ///< the simulator's model FLOPs (no recompute)
    double predicted = 0;         ///< in the table's metric
    double predicted_tflops = 0;  ///< in the table's FLOP convention (step-time tables: hardware)
    double error_fraction = 0;    ///< signed so that + means the prediction is too fast
    double bubble_fraction = 0;
    std::int64_t microbatches = 0;
    std::int64_t memory_bytes = 0;
    // The settings simulated (the row's assumptions, or what an override changed them to).
    std::int64_t micro_batch = 0;
    std::string schedule;  ///< "none" without a pipeline, else the schedule's name
    int virtual_stages = 1;
    std::string stack;
    StepBreakdown cluster;
};

/// Error statistics over a set of rows.
struct ValidationSummary {
    std::size_t rows = 0;
    double mean_absolute_error_fraction = 0;
    double max_absolute_error_fraction = 0;
    bool is_every_row_within = true;
    bool is_mean_within = true;
};

ValidationSummary summarize(const std::vector<const ValidationRowResult*>& results);

/// What the study produced: the rows asked for (in the order asked) and, unless only listed,
/// their results in the same order.
struct ValidationResult {
    ValidationFiles sc21;
    std::vector<const ValidationRow*> rows;
    std::vector<ValidationRowResult> results;  ///< empty when the rows were only listed

    /// The files a table ran on: sc21's as given, the others' their own.
    ValidationFiles files_of(const ValidationTable& table) const;
    /// The results of one table, in row order.
    std::vector<const ValidationRowResult*> of_table(std::string_view table) const;
    /// The results of the tables held to the targets.
    std::vector<const ValidationRowResult*> held_to_targets() const;
};

/// Simulates one row. Throws SpecError on bad specs or overrides.
ValidationRowResult run_validation_row(const ValidationRow& row,
                                       const ValidationFiles& files,
                                       const ValidationOptions& options);

/// Simulates `rows` (the largest first, on options.jobs threads; results in the given order).
/// Throws what run_validation_row() throws (the first row's, in the given order).
ValidationResult run_validation(const std::vector<const ValidationRow*>& rows,
                                const ValidationOptions& options);

/// The rows with their settings, not simulated.
ValidationResult list_validation(const std::vector<const ValidationRow*>& rows,
                                 const ValidationOptions& options);

}  // namespace stepsim::study
