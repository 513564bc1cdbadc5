// SPDX-License-Identifier: Apache-2.0
// File: step_bench.cc
// Wall time of one simulated training step (simulate_step; loading the specs is not timed).
//   Gpt3_1024/fast      gpt3-175b on dgx-h100-1024 (TP8 PP16 DP8, interleaved v=2, 192
//                       micro-batches): the target is <= 5 s, goal 1 s
//   Gpt3_1024/free      the same step with free communication: lowering + executor + analysis
//   Gpt3_1024/exact     fast fidelity timing every collective group itself
//   TinyPp_16/full      tiny-pp on dgx-h100-16 with every collective chunk level on the network
//   build/tools/step_bench --benchmark_filter=Gpt3
// Peak memory is the process's (see /usr/bin/time -v); the step result is kept alive.
#include "stepsim/spec.h"
#include "stepsim/training_step.h"

#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>

namespace {

const std::filesystem::path kRoot = std::filesystem::path(__FILE__).parent_path() / "../..";

void run_step(benchmark::State& state,
              const char* topology_file,
              const char* workload_file,
              stepsim::StepOptions options) {
    const stepsim::Topology topology =
        stepsim::load_topology_file(kRoot / "topologies" / topology_file);
    const stepsim::TrainingJob job =
        stepsim::load_workload_file(kRoot / "workloads" / workload_file);
    for (auto _ : state) {
        const stepsim::StepResult result = stepsim::simulate_step(job, topology, options);
        benchmark::DoNotOptimize(result.step_time_s);
        state.counters["simulated_step_s"] = benchmark::Counter(result.step_time_s);
        state.counters["tasks"] = benchmark::Counter(static_cast<double>(result.tasks));
    }
}

void BM_Gpt3_1024_Fast(benchmark::State& state) {
    run_step(state, "dgx-h100-1024.textproto", "gpt3-175b.textproto", {});
}

void BM_Gpt3_1024_Free(benchmark::State& state) {
    stepsim::StepOptions options;
    options.is_communication_free = true;
    run_step(state, "dgx-h100-1024.textproto", "gpt3-175b.textproto", options);
}

void BM_Gpt3_1024_Exact(benchmark::State& state) {
    stepsim::StepOptions options;
    options.is_memoized_by_shape = false;
    run_step(state, "dgx-h100-1024.textproto", "gpt3-175b.textproto", options);
}

void BM_TinyPp_16_Full(benchmark::State& state) {
    stepsim::StepOptions options;
    options.fidelity = stepsim::StepFidelity::kFull;
    run_step(state, "dgx-h100-16.textproto", "tiny-pp.textproto", options);
}

}  // namespace

BENCHMARK(BM_Gpt3_1024_Fast)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_Gpt3_1024_Free)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_Gpt3_1024_Exact)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_TinyPp_16_Full)->Unit(benchmark::kMillisecond)->Iterations(1);

BENCHMARK_MAIN();
