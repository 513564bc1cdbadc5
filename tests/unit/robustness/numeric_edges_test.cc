// SPDX-License-Identifier: Apache-2.0
// File: numeric_edges_test.cc
// The extremes a spec may legally hold, end to end: bandwidths from 1 B/s to 10 PB/s,
// latencies from 0 to hours, a one-GPU cluster, one-rank and zero-byte collectives. Each
// gives the closed-form answer or a clear error, never NaN or a negative time.
//
// Math: one transfer of S bytes over one link of latency L and bandwidth B, uncontended,
// takes T = L + S/B (alpha-beta), rounded once to the picosecond: |T_sim - T| <= 0.5 ps.
//   S = 1000 B, B = 1 B/s,   L = 5 h  -> T = 18000 s + 1000 s = 19000 s
//   S = 1 GB,   B = 10 PB/s, L = 1 ps -> T = 1 ps + 1e9 / 1e16 s = 100.001 ns
// A latency of 0 is refused by the topology loader (a hop takes time), with its location.
#include "stepsim/collective.h"
#include "stepsim/error.h"
#include "stepsim/network.h"
#include "stepsim/report.h"
#include "stepsim/simulator.h"
#include "stepsim/spec.h"
#include "stepsim/topology.h"
#include "stepsim/units.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

using namespace stepsim;

namespace {

std::string two_gpus(const std::string& bandwidth, const std::string& latency) {
    return "device { name: \"g0\" kind: GPU host: 0 }\n"
           "device { name: \"g1\" kind: GPU host: 1 }\n"
           "link { name: \"l\" a: \"g0\" b: \"g1\" kind: INFINIBAND bandwidth: \"" +
           bandwidth + "\" latency: \"" + latency + "\" }\n";
}

// Simulated time of one transfer g0 -> g1 on the alpha-beta model.
Time transfer_time(const Topology& topology, std::int64_t size_bytes) {
    Simulator sim(1);
    Router router(topology);
    auto network = make_network_model(NetworkKind::kAlphaBeta, sim, topology, router);
    Time done = Time(-1);
    network->start_transfer(topology.gpu(RankId{0}), topology.gpu(RankId{1}), size_bytes,
                            [&] { done = sim.now(); });
    sim.run();
    return done;
}

}  // namespace

TEST_CASE("units accept the extremes of bandwidth and latency", "[robustness]") {
    CHECK(parse_bandwidth_Bps("1Bps") == 1.0);
    CHECK(parse_bandwidth_Bps("10PBps") == 1e16);
    CHECK(parse_time("0ps") == Time::zero());
    CHECK(parse_time("5h") == Time(std::int64_t{5} * 3600 * 1'000'000'000'000));
    // int64 picoseconds end at 2^63 ps = 106.75 days: 106 d fits, 107 d is refused.
    CHECK(parse_time("106d") == Time(std::int64_t{106} * 86400 * 1'000'000'000'000));
    CHECK_THROWS_WITH(parse_time("107d"), Catch::Contains("exceeds the step-level clock"));
    CHECK_THROWS_AS(parse_bandwidth_Bps("0Bps"), UnitError);
    CHECK_THROWS_AS(parse_time("-1ns"), UnitError);
    CHECK_THROWS_AS(parse_size_bytes("1e300PB"), UnitError);
}

TEST_CASE("a 1 B/s link with a 5 h latency times a transfer exactly", "[robustness]") {
    const Topology topology = load_topology_text(two_gpus("1Bps", "5h"), "slow.textproto");
    const Time expected = from_seconds(5 * 3600.0 + 1000.0 / 1.0);
    CHECK(std::chrono::abs(transfer_time(topology, 1000) - expected) <= Time(1));
}

TEST_CASE("a 10 PB/s link with a 1 ps latency times a transfer exactly", "[robustness]") {
    const Topology topology = load_topology_text(two_gpus("10PBps", "1ps"), "fast.textproto");
    const Time expected = from_seconds(1e-12 + 1e9 / 1e16);
    CHECK(std::chrono::abs(transfer_time(topology, 1'000'000'000) - expected) <= Time(1));
    // One byte at 10 PB/s is 0.1 fs: only the latency is left, never less.
    CHECK(transfer_time(topology, 1) == Time(1));
    CHECK(transfer_time(topology, 0) >= Time::zero());
}

TEST_CASE("a zero link latency is a located error, not a zero-time hop", "[robustness]") {
    CHECK_THROWS_WITH(load_topology_text(two_gpus("10PBps", "0ps"), "zero.textproto"),
                      Catch::Contains("zero.textproto:3:") &&
                          Catch::Contains("latency \"0ps\" must be positive"));
}

TEST_CASE("a one-GPU cluster loads and summarizes without NaN", "[robustness]") {
    const Topology topology =
        load_topology_text("device { name: \"g0\" kind: GPU host: 0 }\n", "one.textproto");
    REQUIRE(topology.gpu_count() == 1);
    Router router(topology);
    const TopologySummary summary = summarize(topology, router);
    for (const auto& [tier, bandwidth_Bps] : summary.injection_Bps_by_tier) {
        INFO(tier);
        CHECK(std::isfinite(bandwidth_Bps));
        CHECK(bandwidth_Bps >= 0);
    }
}

TEST_CASE("a one-rank all-reduce finishes at once; a zero-byte one is refused", "[robustness]") {
    // One rank holds the whole result already: no transfer, no reduction, zero time.
    const Topology topology = load_topology_text(two_gpus("400Gbps", "1us"), "pair.textproto");
    Simulator sim(1);
    Router router(topology);
    auto network = make_network_model(NetworkKind::kAlphaBeta, sim, topology, router);
    CollectiveExecutor executor(sim, topology, *network);
    Time done = Time(-1);
    executor.start(CollectiveRequest{CollectiveOp::kAllReduce, {RankId{0}}, 1 << 20},
                   [&] { done = sim.now(); });
    sim.run();
    CHECK(done == Time::zero());

    CHECK_THROWS_AS(
        executor.start(CollectiveRequest{CollectiveOp::kAllReduce, {RankId{0}, RankId{1}}, 0},
                       [] {}),
        UserError);
}

TEST_CASE("the JSON writer refuses NaN and infinity", "[robustness]") {
    JsonWriter json;
    json.begin_array();
    CHECK_THROWS_AS(json.value(std::numeric_limits<double>::quiet_NaN()), InternalError);
    CHECK_THROWS_AS(json.value(std::numeric_limits<double>::infinity()), InternalError);
}
