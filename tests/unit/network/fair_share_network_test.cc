// SPDX-License-Identifier: Apache-2.0
// FairShareNetwork: a transfer waits its route latency, then its bytes flow at the max-min fair
// rate. Max-min fairness (Bertsekas & Gallager, Data Networks §6.5.2): rates x_f are feasible
// (sum over flows on link l of x_f <= C_l) and no x_f can grow without shrinking some
// x_g <= x_f; equivalently every flow crosses a saturated link on which its rate is the largest.
#include "network/fair_share_network.h"

#include "stepsim/error.h"
#include "stepsim/network.h"
#include "stepsim/random.h"
#include "stepsim/topology.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

using namespace stepsim;
using namespace std::chrono_literals;

namespace {

/// Link capacities indexed by LinkId; each flow a list of LinkIds.
struct SharingProblem {
    std::vector<double> capacity_Bps;
    std::vector<std::vector<LinkId>> flows;
};

/// The textbook water-filling, written independently of the model: raise every unfrozen rate
/// by the same increment until some link saturates, freeze the flows crossing a saturated
/// link, repeat. Quadratic, no heap, no incremental state.
std::vector<double> reference_max_min(const SharingProblem& problem) {
    const std::size_t flow_count = problem.flows.size();
    std::vector<double> rate(flow_count, 0.0);
    std::vector<bool> frozen(flow_count, false);
    std::size_t unfrozen = flow_count;
    while (unfrozen > 0) {
        double increment = std::numeric_limits<double>::infinity();
        for (std::size_t l = 0; l < problem.capacity_Bps.size(); ++l) {
            double load = 0;
            std::size_t active = 0;
            for (std::size_t f = 0; f < flow_count; ++f) {
                for (const LinkId link : problem.flows[f]) {
                    if (link.index() == l) {
                        load += rate[f];
                        active += frozen[f] ? 0 : 1;
                    }
                }
            }
            if (active > 0) {
                increment = std::min(increment, (problem.capacity_Bps[l] - load) / active);
            }
        }
        for (std::size_t f = 0; f < flow_count; ++f) {
            if (!frozen[f]) {
                rate[f] += increment;
            }
        }
        for (std::size_t l = 0; l < problem.capacity_Bps.size(); ++l) {
            double load = 0;
            for (std::size_t f = 0; f < flow_count; ++f) {
                for (const LinkId link : problem.flows[f]) {
                    load += link.index() == l ? rate[f] : 0;
                }
            }
            if (load < problem.capacity_Bps[l] * (1 - 1e-12)) {
                continue;
            }
            for (std::size_t f = 0; f < flow_count; ++f) {
                const auto& links = problem.flows[f];
                const bool crosses = std::any_of(links.begin(), links.end(),
                                                 [&](LinkId link) { return link.index() == l; });
                if (crosses && !frozen[f]) {
                    frozen[f] = true;
                    --unfrozen;
                }
            }
        }
    }
    return rate;
}

/// The definition: feasible, and each flow has a saturated link where it is the largest.
bool is_max_min_fair(const SharingProblem& problem, const std::vector<double>& rate) {
    const double tolerance = 1e-9;
    std::vector<double> load(problem.capacity_Bps.size(), 0.0);
    std::vector<double> largest(problem.capacity_Bps.size(), 0.0);
    for (std::size_t f = 0; f < problem.flows.size(); ++f) {
        for (const LinkId link : problem.flows[f]) {
            load[link.index()] += rate[f];
            largest[link.index()] = std::max(largest[link.index()], rate[f]);
        }
    }
    for (std::size_t l = 0; l < load.size(); ++l) {
        if (load[l] > problem.capacity_Bps[l] * (1 + tolerance)) {
            return false;
        }
    }
    for (std::size_t f = 0; f < problem.flows.size(); ++f) {
        bool has_bottleneck = false;
        for (const LinkId link : problem.flows[f]) {
            const std::size_t l = link.index();
            has_bottleneck |= load[l] >= problem.capacity_Bps[l] * (1 - tolerance) &&
                              rate[f] >= largest[l] * (1 - tolerance);
        }
        if (!has_bottleneck) {
            return false;
        }
    }
    return true;
}

Time abs_diff(Time a, Time b) {
    return a > b ? a - b : b - a;
}

}  // namespace

TEST_CASE("max-min reference: the chain example", "[network][fair_share]") {
    // L1 = 10, L2 = 4; A crosses L1+L2, B crosses L1, C crosses L2.
    // L2 saturates first at 4/2 = 2 (A = C = 2), then L1 gives B the rest: 10 - 2 = 8.
    SharingProblem problem{{10, 4}, {{LinkId{0}, LinkId{1}}, {LinkId{0}}, {LinkId{1}}}};
    const std::vector<double> rate = reference_max_min(problem);
    REQUIRE(rate[0] == Approx(2));
    REQUIRE(rate[1] == Approx(8));
    REQUIRE(rate[2] == Approx(2));
    REQUIRE(is_max_min_fair(problem, rate));
    REQUIRE_FALSE(is_max_min_fair(problem, {2, 7, 2}));  // B could grow: not max-min
    REQUIRE_FALSE(is_max_min_fair(problem, {3, 7, 2}));  // L2 over capacity
}

