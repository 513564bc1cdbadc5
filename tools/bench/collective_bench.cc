// SPDX-License-Identifier: Apache-2.0
// File: collective_bench.cc
// Collective simulation speed: a 1 GiB ring all-reduce across all 1024 GPUs of
// topologies/dgx-h100-1024.textproto, chunk-level (one transfer per ring step and rank:
// 1024 × 2·1023 = 2.1 M transfers), on max-min fair sharing and on the alpha-beta model.
// Timed: planning + executing (a fresh Simulator, network and executor per iteration); the
// topology is loaded once; the router's route cache is kept across iterations ("warm") or
// rebuilt each time ("cold"). The plan is generated on demand (LazyPlan, what
// CollectiveExecutor runs for the ring); `StoredPlan` runs the same transfers from a stored
// CommPlan instead. Counters: simulated events and transfers per wall second, plan bytes, the
// most per-transfer records the executor held at once (`live_transfers`), peak resident memory
// of the process. `4Chunks`: each ring step cut into four pieces (8.4 M transfers). The peak
// is the process's, over every case run so far: run a case alone for its own, e.g.
//   build/tools/collective_bench --benchmark_filter=FairShare_WarmRoutes
//   build/tools/collective_bench --benchmark_filter=FairShare_4Chunks_WarmRoutes
//   build/tools/collective_bench --benchmark_filter=StoredPlan_4Chunks
#include "stepsim/collective.h"
#include "stepsim/network.h"
#include "stepsim/spec.h"
#include "stepsim/topology.h"

#include <benchmark/benchmark.h>

#include <filesystem>
#include <memory>
#include <sys/resource.h>

namespace {

using namespace stepsim;

const Topology& cluster() {
    static const Topology topology = load_topology_file(
        std::filesystem::path(__FILE__).parent_path() / "../../topologies/dgx-h100-1024.textproto");
    return topology;
}

double peak_rss_bytes() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) * 1024.0;  // Linux: kilobytes
}

enum class PlanKind : std::uint8_t { kLazy, kStored };

void ring_all_reduce_1024(benchmark::State& state,
                          NetworkKind kind,
                          bool is_warm_router,
                          std::int64_t chunk_bytes = 0,
                          PlanKind plan_kind = PlanKind::kLazy) {
    const Topology& topology = cluster();
    const CollectiveAlgorithm& ring = *find_collective_algorithm("ring");
    CollectiveRequest request;
    request.op = CollectiveOp::kAllReduce;
    request.algorithm = "ring";
    request.size_bytes = std::int64_t{1} << 30;
    for (std::size_t r = 0; r < topology.gpu_count(); ++r) {
        request.ranks.emplace_back(static_cast<std::uint32_t>(r));
    }
    CollectiveOptions options;
    options.chunk_bytes = chunk_bytes;
    auto warm_router = std::make_unique<Router>(topology);
    if (is_warm_router) {
        // Route every (sender, receiver, channel) of the plan before timing: the timed runs
        // then measure the simulation, not the 1,024 Dijkstras of the first route lookups.
        // The generated plan lists them without storing the plan (which would set the peak).
        const auto plan = ring.lazy_plan(request, topology, options);
        for (std::uint64_t t = 0; t < plan->transfer_count(); ++t) {
            const PlanTransfer transfer = plan->transfer(t);
            warm_router->route(topology.gpu(request.ranks[transfer.src]),
                               topology.gpu(request.ranks[transfer.dst]), transfer.channel);
        }
    }
    std::uint64_t events = 0;
    std::uint64_t transfers = 0;
    double simulated_s = 0;
    for (auto _ : state) {
        std::unique_ptr<Router> cold_router;
        if (!is_warm_router) {
            cold_router = std::make_unique<Router>(topology);
        }
        Router& router = is_warm_router ? *warm_router : *cold_router;
        Simulator sim(1);
        auto network = make_network_model(kind, sim, topology, router);
        PlanExecutor executor(sim, topology, *network, reduction_gamma_s_per_byte({}));
        std::size_t plan_bytes = 0;
        if (plan_kind == PlanKind::kLazy) {
            std::shared_ptr<const LazyPlan> plan = ring.lazy_plan(request, topology, options);
            plan_bytes = plan->memory_bytes();
            executor.execute(std::move(plan), request.ranks, [] {});
        } else {
            auto plan = std::make_shared<const CommPlan>(ring.plan(request, topology, options));
            plan_bytes = plan->memory_bytes();
            executor.execute(std::move(plan), request.ranks, [] {});
        }
        sim.run();
        events += sim.events_executed();
        transfers += executor.transfers_started();
        simulated_s = to_seconds(sim.now());
        state.counters["plan_MiB"] = static_cast<double>(plan_bytes) / (1 << 20);
        state.counters["live_transfers"] = static_cast<double>(executor.peak_live_transfers());
    }
    state.counters["events_per_s"] =
        benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
    state.counters["transfers_per_s"] =
        benchmark::Counter(static_cast<double>(transfers), benchmark::Counter::kIsRate);
    state.counters["transfers"] =
        static_cast<double>(transfers) / static_cast<double>(state.iterations());
    state.counters["simulated_ms"] = simulated_s * 1e3;
    state.counters["peak_rss_MiB"] = peak_rss_bytes() / (1 << 20);
}

void BM_RingAllReduce1GiB_1024_FairShare_WarmRoutes(benchmark::State& state) {
    ring_all_reduce_1024(state, NetworkKind::kFairShare, true);
}

void BM_RingAllReduce1GiB_1024_FairShare_ColdRoutes(benchmark::State& state) {
    ring_all_reduce_1024(state, NetworkKind::kFairShare, false);
}

void BM_RingAllReduce1GiB_1024_AlphaBeta_WarmRoutes(benchmark::State& state) {
    ring_all_reduce_1024(state, NetworkKind::kAlphaBeta, true);
}

// Each 1 MiB ring step cut into 4 pieces of 256 KiB: 4 x 2.1 M = 8.4 M transfers.
void BM_RingAllReduce1GiB_1024_FairShare_4Chunks_WarmRoutes(benchmark::State& state) {
    ring_all_reduce_1024(state, NetworkKind::kFairShare, true, std::int64_t{256} << 10);
}

// The same two cases from a stored CommPlan (88 MiB; 352 MiB with 4 chunks), for comparison.
void BM_RingAllReduce1GiB_1024_FairShare_StoredPlan_WarmRoutes(benchmark::State& state) {
    ring_all_reduce_1024(state, NetworkKind::kFairShare, true, 0, PlanKind::kStored);
}

void BM_RingAllReduce1GiB_1024_FairShare_StoredPlan_4Chunks_WarmRoutes(benchmark::State& state) {
    ring_all_reduce_1024(state, NetworkKind::kFairShare, true, std::int64_t{256} << 10,
                         PlanKind::kStored);
}

BENCHMARK(BM_RingAllReduce1GiB_1024_FairShare_WarmRoutes)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RingAllReduce1GiB_1024_FairShare_4Chunks_WarmRoutes)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RingAllReduce1GiB_1024_FairShare_ColdRoutes)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RingAllReduce1GiB_1024_AlphaBeta_WarmRoutes)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RingAllReduce1GiB_1024_FairShare_StoredPlan_WarmRoutes)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RingAllReduce1GiB_1024_FairShare_StoredPlan_4Chunks_WarmRoutes)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
