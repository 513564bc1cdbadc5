// SPDX-License-Identifier: Apache-2.0
// All-to-all algorithms against their closed forms (include/stepsim/analytic.h) on the
// max-min (fair-share) network, uniform and skewed (one hot receiver).
//
//   star:  every GPU ── one switch (2 hops, alpha = 2·latency, per-GPU port B)
//   rails: GPUs ── NVSwitch of their server (intra, 2 hops) and every GPU ── its own port on
//          one top switch (inter, 2 hops: rail-optimized, no shared server uplink)
//
// Hot receiver: every member sends v_hot to member 0 and v < v_hot to the others. Every port
// starts with the same number of flows, so max-min gives each flow the same rate until the
// small ones finish; the hot flows then still share the hot port evenly, so the busiest
// port's bytes set the time: the closed forms' port-limited maximum is exact.
//
// Tolerance: each transfer rounds its serialization once (<= 0.5 ps) and max-min rate
// changes round each finish once, so a critical path of k transfers ends within k ps (a few
// ps per step for the rate recomputations).
#include "stepsim/analytic.h"
#include "stepsim/collective.h"
#include "stepsim/network.h"
#include "stepsim/spec.h"

#include "../unit/collective/test_topologies.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

using namespace stepsim;
using namespace std::chrono_literals;

namespace {

Time run_all_to_all(const Topology& topology, NetworkKind kind, const CollectiveRequest& request) {
    Simulator sim(1);
    Router router(topology);
    auto network = make_network_model(kind, sim, topology, router);
    CollectiveExecutor executor(sim, topology, *network, {});
    Time done = kNever;
    executor.start(request, [&] { done = sim.now(); });
    sim.run();
    REQUIRE(done != kNever);
    return done;
}

void require_close(Time simulated, double expected_s, std::int64_t tolerance_ps) {
    const Time expected = from_seconds(expected_s);
    INFO("simulated " << simulated.count() << " ps, closed form " << expected.count()
                      << " ps, tolerance " << tolerance_ps << " ps");
    REQUIRE(std::chrono::abs(simulated - expected) <= Time(tolerance_ps));
}

Topology rails_topology(std::size_t servers,
                        std::size_t per_server,
                        Time intra_latency,
                        double intra_Bps,
                        Time inter_latency,
                        double inter_Bps) {
    Topology topology;
    const NodeId top = topology.add_node("top", NodeKind::kSwitch, -1, 2);
    for (std::size_t s = 0; s < servers; ++s) {
        const NodeId nvswitch = topology.add_node("nvswitch" + std::to_string(s),
                                                  NodeKind::kNvSwitch, static_cast<int>(s));
        for (std::size_t g = 0; g < per_server; ++g) {
            const NodeId gpu =
                topology.add_node("gpu" + std::to_string(s) + "_" + std::to_string(g),
                                  NodeKind::kGpu, static_cast<int>(s));
            topology.add_duplex_link(gpu, nvswitch, LinkKind::kNvLink, intra_latency, intra_Bps);
            topology.add_duplex_link(gpu, top, LinkKind::kInfiniBand, inter_latency, inter_Bps);
        }
    }
    return topology;
}

/// Member 0 receives `hot` bytes from everyone; every other pair carries `cold`.
std::vector<std::int64_t> hot_receiver(std::size_t n, std::int64_t hot, std::int64_t cold) {
    std::vector<std::int64_t> pairs(n * n, cold);
    for (std::size_t i = 0; i < n; ++i) {
        pairs[i * n + i] = 0;
        pairs[i * n] = i == 0 ? 0 : hot;
    }
    return pairs;
}

std::vector<double> as_doubles(const std::vector<std::int64_t>& pairs) {
    return {pairs.begin(), pairs.end()};
}

constexpr double kBandwidth_Bps = 400e9;
const analytic::CollectiveCost kStarCost{2 * 300e-9, 1 / kBandwidth_Bps, 0.0};

}  // namespace

