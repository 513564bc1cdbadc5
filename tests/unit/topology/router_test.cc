// SPDX-License-Identifier: Apache-2.0
// Tests of `Router`. A route is a shortest path by latency, ties broken by fewer hops, so
//   route.latency        = sum of its links' latencies       (exact, integer ps)
//   route.bottleneck_Bps = min of its links' bandwidths      (exact)
// Among equal-cost paths the flow label picks one by a hash: the same label always gives the
// same path, and over many labels every equal-cost path is used.
#include "stepsim/error.h"
#include "stepsim/topology.h"

#include "unit/topology/small_topologies.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace stepsim {
namespace {

using test::TwoServerCluster;

Time sum_of_latencies(const Topology& topology, const Route& route) {
    Time total{0};
    for (const LinkId id : route.links) {
        total += topology.link(id).latency;
    }
    return total;
}

double min_bandwidth_Bps(const Topology& topology, const Route& route) {
    double smallest = std::numeric_limits<double>::infinity();
    for (const LinkId id : route.links) {
        smallest = std::min(smallest, topology.link(id).bandwidth_Bps);
    }
    return smallest;
}

/// The route is a connected walk from src to dst.
void require_connected(const Topology& topology, const Route& route, NodeId src, NodeId dst) {
    NodeId at = src;
    for (const LinkId id : route.links) {
        REQUIRE(topology.link(id).src == at);
        at = topology.link(id).dst;
    }
    REQUIRE(at == dst);
}

TEST_CASE("routes in a two-server cluster", "[topology][router]") {
    // Same server: g0.0 -> nvswitch-0 -> g0.1, 2 hops, 2 * 150 ns, bottleneck 450 GB/s.
    // Other server: g0.0 -> nic0.0 -> ib-switch -> nic1.1 -> g1.1,
    //   latency 500 + 600 + 600 + 500 ns = 2.2 us, bottleneck min(64, 50) GB/s = 50 GB/s.
    TwoServerCluster cluster;
    const Topology& topology = cluster.topology;
    Router router(topology);

    const Route& local = router.route(cluster.gpu[0][0], cluster.gpu[0][1]);
    require_connected(topology, local, cluster.gpu[0][0], cluster.gpu[0][1]);
    REQUIRE(local.links.size() == 2);
    CHECK(topology.link(local.links[0]).dst == cluster.nvswitch[0]);
    CHECK(local.latency == 2 * TwoServerCluster::kNvLinkLatency);
    CHECK(local.bottleneck_Bps == TwoServerCluster::kNvLinkBandwidth_Bps);

    const Route& remote = router.route(cluster.gpu[0][0], cluster.gpu[1][1]);
    require_connected(topology, remote, cluster.gpu[0][0], cluster.gpu[1][1]);
    REQUIRE(remote.links.size() == 4);
    CHECK(remote.latency ==
          2 * TwoServerCluster::kPcieLatency + 2 * TwoServerCluster::kInfiniBandLatency);
    CHECK(remote.latency == 2200ns);
    CHECK(remote.latency == sum_of_latencies(topology, remote));
    CHECK(remote.bottleneck_Bps == TwoServerCluster::kInfiniBandBandwidth_Bps);
    CHECK(remote.bottleneck_Bps == min_bandwidth_Bps(topology, remote));

    CHECK(router.hop_count(cluster.gpu[0][0], cluster.gpu[1][1]) == 4);
    CHECK(router.latency(cluster.gpu[0][0], cluster.gpu[1][1]) == 2200ns);
    CHECK(router.hop_count(cluster.gpu[1][0], cluster.gpu[1][0]) == 0);
    CHECK(router.latency(cluster.gpu[1][0], cluster.gpu[1][0]) == Time::zero());

    // Every GPU pair: the route's totals match its links.
    for (const NodeId src : topology.gpus()) {
        for (const NodeId dst : topology.gpus()) {
            const Route& route = router.route(src, dst, 7);
            require_connected(topology, route, src, dst);
            CHECK(route.latency == sum_of_latencies(topology, route));
            CHECK(route.bottleneck_Bps == min_bandwidth_Bps(topology, route));
            CHECK(route.links.size() == router.hop_count(src, dst));
        }
    }
}

TEST_CASE("a route to itself is empty", "[topology][router]") {
    TwoServerCluster cluster;
    Router router(cluster.topology);
    const Route& route = router.route(cluster.gpu[1][1], cluster.gpu[1][1]);
    CHECK(route.links.empty());
    CHECK(route.latency == Time::zero());
    CHECK(route.bottleneck_Bps == std::numeric_limits<double>::infinity());
    CHECK(router.is_reachable(cluster.gpu[1][1], cluster.gpu[1][1]));
}

TEST_CASE("routes are cached until invalidate()", "[topology][router]") {
    TwoServerCluster cluster;
    Router router(cluster.topology);
    const Route& first = router.route(cluster.gpu[0][1], cluster.gpu[1][0], 3);
    const Route& again = router.route(cluster.gpu[0][1], cluster.gpu[1][0], 3);
    CHECK(&first == &again);
}

TEST_CASE("GPUs do not forward traffic, so a lost NIC link partitions a GPU",
          "[topology][router]") {
    // With g0.0 -> nic0.0 down, the only way out of g0.0 to server 1 would relay through g0.1
    // (g0.0 -> nvswitch-0 -> g0.1 -> nic0.1 -> ...), which a route may not do.
    TwoServerCluster cluster;
    Topology& topology = cluster.topology;
    Router router(topology);
    CHECK(router.is_reachable(cluster.gpu[0][0], cluster.gpu[1][0]));

    topology.set_link_up(cluster.gpu_to_nic[0][0], false);
    router.invalidate();
    CHECK_FALSE(router.is_reachable(cluster.gpu[0][0], cluster.gpu[1][0]));
    CHECK(router.is_reachable(cluster.gpu[0][0], cluster.gpu[0][1]));  // NVLink still up
    CHECK(router.is_reachable(cluster.gpu[1][0], cluster.gpu[0][0]));  // nic0.0 -> g0.0 is up
    try {
        router.route(cluster.gpu[0][0], cluster.gpu[1][0]);
        FAIL("route() must throw for an unreachable pair");
    } catch (const std::runtime_error& error) {
        const std::string message = error.what();
        CHECK(message.find("\"gpu-0.0\"") != std::string::npos);
        CHECK(message.find("\"gpu-1.0\"") != std::string::npos);
    }
    CHECK_THROWS_AS(router.hop_count(cluster.gpu[0][0], cluster.gpu[1][0]), std::runtime_error);
}

TEST_CASE("editing the topology without invalidate() is caught", "[topology][router]") {
    TwoServerCluster cluster;
    Router router(cluster.topology);
    router.route(cluster.gpu[0][0], cluster.gpu[1][1]);
    cluster.topology.set_link_bandwidth(cluster.gpu_to_nic[0][0], 32e9);
    CHECK_THROWS_AS(router.route(cluster.gpu[0][0], cluster.gpu[1][1]), InternalError);
    router.invalidate();
    CHECK(router.route(cluster.gpu[0][0], cluster.gpu[1][1]).bottleneck_Bps == 32e9);
}

TEST_CASE("bad node ids are rejected", "[topology][router]") {
    TwoServerCluster cluster;
    Router router(cluster.topology);
    CHECK_THROWS_AS(router.route(cluster.gpu[0][0], NodeId(999)), InternalError);
    CHECK_THROWS_AS(router.route(NodeId(999), cluster.gpu[0][0]), InternalError);
    CHECK_THROWS_AS(router.is_reachable(NodeId(), cluster.gpu[0][0]), InternalError);
}

/// A diamond of two equal-cost paths s -> a -> t and s -> b -> t (100 ns per hop), plus two
/// paths that must never be taken: s -> c -> t is slower (150 + 100 ns), and s -> d -> e -> t
/// ties on latency (50 + 50 + 100 ns = 200 ns) but has more hops.
struct Diamond {
    Topology topology;
    NodeId s, a, b, c, d, e, t;
    LinkId s_to_a, s_to_b;

