// SPDX-License-Identifier: Apache-2.0
// File: engine_bench.cc
// Event-engine throughput on the classic hold model (Vaucher and Duval, 1975): N events
// pending; each fired event schedules one successor at now + an exponential increment, so
// the queue stays at N. Reported as events per second (items_per_second); building the N
// initial events and tearing the simulator down afterwards are not timed.
//   build/tools/engine_bench --benchmark_filter=Hold
#include "stepsim/simulator.h"

#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

namespace {

using stepsim::Priority;
using stepsim::Simulator;
using stepsim::Time;

void BM_HoldModel(benchmark::State& state) {
    const auto pending = static_cast<std::size_t>(state.range(0));
    constexpr std::uint64_t kEventsPerIteration = 1'000'000;
    for (auto _ : state) {
        state.PauseTiming();
        auto sim = std::make_unique<Simulator>(1);
        stepsim::RandomStream& rng = sim->rng("hold");
        // Increments precomputed so the benchmark measures the engine, not the RNG.
        std::vector<std::int64_t> increments(1 << 16);
        for (auto& inc : increments) {
            inc = 1 + static_cast<std::int64_t>(rng.exponential(1e6));
        }
        std::uint64_t fired = 0;
        std::size_t next = 0;
        std::function<void()> hold;
        hold = [&] {
            if (++fired < kEventsPerIteration) {
                sim->schedule_in(Time(increments[next++ & 0xffff]), [&] { hold(); });
            }
        };
        for (std::size_t i = 0; i < pending; ++i) {
            sim->schedule_at(Time(increments[i & 0xffff] * (1 + i % 7)), [&] { hold(); });
        }
        state.ResumeTiming();
        while (fired < kEventsPerIteration && sim->step()) {}
        benchmark::DoNotOptimize(sim->fingerprint());
        state.PauseTiming();
        sim.reset();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEventsPerIteration));
}

BENCHMARK(BM_HoldModel)->Arg(1'000)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

void BM_ScheduleCancel(benchmark::State& state) {
    Simulator sim(1);
    for (auto _ : state) {
        const auto id = sim.schedule_in(
            Time(1000), [] {}, Priority::kDefault);
        benchmark::DoNotOptimize(sim.cancel(id));
    }
    state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_ScheduleCancel);

}  // namespace

BENCHMARK_MAIN();
