// SPDX-License-Identifier: Apache-2.0
// File: router_bench.cc
// Router speed on a 1024-GPU rail-optimized fat tree built in code: 128 servers of 8 GPUs,
// each GPU on all 4 NVSwitches of its server (4 x 112.5 GB/s = 450 GB/s per GPU) and on its
// own NIC (PCIe, 64 GB/s); NIC i of every server is on rail i (400 Gb/s = 50 GB/s). Servers
// form 4 scalable units of 32; each (unit, rail) has one leaf with 32 NICs below and one link
// to each of 32 spines above (non-blocking). Each benchmark routes every ordered GPU pair of
// one class with a fresh Router (so the per-destination Dijkstras are included):
//   same_server       1024 x 7   pairs, 2 hops (GPU - NVSwitch - GPU, 4-way ECMP)
//   same_rail         1024 x 127 pairs, 4 hops in the same unit, 6 across units (32-way ECMP)
//   different_rail    1024 x 889 pairs, 6 hops (NIC - leaf - spine - leaf - NIC)
// and checks the hop counts above. Run: build/tools/router_bench --benchmark_filter=Route
#include "stepsim/topology.h"

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using stepsim::LinkKind;
using stepsim::NodeId;
using stepsim::NodeKind;
using stepsim::Route;
using stepsim::Router;
using stepsim::Topology;

constexpr int kServers = 128;
constexpr int kGpusPerServer = 8;
constexpr int kNvSwitchesPerServer = 4;
constexpr int kServersPerUnit = 32;
constexpr int kUnits = kServers / kServersPerUnit;
constexpr int kSpines = 32;
constexpr double kNvLinkPerGpu_Bps = 450e9;
constexpr double kPcie_Bps = 64e9;
constexpr double kNic_Bps = 50e9;

struct RailFatTree {
    Topology topology;
    /// gpu[server * 8 + local]
    std::vector<NodeId> gpu;

    RailFatTree() {
        std::vector<NodeId> leaf(kUnits * kGpusPerServer);
        std::vector<NodeId> spine(kSpines);
        for (int server = 0; server < kServers; ++server) {
            const std::string s = std::to_string(server);
            std::vector<NodeId> nvswitch;
            for (int local = 0; local < kGpusPerServer; ++local) {
                gpu.push_back(topology.add_node("gpu-" + s + "." + std::to_string(local),
                                                NodeKind::kGpu, server));
            }
            for (int i = 0; i < kNvSwitchesPerServer; ++i) {
                nvswitch.push_back(topology.add_node("nvswitch-" + s + "." + std::to_string(i),
                                                     NodeKind::kNvSwitch, server));
            }
            for (int local = 0; local < kGpusPerServer; ++local) {
                const NodeId g = gpu[server * kGpusPerServer + local];
                for (const NodeId sw : nvswitch) {
                    topology.add_duplex_link(g, sw, LinkKind::kNvLink, 150ns,
                                             kNvLinkPerGpu_Bps / kNvSwitchesPerServer);
                }
                const NodeId nic = topology.add_node("nic-" + s + "." + std::to_string(local),
                                                     NodeKind::kNic, server);
                topology.add_duplex_link(g, nic, LinkKind::kPcie, 500ns, kPcie_Bps);
            }
        }
        for (int unit = 0; unit < kUnits; ++unit) {
            for (int rail = 0; rail < kGpusPerServer; ++rail) {
                leaf[unit * kGpusPerServer + rail] =
                    topology.add_node("leaf-" + std::to_string(unit) + "." + std::to_string(rail),
                                      NodeKind::kSwitch, -1, 1);
            }
        }
        for (int i = 0; i < kSpines; ++i) {
            spine[i] = topology.add_node("spine-" + std::to_string(i), NodeKind::kSwitch, -1, 2);
        }
        for (int server = 0; server < kServers; ++server) {
            const int unit = server / kServersPerUnit;
            for (int rail = 0; rail < kGpusPerServer; ++rail) {
                const NodeId nic = *topology.find_node("nic-" + std::to_string(server) + "." +
                                                       std::to_string(rail));
                topology.add_duplex_link(nic, leaf[unit * kGpusPerServer + rail],
                                         LinkKind::kInfiniBand, 600ns, kNic_Bps);
            }
        }
        for (const NodeId l : leaf) {
            for (const NodeId s : spine) {
                topology.add_duplex_link(l, s, LinkKind::kInfiniBand, 600ns, kNic_Bps);
            }
        }
    }
};

const RailFatTree& cluster() {
    static const RailFatTree tree;
    return tree;
}

enum class PairClass { kSameServer, kSameRail, kDifferentRail };

bool in_class(PairClass pair_class, int src, int dst) {
    const bool same_server = src / kGpusPerServer == dst / kGpusPerServer;
    const bool same_rail = src % kGpusPerServer == dst % kGpusPerServer;
    switch (pair_class) {
        case PairClass::kSameServer:
            return same_server && src != dst;
        case PairClass::kSameRail:
            return !same_server && same_rail;
        case PairClass::kDifferentRail:
            return !same_server && !same_rail;
    }
    return false;
}

std::size_t expected_hops(PairClass pair_class, int src, int dst) {
    switch (pair_class) {
        case PairClass::kSameServer:
            return 2;
        case PairClass::kSameRail:
            return src / kGpusPerServer / kServersPerUnit == dst / kGpusPerServer / kServersPerUnit
                       ? 4
                       : 6;
        case PairClass::kDifferentRail:
            return 6;
    }
    return 0;
}

void route_class(benchmark::State& state, PairClass pair_class) {
    const RailFatTree& tree = cluster();
    const int gpus = static_cast<int>(tree.gpu.size());
    std::int64_t pairs = 0;
    for (auto _ : state) {
        Router router(tree.topology);
        pairs = 0;
        for (int dst = 0; dst < gpus; ++dst) {
            for (int src = 0; src < gpus; ++src) {
                if (!in_class(pair_class, src, dst)) {
                    continue;
                }
                const Route& route =
                    router.route(tree.gpu[src], tree.gpu[dst], static_cast<std::uint64_t>(src));
                if (route.links.size() != expected_hops(pair_class, src, dst)) {
                    state.SkipWithError("unexpected hop count");
                    return;
                }
                ++pairs;
            }
        }
        benchmark::DoNotOptimize(pairs);
    }
    state.counters["pairs"] = static_cast<double>(pairs);
    state.SetItemsProcessed(state.iterations() * pairs);
}

void BM_RouteSameServer(benchmark::State& state) {
    route_class(state, PairClass::kSameServer);
}

void BM_RouteSameRail(benchmark::State& state) {
    route_class(state, PairClass::kSameRail);
}

void BM_RouteDifferentRail(benchmark::State& state) {
    route_class(state, PairClass::kDifferentRail);
}

BENCHMARK(BM_RouteSameServer)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RouteSameRail)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RouteDifferentRail)->Unit(benchmark::kMillisecond);

/// summarize() on the cluster: 1024 Dijkstras plus hop counts of all 1,047,552 GPU pairs.
void BM_Summarize(benchmark::State& state) {
    const RailFatTree& tree = cluster();
    for (auto _ : state) {
        Router router(tree.topology);
        const stepsim::TopologySummary summary = stepsim::summarize(tree.topology, router);
        if (summary.diameter_hops != 6) {
            state.SkipWithError("unexpected diameter");
            return;
        }
        benchmark::DoNotOptimize(summary.diameter_hops);
    }
}

BENCHMARK(BM_Summarize)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
