// SPDX-License-Identifier: Apache-2.0
// File: checkpoint_bench.cc
// The issue-6 performance target: a checkpoint-interval sweep of 20 intervals × 8 failure
// rates × 200 seeds of a 30-day run at a 10 s step, in <= 10 s wall on 2 cores. Also the cost
// of one run, for scaling estimates.
//   build-*/tools/checkpoint_bench --benchmark_filter=Sweep
#include "stepsim/failures.h"

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <vector>

using namespace std::chrono_literals;

namespace {

stepsim::CheckpointSweepSpec target_sweep(int threads) {
    stepsim::CheckpointSweepSpec spec;
    spec.base.step_time = 10s;
    spec.base.steps = 30 * 8640;  // 30 days of 10 s steps
    spec.base.checkpoint.interval_steps = 72;
    spec.base.checkpoint.save_cost = 1min;
    spec.base.restart = stepsim::RestartPolicy::lump(10min);
    for (int i = 1; i <= 20; ++i) {  // 12 min .. 4 h
        spec.interval_steps.push_back(72LL * i);
    }
    for (double hours : {1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 24.0}) {
        spec.failure_rates.push_back(stepsim::FailureModel::cluster_mtbf(hours * 3600.0));
    }
    spec.seeds = 200;
    spec.threads = threads;
    return spec;
}

void BM_CheckpointSweepTarget(benchmark::State& state) {
    const stepsim::CheckpointSweepSpec spec = target_sweep(static_cast<int>(state.range(0)));
    std::int64_t runs = 0;
    for (auto _ : state) {
        const auto points = stepsim::run_checkpoint_sweep(spec, {}, {});
        benchmark::DoNotOptimize(points.data());
        runs += static_cast<std::int64_t>(points.size()) * spec.seeds;
    }
    state.counters["runs_per_s"] =
        benchmark::Counter(static_cast<double>(runs), benchmark::Counter::kIsRate);
}

BENCHMARK(BM_CheckpointSweepTarget)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kSecond)
    ->UseRealTime()
    ->Iterations(1);

void BM_OneRun30Days(benchmark::State& state) {
    stepsim::RunSpec spec = target_sweep(1).base;
    spec.checkpoint.interval_steps = state.range(0);
    spec.failures = stepsim::FailureModel::cluster_mtbf(3 * 3600.0);
    std::uint64_t seed = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(stepsim::simulate_run(spec, ++seed).wall_time);
    }
}

BENCHMARK(BM_OneRun30Days)->Arg(30)->Arg(360)->Unit(benchmark::kMicrosecond);

// A 16,384-GPU job with per-GPU Weibull failures (shape 0.7): the order-statistics process
// costs per failure, not per GPU.
void BM_OneRunWeibull16k(benchmark::State& state) {
    stepsim::RunSpec spec = target_sweep(1).base;
    spec.checkpoint.interval_steps = 180;
    stepsim::FailureClass gpu;
    gpu.name = "gpu";
    gpu.count = 16384;
    gpu.distribution = stepsim::FailureDistribution::kWeibull;
    gpu.weibull_shape = 0.7;
    gpu.weibull_scale_s = 16384 * 3 * 3600.0;
    spec.failures.classes = {gpu};
    std::uint64_t seed = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(stepsim::simulate_run(spec, ++seed).wall_time);
    }
}

BENCHMARK(BM_OneRunWeibull16k)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
