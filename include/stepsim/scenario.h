// SPDX-License-Identifier: Apache-2.0
// File: scenario.h
// What-ifs around the training step. Sections, each owned by its issue:
//   - failures, checkpoints and restarts over a whole training run (issue 6): a run-level
//     event-driven simulation on the nanosecond `RunSimulator`, and checkpoint-interval sweeps;
//   - stragglers, jitter and slow episodes in one training step, what-if studies (issue 5):
//     docs/models/stragglers.md.
// Model and formulas: docs/models/failures-checkpoints.md.
#pragma once

#include "stepsim/perturbed_step.h"
#include "stepsim/time.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace stepsim {

class Topology;

// ============================================================================================
// Failures, checkpoints and restarts over a training run (issue 6)
// ============================================================================================

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
    /// Throws std::invalid_argument on a non-positive count, MTBF, shape or scale.
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
/// to the nearest ns. std::invalid_argument on non-positive inputs.
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

    /// Throws std::invalid_argument naming the first bad field (non-positive step time,
    /// steps or interval, negative costs, wall-time overflow, bad failure classes).
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
/// Throws std::invalid_argument when spec.validate() does.
RunResult simulate_run(const RunSpec& spec, std::uint64_t seed);

/// The seed of run k (0-based) of a study seeded with `base_seed`.
std::uint64_t run_seed(std::uint64_t base_seed, std::int64_t run_index);

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
/// std::invalid_argument when the interval is shorter than one step or not positive.
std::int64_t interval_to_steps(double interval_s, RunTime step_time);

// ============================================================================================
// end of the failures/checkpoints section (issue 6)
// ============================================================================================

// ============================================================================================
// Stragglers and what-if studies (issue 5; docs/models/stragglers.md)
// ============================================================================================

/// A persistent slowdown of one element (a rank, a set of ranks, a node, a stage, a replica,
/// a link or a class of links), already resolved against the cluster and the job by the
/// scenario loader.
struct Slowdown {
    std::string element;              ///< how reports name it: "rank 17", "node 3", "link a->b"
    std::vector<std::int32_t> ranks;  ///< GPUs whose compute slows by `factor`
    /// Directed link ids (LinkId::value) whose bandwidth is divided by `factor`, or which go
    /// down when `is_link_down`.
    std::vector<std::uint32_t> links;
    double compute_factor = 1;  ///< > 0; a compute task takes factor × its duration
    double link_factor = 1;     ///< > 0; a link carries bandwidth / factor
    bool is_link_down = false;
};

enum class JitterDistribution : std::uint8_t { kLognormal, kGamma, kEmpirical };

/// "lognormal", "gamma", "empirical"
std::string_view to_string(JitterDistribution distribution);

/// Per-operation compute jitter: every compute kernel of every selected rank takes its
/// duration times an independent multiplier of mean 1 (lognormal by its coefficient of
/// variation, gamma with shape k and scale 1/k, or drawn uniformly from a list normalised to
/// mean 1).
struct ComputeJitter {
    JitterDistribution distribution = JitterDistribution::kLognormal;
    double cv = 0;                    ///< lognormal: stddev / mean (>= 0)
    double gamma_shape = 0;           ///< gamma: k > 0 (CV = 1/sqrt(k))
    std::vector<double> multipliers;  ///< empirical: > 0 each
    std::vector<std::int32_t> ranks;  ///< empty: every rank
    /// One multiplier per rank per run (a persistent per-rank slowdown drawn once per run)
    /// instead of one per operation.
    bool is_per_run = false;
};

/// Per-rank persistent slowdowns drawn once per run: `count` ranks chosen uniformly without
/// replacement each slow their compute by `factor`.
struct RandomStragglers {
    std::int64_t count = 0;
    double factor = 1;
};

/// Transient slow episodes: on each selected rank, episodes arrive as a Poisson process of
/// mean inter-arrival `mean_interval_s`; during one, the rank computes `factor` times slower
/// for `duration_s` (overlapping episodes merge).
struct SlowEpisodes {
    double mean_interval_s = 0;
    double factor = 1;
    double duration_s = 0;
    std::vector<std::int32_t> ranks;  ///< empty: every rank
};

struct Scenario {
    std::string description;
    std::uint64_t seed = 1;
    std::vector<Slowdown> slowdowns;
    std::optional<ComputeJitter> jitter;
    std::optional<RandomStragglers> random_stragglers;
    std::optional<SlowEpisodes> episodes;

    /// True when some part is random (jitter, random stragglers, episodes).
    bool is_stochastic() const;
    /// True when nothing is slowed.
    bool is_empty() const;
};

/// Link bandwidth and up/down edits of a scenario, applied to a topology and undone by
/// restore() (or the destructor). Not copyable; the topology must outlive it.
class LinkEdits {
public:
    /// Divides each slowed link's bandwidth by its factor (factors of several slowdowns on one
    /// link multiply) and takes down the links that are down.
    LinkEdits(Topology& topology, const std::vector<Slowdown>& slowdowns);
    ~LinkEdits();
    LinkEdits(const LinkEdits&) = delete;
    LinkEdits& operator=(const LinkEdits&) = delete;

