// SPDX-License-Identifier: Apache-2.0
// File: failures.h
// Failures, checkpoints and restarts over a whole training run: a run-level event-driven
// simulation on the nanosecond `RunSimulator`, statistics over seeded runs, and
// checkpoint-interval sweeps. Model and formulas: docs/models/failures-checkpoints.md.
#pragma once

#include "stepsim/random.h"
#include "stepsim/time.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stepsim {

class Topology;

/// What a failure class's count scales with: devices of the cluster, or the job itself.
enum class ComponentKind : std::uint8_t { kGpu, kHost, kNic, kSwitch, kLink, kJob };

/// "gpu", "host", "nic", "switch", "link", "job"
std::string_view to_string(ComponentKind kind);

/// How many of each component the job runs on. Unknown counts stay empty; kJob is always 1.
struct ComponentCounts {
    std::optional<std::int64_t> gpus;
    std::optional<std::int64_t> hosts;
    std::optional<std::int64_t> nics;
    std::optional<std::int64_t> switches;  ///< fabric switches (NVSwitches not included)
    std::optional<std::int64_t> links;     ///< network cables (InfiniBand/Ethernet, duplex)

    std::optional<std::int64_t> count(ComponentKind kind) const;
};

/// Counts from a topology: GPUs, hosts, NICs, fabric switches, network cables (each duplex
/// InfiniBand/Ethernet pair counted once).
ComponentCounts component_counts(const Topology& topology);

enum class FailureDistribution : std::uint8_t { kExponential, kWeibull };

/// One class of components whose failures interrupt the job: `count` independent components,
/// each failing after a time drawn from the distribution and replaced by a new one at once
/// (a renewal process per component, in wall-clock time, whatever the job is doing).
struct FailureClass {
    std::string name;  ///< stable: keys the random stream "failures/<name>"
    std::int64_t count = 1;
    FailureDistribution distribution = FailureDistribution::kExponential;
    double mtbf_s = 0;           ///< exponential: mean time between failures of one component
    double weibull_shape = 0;    ///< Weibull k (> 0; < 1 infant mortality, > 1 wear-out)
    double weibull_scale_s = 0;  ///< Weibull λ (> 0)
    /// Hardware that must be swapped (uses a spare node, see RestartPolicy); false for
    /// software faults, which restart in place.
    bool needs_replacement = true;

    /// Mean time to failure of one component: mtbf_s, or λ·Γ(1 + 1/k).
    double mean_time_to_failure_s() const;
};

/// Every failure class of a job. Classes are independent; any failure interrupts the job.
struct FailureModel {
    std::vector<FailureClass> classes;

    /// One cluster-level exponential class ("cluster") with the given MTBF.
    static FailureModel cluster_mtbf(double mtbf_s);
    /// Mean time between job interruptions in the long run: 1 / Σ count/MTTF (renewal rates).
    /// +infinity when there are no classes.
    double cluster_mtbf_s() const;
    /// The same model with every time scaled so that cluster_mtbf_s() == mtbf_s (Weibull
    /// scales and exponential MTBFs times one factor: the failure process is time-scaled).
    FailureModel scaled_to_cluster_mtbf(double mtbf_s) const;
    bool has_weibull() const;
    /// Throws UserError on a non-positive count, MTBF, shape or scale.
    void validate() const;
};

/// Checkpoints every `interval_steps` steps of useful work, and after the last step.
struct CheckpointPolicy {
    std::int64_t interval_steps = 0;
    /// Synchronous: the job stops for the whole write. Asynchronous: the job stops for
    /// `save_cost` (a snapshot to host memory), then `background_write` runs alongside the
    /// next steps; the checkpoint is durable only when the write ends, and a failure before
    /// that loses it. A snapshot waits for the previous write to end (counted as checkpoint).
    RunTime save_cost{0};
    bool is_async = false;
    RunTime background_write{0};
};

/// Save cost of `checkpoint_bytes` written by `nodes` nodes in parallel at `per_node_Bps` each,
/// capped by the storage system's `total_Bps`: bytes / min(nodes·per_node, total). Rounded once
/// to the nearest ns. UserError on non-positive inputs.
RunTime checkpoint_write_time(std::int64_t checkpoint_bytes,
                              std::int64_t nodes,
                              double per_node_Bps,
                              double total_Bps);

/// Time from a failure until the job computes again: detection + rescheduling + loading the
/// checkpoint + warm-up. A failure during a restart starts the restart again.
struct RestartPolicy {
    RunTime detection{0};
    RunTime reschedule{0};  ///< onto a spare node (or in place, for software faults)
    RunTime load{0};
    RunTime warmup{0};
    /// Spare nodes for hardware failures; empty: unlimited. A hardware failure takes a spare,
    /// which returns `repair_time` later; with none left, rescheduling waits for a repair.
    std::optional<std::int64_t> spare_nodes;
    RunTime repair_time{0};

    RunTime total() const { return detection + reschedule + load + warmup; }

    /// All of it as one figure (in `reschedule`), unlimited spares.
    static RestartPolicy lump(RunTime total);
};

/// Held-out validation every `interval_steps` steps (0: never), stopping the job for `cost`.
struct ValidationPolicy {
    std::int64_t interval_steps = 0;
    RunTime cost{0};
};

/// One training run.
struct RunSpec {
    RunTime step_time{0};
    std::int64_t steps = 0;
    CheckpointPolicy checkpoint;
    RestartPolicy restart;
    ValidationPolicy validation;
    FailureModel failures;
    /// Give up (result marked unfinished) past this wall time; zero: 100 × the failure-free
    /// wall time, capped at 250 years.
    RunTime max_wall_time{0};