    Diamond() {
        s = topology.add_node("s", NodeKind::kGpu, 0);
        a = topology.add_node("a", NodeKind::kSwitch, -1, 1);
        b = topology.add_node("b", NodeKind::kSwitch, -1, 1);
        c = topology.add_node("c", NodeKind::kSwitch, -1, 1);
        d = topology.add_node("d", NodeKind::kSwitch, -1, 1);
        e = topology.add_node("e", NodeKind::kSwitch, -1, 1);
        t = topology.add_node("t", NodeKind::kGpu, 1);
        s_to_a = topology.add_link(s, a, LinkKind::kInfiniBand, 100ns, 10e9);
        topology.add_link(a, t, LinkKind::kInfiniBand, 100ns, 20e9);
        s_to_b = topology.add_link(s, b, LinkKind::kInfiniBand, 100ns, 30e9);
        topology.add_link(b, t, LinkKind::kInfiniBand, 100ns, 40e9);
        topology.add_link(s, c, LinkKind::kInfiniBand, 150ns, 1e12);
        topology.add_link(c, t, LinkKind::kInfiniBand, 100ns, 1e12);
        topology.add_link(s, d, LinkKind::kInfiniBand, 50ns, 1e12);
        topology.add_link(d, e, LinkKind::kInfiniBand, 50ns, 1e12);
        topology.add_link(e, t, LinkKind::kInfiniBand, 100ns, 1e12);
    }
};

TEST_CASE("ECMP spreads flow labels over equal-cost paths, each label sticks to one",
          "[topology][router]") {
    // 64 labels, each path hit with probability 1/2 if the hash is fair: the count via a is
    // Binomial(64, 1/2), mean 32, standard deviation 4; accept mean +- 4 sigma.
    Diamond diamond;
    Router router(diamond.topology);
    Router second_router(diamond.topology);
    int via_a = 0;
    int via_b = 0;
    for (std::uint64_t label = 0; label < 64; ++label) {
        const Route& route = router.route(diamond.s, diamond.t, label);
        require_connected(diamond.topology, route, diamond.s, diamond.t);
        REQUIRE(route.links.size() == 2);
        CHECK(route.latency == 200ns);
        if (route.links[0] == diamond.s_to_a) {
            ++via_a;
            CHECK(route.bottleneck_Bps == 10e9);
        } else {
            REQUIRE(route.links[0] == diamond.s_to_b);
            ++via_b;
            CHECK(route.bottleneck_Bps == 30e9);
        }
        // Same label, fresh router: same path (the choice is a pure function of the flow).
        CHECK(second_router.route(diamond.s, diamond.t, label).links == route.links);
    }
    CHECK(via_a + via_b == 64);
    CHECK(via_a >= 32 - 16);
    CHECK(via_a <= 32 + 16);
    router.invalidate();
    for (std::uint64_t label = 0; label < 64; ++label) {
        CHECK(router.route(diamond.s, diamond.t, label).links ==
              second_router.route(diamond.s, diamond.t, label).links);
    }
}

TEST_CASE("a down link moves every flow to the other equal-cost path", "[topology][router]") {
    Diamond diamond;
    Router router(diamond.topology);
    diamond.topology.set_link_up(diamond.s_to_a, false);
    for (std::uint64_t label = 0; label < 16; ++label) {
        const Route& route = router.route(diamond.s, diamond.t, label);
        REQUIRE(route.links.size() == 2);
        CHECK(route.links[0] == diamond.s_to_b);
    }
    // With both short paths down, the 3-hop 200 ns path wins over the 250 ns one.
    diamond.topology.set_link_up(diamond.s_to_b, false);
    router.invalidate();
    const Route& detour = router.route(diamond.s, diamond.t);
    REQUIRE(detour.links.size() == 3);
    CHECK(diamond.topology.link(detour.links[0]).dst == diamond.d);
    CHECK(detour.latency == 200ns);
}

TEST_CASE("latency beats hop count", "[topology][router]") {
    // s -> t directly costs 100 ns; s -> x -> y -> t costs 30 + 30 + 30 = 90 ns and wins.
    Topology topology;
    const NodeId s = topology.add_node("s", NodeKind::kGpu, 0);
    const NodeId x = topology.add_node("x", NodeKind::kSwitch, -1, 1);
    const NodeId y = topology.add_node("y", NodeKind::kSwitch, -1, 1);
    const NodeId t = topology.add_node("t", NodeKind::kGpu, 1);
    topology.add_link(s, t, LinkKind::kEthernet, 100ns, 1e9);
    topology.add_link(s, x, LinkKind::kEthernet, 30ns, 1e9);
    topology.add_link(x, y, LinkKind::kEthernet, 30ns, 1e9);
    topology.add_link(y, t, LinkKind::kEthernet, 30ns, 1e9);
    Router router(topology);
    CHECK(router.route(s, t).links.size() == 3);
    CHECK(router.route(s, t).latency == 90ns);
    // Links are directed: nothing leads back from t.
    CHECK_FALSE(router.is_reachable(t, s));
    CHECK_THROWS_AS(router.route(t, s), std::runtime_error);
}

TEST_CASE("cached routes stay put while the cache grows", "[topology][router]") {
    // 4096 labels over the diamond force the cache to grow many times; the first route must
    // keep its address and its links.
    Diamond diamond;
    Router router(diamond.topology);
    const Route& first = router.route(diamond.s, diamond.t, 0);
    const std::vector<LinkId> first_links = first.links;
    for (std::uint64_t label = 1; label < 4096; ++label) {
        router.route(diamond.s, diamond.t, label);
    }
    CHECK(&router.route(diamond.s, diamond.t, 0) == &first);
    CHECK(first.links == first_links);
}

/// Six servers of 2 GPUs (one NVSwitch, one NIC per GPU) under a rail-optimized two-tier fat
/// tree: NIC (s, r) -> leaf (s / 3, r), every leaf -> both spines. Servers 0-2 sit under the
/// same leaves, as do 3-5, so swapping two servers of one group is an automorphism.
struct SixServerFatTree {
    Topology topology;
    NodeId gpu[6][2];
    LinkId gpu_to_nic[6][2];
    LinkId spine_to_leaf[2][2][2];  ///< [spine][group][rail]