TEST_CASE("fair share: one transfer alone costs latency + S/B to the tick",
          "[network][fair_share]") {
    //   gpu0 --(700 ns, 450 GB/s)--> nvswitch --(1 us, 50 GB/s)--> gpu1
    Topology topology;
    const NodeId gpu0 = topology.add_node("gpu0", NodeKind::kGpu, 0);
    const NodeId nvswitch = topology.add_node("nvswitch", NodeKind::kNvSwitch, 0);
    const NodeId gpu1 = topology.add_node("gpu1", NodeKind::kGpu, 0);
    topology.add_duplex_link(gpu0, nvswitch, LinkKind::kNvLink, 700ns, 450e9);
    topology.add_duplex_link(nvswitch, gpu1, LinkKind::kNvLink, 1us, 50e9);
    Simulator sim(1);
    Router router(topology);
    auto network = make_network_model(NetworkKind::kFairShare, sim, topology, router);
    REQUIRE(network->name() == "fair_share");

    const std::int64_t size_bytes = 123'456'789;
    const Time expected = 700ns + 1us + serialization_time(size_bytes, 50e9);
    Time done_at = kNever;
    Time empty_done = kNever;
    Time local_done = kNever;
    network->start_transfer(gpu0, gpu1, size_bytes, [&] { done_at = sim.now(); });
    network->start_transfer(gpu1, gpu0, 0, [&] { empty_done = sim.now(); });
    network->start_transfer(gpu0, gpu0, size_bytes, [&] { local_done = sim.now(); });
    REQUIRE(network->active_transfers() == 3);
    REQUIRE(local_done == kNever);  // through the event queue
    sim.run();
    REQUIRE(done_at == expected);
    REQUIRE(empty_done == 1700ns);
    REQUIRE(local_done == Time{0});
    REQUIRE(network->active_transfers() == 0);
    REQUIRE_THROWS_AS(network->start_transfer(gpu0, gpu1, -5, [] {}), InternalError);
}

TEST_CASE("fair share: two flows on one link each get half", "[network][fair_share]") {
    // Both start at 0 and transmit from L; each gets B/2, so both end at L + S/(B/2) = L + 2S/B.
    Topology topology;
    const NodeId a = topology.add_node("a", NodeKind::kGpu, 0);
    const NodeId b = topology.add_node("b", NodeKind::kGpu, 1);
    const LinkId link = topology.add_link(a, b, LinkKind::kInfiniBand, 2us, 50e9);
    Simulator sim(1);
    Router router(topology);
    FairShareNetwork network(sim, topology, router);

    const std::int64_t size_bytes = 7'777'777;
    const Time expected = 2us + serialization_time(2 * size_bytes, 50e9);
    std::vector<Time> done(2, kNever);
    for (std::size_t i = 0; i < done.size(); ++i) {
        network.start_transfer(a, b, size_bytes, [&, i] { done[i] = sim.now(); });
    }
    sim.run_until(2us + 1ns);
    const auto flows = network.transmitting_flows();
    REQUIRE(flows.size() == 2);
    REQUIRE(flows[0].rate_Bps == 25e9);
    REQUIRE(flows[1].rate_Bps == 25e9);
    sim.run();
    // S/(B/2) and 2S/B are the same real number, each rounded once.
    REQUIRE(done[0] == expected);
    REQUIRE(done[1] == expected);

    // Stats: the link carried 2S, was busy for the 2S/B of transmission, with 2 flows at once.
    const LinkStats& stats = network.link_stats(link);
    REQUIRE(stats.bytes_carried == 2 * size_bytes);
    REQUIRE(stats.busy_time == serialization_time(2 * size_bytes, 50e9));
    REQUIRE(stats.peak_concurrent_flows == 2);
}

