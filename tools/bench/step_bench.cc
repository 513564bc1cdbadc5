// SPDX-License-Identifier: Apache-2.0
// File: step_bench.cc
// Wall time of one simulated training step (simulate_step; loading the specs is not timed).
//   Gpt3_1024/fast      gpt3-175b on dgx-h100-1024 (TP8 PP16 DP8, interleaved v=2, 192
//                       micro-batches): the target is <= 5 s, goal 1 s
//   Gpt3_1024/free      the same step with free communication: lowering + executor + analysis
//   Gpt3_1024/exact     fast fidelity timing every collective group itself
//   TinyPp_16/full      tiny-pp on dgx-h100-16 with every collective chunk level on the network
//   Llama3_16k          llama3-405b on 2,048 DGX H100 (16,384 GPUs, 3-tier fat tree), one thread
//   Gpt462_6k           workloads/gpt-462b on 768 DGX H100 (6,144 GPUs, TP8 PP16 DP48)
//   Llama3_131k         llama3-405b on 16,384 DGX H100 (131,072 GPUs, radix-128 3-tier fat
//                       tree), DP 1024, global batch 16,384
//   Llama3_16k_AlphaBeta, Llama3_131k_AlphaBeta
//                       the same two steps on the alpha-beta network: the collective runs
//                       cost little, so these time routing, shape keys and the symmetry check
//   The last five are issue 14's scale cases (docs/performance.md) and take minutes: run
//   them by name, e.g. --benchmark_filter=Gpt462_6k.
//   build/tools/step_bench --benchmark_filter=Gpt3
// Peak memory is the process's (see /usr/bin/time -v); the step result is kept alive.
#include "stepsim/spec.h"
#include "stepsim/training_step.h"

#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>
#include <vector>

namespace {

const std::filesystem::path kRoot = std::filesystem::path(__FILE__).parent_path() / "../..";

void run_step(benchmark::State& state,
              const char* topology_file,
              const char* workload_file,
              stepsim::StepOptions options,
              const std::vector<stepsim::SpecOverride>& topology_overrides = {},
              const std::vector<stepsim::SpecOverride>& workload_overrides = {}) {
    const stepsim::Topology topology =
        stepsim::load_topology_file(kRoot / "topologies" / topology_file, topology_overrides);
    const stepsim::TrainingJob job =
        stepsim::load_workload_file(kRoot / "workloads" / workload_file, workload_overrides);
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

/// DGX H100 servers on a 3-tier fat tree (`radix` 0: the file's 64).
std::vector<stepsim::SpecOverride> dgx_nodes(int nodes, int radix = 0) {
    std::vector<stepsim::SpecOverride> overrides{{"instance[0].count", std::to_string(nodes)},
                                                 {"fabric[0].fat_tree.tiers", "3"}};
    if (radix > 0) {
        overrides.push_back({"fabric[0].fat_tree.radix", std::to_string(radix)});
    }
    return overrides;
}

void BM_Llama3_16k(benchmark::State& state) {
    run_step(state, "dgx-h100-1024.textproto", "llama3-405b.textproto", {}, dgx_nodes(2048));
}

void BM_Gpt462_6k(benchmark::State& state) {
    run_step(state, "dgx-h100-1024.textproto", "gpt-462b.textproto", {}, dgx_nodes(768));
}

void BM_Llama3_131k(benchmark::State& state) {
    run_step(state, "dgx-h100-1024.textproto", "llama3-405b.textproto", {}, dgx_nodes(16384, 128),
             {{"parallelism.dp", "1024"}, {"training.global_batch", "16384"}});
}

void BM_Llama3_16k_AlphaBeta(benchmark::State& state) {
    stepsim::StepOptions options;
    options.network = stepsim::NetworkKind::kAlphaBeta;
    run_step(state, "dgx-h100-1024.textproto", "llama3-405b.textproto", options, dgx_nodes(2048));
}

void BM_Llama3_131k_AlphaBeta(benchmark::State& state) {
    stepsim::StepOptions options;
    options.network = stepsim::NetworkKind::kAlphaBeta;
    run_step(state, "dgx-h100-1024.textproto", "llama3-405b.textproto", options,
             dgx_nodes(16384, 128),
             {{"parallelism.dp", "1024"}, {"training.global_batch", "16384"}});
}

}  // namespace

BENCHMARK(BM_Gpt3_1024_Fast)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_Gpt3_1024_Free)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_Gpt3_1024_Exact)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_TinyPp_16_Full)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_Llama3_16k)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_Gpt462_6k)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_Llama3_131k)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_Llama3_16k_AlphaBeta)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_Llama3_131k_AlphaBeta)->Unit(benchmark::kMillisecond)->Iterations(1);

BENCHMARK_MAIN();
