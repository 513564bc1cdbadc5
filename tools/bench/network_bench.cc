// SPDX-License-Identifier: Apache-2.0
// File: network_bench.cc
// Speed of the network models with many concurrent flows on a k = 16 fat tree built in code
// (Al-Fares et al., SIGCOMM 2008): 16 pods of 8 edge and 8 aggregation switches, 64 cores,
// 1024 GPUs, every link 50 GB/s per direction (non-blocking), 500 ns to a GPU, 1 us between
// switches. Flows go between random GPU pairs (ECMP label = flow index), sizes uniform in
// [1, 8] MB. items_per_second counts flow events (one start and one finish per flow).
//   Burst/N          N flows all started at 0: one large component re-shared at every finish
//   Poisson/N/gap    N flows arriving with exponential gaps (mean `gap` ns); the counter
//                    mean_concurrent_flows is the time-averaged number in flight
//   Chunks/P/C       P pairs (GPU i to GPU i + 512, through the core) each send C chunks of
//                    1 MB back to back, each chunk on its own ECMP label: the pipelined
//                    steps of a collective, equal rates colliding on core links
// Counter engine_events_per_flow: simulator events (starts, completions, re-sharings,
// rescheduled completions are cancelled, not counted) per flow.
// Run: build/tools/network_bench --benchmark_filter=FairShare
#include "stepsim/network.h"
#include "stepsim/random.h"
#include "stepsim/simulator.h"
#include "stepsim/topology.h"

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace stepsim;

constexpr int kArity = 16;
constexpr double kLink_Bps = 50e9;

/// "prefix" followed by the number (appended, not prepended: GCC 12 -O3 warns falsely on
/// "literal" + std::string, GCC bug 105329).
std::string numbered(const char* prefix, int number) {
    std::string name(prefix);
    name.append(std::to_string(number));
    return name;
}

struct FatTree {
    Topology topology;
    std::vector<NodeId> gpus;

    FatTree() {
        const int half = kArity / 2;
        std::vector<NodeId> cores;
        for (int c = 0; c < half * half; ++c) {
            cores.push_back(topology.add_node(numbered("core-", c), NodeKind::kSwitch, -1, 3));
        }
        for (int pod = 0; pod < kArity; ++pod) {
            std::vector<NodeId> aggregation;
            for (int a = 0; a < half; ++a) {
                const NodeId agg =
                    topology.add_node(numbered(numbered("agg-", pod).append(".").c_str(), a),
                                      NodeKind::kSwitch, -1, 2);
                aggregation.push_back(agg);
                for (int c = 0; c < half; ++c) {
                    topology.add_duplex_link(agg, cores[a * half + c], LinkKind::kInfiniBand, 1us,
                                             kLink_Bps);
                }
            }
            for (int e = 0; e < half; ++e) {
                const NodeId edge =
                    topology.add_node(numbered(numbered("edge-", pod).append(".").c_str(), e),
                                      NodeKind::kSwitch, -1, 1);
                for (const NodeId agg : aggregation) {
                    topology.add_duplex_link(edge, agg, LinkKind::kInfiniBand, 1us, kLink_Bps);
                }
                for (int g = 0; g < half; ++g) {
                    const int index = (pod * half + e) * half + g;
                    const NodeId gpu =
                        topology.add_node(numbered("gpu-", index), NodeKind::kGpu, index);
                    topology.add_duplex_link(gpu, edge, LinkKind::kInfiniBand, 500ns, kLink_Bps);
                    gpus.push_back(gpu);
                }
            }
        }
    }
};

FatTree& fat_tree() {
    static FatTree tree;  // built once; read-only afterwards
    return tree;
}

struct Flow {
    Time start;
    NodeId src, dst;
    std::int64_t size_bytes;
};

std::vector<Flow> make_flows(const FatTree& tree, int count, double mean_gap_s) {
    RandomStream rng(20240601);
    std::vector<Flow> flows;
    double t_s = 0;
    for (int i = 0; i < count; ++i) {
        const std::size_t src = rng.uniform_int(tree.gpus.size());
        std::size_t dst = rng.uniform_int(tree.gpus.size() - 1);
        dst += dst >= src ? 1 : 0;
        flows.push_back({from_seconds(t_s), tree.gpus[src], tree.gpus[dst],
                         1'000'000 + std::int64_t(rng.uniform_int(7'000'001))});
        if (mean_gap_s > 0) {
            t_s += rng.exponential(mean_gap_s);
        }
    }
    return flows;
}