TEST_CASE("fair share: three flows on a chain get their max-min shares", "[network][fair_share]") {
    //        L1: 10 GB/s, 1 us       L2: 4 GB/s, 1 us
    //   n0 ----------------------> n1 ----------------------> n2
    //   A: n0 -> n2 (L1 + L2)   B: n0 -> n1 (L1)   C: n1 -> n2 (L2)
    // A starts at 0 (latency 2 us), B and C at 1 us (latency 1 us): all transmit from t0 = 2 us.
    //
    // Phase 1 (from t0): L2 is the bottleneck, 4/2: A = C = 2 GB/s; B = 10 - 2 = 8 GB/s.
    //   C (S_C = 2 MB) ends first, at t1 = t0 + S_C/2 GB/s = t0 + 1 ms; A and B sent 2 and 8 MB.
    // Phase 2 (from t1): L2 carries A alone (4), L1 offers 10/2 = 5: A = 4, B = 10 - 4 = 6.
    //   B (S_B = 12 MB) has 4 MB left: t2 = t1 + 4 MB / 6 GB/s = t1 + 2/3 ms.
    // Phase 3 (from t2): A alone, rate min(10, 4) = 4 GB/s.
    //   A (S_A = 10 MB) sent 2 + 4 * 2/3 = 14/3 MB; 16/3 MB left: t3 = t2 + 4/3 ms = t0 + 3 ms.
    Topology topology;
    const NodeId n0 = topology.add_node("n0", NodeKind::kGpu, 0);
    const NodeId n1 = topology.add_node("n1", NodeKind::kSwitch);
    const NodeId n2 = topology.add_node("n2", NodeKind::kGpu, 1);
    const LinkId l1 = topology.add_link(n0, n1, LinkKind::kInfiniBand, 1us, 10e9);
    const LinkId l2 = topology.add_link(n1, n2, LinkKind::kInfiniBand, 1us, 4e9);
    Simulator sim(1);
    Router router(topology);
    FairShareNetwork network(sim, topology, router);

    const double c1 = 10e9, c2 = 4e9;
    const double size_a = 10e6, size_b = 12e6, size_c = 2e6;
    const double t0 = 2e-6;
    const double rate_a1 = c2 / 2, rate_c1 = c2 / 2, rate_b1 = c1 - rate_a1;
    const double t1 = t0 + size_c / rate_c1;
    const double rate_a2 = c2, rate_b2 = c1 - rate_a2;
    const double t2 = t1 + (size_b - rate_b1 * (t1 - t0)) / rate_b2;
    const double left_a = size_a - rate_a1 * (t1 - t0) - rate_a2 * (t2 - t1);
    const double t3 = t2 + left_a / std::min(c1, c2);

    Time done_a = kNever, done_b = kNever, done_c = kNever;
    network.start_transfer(n0, n2, std::int64_t(size_a), [&] { done_a = sim.now(); });
    sim.schedule_at(1us, [&] {
        network.start_transfer(n0, n1, std::int64_t(size_b), [&] { done_b = sim.now(); });
        network.start_transfer(n1, n2, std::int64_t(size_c), [&] { done_c = sim.now(); });
    });

    sim.run_until(from_seconds(t0) + 1us);
    std::vector<FairShareNetwork::FlowState> flows = network.transmitting_flows();
    REQUIRE(flows.size() == 3);  // in id order: A, B, C
    REQUIRE(flows[0].rate_Bps == Approx(rate_a1).epsilon(1e-12));
    REQUIRE(flows[1].rate_Bps == Approx(rate_b1).epsilon(1e-12));
    REQUIRE(flows[2].rate_Bps == Approx(rate_c1).epsilon(1e-12));
    REQUIRE(network.link_stats(l1).peak_concurrent_flows == 2);
    REQUIRE(network.link_stats(l2).peak_concurrent_flows == 2);

    sim.run_until(from_seconds((t1 + t2) / 2));
    flows = network.transmitting_flows();
    REQUIRE(flows.size() == 2);
    REQUIRE(flows[0].rate_Bps == Approx(rate_a2).epsilon(1e-12));
    REQUIRE(flows[1].rate_Bps == Approx(rate_b2).epsilon(1e-12));

    sim.run();
    // Each re-sharing rounds a completion to the nearest tick (<= 0.5 ps) and measures bytes
    // sent over whole ticks: after the two re-sharings A's end is within 2 ticks; allow 3.
    REQUIRE(abs_diff(done_c, from_seconds(t1)) <= Time{1});
    REQUIRE(abs_diff(done_b, from_seconds(t2)) <= Time{3});
    REQUIRE(abs_diff(done_a, from_seconds(t3)) <= Time{3});
    REQUIRE(network.link_stats(l1).bytes_carried == std::int64_t(size_a + size_b));
    REQUIRE(network.link_stats(l2).bytes_carried == std::int64_t(size_a + size_c));
    // L2 transmits from t0 to t3 without a gap: busy 3 ms; L1 as well (A crosses it to the end).
    REQUIRE(abs_diff(network.link_stats(l2).busy_time, from_seconds(t3 - t0)) <= Time{3});
    REQUIRE(abs_diff(network.link_stats(l1).busy_time, from_seconds(t3 - t0)) <= Time{3});
}