    /// Throws UserError naming the first bad field (non-positive step time, steps or interval,
    /// negative costs, bad failure classes); ResourceLimitError on wall-time overflow.
    void validate() const;
    /// steps × step_time, checked for overflow.
    RunTime useful_time() const;
};

/// One simulated run. wall_time = compute + checkpoint + validation + restart, exactly, and
/// compute = useful + rework.
struct RunResult {
    RunTime wall_time{0};
    RunTime useful{0};      ///< durable steps × step time (all steps when finished)
    RunTime rework{0};      ///< compute lost to failures (done again later)
    RunTime checkpoint{0};  ///< job stopped for checkpoints (snapshots, sync writes, waits)
    RunTime validation{0};
    RunTime restart{0};  ///< detection, rescheduling, waiting for spares, loading, warm-up
    std::int64_t failures = 0;
    std::int64_t checkpoints_durable = 0;
    std::int64_t checkpoints_lost = 0;  ///< interrupted writes
    bool is_finished = true;
    std::uint64_t fingerprint = 0;  ///< of the run's event trajectory

    /// useful / wall time
    double goodput() const;
};

/// Simulates one run. The failure times depend only on (seed, failure class), never on the
/// checkpoint policy: runs with the same seed share failures (common random numbers).
/// Throws UserError when spec.validate() does.
RunResult simulate_run(const RunSpec& spec, std::uint64_t seed);

/// Sample mean with a 95% confidence half-width (Student t, n − 1 degrees of freedom; 0 when
/// n < 2).
struct Estimate {
    double mean = 0;
    double ci95 = 0;
};

Estimate estimate(const std::vector<double>& samples);

/// Two-sided 95% quantile of Student's t with `degrees_of_freedom` (>= 1).
double student_t_975(std::int64_t degrees_of_freedom);

/// A run spec over many seeds.
struct RunSummary {
    std::int64_t runs = 0;
    Estimate goodput;
    Estimate wall_time_s;
    double useful_s = 0;  ///< mean
    double rework_s = 0;
    double checkpoint_s = 0;
    double validation_s = 0;
    double restart_s = 0;
    double failures = 0;
    std::int64_t unfinished_runs = 0;
};

RunSummary summarize(const std::vector<RunResult>& runs);

/// Runs seeds 0..runs-1 (run_seed(base_seed, k)) of one spec.
RunSummary simulate_runs(const RunSpec& spec, std::uint64_t base_seed, std::int64_t runs);

// ---- checkpoint-interval sweeps -------------------------------------------------------------

enum class SweepPointKind : std::uint8_t { kGrid, kYoung, kDaly };

/// "grid", "young", "daly"
std::string_view to_string(SweepPointKind kind);

/// One simulated point: a failure rate and an interval, over every seed.
struct SweepPoint {
    std::int64_t rate_index = 0;
    SweepPointKind kind = SweepPointKind::kGrid;
    std::int64_t interval_steps = 0;
    RunSummary summary;
};

struct CheckpointSweepSpec {
    RunSpec base;  ///< checkpoint.interval_steps is replaced by each point's
    std::vector<std::int64_t> interval_steps;  ///< the grid, ascending, distinct
    std::vector<FailureModel> failure_rates;   ///< one study per entry
    std::int64_t seeds = 100;
    std::uint64_t base_seed = 1;
    int threads = 1;

    void validate() const;
};

/// The points of a sweep, in their fixed order: for each rate, the grid, then Young's and
/// Daly's intervals (δ = the blocking save cost, M = the rate's cluster MTBF, rounded to whole
/// steps, at least one). Only interval_steps, kind and rate_index are set.
std::vector<SweepPoint> sweep_points(const CheckpointSweepSpec& spec);

/// Simulates every point not already in `done` (index -> summary, e.g. read back from an
/// interrupted sweep's CSV). `on_point(index, point)` is called once per point, in point
/// order, from one thread at a time, as soon as it and all earlier points are finished.
/// Results do not depend on `threads`.
std::vector<SweepPoint> run_checkpoint_sweep(
    const CheckpointSweepSpec& spec,
    const std::vector<std::optional<RunSummary>>& done,
    const std::function<void(std::size_t, const SweepPoint&)>& on_point);

/// The study of one failure rate, derived from its points.
struct RateStudy {
    double mtbf_s = 0;
    std::size_t best = 0;  ///< index into grid: the highest mean goodput
    /// Grid intervals whose goodput 95% interval reaches the best's lower bound: the
    /// intervals the simulation cannot tell from the best.
    double band_low_s = 0;
    double band_high_s = 0;
    std::vector<SweepPoint> grid;
    SweepPoint young;
    SweepPoint daly;
    double young_interval_s = 0;  ///< unrounded formula values
    double daly_interval_s = 0;
    /// Young's (Daly's) rounded interval lies outside [band_low_s, band_high_s] and its
    /// goodput's 95% interval lies below the best's.
    bool young_disagrees = false;
    bool daly_disagrees = false;
    /// Where the formulas' assumptions do not hold: "weibull failures", "checkpoint cost
    /// comparable to MTBF" (δ > M/10), "asynchronous checkpoints", "validation pauses",
    /// "limited spares".
    std::vector<std::string> caveats;
};

/// Groups `points` (as returned by run_checkpoint_sweep) into one study per failure rate.
std::vector<RateStudy> study_rates(const CheckpointSweepSpec& spec,
                                   const std::vector<SweepPoint>& points);

/// The interval in whole steps for `interval_s` of useful work: round to nearest. Throws
/// UserError when the interval is shorter than one step or not positive.
std::int64_t interval_to_steps(double interval_s, RunTime step_time);

}  // namespace stepsim
