// SPDX-License-Identifier: Apache-2.0
// AlphaBetaNetwork: a transfer of S bytes along a route costs
//     T = alpha + beta * S = sum of the links' latencies + S / min of the links' bandwidths,
// rounded once to the picosecond, whatever else is in flight (no contention).
#include "network/alpha_beta_network.h"

#include "stepsim/error.h"
#include "stepsim/network.h"
#include "stepsim/topology.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <vector>

using namespace stepsim;
using namespace std::chrono_literals;

namespace {

//   gpu0 --(700 ns, 450 GB/s)--> nvswitch --(1 us, 50 GB/s)--> gpu1   (both duplex)
struct TwoHop {
    Topology topology;
    NodeId gpu0, nvswitch, gpu1;
    LinkId up, down;  // gpu0 -> nvswitch, nvswitch -> gpu1

    TwoHop() {
        gpu0 = topology.add_node("gpu0", NodeKind::kGpu, 0);
        nvswitch = topology.add_node("nvswitch", NodeKind::kNvSwitch, 0);
        gpu1 = topology.add_node("gpu1", NodeKind::kGpu, 0);
        up = topology.add_duplex_link(gpu0, nvswitch, LinkKind::kNvLink, 700ns, 450e9).first;
        down = topology.add_duplex_link(nvswitch, gpu1, LinkKind::kNvLink, 1us, 50e9).first;
    }
};

}  // namespace

TEST_CASE("alpha-beta: one transfer costs latency + S/B, one rounding", "[network][alpha_beta]") {
    TwoHop net;
    Simulator sim(1);
    Router router(net.topology);
    AlphaBetaNetwork network(sim, net.topology, router);

    // alpha = 700 ns + 1 us; beta = 1 / min(450, 50) GB/s; S is odd so S/B is not a whole ps.
    const std::int64_t size_bytes = 123'456'789;
    const Link& up = net.topology.link(net.up);
    const Link& down = net.topology.link(net.down);
    const Time alpha = up.latency + down.latency;
    const double bottleneck_Bps = std::min(up.bandwidth_Bps, down.bandwidth_Bps);
    const Time expected = alpha + serialization_time(size_bytes, bottleneck_Bps);

    Time done_at = kNever;
    network.start_transfer(net.gpu0, net.gpu1, size_bytes, [&] { done_at = sim.now(); });
    REQUIRE(network.active_transfers() == 1);
    sim.run();
    REQUIRE(done_at == expected);
    REQUIRE(network.active_transfers() == 0);
    // The single rounding is within half a tick of the exact real-valued time.
    REQUIRE(std::abs(to_seconds(done_at) - (1.7e-6 + double(size_bytes) / 50e9)) <= 0.5e-12);
}

TEST_CASE("alpha-beta: zero bytes cost the latency, src == dst costs nothing",
          "[network][alpha_beta]") {
    TwoHop net;
    Simulator sim(1);
    Router router(net.topology);
    auto network = make_network_model(NetworkKind::kAlphaBeta, sim, net.topology, router);
    REQUIRE(network->name() == "alpha_beta");

    Time empty_done = kNever;
    Time local_done = kNever;
    network->start_transfer(net.gpu0, net.gpu1, 0, [&] { empty_done = sim.now(); });
    network->start_transfer(net.gpu1, net.gpu1, 1'000'000, [&] { local_done = sim.now(); });
    // Completion goes through the event queue, never inside start_transfer().
    REQUIRE(local_done == kNever);
    sim.run();
    REQUIRE(local_done == Time{0});
    REQUIRE(empty_done == 700ns + 1us);
    REQUIRE(network->link_stats(net.up).bytes_carried == 0);
    REQUIRE(network->link_stats(net.up).busy_time == Time{0});
    REQUIRE_THROWS_AS(network->start_transfer(net.gpu0, net.gpu1, -1, [] {}), InternalError);
}

