// SPDX-License-Identifier: Apache-2.0
// Collectives against their closed forms (include/stepsim/analytic.h) on uncontended,
// homogeneous links.
//
//   star:  gpu0 ──┐                 route gpu a → gpu b: 2 hops,
//          gpu1 ──┼── switch        alpha = 2·latency, beta = 1/B (B per direction per port)
//          gpuN ──┘
//
// Tolerance: each transfer's duration is rounded once to the picosecond (latency is an exact
// integer, the serialization S/B rounds by <= 0.5 ps) and each reduction rounds once
// (<= 0.5 ps), so a critical path of k steps ends within k ps of the real-valued closed form.
#include "stepsim/analytic.h"
#include "stepsim/collective.h"
#include "stepsim/network.h"

#include "../unit/collective/test_topologies.h"

#include <catch2/catch.hpp>

using namespace stepsim;
using namespace std::chrono_literals;

namespace {

struct Outcome {
    Time time{0};
    std::string algorithm;
};

/// Runs one collective alone on a fresh simulator and returns when it finished.
Outcome run_collective(const Topology& topology,
                       NetworkKind kind,
                       CollectiveRequest request,
                       const CollectiveOptions& options) {
    Simulator sim(1);
    Router router(topology);
    auto network = make_network_model(kind, sim, topology, router);
    CollectiveExecutor executor(sim, topology, *network, options);
    Outcome outcome;
    bool is_done = false;
    outcome.algorithm = executor.start(request, [&] {
        is_done = true;
        outcome.time = sim.now();
    });
    sim.run();
    REQUIRE(is_done);
    return outcome;
}

void require_close(Time simulated, double expected_s, std::int64_t steps) {
    const Time expected = from_seconds(expected_s);
    INFO("simulated " << simulated.count() << " ps, closed form " << expected.count()
                      << " ps, tolerance " << steps << " ps");
    REQUIRE(std::chrono::abs(simulated - expected) <= Time(steps));
}

constexpr Time kLinkLatency = 350ns;
constexpr double kBandwidth_Bps = 450e9;
constexpr double kAlpha_s = 2 * 350e-9;
constexpr double kBeta_s_per_byte = 1 / 450e9;
constexpr double kGamma_s_per_byte = 3 / 3.35e12;

CollectiveOptions with_gamma(double gamma) {
    CollectiveOptions options;
    options.gamma_s_per_byte = gamma;
    return options;
}

}  // namespace

TEST_CASE("ring all-reduce = 2(N-1)a + 2(N-1)/N S b + (N-1)/N S g", "[analytic][collective]") {
    for (const NetworkKind kind : {NetworkKind::kAlphaBeta, NetworkKind::kFairShare}) {
        for (const std::int64_t n : {2, 3, 8, 13}) {
            const Topology topology = testing::star_topology(n, kLinkLatency, kBandwidth_Bps);
            const std::int64_t size = n * 1'000'003;
            const auto outcome = run_collective(
                topology, kind,
                {CollectiveOp::kAllReduce, testing::all_ranks(topology), size, 0, "ring"},
                with_gamma(kGamma_s_per_byte));
            const double expected = analytic::ring_all_reduce_time_s(
                n, static_cast<double>(size), {kAlpha_s, kBeta_s_per_byte, kGamma_s_per_byte});
            INFO("n=" << n << " network " << static_cast<int>(kind));
            require_close(outcome.time, expected, 2 * (n - 1));
        }
    }
}

TEST_CASE("ring with chunks pays alpha per chunk; RS and AG are half of all-reduce",
          "[analytic][collective]") {
    const std::int64_t n = 8;
    const Topology topology = testing::star_topology(n, kLinkLatency, kBandwidth_Bps);
    const std::int64_t size = n * 4 * 250'000;  // segments of 1 MB in 4 chunks
    CollectiveOptions options = with_gamma(kGamma_s_per_byte);
    options.chunk_bytes = 250'000;
    const analytic::CollectiveCost cost{kAlpha_s, kBeta_s_per_byte, kGamma_s_per_byte};
    const auto ranks = testing::all_ranks(topology);
    const auto ar = run_collective(topology, NetworkKind::kFairShare,
                                   {CollectiveOp::kAllReduce, ranks, size, 0, "ring"}, options);
    require_close(ar.time, analytic::ring_all_reduce_time_s(n, size, cost, 4), 2 * (n - 1) * 4);
    const auto rs = run_collective(topology, NetworkKind::kFairShare,
                                   {CollectiveOp::kReduceScatter, ranks, size, 0, "ring"}, options);
    require_close(rs.time, analytic::ring_reduce_scatter_time_s(n, size, cost, 4), (n - 1) * 4);
    const auto ag = run_collective(topology, NetworkKind::kFairShare,
                                   {CollectiveOp::kAllGather, ranks, size, 0, "ring"}, options);
    require_close(ag.time, analytic::ring_all_gather_time_s(n, size, cost, 4), (n - 1) * 4);
}