TEST_CASE("fair share: a flow starting mid-way halves the other's rate", "[network][fair_share]") {
    // One link, B = 10 GB/s, latency L = 1 us. X (S = 10 MB) starts at 0 and transmits alone
    // from L. Y (S) starts at ty = 0.5 ms and transmits from ty + L, when X has sent
    // B * ty = 5 MB. Both then get B/2: X's 5 MB left take 1 ms, so X ends at ty + L + 1 ms.
    // Y has sent 5 MB by then and finishes alone at B: ty + L + 1 ms + 0.5 ms.
    Topology topology;
    const NodeId a = topology.add_node("a", NodeKind::kGpu, 0);
    const NodeId b = topology.add_node("b", NodeKind::kGpu, 1);
    const LinkId link = topology.add_link(a, b, LinkKind::kInfiniBand, 1us, 10e9);
    Simulator sim(1);
    Router router(topology);
    FairShareNetwork network(sim, topology, router);

    const double bandwidth_Bps = 10e9, latency_s = 1e-6, size_bytes = 10e6, ty = 0.5e-3;
    const double x_left = size_bytes - bandwidth_Bps * ty;
    const double x_end = ty + latency_s + x_left / (bandwidth_Bps / 2);
    const double y_left = size_bytes - (bandwidth_Bps / 2) * (x_end - ty - latency_s);
    const double y_end = x_end + y_left / bandwidth_Bps;

    Time x_done = kNever, y_done = kNever;
    network.start_transfer(a, b, std::int64_t(size_bytes), [&] { x_done = sim.now(); });
    sim.schedule_at(from_seconds(ty), [&] {
        network.start_transfer(a, b, std::int64_t(size_bytes), [&] { y_done = sim.now(); });
    });
    sim.run_until(from_seconds(ty + latency_s) + 1ns);
    const auto flows = network.transmitting_flows();
    REQUIRE(flows.size() == 2);
    // X's remaining bytes were advanced to the rate change: S - B * ty.
    REQUIRE(flows[0].remaining_bytes == Approx(x_left).epsilon(1e-12));
    REQUIRE(flows[0].rate_Bps == 5e9);
    sim.run();
    REQUIRE(abs_diff(x_done, from_seconds(x_end)) <= Time{1});
    REQUIRE(abs_diff(y_done, from_seconds(y_end)) <= Time{2});
    // Busy from L to y_end without a gap; carried 2S; two flows at once.
    const LinkStats& stats = network.link_stats(link);
    REQUIRE(abs_diff(stats.busy_time, from_seconds(2 * size_bytes / bandwidth_Bps)) <= Time{2});
    REQUIRE(stats.bytes_carried == 2 * std::int64_t(size_bytes));
    REQUIRE(stats.peak_concurrent_flows == 2);
}

TEST_CASE("fair share: re-sharing touches only the connected component", "[network][fair_share]") {
    // Two disjoint links P (a -> b) and Q (c -> d). Three flows on P, one on Q: P's three
    // are re-shared together; Q's flow, alone on its link, takes Q's bandwidth without a
    // re-sharing. Starting a second flow on Q re-shares Q's two flows only; P's flows keep
    // their rates and events, so they end exactly as if Q did not exist: at L + 3S/B.
    Topology topology;
    const NodeId a = topology.add_node("a", NodeKind::kGpu, 0);
    const NodeId b = topology.add_node("b", NodeKind::kGpu, 1);
    const NodeId c = topology.add_node("c", NodeKind::kGpu, 2);
    const NodeId d = topology.add_node("d", NodeKind::kGpu, 3);
    topology.add_link(a, b, LinkKind::kInfiniBand, 1us, 50e9);
    topology.add_link(c, d, LinkKind::kInfiniBand, 1us, 25e9);
    Simulator sim(1);
    Router router(topology);
    FairShareNetwork network(sim, topology, router);

    const std::int64_t size_bytes = 3'000'001;
    std::vector<Time> p_done(3, kNever);
    for (std::size_t i = 0; i < p_done.size(); ++i) {
        network.start_transfer(a, b, size_bytes, [&, i] { p_done[i] = sim.now(); });
    }
    network.start_transfer(c, d, size_bytes, {});
    sim.run_until(2us);
    REQUIRE(network.resharing_count() == 1);
    REQUIRE(network.flows_reshared() == 3);

    network.start_transfer(c, d, size_bytes, {});
    sim.run_until(4us);
    REQUIRE(network.resharing_count() == 2);
    REQUIRE(network.flows_reshared() == 3 + 2);
    sim.run();
    for (const Time t : p_done) {
        REQUIRE(t == 1us + serialization_time(3 * size_bytes, 50e9));
    }
}

TEST_CASE("fair share: refresh_link re-shares after a bandwidth change", "[network][fair_share]") {
    // One flow of S on a 10 GB/s link; at time T the link drops to 5 GB/s.
    // Sent by T: 10 GB/s * (T - L); the rest at 5 GB/s.
    Topology topology;
    const NodeId a = topology.add_node("a", NodeKind::kGpu, 0);
    const NodeId b = topology.add_node("b", NodeKind::kGpu, 1);
    const LinkId link = topology.add_link(a, b, LinkKind::kInfiniBand, 1us, 10e9);
    Simulator sim(1);
    Router router(topology);
    FairShareNetwork network(sim, topology, router);
    const double size_bytes = 20e6, change_s = 1.001e-3;
    const double expected_s = change_s + (size_bytes - 10e9 * (change_s - 1e-6)) / 5e9;
    Time done = kNever;
    network.start_transfer(a, b, std::int64_t(size_bytes), [&] { done = sim.now(); });
    sim.schedule_at(from_seconds(change_s), [&] {
        topology.set_link_bandwidth(link, 5e9);
        router.invalidate();
        network.refresh_link(link);
    });
    sim.run();
    REQUIRE(abs_diff(done, from_seconds(expected_s)) <= Time{1});
}

