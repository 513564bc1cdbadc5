// SPDX-License-Identifier: Apache-2.0
// File: whatif.cc
// run_whatif(): the baseline and a straggler scenario in one study, with attribution (each
// slowed element alone), sweeps over severity or count, and a sensitivity ranking read off
// the baseline's critical path (checked by simulating a 1% slower stage). Runs of one study
// go to `threads` worker threads; each run owns its Simulator and streams and results are
// kept by index, so they do not depend on the thread count.
#include "stepsim/error.h"
#include "stepsim/parallel.h"
#include "stepsim/perturbed_step.h"
#include "stepsim/random.h"
#include "stepsim/stragglers.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace stepsim {

namespace {

/// fn(i) for i in [0, n) on up to `threads` threads (parallel_for); results by index. The
/// lowest failed index's exception is rethrown.
template <class Result, class Fn>
std::vector<Result> parallel_map(std::size_t n, int threads, Fn fn) {
    std::vector<Result> results(n);
    parallel_for(n, threads, [&](std::size_t i, std::size_t) { results[i] = fn(i); });
    return results;
}

class Study {
public:
    Study(const TrainingJob& job,
          Topology& topology,
          const StepOptions& step_options,
          const WhatIfOptions& options)
        : job_(job)
        , topology_(topology)
        , step_options_(step_options)
        , options_(options) {}

    PerturbedStepResult run_one(const Scenario& scenario, std::uint64_t seed) const {
        const StepPerturbation perturbation = make_perturbation(scenario, job_, topology_, seed);
        return simulate_perturbed_step(job_, topology_, step_options_, perturbation);
    }

    /// Step times of every seed of `scenario` (one run when it is deterministic); `first`
    /// receives run 0's full result when not null.
    std::vector<double> run_seeds(const Scenario& scenario, PerturbedStepResult* first) const {
        LinkEdits edits(topology_, scenario.slowdowns);
        if (!edits.empty()) {
            if (const std::string problem = find_partition(topology_, job_.layout);
                !problem.empty()) {
                throw UserError("the links that are down partition the cluster: " + problem);
            }
        }
        const std::size_t runs =
            scenario.is_stochastic()
                ? static_cast<std::size_t>(std::max<std::int64_t>(1, options_.seeds))
                : 1;
        std::vector<PerturbedStepResult> kept(first != nullptr ? 1 : 0);
        std::mutex mutex;
        std::vector<double> times =
            parallel_map<double>(runs, options_.threads, [&](std::size_t k) {
                PerturbedStepResult r =
                    run_one(scenario, run_seed(scenario.seed, static_cast<std::int64_t>(k)));
                const double t = r.step.step_time_s;
                if (k == 0 && first != nullptr) {
                    const std::lock_guard<std::mutex> lock(mutex);
                    kept[0] = std::move(r);
                }
                return t;
            });
        if (first != nullptr) {
            *first = std::move(kept[0]);
        }
        return times;
    }

    /// Runs deterministic scenarios one per thread (link edits cannot be shared between
    /// threads, so scenarios with link edits run on the calling thread).
    std::vector<SampleSummary> run_many(const std::vector<Scenario>& scenarios) const {
        std::vector<SampleSummary> out(scenarios.size());
        std::vector<std::size_t> parallel;
        for (std::size_t i = 0; i < scenarios.size(); ++i) {
            bool has_links = false;
            for (const Slowdown& s : scenarios[i].slowdowns) {
                has_links = has_links || !s.links.empty();
            }
            if (has_links || scenarios[i].is_stochastic()) {
                out[i] = summarize_samples(run_seeds(scenarios[i], nullptr));
            } else {
                parallel.push_back(i);
            }
        }
        const std::vector<double> times =
            parallel_map<double>(parallel.size(), options_.threads, [&](std::size_t k) {
                return run_one(scenarios[parallel[k]], scenarios[parallel[k]].seed)
                    .step.step_time_s;
            });
        for (std::size_t k = 0; k < parallel.size(); ++k) {
            out[parallel[k]] = summarize_samples({times[k]});
        }
        return out;
    }

private:
    const TrainingJob& job_;
    Topology& topology_;
    const StepOptions& step_options_;
    const WhatIfOptions& options_;
};

double waiting_s(const StepBreakdown& b) {
    return b.bubble_s + b.dp_s + b.zero_s + b.ep_s + b.fsdp_s;
}

bool is_compute_kind(const std::string& kind) {
    return kind == "compute" || kind == "recompute" || kind == "optimizer";
}

}  // namespace

