// SPDX-License-Identifier: Apache-2.0
// File: checkpoint.cc
// The checkpoint interval study: the default grid, the size limit, the sweep, the per-rate
// studies and the golden-section refinement of each rate's optimum.
#include "stepsim/study/checkpoint.h"

#include "stepsim/analytic.h"
#include "stepsim/error.h"
#include "stepsim/topology.h"
#include "stepsim/training_step.h"
#include "stepsim/workload.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace stepsim::study {

WorkloadCheckpointFacts workload_checkpoint_facts(const TrainingJob& job,
                                                  const Topology& topology,
                                                  bool needs_step_time,
                                                  const std::string& workload_file,
                                                  const std::string& topology_file) {
    validate_job_against_cluster(job, static_cast<int>(topology.gpu_count()), false, workload_file,
                                 topology_file);
    WorkloadCheckpointFacts facts;
    if (needs_step_time) {
        facts.step_time_s = simulate_step(job, topology).step_time_s;
    }
    facts.checkpoint_bytes = parameter_count(job.model) * std::int64_t{14};
    return facts;
}

DefaultIntervalGrid default_interval_grid(const RunSpec& base,
                                          const std::vector<FailureModel>& failure_rates,
                                          int count) {
    const double delta_s = to_seconds(base.checkpoint.save_cost);
    double low = 0;
    double high = 0;
    for (const FailureModel& rate : failure_rates) {
        const double young = analytic::young_interval_s(delta_s, rate.cluster_mtbf_s());
        low = low > 0 ? std::min(low, young) : young;
        high = std::max(high, young);
    }
    DefaultIntervalGrid grid;
    grid.low_s = std::max(low / 4, to_seconds(base.step_time));
    grid.high_s = std::max(high * 4, grid.low_s);
    for (int i = 0; i < count; ++i) {
        grid.intervals_s.push_back(
            grid.low_s *
            std::pow(grid.high_s / grid.low_s, static_cast<double>(i) / std::max(count - 1, 1)));
    }
    return grid;
}

double sweep_segments(const CheckpointSweepSpec& spec, const std::vector<SweepPoint>& points) {
    // Every run of a point walks steps / interval compute segments (plus its checkpoints,
    // failures and restarts).
    double segments = 0;
    for (const SweepPoint& p : points) {
        segments += static_cast<double>(spec.seeds) *
                    std::ceil(static_cast<double>(spec.base.steps) /
                              static_cast<double>(std::max<std::int64_t>(1, p.interval_steps)));
    }
    return segments;
}

RefinedOptimum refine_optimum(const CheckpointSweepSpec& spec, const RateStudy& rate) {
    RefinedOptimum r;
    r.point = rate.grid[rate.best];
    const double step_s = to_seconds(spec.base.step_time);
    const std::size_t b = rate.best;
    std::int64_t lo = rate.grid[b > 0 ? b - 1 : b].interval_steps;
    std::int64_t hi = rate.grid[b + 1 < rate.grid.size() ? b + 1 : b].interval_steps;
    r.bracket_low_s = static_cast<double>(lo) * step_s;
    r.bracket_high_s = static_cast<double>(hi) * step_s;
    std::map<std::int64_t, SweepPoint> cache;
    for (const SweepPoint& p : rate.grid) {
        cache.emplace(p.interval_steps, p);
    }
    cache.emplace(rate.young.interval_steps, rate.young);
    cache.emplace(rate.daly.interval_steps, rate.daly);
    const auto goodput = [&](std::int64_t steps) {
        auto it = cache.find(steps);
        if (it == cache.end()) {
            RunSpec run = spec.base;
            run.failures = spec.failure_rates[static_cast<std::size_t>(r.point.rate_index)];
            run.checkpoint.interval_steps = steps;
            SweepPoint p;
            p.rate_index = r.point.rate_index;
            p.interval_steps = steps;
            p.summary = simulate_runs(run, spec.base_seed, spec.seeds);
            ++r.evaluations;
            it = cache.emplace(steps, p).first;
        }
        return it->second.summary.goodput.mean;
    };
    if (hi - lo > 2) {
        r.is_refined = true;
        const double inverse_phi = (std::sqrt(5.0) - 1) / 2;
        while (hi - lo > 3) {
            const auto span = static_cast<double>(hi - lo);
            std::int64_t c = hi - static_cast<std::int64_t>(std::llround(span * inverse_phi));
            std::int64_t d = lo + static_cast<std::int64_t>(std::llround(span * inverse_phi));
            if (c >= d) {
                d = c + 1;
            }
            if (goodput(c) < goodput(d)) {
                lo = c;
            } else {
                hi = d;
            }
        }
        for (std::int64_t x = lo; x <= hi; ++x) {
            goodput(x);
        }
    }
    // The best of everything simulated for this rate (grid, formulas, search).
    for (const auto& [steps, p] : cache) {
        if (p.summary.goodput.mean > r.point.summary.goodput.mean) {
            r.point = p;
        }
    }
    const double floor = r.point.summary.goodput.mean - r.point.summary.goodput.ci95;
    r.band_low_s = r.band_high_s = static_cast<double>(r.point.interval_steps) * step_s;
    for (const auto& [steps, p] : cache) {
        if (p.summary.goodput.mean + p.summary.goodput.ci95 >= floor) {
            const double interval_s = static_cast<double>(steps) * step_s;
            r.band_low_s = std::min(r.band_low_s, interval_s);
            r.band_high_s = std::max(r.band_high_s, interval_s);
        }
    }
    return r;
}

CheckpointStudyResult run_checkpoint_study(const CheckpointSweepSpec& spec,
                                           const CheckpointStudyOptions& options) {
    spec.validate();
    const std::vector<SweepPoint> planned = sweep_points(spec);
    // A count typed with a few digits too many is refused here rather than after hours.
    const double segments = sweep_segments(spec, planned);
    if (segments > options.max_segments) {
        char text[256];
        std::snprintf(text, sizeof text,
                      "the sweep would simulate %.3g compute segments (%lld seeds x %lld steps / "
                      "interval, over %zu points), more than the limit of %.3g",
                      segments, static_cast<long long>(spec.seeds),
                      static_cast<long long>(spec.base.steps), planned.size(),
                      options.max_segments);
        throw ResourceLimitError(text + options.limit_hint);
    }
    CheckpointStudyResult result;
    result.spec = spec;
    const std::vector<std::optional<RunSummary>> done =
        options.resume ? options.resume(planned) : std::vector<std::optional<RunSummary>>{};
    result.rates = study_rates(spec, run_checkpoint_sweep(spec, done, options.on_point));
    for (const RateStudy& rate : result.rates) {
        result.refined.push_back(refine_optimum(spec, rate));
    }
    return result;
}

}  // namespace stepsim::study