namespace {

/// "prefix" followed by the number (appended, not prepended: GCC 12 -O3 warns falsely on
/// "literal" + std::string, GCC bug 105329).
std::string numbered(const char* prefix, int number) {
    std::string name(prefix);
    name.append(std::to_string(number));
    return name;
}

// A small two-level tree with uneven links, for random scenarios:
//
//            spine (s)
//          /          \          leaf-spine: 40 and 25 GB/s
//       leaf0        leaf1
//      /  |  \      /  |  \      host-leaf: 10, 20, 30 GB/s
//    h0  h1  h2   h3  h4  h5
struct SmallTree {
    Topology topology;
    std::vector<NodeId> hosts;

    SmallTree() {
        const NodeId spine = topology.add_node("spine", NodeKind::kSwitch, -1, 2);
        const double leaf_Bps[] = {40e9, 25e9};
        const double host_Bps[] = {10e9, 20e9, 30e9};
        for (int leaf = 0; leaf < 2; ++leaf) {
            const NodeId leaf_node =
                topology.add_node(numbered("leaf", leaf), NodeKind::kSwitch, -1, 1);
            topology.add_duplex_link(leaf_node, spine, LinkKind::kInfiniBand, 500ns,
                                     leaf_Bps[leaf]);
            for (int h = 0; h < 3; ++h) {
                const NodeId host =
                    topology.add_node(numbered("h", 3 * leaf + h), NodeKind::kGpu, 3 * leaf + h);
                topology.add_duplex_link(host, leaf_node, LinkKind::kInfiniBand, 300ns,
                                         host_Bps[h]);
                hosts.push_back(host);
            }
        }
    }
};

struct PlannedTransfer {
    Time start;
    NodeId src, dst;
    std::int64_t size_bytes;
};

std::vector<PlannedTransfer> random_plan(const SmallTree& tree, std::uint64_t seed, int count) {
    RandomStream rng(seed);
    std::vector<PlannedTransfer> plan;
    for (int i = 0; i < count; ++i) {
        const std::size_t src = rng.uniform_int(tree.hosts.size());
        std::size_t dst = rng.uniform_int(tree.hosts.size() - 1);
        dst += dst >= src ? 1 : 0;
        plan.push_back({from_seconds(rng.uniform() * 200e-6), tree.hosts[src], tree.hosts[dst],
                        std::int64_t(1 + rng.uniform_int(4'000'000))});
    }
    return plan;
}

struct RunResult {
    std::vector<Time> done;
    std::uint64_t fingerprint;
    std::uint64_t resharings;
    std::uint64_t flows_reshared;
    std::uint64_t cross_checks = 0;
    double cross_check_max_relative = 0;
};

/// At a probe: the model's rates must equal the reference max-min of the flows transmitting.
void check_against_reference(const Topology& topology,
                             const FairShareNetwork& network,
                             const std::map<std::uint32_t, std::vector<LinkId>>& route_of) {
    SharingProblem problem;
    for (std::size_t l = 0; l < topology.link_count(); ++l) {
        problem.capacity_Bps.push_back(topology.link(LinkId(l)).bandwidth_Bps);
    }
    std::vector<double> model_rates;
    for (const auto& flow : network.transmitting_flows()) {
        problem.flows.push_back(route_of.at(flow.id.value));
        model_rates.push_back(flow.rate_Bps);
    }
    const std::vector<double> expected = reference_max_min(problem);
    for (std::size_t f = 0; f < expected.size(); ++f) {
        REQUIRE(model_rates[f] == Approx(expected[f]).epsilon(1e-9));
    }
    REQUIRE(is_max_min_fair(problem, model_rates));
}

/// Runs `plan` on a model; if `probe_times` is given, checks at each probe that the model's
/// rates equal the reference max-min of the flows transmitting then.
RunResult run_plan(SmallTree& tree,
                   const std::vector<PlannedTransfer>& plan,
                   bool incremental,
                   const std::vector<Time>& probe_times,
                   int* probes_checked,
                   bool by_level = false,
                   bool cross_checked = false) {
    Simulator sim(99);
    Router router(tree.topology);
    FairShareNetwork network(sim, tree.topology, router, {incremental, by_level, cross_checked});
    RunResult result{std::vector<Time>(plan.size(), kNever), 0, 0, 0};
    std::map<std::uint32_t, std::vector<LinkId>> route_of;  // by transfer id
    for (std::size_t i = 0; i < plan.size(); ++i) {
        sim.schedule_at(plan[i].start, [&, i] {
            const PlannedTransfer& p = plan[i];
            const TransferId id = network.start_transfer(
                p.src, p.dst, p.size_bytes, [&, i] { result.done[i] = sim.now(); }, i);
            route_of[id.value] = router.route(p.src, p.dst, i).links;
        });
    }
    for (const Time probe : probe_times) {
        sim.schedule_at(probe, [&] {
            if (network.has_pending_resharing()) {
                return;  // a start or end at this very tick: rates not yet recomputed
            }
            check_against_reference(tree.topology, network, route_of);
            ++*probes_checked;
        });
    }
    sim.run();
    REQUIRE(network.active_transfers() == 0);
    result.fingerprint = sim.fingerprint();
    result.resharings = network.resharing_count();
    result.flows_reshared = network.flows_reshared();
    result.cross_checks = network.cross_checks();
    result.cross_check_max_relative = network.cross_check_max_relative();
    return result;
}

// A two-level tree of equal links, for symmetric traffic:
//
//        spine0      spine1          every link 50 GB/s per direction,
//          |  \      /  |            each leaf wired to both spines
//        leaf0 ... leaf3
//        / || |    | || |
//      h0..h3    h12..h15
struct EqualTree {
    Topology topology;
    std::vector<NodeId> hosts;

