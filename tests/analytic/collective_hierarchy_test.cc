// SPDX-License-Identifier: Apache-2.0
// Collectives on the bundled 1024-GPU cluster (topologies/dgx-h100-1024*.textproto): the
// bandwidth hierarchy (NVLink inside a server, one 400 Gb/s NIC per GPU across servers) and
// contention on the 2:1 oversubscribed spine.
#include "stepsim/analytic.h"
#include "stepsim/collective.h"
#include "stepsim/network.h"
#include "stepsim/spec.h"

#include <catch2/catch.hpp>

#include <map>

using namespace stepsim;

namespace {

const Topology& cluster(const std::string& name) {
    static std::map<std::string, Topology> loaded;
    auto it = loaded.find(name);
    if (it == loaded.end()) {
        it = loaded
                 .emplace(name, load_topology_file(std::string(STEPSIM_SOURCE_DIR) +
                                                   "/topologies/" + name + ".textproto"))
                 .first;
    }
    return it->second;
}

std::vector<RankId> ranks_of(std::initializer_list<std::uint32_t> list) {
    std::vector<RankId> ranks;
    for (const std::uint32_t r : list) {
        ranks.emplace_back(r);
    }
    return ranks;
}

std::vector<RankId> every(std::uint32_t first, std::uint32_t count, std::uint32_t stride) {
    std::vector<RankId> ranks;
    for (std::uint32_t i = 0; i < count; ++i) {
        ranks.emplace_back(first + i * stride);
    }
    return ranks;
}

/// Runs the requests at once (fair sharing) and returns each one's finish time.
std::vector<Time> run_together(const Topology& topology,
                               const std::vector<CollectiveRequest>& requests) {
    Simulator sim(1);
    Router router(topology);
    auto network = make_network_model(NetworkKind::kFairShare, sim, topology, router);
    CollectiveExecutor executor(sim, topology, *network, {});
    std::vector<Time> finished(requests.size(), kNever);
    for (std::size_t i = 0; i < requests.size(); ++i) {
        executor.start(requests[i], [&, i] { finished[i] = sim.now(); });
    }
    sim.run();
    return finished;
}

double busbw_Bps(const CollectiveRequest& request, Time t) {
    return static_cast<double>(request.size_bytes) / to_seconds(t) *
           bus_bandwidth_factor(request.op, request.ranks.size());
}

}  // namespace

TEST_CASE("bandwidth hierarchy: NVLink inside a server, NICs across, hierarchical wins",
          "[analytic][collective][cluster]") {
    const Topology& topology = cluster("dgx-h100-1024");
    const std::int64_t size = std::int64_t{256} << 20;
    // 8 GPUs of server 0: the ring runs at the NVLink line rate: its time is the ring closed
    // form with beta = 1/450 GB/s (and the GPU's reduction cost gamma, 3 bytes of HBM traffic
    // per byte at 3.35 TB/s), within 1 ps per step.
    const CollectiveRequest node{CollectiveOp::kAllReduce, every(0, 8, 1), size, 0, "ring"};
    const Time node_time = run_together(topology, {node})[0];
    Router router(topology);
    const GroupCosts costs = group_costs(node, topology, router, {});
    CHECK(costs.beta_s_per_byte == Approx(1 / 450e9));
    const double node_closed_form_s = analytic::ring_all_reduce_time_s(
        8, static_cast<double>(size),
        {costs.alpha_s, costs.beta_s_per_byte, reduction_gamma_s_per_byte({})});
    CHECK(std::chrono::abs(node_time - from_seconds(node_closed_form_s)) <= Time(14));
    CHECK(busbw_Bps(node, node_time) <= 450e9);
    // GPU 0 of 16 servers: bounded by the 400 Gb/s = 50 GB/s NIC.
    const CollectiveRequest rail{CollectiveOp::kAllReduce, every(0, 16, 8), size, 0, "ring"};
    const double rail_busbw = busbw_Bps(rail, run_together(topology, {rail})[0]);
    CHECK(rail_busbw <= 50e9);
    CHECK(rail_busbw > 0.9 * 50e9);
    // All 128 GPUs of 16 servers: a flat ring crosses servers through one NIC per server;
    // hierarchical uses all 8 rails.
    const CollectiveRequest flat{CollectiveOp::kAllReduce, every(0, 128, 1), size, 0, "ring"};
    CollectiveRequest hierarchical = flat;
    hierarchical.algorithm = "hierarchical";
    const Time flat_time = run_together(topology, {flat})[0];
    const Time hierarchical_time = run_together(topology, {hierarchical})[0];
    CHECK(busbw_Bps(flat, flat_time) <= 50e9);
    CHECK(hierarchical_time < flat_time / 3);
}

