// SPDX-License-Identifier: Apache-2.0
// File: run_simulation_test.cc
// The run-level simulation on cases with exact answers.
//
// Without failures the wall time is the sum of its parts, exactly (integer nanoseconds):
//   sync:  W = N·t_step + ⌈N/K⌉·δ          (a checkpoint every K steps and after the last)
//   async: W = N·t_step + ⌈N/K⌉·s + w      (snapshots s block; only the last write w is
//                                            waited for, when w < K·t_step)
//   goodput = N·t_step / W.
// With failures, every run keeps W = compute + checkpoint + validation + restart and
// compute = useful + rework (checked inside the simulation on every run, and here).
#include "stepsim/error.h"
#include "stepsim/failures.h"

#include <catch2/catch.hpp>

using namespace stepsim;
using namespace std::chrono_literals;

namespace {

RunSpec failure_free(std::int64_t steps, std::int64_t interval_steps) {
    RunSpec spec;
    spec.step_time = RunTime{12'500'000'000};  // 12.5 s
    spec.steps = steps;
    spec.checkpoint.interval_steps = interval_steps;
    spec.checkpoint.save_cost = 45s;
    spec.restart = RestartPolicy::lump(10min);
    return spec;
}

}  // namespace

TEST_CASE("no failures: goodput is work / (work + checkpoint costs), exactly", "[checkpoint]") {
    const RunSpec spec = failure_free(1000, 64);  // ⌈1000/64⌉ = 16 checkpoints
    const RunResult result = simulate_run(spec, 7);
    const RunTime work = spec.step_time * 1000;
    const RunTime saves = spec.checkpoint.save_cost * 16;
    REQUIRE(result.wall_time == work + saves);
    REQUIRE(result.useful == work);
    REQUIRE(result.checkpoint == saves);
    REQUIRE(result.rework == 0ns);
    REQUIRE(result.restart == 0ns);
    REQUIRE(result.failures == 0);
    REQUIRE(result.checkpoints_durable == 16);
    REQUIRE(result.goodput() == to_seconds(work) / to_seconds(work + saves));
    REQUIRE(result.is_finished);
}

TEST_CASE("no failures, asynchronous: only snapshots and the last write block", "[checkpoint]") {
    RunSpec spec = failure_free(1000, 50);  // 20 checkpoints, segments of 625 s
    spec.checkpoint.is_async = true;
    spec.checkpoint.save_cost = 3s;
    spec.checkpoint.background_write = 200s;
    const RunResult result = simulate_run(spec, 7);
    REQUIRE(result.wall_time == spec.step_time * 1000 + 3s * 20 + 200s);
    REQUIRE(result.checkpoints_durable == 20);

    // A write longer than a segment makes the next snapshot wait for it: each of the 19
    // later snapshots waits 1000 − 625 s.
    spec.checkpoint.background_write = 1000s;
    const RunResult slow = simulate_run(spec, 7);
    REQUIRE(slow.wall_time == spec.step_time * 1000 + 3s * 20 + 1000s + 375s * 19);
}

TEST_CASE("no failures: validation every V steps adds its cost", "[checkpoint]") {
    RunSpec spec = failure_free(1000, 100);
    spec.validation.interval_steps = 30;  // steps 30, 60, ..., 990: 33 validations
    spec.validation.cost = 20s;
    const RunResult result = simulate_run(spec, 1);
    REQUIRE(result.validation == 20s * 33);
    REQUIRE(result.wall_time == spec.step_time * 1000 + 45s * 10 + 20s * 33);
}

TEST_CASE("a year-long run at one-second steps fits the run clock", "[checkpoint]") {
    RunSpec spec;
    spec.step_time = 1s;
    spec.steps = 366LL * 86400;
    spec.checkpoint.interval_steps = 3600;
    spec.checkpoint.save_cost = 30s;
    spec.restart = RestartPolicy::lump(15min);
    spec.failures = FailureModel::cluster_mtbf(6 * 3600.0);
    const RunResult result = simulate_run(spec, 3);
    REQUIRE(result.is_finished);
    REQUIRE(result.useful == 1s * spec.steps);
    REQUIRE(result.wall_time ==
            result.useful + result.rework + result.checkpoint + result.validation + result.restart);
    // About one failure per 6 h over ~370 days.
    REQUIRE(result.failures > 1200);
    REQUIRE(result.failures < 1800);
}

TEST_CASE("failures: wall time splits into its parts, same seed same run", "[checkpoint]") {
    RunSpec spec = failure_free(20000, 200);
    spec.failures = FailureModel::cluster_mtbf(4 * 3600.0);
    spec.checkpoint.is_async = true;
    spec.checkpoint.save_cost = 5s;
    spec.checkpoint.background_write = 120s;
    spec.validation = {500, 30s};
    spec.restart.detection = 2min;
    spec.restart.load = 3min;
    spec.restart.warmup = 1min;
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        const RunResult a = simulate_run(spec, seed);
        REQUIRE(a.wall_time == a.useful + a.rework + a.checkpoint + a.validation + a.restart);
        REQUIRE(a.useful == spec.step_time * spec.steps);
        const RunResult b = simulate_run(spec, seed);
        REQUIRE(a.fingerprint == b.fingerprint);
        REQUIRE(a.wall_time == b.wall_time);
    }
}

