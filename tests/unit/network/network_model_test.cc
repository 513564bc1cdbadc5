// SPDX-License-Identifier: Apache-2.0
// Properties that hold for both network models, where no single formula gives the answer:
//  - metamorphic: doubling every bandwidth halves the beta part (time after the latency
//    phase) of every transfer, when all transfers enter their transmission phase together;
//  - contention only slows down: fair-share time >= alpha-beta time, transfer by transfer;
//  - determinism: equal runs give equal fingerprints.
#include "stepsim/error.h"
#include "stepsim/network.h"
#include "stepsim/random.h"
#include "stepsim/topology.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace stepsim;
using namespace std::chrono_literals;

namespace {

/// "prefix" followed by the number (appended, not prepended: GCC 12 -O3 warns falsely on
/// "literal" + std::string, GCC bug 105329).
std::string numbered(const char* prefix, int number) {
    std::string name(prefix);
    name.append(std::to_string(number));
    return name;
}

// A star: every host hangs off one switch by a duplex link of its own bandwidth, all with the
// same latency, so every route is host -> switch -> host with latency 2 * 500 ns.
//
//        h0   h1   h2
//          \  |  /
//          switch          host links: 5..50 GB/s, drawn per host
//          /  |  \ .
//        h3   h4   h5
struct Star {
    Topology topology;
    std::vector<NodeId> hosts;
    Time route_latency = 2 * 500ns;

    Star(std::uint64_t seed, double bandwidth_factor) {
        RandomStream rng(seed);
        const NodeId hub = topology.add_node("switch", NodeKind::kSwitch, -1, 1);
        for (int h = 0; h < 6; ++h) {
            const NodeId host = topology.add_node(numbered("h", h), NodeKind::kGpu, h);
            const double bandwidth_Bps = 5e9 + 45e9 * rng.uniform();
            topology.add_duplex_link(host, hub, LinkKind::kEthernet, 500ns,
                                     bandwidth_Bps * bandwidth_factor);
            hosts.push_back(host);
        }
    }
};

struct Outcome {
    std::vector<Time> done;
    std::uint64_t fingerprint = 0;
    std::uint64_t events = 0;
};

/// 30 transfers between random host pairs, all started at 0.
Outcome run_star(NetworkKind kind, double bandwidth_factor, std::uint64_t seed) {
    Star star(5, bandwidth_factor);
    Simulator sim(seed);
    Router router(star.topology);
    auto network = make_network_model(kind, sim, star.topology, router);
    RandomStream& rng = sim.rng("plan");
    Outcome outcome;
    outcome.done.assign(30, kNever);
    for (std::size_t i = 0; i < outcome.done.size(); ++i) {
        const std::size_t src = rng.uniform_int(star.hosts.size());
        std::size_t dst = rng.uniform_int(star.hosts.size() - 1);
        dst += dst >= src ? 1 : 0;
        const std::int64_t size_bytes = 1 + std::int64_t(rng.uniform_int(50'000'000));
        network->start_transfer(star.hosts[src], star.hosts[dst], size_bytes,
                                [&, i] { outcome.done[i] = sim.now(); });
    }
    sim.run();
    outcome.fingerprint = sim.fingerprint();
    outcome.events = sim.events_executed();
    return outcome;
}

}  // namespace

TEST_CASE("network: doubling every bandwidth halves the beta part", "[network][metamorphic]") {
    for (const NetworkKind kind : {NetworkKind::kAlphaBeta, NetworkKind::kFairShare}) {
        const Outcome base = run_star(kind, 1.0, 11);
        const Outcome doubled = run_star(kind, 2.0, 11);
        const Time alpha = 2 * 500ns;
        // Alpha-beta: 2 * round(S/2B) vs round(S/B) differ by at most 1.5 ticks -> 1.
        // Fair share: each completion is rounded once per re-sharing it went through; at
        // most one re-sharing per transfer end (30), each <= 0.5 tick, doubled by the scaling.
        const Time tolerance = kind == NetworkKind::kAlphaBeta ? Time{1} : Time{30};
        for (std::size_t i = 0; i < base.done.size(); ++i) {
            const Time beta = base.done[i] - alpha;
            const Time beta_doubled = doubled.done[i] - alpha;
            REQUIRE(beta > Time{0});
            const Time error = 2 * beta_doubled - beta;
            REQUIRE(error <= tolerance);
            REQUIRE(error >= -tolerance);
        }
    }
}

TEST_CASE("network: contention never makes a transfer faster", "[network]") {
    const Outcome free_flow = run_star(NetworkKind::kAlphaBeta, 1.0, 3);
    const Outcome shared = run_star(NetworkKind::kFairShare, 1.0, 3);
    bool is_any_slower = false;
    for (std::size_t i = 0; i < free_flow.done.size(); ++i) {
        // Fair share gives each flow at most its bottleneck bandwidth; rounding <= 30 ticks.
        REQUIRE(shared.done[i] >= free_flow.done[i] - Time{30});
        is_any_slower |= shared.done[i] > free_flow.done[i] + Time{30};
    }
    REQUIRE(is_any_slower);  // 30 flows on 6 hosts do contend
}