TEST_CASE(
    "contention: two all-reduces sharing the oversubscribed spine slow down as max-min "
    "sharing predicts",
    "[analytic][collective][cluster]") {
    // Two 2-rank all-reduces (GPU 0 of server a with GPU 0 of server b); a 2-rank ring is two
    // steps of S/2 in each direction. Alone: T = 2·(alpha + (S/2)/B). Together, a flow whose
    // route shares its bottleneck link with one flow of the other group gets B_l/2 there:
    // T = 2·(alpha + (S/2)/min_l(B_l / flows_l)) + (S/2)·gamma (the reduce-scatter step
    // reduces S/2), the slowest flow setting each step's pace.
    const Topology& topology = cluster("dgx-h100-1024-oversubscribed");
    Router router(topology);
    const std::int64_t size = std::int64_t{64} << 20;
    const auto route_links = [&](std::uint32_t a, std::uint32_t b) {
        return router.route(topology.gpu(RankId{a}), topology.gpu(RankId{b})).links;
    };
    const std::uint32_t a0 = 0;
    const std::uint32_t a1 = 8 * 127;
    // Find a second pair (GPU 0 of other servers) whose route shares a link with the first.
    std::uint32_t b0 = 0;
    std::uint32_t b1 = 0;
    for (std::uint32_t s = 1; s < 127 && b0 == 0; ++s) {
        for (std::uint32_t t = 126; t > s && b0 == 0; --t) {
            for (const LinkId l : route_links(8 * s, 8 * t)) {
                for (const LinkId m : route_links(a0, a1)) {
                    if (l == m && topology.link(l).kind == LinkKind::kInfiniBand &&
                        topology.node(topology.link(l).src).tier >= 1 &&
                        topology.node(topology.link(l).dst).tier >= 1) {
                        b0 = 8 * s;
                        b1 = 8 * t;
                    }
                }
            }
        }
    }
    REQUIRE(b0 != 0);
    const CollectiveRequest a{CollectiveOp::kAllReduce, ranks_of({a0, a1}), size, 0, "ring"};
    const CollectiveRequest b{CollectiveOp::kAllReduce, ranks_of({b0, b1}), size, 0, "ring"};
    const Time alone = run_together(topology, {a})[0];
    const std::vector<Time> together = run_together(topology, {a, b});

    // Prediction: count flows per link over the four flows of one step (both directions).
    std::map<LinkId, int> flows_on;
    const std::vector<std::pair<std::uint32_t, std::uint32_t>> flows = {
        {a0, a1}, {a1, a0}, {b0, b1}, {b1, b0}};
    for (const auto& [s, d] : flows) {
        for (const LinkId l : route_links(s, d)) {
            ++flows_on[l];
        }
    }
    const auto predicted_group = [&](std::uint32_t x, std::uint32_t y) {
        double step_s = 0;
        for (const auto& [s, d] : {std::pair{x, y}, std::pair{y, x}}) {
            const Route& route = router.route(topology.gpu(RankId{s}), topology.gpu(RankId{d}));
            double rate = 1e300;
            for (const LinkId l : route.links) {
                rate = std::min(rate, topology.link(l).bandwidth_Bps / flows_on[l]);
            }
            step_s = std::max(step_s, to_seconds(route.latency) + (size / 2) / rate);
        }
        return 2 * step_s + (size / 2) * reduction_gamma_s_per_byte({});
    };
    INFO("alone " << alone.count() << " together " << together[0].count() << " / "
                  << together[1].count() << " predicted " << predicted_group(a0, a1) << " / "
                  << predicted_group(b0, b1) << " b " << b0 << "-" << b1);
    // Tolerance: 2 transfers and 1 reduction on the critical path, 1 ps each.
    CHECK(std::chrono::abs(together[0] - from_seconds(predicted_group(a0, a1))) <= Time(3));
    CHECK(std::chrono::abs(together[1] - from_seconds(predicted_group(b0, b1))) <= Time(3));
    CHECK(together[0] > alone);
}