TEST_CASE("limited spares: restarts wait for repairs", "[checkpoint]") {
    // Hardware failures every ~2 h, repairs take 1 day: with no spares every restart waits
    // for a repair, with unlimited spares none does.
    RunSpec spec = failure_free(20000, 100);
    spec.failures = FailureModel::cluster_mtbf(2 * 3600.0);
    spec.failures.classes[0].needs_replacement = true;
    spec.restart.repair_time = 24h;
    const RunResult unlimited = simulate_run(spec, 5);
    spec.restart.spare_nodes = 0;
    const RunResult none = simulate_run(spec, 5);
    REQUIRE(none.restart > unlimited.restart + 24h);
    REQUIRE(none.wall_time == none.useful + none.rework + none.checkpoint + none.restart);
    // Plenty of spares behave as unlimited ones (same seed, same failures).
    spec.restart.spare_nodes = 1000;
    const RunResult plenty = simulate_run(spec, 5);
    REQUIRE(plenty.wall_time == unlimited.wall_time);
}

TEST_CASE("a hopeless run stops at the wall-time limit, unfinished", "[checkpoint]") {
    RunSpec spec = failure_free(100000, 100000);  // one checkpoint, at the end (~14 days)
    spec.failures = FailureModel::cluster_mtbf(600.0);
    spec.max_wall_time = 24h * 30;
    const RunResult result = simulate_run(spec, 1);
    REQUIRE_FALSE(result.is_finished);
    REQUIRE(result.wall_time == 24h * 30);
    REQUIRE(result.useful == 0ns);
    REQUIRE(result.goodput() == 0.0);
}

TEST_CASE("bad run specs are rejected", "[checkpoint]") {
    RunSpec spec = failure_free(100, 10);
    spec.step_time = 0ns;
    REQUIRE_THROWS_AS(simulate_run(spec, 1), UserError);
    spec = failure_free(100, 0);
    REQUIRE_THROWS_AS(simulate_run(spec, 1), UserError);
    spec = failure_free(100, 10);
    spec.failures = FailureModel::cluster_mtbf(0.0);
    REQUIRE_THROWS_AS(simulate_run(spec, 1), UserError);
    spec.failures = FailureModel::cluster_mtbf(3600.0);
    spec.failures.classes[0].distribution = FailureDistribution::kWeibull;
    spec.failures.classes[0].weibull_shape = 0.0;
    spec.failures.classes[0].weibull_scale_s = 3600.0;
    REQUIRE_THROWS_AS(simulate_run(spec, 1), UserError);
    spec = failure_free(100, 10);
    spec.checkpoint.save_cost = -1s;
    REQUIRE_THROWS_AS(simulate_run(spec, 1), UserError);
    REQUIRE_THROWS_AS(interval_to_steps(10.0, 12500ms), UserError);
    REQUIRE_THROWS_AS(interval_to_steps(0.0, 12500ms), UserError);
    REQUIRE(interval_to_steps(12.5, 12500ms) == 1);
    REQUIRE(interval_to_steps(300.0, 12500ms) == 24);
    REQUIRE(interval_to_steps(306.0, 12500ms) == 24);  // 24.48 rounds to 24
}