    EqualTree() {
        const NodeId spines[] = {topology.add_node("spine0", NodeKind::kSwitch, -1, 2),
                                 topology.add_node("spine1", NodeKind::kSwitch, -1, 2)};
        for (int leaf = 0; leaf < 4; ++leaf) {
            const NodeId leaf_node =
                topology.add_node(numbered("leaf", leaf), NodeKind::kSwitch, -1, 1);
            for (const NodeId spine : spines) {
                topology.add_duplex_link(leaf_node, spine, LinkKind::kInfiniBand, 1us, 50e9);
            }
            for (int h = 0; h < 4; ++h) {
                const NodeId host =
                    topology.add_node(numbered("h", 4 * leaf + h), NodeKind::kGpu, 4 * leaf + h);
                topology.add_duplex_link(host, leaf_node, LinkKind::kInfiniBand, 500ns, 50e9);
                hosts.push_back(host);
            }
        }
    }
};

/// Pipelined chunks, as a collective's steps: host i sends `chunks` chunks of 1 MB to each of
/// hosts i + 4 and i + 5 (mod 16), the next chunk of a pair starting when the previous one
/// ends, each chunk on its own ECMP label. Equal sizes on equal links: most rates are equal
/// and the two spines' links carry colliding flows. Returns each chunk's end time.
RunResult run_chunks(EqualTree& tree,
                     int chunks,
                     FairShareNetwork::Options options,
                     const std::vector<Time>& probe_times,
                     int* probes_checked) {
    Simulator sim(5);
    Router router(tree.topology);
    FairShareNetwork network(sim, tree.topology, router, options);
    constexpr int kHosts = 16;
    constexpr int kPairs = 2 * kHosts;
    RunResult result{std::vector<Time>(std::size_t(kPairs * chunks), kNever), 0, 0, 0};
    std::map<std::uint32_t, std::vector<LinkId>> route_of;
    std::function<void(int, int)> send = [&](int pair, int chunk) {
        const int src = pair % kHosts;
        const int dst = (src + 4 + pair / kHosts) % kHosts;
        const auto label = std::uint64_t(pair * chunks + chunk);
        const TransferId id = network.start_transfer(
            tree.hosts[std::size_t(src)], tree.hosts[std::size_t(dst)], 1'000'000,
            [&, pair, chunk, label] {
                result.done[label] = sim.now();
                if (chunk + 1 < chunks) {
                    send(pair, chunk + 1);
                }
            },
            label);
        route_of[id.value] =
            router.route(tree.hosts[std::size_t(src)], tree.hosts[std::size_t(dst)], label).links;
    };
    for (int pair = 0; pair < kPairs; ++pair) {
        // Staggered starts, so that chunks end at different ticks.
        sim.schedule_at(Time{pair * 1'000'000}, [&, pair] { send(pair, 0); });
    }
    for (const Time probe : probe_times) {
        sim.schedule_at(probe, [&] {
            if (!network.has_pending_resharing()) {
                check_against_reference(tree.topology, network, route_of);
                ++*probes_checked;
            }
        });
    }
    sim.run();
    REQUIRE(network.active_transfers() == 0);
    result.fingerprint = sim.fingerprint();
    result.resharings = network.resharing_count();
    result.flows_reshared = network.flows_reshared();
    result.cross_checks = network.cross_checks();
    result.cross_check_max_relative = network.cross_check_max_relative();
    return result;
}

}  // namespace