    void restore();

    bool empty() const { return saved_.empty(); }

private:
    struct Saved {
        std::uint32_t link = 0;
        double bandwidth_Bps = 0;
        bool is_up = true;
    };

    Topology* topology_;
    std::vector<Saved> saved_;
};

/// The first pair of GPUs that talk to each other in the job (a TP group, neighbouring pipeline
/// stages, a DP group) and cannot reach each other over the links that are up, as
/// "rank A cannot reach rank B"; empty when none.
std::string find_partition(const Topology& topology, const ParallelLayout& layout);

enum class SweepKind : std::uint8_t { kFactor, kCount };

/// --sweep factor=FROM:TO:STEP (every slowdown's factors set to the value) or
/// count=FROM:TO[:STEP] (that many random stragglers of the scenario's factor).
struct StragglerSweep {
    SweepKind kind = SweepKind::kFactor;
    double from = 1;
    double to = 1;
    double step = 0.1;

    std::vector<double> values() const;
};

struct WhatIfOptions {
    std::int64_t seeds = 1;  ///< runs of a stochastic scenario (run k: run_seed(seed, k))
    int threads = 1;         ///< results do not depend on it
    bool has_attribution = true;
    bool has_sensitivity = true;
    std::optional<StragglerSweep> sweep;
    /// The slowdown (fraction) per stage used to check the critical-path sensitivity by
    /// simulation; 0 skips the check.
    double sensitivity_check_fraction = 0.01;
};

/// Mean and quantiles of a sample (the p-quantile is the order statistic of rank ceil(p·n)).
struct SampleSummary {
    std::int64_t count = 0;
    double mean = 0;
    double p50 = 0;
    double p99 = 0;
    double min = 0;
    double max = 0;
};

SampleSummary summarize_samples(std::vector<double> samples);

struct AttributionEntry {
    std::string element;
    double step_time_s = 0;  ///< with only this element slowed
    double slowdown = 0;     ///< step_time_s / baseline
};

struct SweepCurvePoint {
    double value = 0;  ///< factor or count
    SampleSummary step_time_s;
    double slowdown = 0;  ///< mean / baseline
};

struct SensitivityEntry {
    std::string element;  ///< "stage 3", "all compute", "tp communication", ...
    /// Step growth per 1% slowdown of the element from the baseline critical path: 1% of the
    /// element's time on it.
    double critical_path_s_per_percent = 0;
    /// The same by simulation (stage entries, when checked; else NaN).
    double simulated_s_per_percent = 0;
};

struct WhatIfResult {
    double baseline_step_time_s = 0;
    SampleSummary scenario_step_time_s;  ///< over seeds (count 1 when deterministic)
    double slowdown = 0;                 ///< scenario mean / baseline
    /// The scenario ran faster than the baseline (a scheduling anomaly of shared bandwidth).
    bool is_faster_than_baseline = false;
    std::vector<int> simulated_replicas;  ///< of the first scenario run
    /// Cluster breakdowns (mean over GPUs) of the baseline and of the first scenario run.
    StepBreakdown baseline;
    StepBreakdown scenario;
    /// Time GPUs spend waiting on other ranks: bubble + exposed DP + ZeRO (mean over GPUs).
    double baseline_waiting_s = 0;
    double scenario_waiting_s = 0;
    std::vector<AttributionEntry> attribution;
    std::vector<SweepCurvePoint> sweep;
    std::vector<SensitivityEntry> sensitivity;
    /// The scenario's critical path by (stage, kind), seconds, of the first run.
    std::vector<std::pair<std::string, double>> critical_path;
};

/// The perturbation of one run of `scenario` seeded with `run_seed` (random stragglers,
/// jitter multipliers and episodes drawn from streams "stragglers/placement",
/// "jitter/rank-R", "episodes/rank-R"): the DP replicas that differ are simulated, the rest
/// fold into one. Link edits are applied separately (LinkEdits); replicas with a GPU on the
/// host of an edited link (every replica, for a fabric link) are simulated on their own.
StepPerturbation make_perturbation(const Scenario& scenario,
                                   const TrainingJob& job,
                                   const Topology& topology,
                                   std::uint64_t run_seed);

/// Baseline and scenario in one study: both step times, the slowdown, breakdowns, waiting
/// time, attribution (each slowdown alone), the sweep curve and the sensitivity ranking.
/// Edits `topology`'s links while a run needs them and restores them. Throws
/// std::invalid_argument for a bad scenario or options.
WhatIfResult run_whatif(const TrainingJob& job,
                        Topology& topology,
                        const Scenario& scenario,
                        const StepOptions& step_options,
                        const WhatIfOptions& options);

// ============================================================================================
// end of the stragglers section (issue 5)
// ============================================================================================

}  // namespace stepsim
