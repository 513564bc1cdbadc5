// SPDX-License-Identifier: Apache-2.0
// File: checkpoint.h
// The checkpoint interval study: a run spec swept over checkpoint intervals and failure rates
// with the run-level simulation (run_checkpoint_sweep(), sim/failures), each rate's best
// interval with its confidence band beside Young's and Daly's intervals, and the optimum
// refined between the grid points by a golden-section search on the same seeds. No argv, no
// JSON: `stepsim checkpoint` builds the CheckpointSweepSpec from its flags and prints;
// sim/report/checkpoint_json.cc serializes, sim/report/checkpoint_csv.cc journals the points.
// Model: docs/models/failures-checkpoints.md.
#pragma once

#include "stepsim/failures.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace stepsim {
class Topology;
struct TrainingJob;
}  // namespace stepsim

namespace stepsim::study {

/// What a workload gives the checkpoint study: its step time simulated on the cluster, and the
/// size of its full model state, the checkpoint: bf16 weights (2 bytes/parameter) plus fp32
/// master weights and two Adam moments (12 bytes/parameter).
struct WorkloadCheckpointFacts {
    double step_time_s = 0;  ///< 0 unless asked for
    std::int64_t checkpoint_bytes = 0;
};

/// Checks `job` against `topology` (a JobClusterMismatch located in `workload_file`, naming
/// `topology_file`), then simulates one step when `needs_step_time`.
WorkloadCheckpointFacts workload_checkpoint_facts(const TrainingJob& job,
                                                  const Topology& topology,
                                                  bool needs_step_time,
                                                  const std::string& workload_file,
                                                  const std::string& topology_file);

/// The grid used when none is given: `count` log-spaced intervals (seconds of useful compute)
/// from a quarter of the shortest Young interval over `failure_rates` to four times the
/// longest, at least one step of `base`.
struct DefaultIntervalGrid {
    double low_s = 0;
    double high_s = 0;
    std::vector<double> intervals_s;  ///< ascending, low_s first
};

DefaultIntervalGrid default_interval_grid(const RunSpec& base,
                                          const std::vector<FailureModel>& failure_rates,
                                          int count = 17);

struct CheckpointStudyOptions {
    /// The limit on the compute segments simulated (seeds × steps / interval summed over the
    /// points): a sweep past it is refused with a ResourceLimitError before any run.
    double max_segments = 1e10;
    /// Appended to the limit's message (the CLI names the flag that raises it).
    std::string limit_hint;
    /// Called once the sweep is checked, before any run, with its points (sweep_points()):
    /// returns the summaries already finished, by point index (a resumed journal's rows).
    std::function<std::vector<std::optional<RunSummary>>(const std::vector<SweepPoint>& points)>
        resume;
    /// Called once per point, in point order, from one thread at a time, as soon as it and all
    /// earlier points are finished (resumed ones included): the journal's append.
    std::function<void(std::size_t index, const SweepPoint& point)> on_point;
};

/// The optimum between the grid points around the best one: a golden-section search over
/// whole steps on the common-random-number curve (every interval runs the same seeds), so an
/// optimum between grid points (Young's interval sometimes beats the grid's best) is found.
struct RefinedOptimum {
    bool is_refined = false;  ///< false: the grid's neighbours are adjacent steps (or none)
    SweepPoint point;         ///< the best of everything simulated for the rate
    double bracket_low_s = 0;
    double bracket_high_s = 0;
    int evaluations = 0;    ///< points simulated by the search
    double band_low_s = 0;  ///< intervals whose 95% interval reaches the optimum's lower bound
    double band_high_s = 0;
};

struct CheckpointStudyResult {
    CheckpointSweepSpec spec;             ///< the sweep run (its run spec, grid, seeds)
    std::vector<RateStudy> rates;         ///< one per failure rate, in the spec's order
    std::vector<RefinedOptimum> refined;  ///< one per rate
};

/// The compute segments a sweep simulates: seeds × ceil(steps / interval) summed over
/// `points` (sweep_points()).
double sweep_segments(const CheckpointSweepSpec& spec, const std::vector<SweepPoint>& points);

/// Validates `spec` (UserError), refuses a sweep past options.max_segments
/// (ResourceLimitError), runs every point not resumed on spec.threads workers, groups the
/// points per rate and refines each rate's optimum. Results do not depend on threads.
CheckpointStudyResult run_checkpoint_study(const CheckpointSweepSpec& spec,
                                           const CheckpointStudyOptions& options = {});

/// Refines the optimum of one rate of `spec` (see RefinedOptimum).
RefinedOptimum refine_optimum(const CheckpointSweepSpec& spec, const RateStudy& rate);

}  // namespace stepsim::study