TEST_CASE("fair share: incremental re-sharing matches a full recomputation and the reference",
          "[network][fair_share]") {
    SmallTree tree;
    const std::vector<PlannedTransfer> plan = random_plan(tree, 2024, 60);
    std::vector<Time> probes;
    RandomStream probe_rng(7);
    for (int i = 0; i < 40; ++i) {
        probes.push_back(from_seconds(probe_rng.uniform() * 600e-6));
    }
    int probes_checked = 0;
    const RunResult incremental = run_plan(tree, plan, true, probes, &probes_checked);
    REQUIRE(probes_checked >= 30);
    int unused = 0;
    const RunResult full = run_plan(tree, plan, false, {}, &unused);
    // Both modes compute the same max-min rates up to the last bits of a double; a rate that
    // differs in its last bit reschedules a completion, which moves by at most half a tick per
    // re-sharing. Bound: one tick per re-sharing.
    const Time bound{static_cast<std::int64_t>(incremental.resharings)};
    Router router(tree.topology);
    for (std::size_t i = 0; i < plan.size(); ++i) {
        REQUIRE(incremental.done[i] != kNever);
        REQUIRE(abs_diff(incremental.done[i], full.done[i]) <= bound);
        // No transfer beats its contention-free time alpha + S/B (up to the same rounding).
        const Route& route = router.route(plan[i].src, plan[i].dst, i);
        const Time alone =
            route.latency + serialization_time(plan[i].size_bytes, route.bottleneck_Bps);
        REQUIRE(incremental.done[i] - plan[i].start >= alone - bound);
    }
}

TEST_CASE("fair share: crowded links: only the flows that can move are re-solved, exactly",
          "[network][fair_share]") {
    // 240 transfers in 200 us on the small tree: each host link carries several flows at
    // different rates, so a start or end leaves most rates where they were. The re-sharing
    // re-solves the flows whose rate can move (the search from the change by level, see
    // FairShareNetwork::collect_component) in step with the others. At every probe
    // all rates must still equal the reference max-min of the flows in flight, and the run
    // must match the full recomputation to a tick per re-sharing, as above, while re-solving
    // fewer flows.
    SmallTree tree;
    const std::vector<PlannedTransfer> plan = random_plan(tree, 4242, 240);
    std::vector<Time> probes;
    RandomStream probe_rng(11);
    for (int i = 0; i < 80; ++i) {
        probes.push_back(from_seconds(probe_rng.uniform() * 800e-6));
    }
    int probes_checked = 0;
    const RunResult incremental = run_plan(tree, plan, true, probes, &probes_checked, true);
    REQUIRE(probes_checked >= 60);
    // The default (components of up to 16 flows re-solved whole) is exact as well.
    int probes_checked_default = 0;
    run_plan(tree, plan, true, probes, &probes_checked_default);
    REQUIRE(probes_checked_default >= 60);
    int unused = 0;
    const RunResult full = run_plan(tree, plan, false, {}, &unused);
    const Time bound{static_cast<std::int64_t>(incremental.resharings)};
    for (std::size_t i = 0; i < plan.size(); ++i) {
        REQUIRE(abs_diff(incremental.done[i], full.done[i]) <= bound);
    }
    REQUIRE(incremental.flows_reshared < full.flows_reshared);
}

TEST_CASE("fair share: every re-solved subset matches the refill of its whole component",
          "[network][fair_share]") {
    // Options::is_cross_checked refills the whole connected component at every re-sharing
    // that re-solves a subset of it, and compares every flow's rate: the subset's new rates,
    // the others' kept ones. Both are the max-min allocation; they may differ only by
    // rounding (the refill's rounding depends on the order of its links): 1e-12 relative.
    SmallTree tree;
    const std::vector<PlannedTransfer> plan = random_plan(tree, 4242, 240);
    int unused = 0;
    const RunResult forced = run_plan(tree, plan, true, {}, &unused, true, true);
    REQUIRE(forced.cross_checks > 100);
    REQUIRE(forced.cross_check_max_relative <= 1e-12);
    const RunResult by_default = run_plan(tree, plan, true, {}, &unused, false, true);
    REQUIRE(by_default.cross_checks > 10);
    REQUIRE(by_default.cross_check_max_relative <= 1e-12);
    // The check changes nothing: same events, same end times.
    const RunResult unchecked = run_plan(tree, plan, true, {}, &unused);
    REQUIRE(by_default.fingerprint == unchecked.fingerprint);
    REQUIRE(by_default.done == unchecked.done);
}

TEST_CASE("fair share: symmetric pipelined chunks: re-sharings stay local and exact",
          "[network][fair_share]") {
    // 32 pairs of hosts each send 12 chunks back to back across the spines of a tree of
    // equal links (run_chunks). Most rates are equal, so every full link saturates at that
    // one rate: a search reaching such a link at that rate stops there (its saturation does
    // not move), which keeps each re-sharing to the few flows around the change instead of
    // the whole component. The rates must still be the reference max-min at every probe,
    // match the refill of the whole component (1e-12 relative) at every re-sharing, and the
    // end times the full recomputation's to a tick per re-sharing.
    EqualTree tree;
    constexpr int kChunks = 12;
    std::vector<Time> probes;
    RandomStream probe_rng(3);
    for (int i = 0; i < 60; ++i) {
        probes.push_back(from_seconds(probe_rng.uniform() * 300e-6));
    }
    int probes_checked = 0;
    const RunResult incremental = run_chunks(tree, kChunks, {}, probes, &probes_checked);
    REQUIRE(probes_checked >= 40);
    int unused = 0;
    FairShareNetwork::Options checked;
    checked.is_cross_checked = true;
    const RunResult cross = run_chunks(tree, kChunks, checked, {}, &unused);
    REQUIRE(cross.cross_checks > 100);
    REQUIRE(cross.cross_check_max_relative <= 1e-12);
    REQUIRE(cross.done == incremental.done);
    FairShareNetwork::Options full_options;
    full_options.is_incremental = false;
    const RunResult full = run_chunks(tree, kChunks, full_options, {}, &unused);
    const Time bound{static_cast<std::int64_t>(incremental.resharings)};
    for (std::size_t i = 0; i < full.done.size(); ++i) {
        REQUIRE(incremental.done[i] != kNever);
        REQUIRE(abs_diff(incremental.done[i], full.done[i]) <= bound);
    }
    // Local: far fewer rates re-solved than flows in flight at each re-sharing.
    REQUIRE(incremental.flows_reshared * 3 < full.flows_reshared);
}

