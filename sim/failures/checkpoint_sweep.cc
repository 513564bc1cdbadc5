// SPDX-License-Identifier: Apache-2.0
// File: checkpoint_sweep.cc
// Checkpoint-interval sweeps: every (failure rate, interval) point over the same seeds (common
// random numbers: seed k has the same failure times at every interval), run on parallel_for
// workers, handed out in point order whatever the thread count; then per failure rate the best
// interval, the band the simulation cannot tell from it, and Young's and Daly's
// intervals with their simulated goodput.
#include "stepsim/analytic.h"
#include "stepsim/error.h"
#include "stepsim/failures.h"
#include "stepsim/parallel.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>

namespace stepsim {

std::string_view to_string(SweepPointKind kind) {
    switch (kind) {
        case SweepPointKind::kGrid:
            return "grid";
        case SweepPointKind::kYoung:
            return "young";
        case SweepPointKind::kDaly:
            return "daly";
    }
    return "unknown";
}

void CheckpointSweepSpec::validate() const {
    if (interval_steps.empty()) {
        throw UserError("the sweep needs at least one checkpoint interval");
    }
    for (std::size_t i = 0; i < interval_steps.size(); ++i) {
        if (interval_steps[i] <= 0) {
            throw UserError("checkpoint intervals must be at least one step");
        }
        if (i > 0 && interval_steps[i] <= interval_steps[i - 1]) {
            throw UserError("checkpoint intervals must be ascending and distinct in whole steps (" +
                            std::to_string(interval_steps[i - 1]) + " then " +
                            std::to_string(interval_steps[i]) + " steps)");
        }
    }
    if (failure_rates.empty()) {
        throw UserError("the sweep needs at least one failure rate");
    }
    if (seeds < 1) {
        throw UserError("seeds must be >= 1, got " + std::to_string(seeds));
    }
    if (threads < 1) {
        throw UserError("threads must be >= 1, got " + std::to_string(threads));
    }
    RunSpec probe = base;
    probe.checkpoint.interval_steps = interval_steps.front();
    for (const FailureModel& rate : failure_rates) {
        probe.failures = rate;
        probe.validate();
        if (!std::isfinite(rate.cluster_mtbf_s())) {
            throw UserError("a failure rate of the sweep has no failures");
        }
    }
}

namespace {

std::int64_t formula_steps(double interval_s, RunTime step_time) {
    const double steps = interval_s / to_seconds(step_time);
    return std::max<std::int64_t>(1, std::llround(std::min(steps, 9e18)));
}

double blocking_save_s(const RunSpec& base) {
    return to_seconds(base.checkpoint.save_cost);
}

}  // namespace

std::vector<SweepPoint> sweep_points(const CheckpointSweepSpec& spec) {
    std::vector<SweepPoint> points;
    const double delta_s = blocking_save_s(spec.base);
    for (std::size_t r = 0; r < spec.failure_rates.size(); ++r) {
        const auto rate_index = static_cast<std::int64_t>(r);
        for (std::int64_t steps : spec.interval_steps) {
            points.push_back({rate_index, SweepPointKind::kGrid, steps, {}});
        }
        const double mtbf_s = spec.failure_rates[r].cluster_mtbf_s();
        // A zero save cost makes both formulas 0: one step, the shortest possible interval.
        const double young_s = delta_s > 0 ? analytic::young_interval_s(delta_s, mtbf_s) : 0;
        const double daly_s = delta_s > 0 ? analytic::daly_interval_s(delta_s, mtbf_s) : 0;
        points.push_back(
            {rate_index, SweepPointKind::kYoung, formula_steps(young_s, spec.base.step_time), {}});
        points.push_back(
            {rate_index, SweepPointKind::kDaly, formula_steps(daly_s, spec.base.step_time), {}});
    }
    return points;
}

std::vector<SweepPoint> run_checkpoint_sweep(
    const CheckpointSweepSpec& spec,
    const std::vector<std::optional<RunSummary>>& done,
    const std::function<void(std::size_t, const SweepPoint&)>& on_point) {
    spec.validate();
    std::vector<SweepPoint> points = sweep_points(spec);
    if (done.size() > points.size()) {
        throw UserError("more finished points than the sweep has");
    }
    std::vector<bool> is_ready(points.size(), false);
    for (std::size_t i = 0; i < done.size(); ++i) {
        if (done[i]) {
            points[i].summary = *done[i];
            is_ready[i] = true;
        }
    }

    std::mutex mutex;
    std::size_t next_to_emit = 0;
    auto emit_ready = [&] {  // under `mutex`
        while (next_to_emit < points.size() && is_ready[next_to_emit]) {
            if (on_point) {
                on_point(next_to_emit, points[next_to_emit]);
            }
            ++next_to_emit;
        }
    };
    {
        std::lock_guard lock(mutex);
        emit_ready();
    }
    // parallel_for: the points in order on spec.threads workers; finished points are emitted
    // in point order as they become ready; the lowest failed point's exception is rethrown.
    parallel_for(points.size(), spec.threads, [&](std::size_t i, std::size_t) {
        if (i < done.size() && done[i]) {
            return;
        }
        RunSpec run = spec.base;
        run.failures = spec.failure_rates[static_cast<std::size_t>(points[i].rate_index)];
        run.checkpoint.interval_steps = points[i].interval_steps;
        RunSummary summary = simulate_runs(run, spec.base_seed, spec.seeds);
        std::lock_guard lock(mutex);
        points[i].summary = summary;
        is_ready[i] = true;
        emit_ready();
    });
    return points;
}

std::vector<RateStudy> study_rates(const CheckpointSweepSpec& spec,
                                   const std::vector<SweepPoint>& points) {
    std::vector<RateStudy> studies(spec.failure_rates.size());
    for (std::size_t r = 0; r < studies.size(); ++r) {
        studies[r].mtbf_s = spec.failure_rates[r].cluster_mtbf_s();
    }
    for (const SweepPoint& point : points) {
        RateStudy& study = studies.at(static_cast<std::size_t>(point.rate_index));
        switch (point.kind) {
            case SweepPointKind::kGrid:
                study.grid.push_back(point);
                break;
            case SweepPointKind::kYoung:
                study.young = point;
                break;
            case SweepPointKind::kDaly:
                study.daly = point;
                break;
        }
    }
    const double step_s = to_seconds(spec.base.step_time);
    const double delta_s = blocking_save_s(spec.base);
    for (std::size_t r = 0; r < studies.size(); ++r) {
        RateStudy& study = studies[r];
        if (study.grid.empty()) {
            throw InternalError("sweep results lack the grid of failure rate " + std::to_string(r));
        }
        std::size_t best = 0;
        for (std::size_t i = 1; i < study.grid.size(); ++i) {
            if (study.grid[i].summary.goodput.mean > study.grid[best].summary.goodput.mean) {
                best = i;
            }
        }
        study.best = best;
        const Estimate& top = study.grid[best].summary.goodput;
        const double floor = top.mean - top.ci95;
        study.band_low_s = study.band_high_s =
            static_cast<double>(study.grid[best].interval_steps) * step_s;
        for (const SweepPoint& point : study.grid) {
            const Estimate& g = point.summary.goodput;
            if (g.mean + g.ci95 >= floor) {
                const double interval_s = static_cast<double>(point.interval_steps) * step_s;
                study.band_low_s = std::min(study.band_low_s, interval_s);
                study.band_high_s = std::max(study.band_high_s, interval_s);
            }
        }
        study.young_interval_s =
            delta_s > 0 ? analytic::young_interval_s(delta_s, study.mtbf_s) : 0;
        study.daly_interval_s = delta_s > 0 ? analytic::daly_interval_s(delta_s, study.mtbf_s) : 0;
        auto disagrees = [&](const SweepPoint& point) {
            const double interval_s = static_cast<double>(point.interval_steps) * step_s;
            const Estimate& g = point.summary.goodput;
            const bool outside = interval_s < study.band_low_s || interval_s > study.band_high_s;
            return outside && g.mean + g.ci95 < floor;
        };
        study.young_disagrees = disagrees(study.young);
        study.daly_disagrees = disagrees(study.daly);
        if (spec.failure_rates[r].has_weibull()) {
            study.caveats.emplace_back("weibull failures");
        }
        if (delta_s > study.mtbf_s / 10) {
            study.caveats.emplace_back("checkpoint cost comparable to MTBF");
        }
        if (spec.base.checkpoint.is_async) {
            study.caveats.emplace_back("asynchronous checkpoints");
        }
        if (spec.base.validation.interval_steps > 0 && spec.base.validation.cost.count() > 0) {
            study.caveats.emplace_back("validation pauses");
        }
        if (spec.base.restart.spare_nodes) {
            study.caveats.emplace_back("limited spares");
        }
    }
    return studies;
}

}  // namespace stepsim