TEST_CASE("ring broadcast and reduce pipeline along the chain: (N-2+k)(a + S/k b)",
          "[analytic][collective]") {
    const std::int64_t n = 13;
    const Topology topology = testing::star_topology(n, kLinkLatency, kBandwidth_Bps);
    const std::int64_t chunk = 1 << 19;
    const std::int64_t k = 6;
    CollectiveOptions options = with_gamma(kGamma_s_per_byte);
    options.chunk_bytes = chunk;
    const analytic::CollectiveCost cost{kAlpha_s, kBeta_s_per_byte, kGamma_s_per_byte};
    for (const CollectiveOp op : {CollectiveOp::kBroadcast, CollectiveOp::kReduce}) {
        const auto outcome =
            run_collective(topology, NetworkKind::kFairShare,
                           {op, testing::all_ranks(topology), k * chunk, 5, "ring"}, options);
        require_close(outcome.time,
                      analytic::pipelined_chain_time_s(n - 1, k * chunk, cost, k,
                                                       op == CollectiveOp::kReduce),
                      n - 2 + k);
    }
}

TEST_CASE("halving-doubling and recursive doubling match Rabenseifner / Thakur forms",
          "[analytic][collective]") {
    const analytic::CollectiveCost cost{kAlpha_s, kBeta_s_per_byte, kGamma_s_per_byte};
    for (const std::int64_t n : {2, 3, 8, 13}) {
        const Topology topology = testing::star_topology(n, kLinkLatency, kBandwidth_Bps);
        const std::int64_t size = 64 * 1'000'000;  // divisible by every p <= 8
        const auto ranks = testing::all_ranks(topology);
        INFO("n=" << n);
        const auto hd =
            run_collective(topology, NetworkKind::kFairShare,
                           {CollectiveOp::kAllReduce, ranks, size, 0, "halving_doubling"},
                           with_gamma(kGamma_s_per_byte));
        // Steps: 2·log2 p (+2 with the fold).
        require_close(hd.time, analytic::halving_doubling_all_reduce_time_s(n, size, cost),
                      2 * 4 + 2);
        const auto rd =
            run_collective(topology, NetworkKind::kFairShare,
                           {CollectiveOp::kAllReduce, ranks, size, 0, "recursive_doubling"},
                           with_gamma(kGamma_s_per_byte));
        require_close(rd.time, analytic::recursive_doubling_all_reduce_time_s(n, size, cost),
                      4 + 2);
        if (n == 8) {
            const auto rs =
                run_collective(topology, NetworkKind::kFairShare,
                               {CollectiveOp::kReduceScatter, ranks, size, 0, "halving_doubling"},
                               with_gamma(kGamma_s_per_byte));
            require_close(rs.time, analytic::halving_reduce_scatter_time_s(n, size, cost), 3);
            const auto ag =
                run_collective(topology, NetworkKind::kFairShare,
                               {CollectiveOp::kAllGather, ranks, size, 0, "recursive_doubling"},
                               with_gamma(kGamma_s_per_byte));
            require_close(ag.time, analytic::doubling_all_gather_time_s(n, size, cost), 3);
        }
    }
}

TEST_CASE("double binary tree: (2H + k - 1)(a + c b), latency grows as log2 N",
          "[analytic][collective]") {
    // Contention-free links (alpha-beta model): each tree edge is its own server.
    const analytic::CollectiveCost cost{kAlpha_s, kBeta_s_per_byte, 0.0};
    CollectiveOptions options = with_gamma(0.0);
    options.chunk_bytes = 1 << 20;
    for (const std::int64_t n : {2, 3, 8, 13, 64}) {
        const Topology topology = testing::star_topology(n, kLinkLatency, kBandwidth_Bps);
        const std::int64_t k = 5;
        const std::int64_t size = 2 * k * options.chunk_bytes;
        const auto outcome = run_collective(
            topology, NetworkKind::kAlphaBeta,
            {CollectiveOp::kAllReduce, testing::all_ranks(topology), size, 0, "tree"}, options);
        const std::int64_t h = analytic::binary_tree_height(n);
        INFO("n=" << n << " height " << h);
        require_close(outcome.time,
                      analytic::double_binary_tree_all_reduce_time_s(n, size, cost, k),
                      2 * h + k - 1);
    }
    // Small messages are latency-bound: 64 ranks take 2·log2(64)/(2·log2(8)) = 2× 8 ranks.
    const auto small = [&](std::int64_t n) {
        const Topology topology = testing::star_topology(n, kLinkLatency, kBandwidth_Bps);
        return run_collective(
                   topology, NetworkKind::kAlphaBeta,
                   {CollectiveOp::kAllReduce, testing::all_ranks(topology), 8, 0, "tree"}, options)
            .time;
    };
    const double ratio = to_seconds(small(64)) / to_seconds(small(8));
    CHECK(ratio == Approx(2.0).epsilon(1e-3));
}