TEST_CASE("fair share: a departure from a chain of full links re-solves its two neighbours",
          "[network][fair_share]") {
    //   s0 --L0--> s1 --L1--> s2 --> ... --> s40     every link C = 40 GB/s
    // Flow f_i goes s_i -> s_(i+2), over L_i and L_(i+1): each inner link carries two flows,
    // and max-min gives every flow C/2 (each inner link full, both its flows at its largest
    // rate). f_20 is short and ends first. Its links L_20, L_21 are left with one flow each,
    // but f_19 and f_21 still saturate L_19 and L_22 at C/2 with f_18 and f_22: no rate moves.
    // The search re-solves f_19 and f_21 only (the component is the whole chain): reaching
    // L_19 and L_22 at C/2, the level they saturate at, it stops there.
    Topology topology;
    constexpr int kLinks = 40;
    constexpr double kCapacity_Bps = 40e9;
    std::vector<NodeId> switches;
    for (int i = 0; i <= kLinks; ++i) {
        switches.push_back(topology.add_node(numbered("s", i), NodeKind::kSwitch, -1, 1));
    }
    for (int i = 0; i < kLinks; ++i) {
        topology.add_link(switches[std::size_t(i)], switches[std::size_t(i + 1)],
                          LinkKind::kInfiniBand, 100ns, kCapacity_Bps);
    }
    for (const bool incremental : {true, false}) {
        Simulator sim(1);
        Router router(topology);
        FairShareNetwork network(sim, topology, router, {incremental, false, incremental});
        std::vector<Time> done(kLinks - 1, kNever);
        for (int i = 0; i + 1 < kLinks; ++i) {
            const std::int64_t size_bytes = i == 20 ? 1'000'000 : 100'000'000;
            network.start_transfer(switches[std::size_t(i)], switches[std::size_t(i + 2)],
                                   size_bytes,
                                   [&done, &sim, i] { done[std::size_t(i)] = sim.now(); });
        }
        std::uint64_t reshared_before = 0;
        std::uint64_t checks_before = 0;
        // Every flow starts at 200 ns (two hops of 100 ns); f_20 ends after 1 MB at C/2.
        const Time departure = 200ns + from_seconds(1e6 / (kCapacity_Bps / 2));
        sim.schedule_at(departure - 1ns, [&] {
            for (const auto& flow : network.transmitting_flows()) {
                REQUIRE(flow.rate_Bps == kCapacity_Bps / 2);
            }
            reshared_before = network.flows_reshared();
            checks_before = network.cross_checks();
        });
        sim.schedule_at(departure + 1ns, [&] {
            REQUIRE(done[20] == departure);
            REQUIRE(network.transmitting_flows().size() == kLinks - 2);
            for (const auto& flow : network.transmitting_flows()) {
                REQUIRE(flow.rate_Bps == kCapacity_Bps / 2);
            }
            if (incremental) {
                REQUIRE(network.flows_reshared() - reshared_before == 2);
                REQUIRE(network.cross_checks() == checks_before + 1);
                REQUIRE(network.cross_check_mismatches() == 0);
            } else {
                REQUIRE(network.flows_reshared() - reshared_before == kLinks - 2);
            }
        });
        sim.run();
        for (int i = 0; i + 1 < kLinks; ++i) {
            REQUIRE(done[std::size_t(i)] != kNever);
        }
    }
}

TEST_CASE("fair share: the same scenario twice gives the same fingerprint",
          "[network][fair_share][determinism]") {
    SmallTree tree;
    const std::vector<PlannedTransfer> plan = random_plan(tree, 31, 50);
    int unused = 0;
    const RunResult first = run_plan(tree, plan, true, {}, &unused);
    const RunResult second = run_plan(tree, plan, true, {}, &unused);
    REQUIRE(first.fingerprint == second.fingerprint);
    REQUIRE(first.done == second.done);
    const RunResult other = run_plan(tree, random_plan(tree, 32, 50), true, {}, &unused);
    REQUIRE(other.fingerprint != first.fingerprint);
}