TEST_CASE("network: same scenario, same fingerprint", "[network][determinism]") {
    for (const NetworkKind kind : {NetworkKind::kAlphaBeta, NetworkKind::kFairShare}) {
        const Outcome first = run_star(kind, 1.0, 77);
        const Outcome second = run_star(kind, 1.0, 77);
        REQUIRE(first.fingerprint == second.fingerprint);
        REQUIRE(first.events == second.events);
        REQUIRE(first.done == second.done);
    }
}

TEST_CASE("network: a delayed start is a start at now + delay", "[network]") {
    // h0 -> h1 through the switch: latency L = 2 x 500 ns, bottleneck B = the narrower of the
    // two host links. Started with delay d, a transfer of S bytes ends at d + L + S/B, exactly
    // as if start_transfer() were called at d; a local one (h0 -> h0) ends at d. A negative
    // delay is refused.
    const Star star(7, 1.0);
    const std::int64_t size_bytes = 1'000'000;
    const Time delay = 3us;
    for (const NetworkKind kind : {NetworkKind::kAlphaBeta, NetworkKind::kFairShare}) {
        Simulator sim(1);
        Router router(star.topology);
        auto network = make_network_model(kind, sim, star.topology, router);
        const Route& route = router.route(star.hosts[0], star.hosts[1]);
        Time done = kNever;
        Time local_done = kNever;
        network->start_transfer_after(delay, star.hosts[0], star.hosts[1], size_bytes,
                                      [&] { done = sim.now(); });
        network->start_transfer_after(delay, star.hosts[0], star.hosts[0], size_bytes,
                                      [&] { local_done = sim.now(); });
        REQUIRE(network->active_transfers() == 2);
        sim.run();
        INFO(network->name());
        CHECK(done ==
              delay + star.route_latency + serialization_time(size_bytes, route.bottleneck_Bps));
        CHECK(local_done == delay);
        CHECK_THROWS_AS(network->start_transfer_after(Time{-1}, star.hosts[0], star.hosts[1],
                                                      size_bytes, [] {}),
                        InternalError);
    }
}

TEST_CASE("network: a gated start moved later starts then", "[network]") {
    // Transfers started with delay d = 3 µs and a StartGate on `start_at` = d. At 1 µs the
    // caller moves the start to 5 µs and bumps the revision: each starts at 5 µs as if
    // started then (h0 -> h1: 5 µs + L + S/B; zero bytes: 5 µs + L; h0 -> h0: 5 µs). Ones whose
    // `start_at` did not move (h2 -> h3, h2 -> h2) keep their times although the revision
    // changed. No two transmissions share a link.
    const Star star(7, 1.0);
    const std::int64_t size_bytes = 1'000'000;
    const Time delay = 3us;
    const Time moved = 5us;
    for (const NetworkKind kind : {NetworkKind::kAlphaBeta, NetworkKind::kFairShare}) {
        Simulator sim(1);
        Router router(star.topology);
        auto network = make_network_model(kind, sim, star.topology, router);
        const auto serialization = [&](std::size_t a, std::size_t b) {
            return serialization_time(size_bytes,
                                      router.route(star.hosts[a], star.hosts[b]).bottleneck_Bps);
        };
        std::uint64_t revision = 7;
        Time start_at = delay;
        Time kept_at = delay;
        const StartGate gate{&revision, &start_at};
        const StartGate kept{&revision, &kept_at};
        std::vector<Time> done(6, kNever);
        const auto start = [&](std::size_t i, std::size_t src, std::size_t dst, std::int64_t size,
                               StartGate g) {
            network->start_transfer_after(
                delay, star.hosts[src], star.hosts[dst], size,
                [&done, &sim, i] { done[i] = sim.now(); }, 0, g);
        };
        start(0, 0, 1, size_bytes, gate);
        start(1, 0, 1, 0, gate);
        start(2, 0, 0, size_bytes, gate);
        start(3, 2, 3, size_bytes, kept);
        start(4, 2, 3, 0, kept);
        start(5, 2, 2, size_bytes, kept);
        sim.schedule_at(1us, [&] {
            start_at = moved;
            ++revision;
        });
        sim.run();
        INFO(network->name());
        CHECK(done[0] == moved + star.route_latency + serialization(0, 1));
        CHECK(done[1] == moved + star.route_latency);
        CHECK(done[2] == moved);
        CHECK(done[3] == delay + star.route_latency + serialization(2, 3));
        CHECK(done[4] == delay + star.route_latency);
        CHECK(done[5] == delay);
        CHECK(network->active_transfers() == 0);
    }
}