TEST_CASE("alpha-beta: concurrent transfers do not slow each other", "[network][alpha_beta]") {
    // Four transfers of S on the same two links at once: each still takes alpha + S/B.
    TwoHop net;
    Simulator sim(1);
    Router router(net.topology);
    AlphaBetaNetwork network(sim, net.topology, router);
    const std::int64_t size_bytes = 10'000'000;
    const Time expected = 1700ns + serialization_time(size_bytes, 50e9);

    std::vector<Time> done(4, kNever);
    for (std::size_t i = 0; i < done.size(); ++i) {
        network.start_transfer(net.gpu0, net.gpu1, size_bytes, [&, i] { done[i] = sim.now(); });
    }
    sim.run();
    for (const Time t : done) {
        REQUIRE(t == expected);
    }
    // All four transmit over the same interval: busy = S/B once, peak = 4.
    const LinkStats& stats = network.link_stats(net.down);
    REQUIRE(stats.peak_concurrent_flows == 4);
    REQUIRE(stats.busy_time == serialization_time(size_bytes, 50e9));
    REQUIRE(stats.bytes_carried == 4 * size_bytes);
}

TEST_CASE("alpha-beta: link busy time is the union of serialization intervals",
          "[network][alpha_beta]") {
    // Transfer X starts at 0 and transmits over [a, a + s) with a = 1.7 us, s = S/B.
    // Transfer Y starts at s/2 and transmits over [a + s/2, a + 3s/2): overlap s/2.
    // Transfer Z starts at 10 s, alone: [10s + a, 10s + a + s).
    // Busy = (3s/2) + s = 5s/2, peak = 2, bytes = 3S on each link of the route.
    TwoHop net;
    Simulator sim(1);
    Router router(net.topology);
    AlphaBetaNetwork network(sim, net.topology, router);
    const std::int64_t size_bytes = 50'000'000;
    const Time s = serialization_time(size_bytes, 50e9);  // 1 ms exactly
    auto start_at = [&](Time when) {
        sim.schedule_at(when, [&] { network.start_transfer(net.gpu0, net.gpu1, size_bytes, {}); });
    };
    start_at(Time{0});
    start_at(s / 2);
    start_at(10 * s);

    sim.run_until(10 * s);  // X and Y done, Z not started
    REQUIRE(network.link_stats(net.down).busy_time == s / 2 + s);
    sim.run_until(10 * s + 1700ns + s / 4);  // Z a quarter of the way: open period counted
    REQUIRE(network.link_stats(net.down).busy_time == s / 2 + s + s / 4);
    sim.run();

    for (const LinkId link : {net.up, net.down}) {
        const LinkStats& stats = network.link_stats(link);
        REQUIRE(stats.bytes_carried == 3 * size_bytes);
        REQUIRE(stats.peak_concurrent_flows == 2);
    }
    // A transfer moves at its route's bottleneck rate, so it occupies every link of the route
    // for the same s, including the 9x faster up link.
    REQUIRE(network.link_stats(net.up).busy_time == s / 2 + 2 * s);
    REQUIRE(network.link_stats(net.down).busy_time == s / 2 + 2 * s);
    // The reverse links carried nothing; unknown ids are rejected.
    const LinkId reverse{net.down.value + 1};
    REQUIRE(network.link_stats(reverse).bytes_carried == 0);
    REQUIRE_THROWS_AS(network.link_stats(LinkId{1000}), InternalError);
}

TEST_CASE("alpha-beta: transfers back to back do not overlap", "[network][alpha_beta]") {
    // X transmits over [a, a + s); Y starts at s, so it transmits over [a + s, a + 2s): the
    // intervals touch but do not overlap (half-open), so peak stays 1 and busy = 2s.
    TwoHop net;
    Simulator sim(1);
    Router router(net.topology);
    AlphaBetaNetwork network(sim, net.topology, router);
    const std::int64_t size_bytes = 1'000'000;
    const Time s = serialization_time(size_bytes, 50e9);
    network.start_transfer(net.gpu0, net.gpu1, size_bytes, {});
    sim.schedule_at(s, [&] { network.start_transfer(net.gpu0, net.gpu1, size_bytes, {}); });
    sim.run();
    REQUIRE(network.link_stats(net.down).peak_concurrent_flows == 1);
    REQUIRE(network.link_stats(net.down).busy_time == 2 * s);
}