TEST_CASE("direct and pairwise all-to-all on a max-min star: uniform and one hot receiver",
          "[analytic][collective]") {
    for (const std::size_t n : {std::size_t{2}, std::size_t{5}, std::size_t{8}}) {
        const Topology star = testing::star_topology(n, 300ns, kBandwidth_Bps);
        const auto ranks = testing::all_ranks(star);
        const auto size = static_cast<std::int64_t>(n) * 1'000'000;
        const auto steps = static_cast<std::int64_t>(n);
        INFO("n=" << n);
        // Uniform: direct = α + (n−1)·S/n·β; pairwise = (n−1)(α + S/n·β).
        CollectiveRequest direct{CollectiveOp::kAllToAll, ranks, size, 0, "direct"};
        const double uniform_direct = analytic::direct_all_to_all_skewed_time_s(
            static_cast<std::int64_t>(n), analytic::uniform_pair_bytes(n, size), kStarCost, true);
        CHECK(uniform_direct ==
              Approx(analytic::direct_all_to_all_time_s(n, size, kStarCost, true)));
        require_close(run_all_to_all(star, NetworkKind::kFairShare, direct), uniform_direct,
                      4 * steps);
        CollectiveRequest pairwise{CollectiveOp::kAllToAll, ranks, size, 0, "pairwise"};
        const double uniform_pairwise = analytic::pairwise_all_to_all_time_s(
            static_cast<std::int64_t>(n), analytic::uniform_pair_bytes(n, size), kStarCost);
        CHECK(uniform_pairwise == Approx((n - 1) * (kStarCost.alpha_s + 1e6 / kBandwidth_Bps)));
        require_close(run_all_to_all(star, NetworkKind::kFairShare, pairwise), uniform_pairwise,
                      4 * steps);
        // Skewed: member 0 gets 3 MB from everyone, other pairs 0.5 MB.
        const auto pairs = hot_receiver(n, 3'000'000, 500'000);
        direct.pair_bytes = pairs;
        pairwise.pair_bytes = pairs;
        const double hot_direct = analytic::direct_all_to_all_skewed_time_s(
            static_cast<std::int64_t>(n), as_doubles(pairs), kStarCost, true);
        CHECK(hot_direct == Approx(kStarCost.alpha_s + (n - 1) * 3e6 * kStarCost.beta_s_per_byte));
        require_close(run_all_to_all(star, NetworkKind::kFairShare, direct), hot_direct, 4 * steps);
        const double hot_pairwise = analytic::pairwise_all_to_all_time_s(
            static_cast<std::int64_t>(n), as_doubles(pairs), kStarCost);
        CHECK(hot_pairwise ==
              Approx((n - 1) * (kStarCost.alpha_s + 3e6 * kStarCost.beta_s_per_byte)));
        require_close(run_all_to_all(star, NetworkKind::kFairShare, pairwise), hot_pairwise,
                      4 * steps);
    }
}

TEST_CASE("hierarchical all-to-all on max-min rails: intra phase + inter phase",
          "[analytic][collective]") {
    // Intra: 2 × 100 ns, 400 GB/s; inter: 2 × 1 µs, 50 GB/s per GPU (its own rail port).
    const analytic::CollectiveCost intra{200e-9, 1 / 400e9, 0.0};
    const analytic::CollectiveCost inter{2e-6, 1 / 50e9, 0.0};
    for (const auto& [servers, per_server] :
         {std::pair<std::size_t, std::size_t>{4, 4}, {2, 8}, {3, 2}}) {
        const Topology topology = rails_topology(servers, per_server, 100ns, 400e9, 1us, 50e9);
        const auto ranks = testing::all_ranks(topology);
        const std::size_t n = ranks.size();
        const auto nodes = static_cast<std::int64_t>(servers);
        const auto ppn = static_cast<std::int64_t>(per_server);
        INFO(servers << " servers x " << per_server);
        // Uniform, c = 1 MB per pair: T = α_i + (ppn−1)·nodes·c·β_i + α_e + (nodes−1)·ppn·c·β_e.
        const auto size = static_cast<std::int64_t>(n) * 1'000'000;
        CollectiveRequest request{CollectiveOp::kAllToAll, ranks, size, 0, "hierarchical_alltoall"};
        const double uniform = analytic::hierarchical_all_to_all_time_s(
            nodes, ppn, analytic::uniform_pair_bytes(static_cast<std::int64_t>(n), size), intra,
            inter, true);
        CHECK(uniform == Approx(intra.alpha_s + (ppn - 1) * nodes * 1e6 * intra.beta_s_per_byte +
                                inter.alpha_s + (nodes - 1) * ppn * 1e6 * inter.beta_s_per_byte));
        const auto tolerance = static_cast<std::int64_t>(4 * n);
        require_close(run_all_to_all(topology, NetworkKind::kFairShare, request), uniform,
                      tolerance);
        // Hot receiver 0 (server 0, local 0): 2 MB from everyone, 0.25 MB elsewhere.
        request.pair_bytes = hot_receiver(n, 2'000'000, 250'000);
        const double hot = analytic::hierarchical_all_to_all_time_s(
            nodes, ppn, as_doubles(request.pair_bytes), intra, inter, true);
        // Phase 1's busiest port: a local-0 GPU receives (ppn−1)·(hot + (nodes−1)·cold);
        // phase 2's: GPU 0 receives (nodes−1)·ppn·hot.
        CHECK(hot == Approx(intra.alpha_s +
                            (ppn - 1) * (2e6 + (nodes - 1) * 0.25e6) * intra.beta_s_per_byte +
                            inter.alpha_s + (nodes - 1) * ppn * 2e6 * inter.beta_s_per_byte));
        require_close(run_all_to_all(topology, NetworkKind::kFairShare, request), hot, tolerance);
    }
}

TEST_CASE("auto picks the faster all-to-all: direct's two-level form against hierarchical",
          "[analytic][collective]") {
    // Direct with NVLink beside the NIC (two ports): T = max(α_i + (ppn−1)·c·β_i,
    // α_e + (nodes−1)·ppn·c·β_e); hierarchical runs its two phases one after the other:
    // α_i + (ppn−1)·nodes·c·β_i + α_e + (nodes−1)·ppn·c·β_e. With c = 1 MB, 4 × 4 GPUs,
    // 400 and 50 GB/s: direct 2 µs + 240 µs against 0.2 + 30 + 2 + 240 µs.
    const analytic::CollectiveCost intra{200e-9, 1 / 400e9, 0.0};
    const analytic::CollectiveCost inter{2e-6, 1 / 50e9, 0.0};
    const double direct_s = analytic::direct_all_to_all_two_level_time_s(4, 4, 16e6, intra, inter);
    CHECK(direct_s == Approx(std::max(200e-9 + 3e6 / 400e9, 2e-6 + 12e6 / 50e9)));
    const Topology multi = rails_topology(4, 4, 100ns, 400e9, 1us, 50e9);
    const auto ranks = testing::all_ranks(multi);
    Simulator sim(1);
    Router router(multi);
    auto network = make_network_model(NetworkKind::kFairShare, sim, multi, router);
    CollectiveExecutor executor(sim, multi, *network, {});
    CHECK(executor.choose_algorithm({CollectiveOp::kAllToAll, ranks, 16'000'000}) == "direct");
    // The simulations agree: direct is the faster, and its closed form is exact.
    const Time direct = run_all_to_all(multi, NetworkKind::kFairShare,
                                       {CollectiveOp::kAllToAll, ranks, 16'000'000, 0, "direct"});
    const Time hierarchical =
        run_all_to_all(multi, NetworkKind::kFairShare,
                       {CollectiveOp::kAllToAll, ranks, 16'000'000, 0, "hierarchical_alltoall"});
    CHECK(direct < hierarchical);
    require_close(direct, direct_s, 64);
    // Inside one server: direct.
    const Topology single = testing::star_topology(8, 300ns, kBandwidth_Bps);
    Router single_router(single);
    auto single_network = make_network_model(NetworkKind::kFairShare, sim, single, single_router);
    CollectiveExecutor single_executor(sim, single, *single_network, {});
    CHECK(single_executor.choose_algorithm(
              {CollectiveOp::kAllToAll, testing::all_ranks(single), 8'000'000}) == "direct");
}

TEST_CASE("auto picks direct all-to-all for DeepSeek-V3's EP-64 group on the H800 cluster",
          "[analytic][collective]") {
    // 64 GPUs on 8 DGX H800 servers, 256 MiB each: direct sends 56 blocks of 4 MiB over its
    // 400 Gb/s NIC while the 7 same-server blocks go over NVLink; hierarchical adds its
    // NVLink phase before the IB phase (docs/models/collectives.md).
    const Topology topology = load_topology_file(std::filesystem::path(STEPSIM_SOURCE_DIR) /
                                                 "topologies" / "dgx-h800-2048.textproto");
    std::vector<RankId> ranks;
    for (std::uint32_t r = 0; r < 64; ++r) {
        ranks.emplace_back(r);
    }
    const std::int64_t size = 256LL << 20;
    Simulator sim(1);
    Router router(topology);
    auto network = make_network_model(NetworkKind::kFairShare, sim, topology, router);
    CollectiveExecutor executor(sim, topology, *network, {});
    CHECK(executor.choose_algorithm({CollectiveOp::kAllToAll, ranks, size}) == "direct");
    const Time direct = run_all_to_all(topology, NetworkKind::kFairShare,
                                       {CollectiveOp::kAllToAll, ranks, size, 0, "direct"});
    const Time hierarchical =
        run_all_to_all(topology, NetworkKind::kFairShare,
                       {CollectiveOp::kAllToAll, ranks, size, 0, "hierarchical_alltoall"});
    CHECK(direct < hierarchical);
}