WhatIfResult run_whatif(const TrainingJob& job,
                        Topology& topology,
                        const Scenario& scenario,
                        const StepOptions& step_options,
                        const WhatIfOptions& options) {
    if (options.seeds < 1) {
        throw UserError("--seeds must be >= 1");
    }
    const Study study(job, topology, step_options, options);
    WhatIfResult result;
    const PerturbedStepResult baseline = simulate_perturbed_step(
        job, topology, step_options, StepPerturbation::symmetric(job.layout.dp));
    result.baseline_step_time_s = baseline.step.step_time_s;
    result.baseline = baseline.step.cluster;
    result.baseline_waiting_s = waiting_s(baseline.step.cluster);
    const double t0 = result.baseline_step_time_s;
    const auto slowdown_of = [&](double t) {
        return t0 > 0 ? t / t0 : 0.0;
    };

    PerturbedStepResult first;
    result.scenario_step_time_s = summarize_samples(study.run_seeds(scenario, &first));
    result.slowdown = slowdown_of(result.scenario_step_time_s.mean);
    result.is_faster_than_baseline = result.scenario_step_time_s.min < t0;
    result.simulated_replicas = first.replicas;
    result.scenario = first.step.cluster;
    result.scenario_waiting_s = waiting_s(first.step.cluster);
    for (std::size_t i = 0; i < first.step.critical_path.size(); ++i) {
        const CriticalPathEntry& e = first.step.critical_path[i];
        std::string name = e.stage >= 0
                               ? "replica " +
                                     std::to_string(first.replicas[static_cast<std::size_t>(
                                         first.critical_path_replica[i])]) +
                                     " stage " + std::to_string(e.stage) + " " + e.kind
                               : e.kind;
        result.critical_path.emplace_back(std::move(name), e.time_s);
    }

    // Attribution: each slowed element alone (the stochastic parts each alone, over seeds).
    if (options.has_attribution) {
        std::vector<Scenario> alone;
        std::vector<std::string> names;
        const auto base = [&] {
            Scenario s;
            s.seed = scenario.seed;
            return s;
        };
        for (const Slowdown& slowdown : scenario.slowdowns) {
            Scenario s = base();
            s.slowdowns.push_back(slowdown);
            alone.push_back(std::move(s));
            names.push_back(slowdown.element);
        }
        if (scenario.is_stochastic() && !scenario.slowdowns.empty()) {
            if (scenario.jitter) {
                Scenario s = base();
                s.jitter = scenario.jitter;
                alone.push_back(std::move(s));
                names.emplace_back("jitter");
            }
            if (scenario.random_stragglers && scenario.random_stragglers->count > 0) {
                Scenario s = base();
                s.random_stragglers = scenario.random_stragglers;
                alone.push_back(std::move(s));
                names.emplace_back("random stragglers");
            }
            if (scenario.episodes) {
                Scenario s = base();
                s.episodes = scenario.episodes;
                alone.push_back(std::move(s));
                names.emplace_back("slow episodes");
            }
        }
        const std::vector<SampleSummary> times = study.run_many(alone);
        for (std::size_t i = 0; i < alone.size(); ++i) {
            result.attribution.push_back({names[i], times[i].mean, slowdown_of(times[i].mean)});
        }
    }

    if (options.sweep) {
        const StragglerSweep& sweep = *options.sweep;
        std::vector<Scenario> points;
        for (const double value : sweep.values()) {
            Scenario s = scenario;
            if (sweep.kind == SweepKind::kFactor) {
                if (!(value > 0)) {
                    throw UserError("a factor sweep needs factors > 0");
                }
                for (Slowdown& slowdown : s.slowdowns) {
                    if (!slowdown.ranks.empty()) {
                        slowdown.compute_factor = value;
                    }
                    if (!slowdown.links.empty() && !slowdown.is_link_down) {
                        slowdown.link_factor = value;
                    }
                }
                if (s.random_stragglers) {
                    s.random_stragglers->factor = value;
                }
            } else {
                RandomStragglers random;
                random.count = std::llround(value);
                random.factor = scenario.random_stragglers ? scenario.random_stragglers->factor
                                : !scenario.slowdowns.empty()
                                    ? scenario.slowdowns.front().compute_factor
                                    : 1.2;
                s.random_stragglers = random;
            }
            points.push_back(std::move(s));
        }
        const std::vector<SampleSummary> times = study.run_many(points);
        const std::vector<double> values = sweep.values();
        for (std::size_t i = 0; i < points.size(); ++i) {
            result.sweep.push_back({values[i], times[i], slowdown_of(times[i].mean)});
        }
    }

    if (options.has_sensitivity) {
        const int p = job.layout.pp;
        std::vector<double> stage_s(static_cast<std::size_t>(p), 0.0);
        std::map<std::string, double> kind_s;
        double compute_s = 0;
        for (const CriticalPathEntry& e : baseline.step.critical_path) {
            if (is_compute_kind(e.kind)) {
                compute_s += e.time_s;
                if (e.stage >= 0) {
                    stage_s[static_cast<std::size_t>(e.stage)] += e.time_s;
                }
            } else if (e.kind == "tp" || e.kind == "pp" || e.kind == "dp" || e.kind == "zero") {
                kind_s[e.kind] += e.time_s;
            }
        }
        std::vector<double> simulated(static_cast<std::size_t>(p),
                                      std::numeric_limits<double>::quiet_NaN());
        const double fraction = options.sensitivity_check_fraction;
        if (fraction > 0) {
            std::vector<Scenario> checks;
            for (int s = 0; s < p; ++s) {
                Scenario check;
                Slowdown slowdown;
                slowdown.element = "stage " + std::to_string(s);
                for (int d = 0; d < job.layout.dp; ++d) {
                    for (int t = 0; t < job.layout.tp; ++t) {
                        slowdown.ranks.push_back(rank_of(job.layout, {t, d, s}));
                    }
                }
                slowdown.compute_factor = 1.0 + fraction;
                check.slowdowns.push_back(std::move(slowdown));
                checks.push_back(std::move(check));
            }
            const std::vector<SampleSummary> times = study.run_many(checks);
            for (int s = 0; s < p; ++s) {
                simulated[static_cast<std::size_t>(s)] =
                    (times[static_cast<std::size_t>(s)].mean - t0) / (fraction * 100.0);
            }
        }
        for (int s = 0; s < p; ++s) {
            result.sensitivity.push_back({"stage " + std::to_string(s),
                                          stage_s[static_cast<std::size_t>(s)] / 100.0,
                                          simulated[static_cast<std::size_t>(s)]});
        }
        const double nan = std::numeric_limits<double>::quiet_NaN();
        result.sensitivity.push_back({"all compute", compute_s / 100.0, nan});
        for (const auto& [kind, time_s] : kind_s) {
            result.sensitivity.push_back({kind + " communication", time_s / 100.0, nan});
        }
        std::stable_sort(result.sensitivity.begin(), result.sensitivity.end(),
                         [](const SensitivityEntry& a, const SensitivityEntry& b) {
                             return a.critical_path_s_per_percent > b.critical_path_s_per_percent;
                         });
    }
    return result;
}

}  // namespace stepsim
