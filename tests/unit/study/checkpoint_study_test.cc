// SPDX-License-Identifier: Apache-2.0
// File: checkpoint_study_test.cc
// The checkpoint interval study (sim/study/checkpoint.cc) from typed inputs:
//   - the default grid: n intervals geometric from max(min_r τ_Young,r / 4, t_step) to
//     4 · max_r τ_Young,r, where τ_Young = sqrt(2 δ M) (Young 1974), so consecutive ratios are
//     (high / low)^(1 / (n − 1));
//   - the refined optimum is the best of everything simulated for the rate, so its goodput is
//     at least the grid's best and Young's and Daly's (same seeds on every interval);
//   - a study resumed from the summaries of a finished one gives the same result without a run,
//     and its JSON is the same text; the size limit is refused before the resume hook is asked.
#include "stepsim/analytic.h"
#include "stepsim/error.h"
#include "stepsim/results_json.h"
#include "stepsim/study/checkpoint.h"

#include <catch2/catch.hpp>

#include <cmath>

namespace {

using stepsim::CheckpointSweepSpec;
using stepsim::FailureModel;

CheckpointSweepSpec small_sweep() {
    CheckpointSweepSpec spec;
    spec.base.step_time = stepsim::run_time_from_seconds(10);
    spec.base.steps = 20'000;  // 2.3 days of useful work
    spec.base.checkpoint.save_cost = stepsim::run_time_from_seconds(60);
    spec.base.restart.load = stepsim::run_time_from_seconds(600);
    spec.failure_rates = {FailureModel::cluster_mtbf(2 * 3600.0),
                          FailureModel::cluster_mtbf(6 * 3600.0)};
    for (const double minutes : {10, 20, 30, 45, 60, 90, 120}) {
        spec.interval_steps.push_back(static_cast<std::int64_t>(minutes * 6));
    }
    spec.seeds = 6;
    spec.threads = 2;
    return spec;
}

}  // namespace

TEST_CASE("checkpoint study: the default grid is geometric around Young's interval",
          "[study][checkpoint]") {
    const CheckpointSweepSpec spec = small_sweep();
    const stepsim::study::DefaultIntervalGrid grid =
        stepsim::study::default_interval_grid(spec.base, spec.failure_rates, 17);
    const double young_low = std::sqrt(2 * 60.0 * 2 * 3600.0);
    const double young_high = std::sqrt(2 * 60.0 * 6 * 3600.0);
    CHECK(young_low == Approx(stepsim::analytic::young_interval_s(60, 2 * 3600.0)));
    CHECK(grid.low_s == Approx(young_low / 4));
    CHECK(grid.high_s == Approx(young_high * 4));
    REQUIRE(grid.intervals_s.size() == 17);
    CHECK(grid.intervals_s.front() == grid.low_s);
    CHECK(grid.intervals_s.back() == Approx(grid.high_s));
    const double ratio = std::pow(grid.high_s / grid.low_s, 1.0 / 16);
    for (std::size_t i = 1; i < grid.intervals_s.size(); ++i) {
        CHECK(grid.intervals_s[i] / grid.intervals_s[i - 1] == Approx(ratio));
    }
    // Never below one step: a step longer than a quarter of Young's interval floors the grid.
    CheckpointSweepSpec slow = spec;
    slow.base.step_time = stepsim::run_time_from_seconds(1000);
    CHECK(stepsim::study::default_interval_grid(slow.base, slow.failure_rates).low_s == 1000);
}

TEST_CASE("checkpoint study: the refined optimum is the best simulated, resume is exact",
          "[study][checkpoint]") {
    const CheckpointSweepSpec spec = small_sweep();
    std::vector<std::optional<stepsim::RunSummary>> finished;
    stepsim::study::CheckpointStudyOptions options;
    options.on_point = [&](std::size_t index, const stepsim::SweepPoint& point) {
        REQUIRE(index == finished.size());  // in point order
        finished.emplace_back(point.summary);
    };
    const stepsim::study::CheckpointStudyResult result =
        stepsim::study::run_checkpoint_study(spec, options);
    REQUIRE(result.rates.size() == 2);
    REQUIRE(result.refined.size() == 2);
    CHECK(finished.size() == stepsim::sweep_points(spec).size());
    for (std::size_t r = 0; r < 2; ++r) {
        const stepsim::RateStudy& rate = result.rates[r];
        const stepsim::study::RefinedOptimum& refined = result.refined[r];
        const double best = rate.grid[rate.best].summary.goodput.mean;
        CHECK(refined.point.summary.goodput.mean >= best);
        CHECK(refined.point.summary.goodput.mean >= rate.young.summary.goodput.mean);
        CHECK(refined.point.summary.goodput.mean >= rate.daly.summary.goodput.mean);
        const double step_s = 10;
        const double optimum_s = static_cast<double>(refined.point.interval_steps) * step_s;
        CHECK(refined.band_low_s <= optimum_s);
        CHECK(refined.band_high_s >= optimum_s);
    }

    // Resumed from every summary: no run, the same result, the same JSON text.
    stepsim::study::CheckpointStudyOptions resumed;
    resumed.resume = [&](const std::vector<stepsim::SweepPoint>& points) {
        REQUIRE(points.size() == finished.size());
        return finished;
    };
    CHECK(stepsim::to_json(stepsim::study::run_checkpoint_study(spec, resumed)) ==
          stepsim::to_json(result));
    // The same with one thread: results do not depend on the thread count.
    CheckpointSweepSpec one_thread = spec;
    one_thread.threads = 1;
    CHECK(stepsim::to_json(stepsim::study::run_checkpoint_study(one_thread)) ==
          stepsim::to_json(result));
}

TEST_CASE("checkpoint study: a sweep past the size limit is refused before anything runs",
          "[study][checkpoint]") {
    const CheckpointSweepSpec spec = small_sweep();
    // seeds × ceil(steps / interval) summed over the points.
    double expected = 0;
    for (const stepsim::SweepPoint& p : stepsim::sweep_points(spec)) {
        expected += 6.0 * std::ceil(20'000.0 / static_cast<double>(p.interval_steps));
    }
    CHECK(stepsim::study::sweep_segments(spec, stepsim::sweep_points(spec)) == expected);
    stepsim::study::CheckpointStudyOptions options;
    options.max_segments = expected - 1;
    options.limit_hint = " (raise it)";
    bool asked = false;
    options.resume = [&](const std::vector<stepsim::SweepPoint>&) {
        asked = true;
        return std::vector<std::optional<stepsim::RunSummary>>{};
    };
    CHECK_THROWS_AS(stepsim::study::run_checkpoint_study(spec, options),
                    stepsim::ResourceLimitError);
    // The message states the count and the limit (%.3g) and ends with the caller's hint.
    CHECK_THROWS_WITH(stepsim::study::run_checkpoint_study(spec, options),
                      Catch::StartsWith("the sweep would simulate 1.39e+04 compute segments (6 "
                                        "seeds x 20000 steps / interval, over 18 points)") &&
                          Catch::EndsWith("more than the limit of 1.39e+04 (raise it)"));
    CHECK_FALSE(asked);
}