TEST_CASE("direct: port-limited behind a switch, one link per pair on a full mesh",
          "[analytic][collective]") {
    const analytic::CollectiveCost cost{kAlpha_s, kBeta_s_per_byte, kGamma_s_per_byte};
    for (const std::int64_t n : {2, 3, 8}) {
        const std::int64_t size = n * 3'000'000;
        INFO("n=" << n);
        // Star + max-min sharing: each GPU's n−1 flows share its port.
        const Topology star = testing::star_topology(n, kLinkLatency, kBandwidth_Bps);
        const auto shared =
            run_collective(star, NetworkKind::kFairShare,
                           {CollectiveOp::kAllReduce, testing::all_ranks(star), size, 0, "direct"},
                           with_gamma(kGamma_s_per_byte));
        // Steps: two transfers plus n−1 serialized reductions.
        require_close(shared.time, analytic::direct_all_reduce_time_s(n, size, cost, true),
                      2 + (n - 1));
        // Full mesh (one hop, alpha = latency): every flow has its own link.
        const Topology mesh = testing::full_mesh_topology(n, 2 * kLinkLatency, kBandwidth_Bps);
        for (const NetworkKind kind : {NetworkKind::kAlphaBeta, NetworkKind::kFairShare}) {
            const auto own = run_collective(
                mesh, kind, {CollectiveOp::kAllReduce, testing::all_ranks(mesh), size, 0, "direct"},
                with_gamma(kGamma_s_per_byte));
            require_close(own.time, analytic::direct_all_reduce_time_s(n, size, cost, false),
                          2 + (n - 1));
        }
        const auto a2a = run_collective(
            star, NetworkKind::kFairShare,
            {CollectiveOp::kAllToAll, testing::all_ranks(star), size, 0, "direct"}, {});
        require_close(a2a.time, analytic::direct_all_to_all_time_s(n, size, cost, true), 1);
    }
}

TEST_CASE("hierarchical in one piece = intra RS + inter ring all-reduce + intra AG",
          "[analytic][collective]") {
    // 4 servers × 4 GPUs. Intra route: gpu → nvswitch → gpu (2 × 100 ns, 400 GB/s); inter
    // route between same-index GPUs: gpu → nvswitch → top → nvswitch → gpu (2 × 100 ns +
    // 2 × 1 µs, bottleneck 50 GB/s). Contention-free model: the 4 rails share the uplink in
    // reality, not here.
    const Topology topology = testing::servers_topology(4, 4, 100ns, 400e9, 1us, 50e9);
    const std::int64_t size = 16 * 1'000'000;
    CollectiveOptions options = with_gamma(kGamma_s_per_byte);
    options.chunk_bytes = size;  // one piece
    const auto outcome = run_collective(
        topology, NetworkKind::kAlphaBeta,
        {CollectiveOp::kAllReduce, testing::all_ranks(topology), size, 0, "hierarchical"}, options);
    const analytic::CollectiveCost intra{200e-9, 1 / 400e9, kGamma_s_per_byte};
    const analytic::CollectiveCost inter{2.2e-6, 1 / 50e9, kGamma_s_per_byte};
    require_close(outcome.time,
                  analytic::hierarchical_all_reduce_time_s(4, 4, size, intra, inter, 1),
                  2 * 3 + 2 * 3);
}

TEST_CASE("auto picks the lowest predicted time and says which", "[analytic][collective]") {
    const Topology topology = testing::star_topology(16, kLinkLatency, kBandwidth_Bps);
    const auto ranks = testing::all_ranks(topology);
    Simulator sim(1);
    Router router(topology);
    auto network = make_network_model(NetworkKind::kFairShare, sim, topology, router);
    CollectiveExecutor executor(sim, topology, *network, {});
    for (const std::int64_t size : {std::int64_t{8}, std::int64_t{1} << 30}) {
        const CollectiveRequest request{CollectiveOp::kAllReduce, ranks, size};
        const GroupCosts costs = group_costs(request, topology, router, {});
        CHECK(costs.alpha_s == Approx(kAlpha_s));
        CHECK(costs.beta_s_per_byte == Approx(kBeta_s_per_byte));
        std::string best;
        double best_s = 1e300;
        for (const std::string_view name : collective_algorithm_names()) {
            const CollectiveAlgorithm* a = find_collective_algorithm(name);
            if (a->unsupported_reason(request, topology).empty()) {
                const double t = a->predict_time_s(request, costs, {});
                if (t < best_s) {
                    best_s = t;
                    best = std::string(name);
                }
            }
        }
        CHECK(executor.choose_algorithm(request) == best);
    }
    // Small: latency-bound (log-depth algorithms); large: bandwidth-optimal.
    CHECK(executor.choose_algorithm({CollectiveOp::kAllReduce, ranks, 8}) != "ring");
    const std::string big = executor.choose_algorithm({CollectiveOp::kAllReduce, ranks, 1 << 30});
    CHECK(big != "recursive_doubling");  // log2(N)·S·beta: never best for large buffers
}