    SixServerFatTree() {
        NodeId nic[6][2];
        NodeId leaf[2][2];
        NodeId spine[2];
        for (int s = 0; s < 6; ++s) {
            for (int r = 0; r < 2; ++r) {
                gpu[s][r] = topology.add_node("gpu-" + std::to_string(s) + "." + std::to_string(r),
                                              NodeKind::kGpu, s);
            }
            const NodeId nvswitch =
                topology.add_node("nvswitch-" + std::to_string(s), NodeKind::kNvSwitch, s);
            for (int r = 0; r < 2; ++r) {
                nic[s][r] = topology.add_node("nic-" + std::to_string(s) + "." + std::to_string(r),
                                              NodeKind::kNic, s);
                topology.add_duplex_link(gpu[s][r], nvswitch, LinkKind::kNvLink, 150ns, 450e9);
                gpu_to_nic[s][r] =
                    topology.add_duplex_link(gpu[s][r], nic[s][r], LinkKind::kPcie, 500ns, 64e9)
                        .first;
            }
        }
        for (int g = 0; g < 2; ++g) {
            for (int r = 0; r < 2; ++r) {
                leaf[g][r] =
                    topology.add_node("leaf-" + std::to_string(g) + "." + std::to_string(r),
                                      NodeKind::kSwitch, -1, 1);
            }
        }
        for (int k = 0; k < 2; ++k) {
            spine[k] = topology.add_node("spine-" + std::to_string(k), NodeKind::kSwitch, -1, 2);
        }
        for (int s = 0; s < 6; ++s) {
            for (int r = 0; r < 2; ++r) {
                topology.add_duplex_link(nic[s][r], leaf[s / 3][r], LinkKind::kInfiniBand, 600ns,
                                         50e9);
            }
        }
        for (int k = 0; k < 2; ++k) {
            for (int g = 0; g < 2; ++g) {
                for (int r = 0; r < 2; ++r) {
                    spine_to_leaf[k][g][r] =
                        topology
                            .add_duplex_link(leaf[g][r], spine[k], LinkKind::kInfiniBand, 600ns,
                                             50e9)
                            .second;
                }
            }
        }
    }
};

/// Every ordered GPU pair, three flow labels: the same links, latency and bottleneck from a
/// router that shares tables by symmetry and one that does not; route_metrics() agrees.
void require_same_routes(const Topology& topology) {
    Router shared(topology);
    Router own(topology, Router::Limits{.is_table_shared_by_symmetry = false});
    for (const NodeId src : topology.gpus()) {
        for (const NodeId dst : topology.gpus()) {
            for (const std::uint64_t label : {0, 1, 7}) {
                const Route expected = own.route(src, dst, label);
                const RouteMetrics metrics = shared.route_metrics(src, dst, label);
                const Route& found = shared.route(src, dst, label);
                REQUIRE(found.links == expected.links);
                REQUIRE(found.latency == expected.latency);
                REQUIRE(found.bottleneck_Bps == expected.bottleneck_Bps);
                REQUIRE(metrics.latency == expected.latency);
                REQUIRE(metrics.hops == expected.links.size());
                REQUIRE(metrics.bottleneck_Bps == expected.bottleneck_Bps);
                REQUIRE(shared.hop_count(src, dst) == expected.links.size());
                REQUIRE(shared.latency(src, dst) == expected.latency);
            }
        }
    }
}

TEST_CASE("servers under the same leaves share distance tables, routes unchanged",
          "[topology][router]") {
    // Tables are built per destination GPU: 11 without sharing (gpu-0.0 to itself needs
    // none); with it one per (leaf group, position in the server) = 2 x 2.
    SixServerFatTree tree;
    require_same_routes(tree.topology);
    Router shared(tree.topology);
    Router own(tree.topology, Router::Limits{.is_table_shared_by_symmetry = false});
    for (const NodeId dst : tree.topology.gpus()) {
        shared.hop_count(tree.gpu[0][0], dst);
        own.hop_count(tree.gpu[0][0], dst);
    }
    CHECK(shared.cached_tables() == 4);
    CHECK(own.cached_tables() == 11);
}

TEST_CASE("a degraded link gives its server tables of its own, routes unchanged",
          "[topology][router]") {
    // gpu-4.1 -> nic-4.1 at 32 GB/s: server 4's signature differs from 3's and 5's, so its
    // GPUs get tables of their own (2 more than the symmetric 4).
    SixServerFatTree tree;
    tree.topology.set_link_bandwidth(tree.gpu_to_nic[4][1], 32e9);
    require_same_routes(tree.topology);
    Router shared(tree.topology);
    for (const NodeId dst : tree.topology.gpus()) {
        shared.hop_count(tree.gpu[0][0], dst);
    }
    CHECK(shared.cached_tables() == 6);
}

TEST_CASE("route_metrics walks the route when equal-cost paths differ in bottleneck",
          "[topology][router]") {
    // spine-1 -> leaf-1.0 at 25 GB/s: from group 0 to rail 0 of group 1 the two equal-cost
    // paths (via spine 0 or 1) have bottlenecks 50 and 25 GB/s; the flow label picks one, and
    // route_metrics() must give the one route() takes, for every label.
    SixServerFatTree tree;
    tree.topology.set_link_bandwidth(tree.spine_to_leaf[1][1][0], 25e9);
    require_same_routes(tree.topology);
    Router router(tree.topology);
    std::vector<double> seen;
    for (std::uint64_t label = 0; label < 16; ++label) {
        seen.push_back(router.route_metrics(tree.gpu[0][0], tree.gpu[4][0], label).bottleneck_Bps);
    }
    CHECK(std::count(seen.begin(), seen.end(), 25e9) > 0);
    CHECK(std::count(seen.begin(), seen.end(), 50e9) > 0);
}

TEST_CASE("a route latency beyond the range of Time throws", "[topology][router]") {
    // Two hops of Time::max() / 2 + 1 ps sum past Time::max().
    Topology topology;
    const NodeId a = topology.add_node("a", NodeKind::kGpu, 0);
    const NodeId hub = topology.add_node("hub", NodeKind::kSwitch, -1, 1);
    const NodeId b = topology.add_node("b", NodeKind::kGpu, 1);
    const Time huge = Time::max() / 2 + Time(1);
    topology.add_link(a, hub, LinkKind::kEthernet, huge, 1e9);
    topology.add_link(hub, b, LinkKind::kEthernet, huge, 1e9);
    Router router(topology);
    CHECK_THROWS_AS(router.route(a, b), ResourceLimitError);
    CHECK(router.route(a, hub).latency == huge);
}

}  // namespace
}  // namespace stepsim