void run_flows(benchmark::State& state, NetworkKind kind, const std::vector<Flow>& flows) {
    FatTree& tree = fat_tree();
    Router router(tree.topology);
    for (std::size_t i = 0; i < flows.size(); ++i) {
        router.route(flows[i].src, flows[i].dst, i);  // fill the route cache outside the timing
    }
    double flow_seconds = 0;  // sum of transfer durations, for the mean concurrency
    double makespan_s = 0;
    std::uint64_t events = 0;
    for (auto _ : state) {
        Simulator sim(1);
        auto network = make_network_model(kind, sim, tree.topology, router);
        flow_seconds = 0;
        for (std::size_t i = 0; i < flows.size(); ++i) {
            sim.schedule_at(flows[i].start, [&, i] {
                const Flow& f = flows[i];
                network->start_transfer(
                    f.src, f.dst, f.size_bytes,
                    [&, i] { flow_seconds += to_seconds(sim.now() - flows[i].start); }, i);
            });
        }
        sim.run();
        makespan_s = to_seconds(sim.now());
        events = sim.events_executed();
        benchmark::DoNotOptimize(sim.fingerprint());
    }
    state.SetItemsProcessed(std::int64_t(state.iterations()) * 2 * std::int64_t(flows.size()));
    state.counters["mean_concurrent_flows"] = flow_seconds / makespan_s;
    state.counters["simulated_ms"] = makespan_s * 1e3;
    state.counters["engine_events_per_flow"] = double(events) / double(flows.size());
}

void BM_FairShareBurst(benchmark::State& state) {
    run_flows(state, NetworkKind::kFairShare, make_flows(fat_tree(), int(state.range(0)), 0.0));
}

void BM_FairSharePoisson(benchmark::State& state) {
    run_flows(state, NetworkKind::kFairShare,
              make_flows(fat_tree(), int(state.range(0)), double(state.range(1)) * 1e-9));
}

void BM_FairShareChunks(benchmark::State& state) {
    FatTree& tree = fat_tree();
    const int pairs = int(state.range(0));
    const int chunks = int(state.range(1));
    const auto src_of = [&](int pair) {
        return tree.gpus[std::size_t(pair * 2) % 512];
    };
    const auto dst_of = [&](int pair) {
        return tree.gpus[512 + std::size_t(pair * 2) % 512];
    };
    Router router(tree.topology);
    for (int pair = 0; pair < pairs; ++pair) {
        for (int chunk = 0; chunk < chunks; ++chunk) {
            router.route(src_of(pair), dst_of(pair), std::uint64_t(pair * chunks + chunk));
        }
    }
    double flow_seconds = 0;
    double makespan_s = 0;
    std::uint64_t events = 0;
    for (auto _ : state) {
        Simulator sim(1);
        auto network = make_network_model(NetworkKind::kFairShare, sim, tree.topology, router);
        flow_seconds = 0;
        std::function<void(int, int)> send = [&](int pair, int chunk) {
            const Time start = sim.now();
            network->start_transfer(
                src_of(pair), dst_of(pair), 1'000'000,
                [&, pair, chunk, start] {
                    flow_seconds += to_seconds(sim.now() - start);
                    if (chunk + 1 < chunks) {
                        send(pair, chunk + 1);
                    }
                },
                std::uint64_t(pair * chunks + chunk));
        };
        for (int pair = 0; pair < pairs; ++pair) {
            // Staggered by 100 ns, so that chunks end at different ticks.
            sim.schedule_at(Time{std::int64_t(pair) * 100'000}, [&, pair] { send(pair, 0); });
        }
        sim.run();
        makespan_s = to_seconds(sim.now());
        events = sim.events_executed();
        benchmark::DoNotOptimize(sim.fingerprint());
    }
    const std::int64_t flows = std::int64_t(pairs) * chunks;
    state.SetItemsProcessed(std::int64_t(state.iterations()) * 2 * flows);
    state.counters["mean_concurrent_flows"] = flow_seconds / makespan_s;
    state.counters["simulated_ms"] = makespan_s * 1e3;
    state.counters["engine_events_per_flow"] = double(events) / double(flows);
}

void BM_AlphaBetaBurst(benchmark::State& state) {
    run_flows(state, NetworkKind::kAlphaBeta, make_flows(fat_tree(), int(state.range(0)), 0.0));
}

BENCHMARK(BM_FairShareBurst)->Arg(1000)->Arg(4000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FairSharePoisson)
    ->Args({10000, 2000})
    ->Args({10000, 500})
    ->Args({10000, 200})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FairShareChunks)->Args({512, 16})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AlphaBetaBurst)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
