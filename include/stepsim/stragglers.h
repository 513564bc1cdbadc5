// SPDX-License-Identifier: Apache-2.0
// File: stragglers.h
// Stragglers, jitter and slow episodes in one training step, and what-if studies over them:
// scenarios resolved against the cluster and the job, perturbations of the step, seeded
// samples, attribution and sensitivity. Model: docs/models/stragglers.md.
#pragma once

#include "stepsim/perturbed_step.h"
#include "stepsim/time.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stepsim {

class Topology;

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
/// UserError for a bad scenario or options.
WhatIfResult run_whatif(const TrainingJob& job,
                        Topology& topology,
                        const Scenario& scenario,
                        const StepOptions& step_options,
                        const WhatIfOptions& options);

}  // namespace stepsim
