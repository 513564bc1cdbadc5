// SPDX-License-Identifier: Apache-2.0
// All-to-all plans (direct, pairwise, hierarchical_alltoall), uniform and with per-pair
// volumes: the symbolic checker proves every block ends at its receiver; the volumes carried
// are what the pair matrix says; pairwise takes n−1 steps with one flow in and out per GPU;
// hierarchical sends each remote byte once over the inter-server fabric.
#include "stepsim/collective.h"

#include "plan_checker.h"
#include "test_topologies.h"

#include <catch2/catch.hpp>

using namespace stepsim;
using namespace std::chrono_literals;

namespace {

/// A deterministic skew: member i sends (1 + (i·7 + j·3) mod 5)·1000 bytes to j.
std::vector<std::int64_t> skewed_pairs(std::size_t n) {
    std::vector<std::int64_t> pairs(n * n, 0);
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < n; ++j) {
            pairs[i * n + j] =
                i == j ? 0 : static_cast<std::int64_t>(1 + (i * 7 + j * 3) % 5) * 1000;
        }
    }
    return pairs;
}

/// Bytes the plan's transfers carry between servers (hosts differ).
std::int64_t inter_server_bytes(const CommPlan& plan,
                                const CollectiveRequest& request,
                                const Topology& topology) {
    std::int64_t total = 0;
    for (const PlanTransfer& t : plan.transfers()) {
        if (topology.node(topology.gpu(request.ranks[t.src])).host !=
            topology.node(topology.gpu(request.ranks[t.dst])).host) {
            total += t.size_bytes;
        }
    }
    return total;
}

}  // namespace

TEST_CASE("all-to-all plans deliver every block, uniform and skewed", "[collective][plan]") {
    const auto algorithm =
        GENERATE(as<std::string>{}, "direct", "pairwise", "hierarchical_alltoall");
    for (const auto& [servers, per_server] :
         {std::pair<std::size_t, std::size_t>{1, 2}, {1, 5}, {2, 4}, {4, 4}, {3, 1}, {8, 8}}) {
        const Topology topology =
            testing::servers_topology(servers, per_server, 100ns, 400e9, 1us, 50e9);
        const auto ranks = testing::all_ranks(topology);
        const std::size_t n = ranks.size();
        for (const bool skewed : {false, true}) {
            CollectiveRequest request{CollectiveOp::kAllToAll, ranks, 6'000'000};
            request.algorithm = algorithm;
            if (skewed) {
                request.pair_bytes = skewed_pairs(n);
            }
            const CollectiveAlgorithm* algo = find_collective_algorithm(algorithm);
            REQUIRE(algo != nullptr);
            REQUIRE(algo->unsupported_reason(request, topology).empty());
            const CommPlan plan = algo->plan(request, topology, {});
            INFO(algorithm << " n=" << n << " skewed=" << skewed);
            CHECK(testing::check_plan(plan) == "");
            // Each chunk is one (sender, receiver) block of the requested size.
            for (std::uint32_t c = 0; c < plan.chunk_count(); ++c) {
                CHECK(plan.chunk_bytes(c) ==
                      request.bytes_between(plan.chunk_source(c), plan.chunk_segment(c)));
            }
            CHECK(plan.chunk_count() == n * (n - 1));
            // Bytes that must cross servers: sum over pairs on different servers.
            std::int64_t remote = 0;
            for (std::size_t i = 0; i < n; ++i) {
                for (std::size_t j = 0; j < n; ++j) {
                    if (topology.node(topology.gpu(ranks[i])).host !=
                        topology.node(topology.gpu(ranks[j])).host) {
                        remote += request.bytes_between(i, j);
                    }
                }
            }
            CHECK(inter_server_bytes(plan, request, topology) == remote);
        }
    }
}

TEST_CASE("pairwise all-to-all: n-1 steps, one flow in and one out per member and step",
          "[collective][plan]") {
    // n = 6: 5 steps of 6 transfers; in step s member i sends to (i + s) mod 6.
    const Topology topology = testing::star_topology(6, 100ns, 100e9);
    const CollectiveRequest request{CollectiveOp::kAllToAll, testing::all_ranks(topology), 6000};
    const CommPlan plan = find_collective_algorithm("pairwise")->plan(request, topology, {});
    REQUIRE(plan.transfer_count() == 30);
    for (std::uint32_t t = 0; t < 30; ++t) {
        const std::uint32_t step = t / 6 + 1;
        const std::uint32_t i = t % 6;
        CHECK(plan.transfer(t).src == i);
        CHECK(plan.transfer(t).dst == (i + step) % 6);
        CHECK(plan.transfer(t).size_bytes == 1000);
        CHECK(plan.dependencies(t).size() == (step == 1 ? 0u : 4u));
    }
}

TEST_CASE("hierarchical all-to-all: each GPU has ranks_per_node-1 intra and nodes-1 remote peers",
          "[collective][plan]") {
    // 4 servers × 4 GPUs, 16 MB per GPU = 1 MB per pair. Phase 1: 3 messages of 4 MB each
    // (one per local peer, covering all 4 servers); phase 2: 3 remote servers × 4 sources of
    // 1 MB, each waiting for the sender's 3 phase-1 receives.
    const Topology topology = testing::servers_topology(4, 4, 100ns, 400e9, 1us, 50e9);
    const CollectiveRequest request{CollectiveOp::kAllToAll, testing::all_ranks(topology),
                                    16'000'000};
    const CommPlan plan =
        find_collective_algorithm("hierarchical_alltoall")->plan(request, topology, {});
    std::size_t intra = 0;
    std::size_t inter = 0;
    for (std::uint32_t t = 0; t < plan.transfer_count(); ++t) {
        const PlanTransfer& transfer = plan.transfer(t);
        if (transfer.src / 4 == transfer.dst / 4) {
            ++intra;
            CHECK(transfer.size_bytes == 4'000'000);
            CHECK(plan.dependencies(t).empty());
        } else {
            ++inter;
            CHECK(transfer.src % 4 == transfer.dst % 4);  // same rail
            CHECK(transfer.size_bytes == 1'000'000);
            CHECK(plan.dependencies(t).size() == 3);
        }
    }
    CHECK(intra == 16 * 3);
    CHECK(inter == 16 * 3 * 4);
}

TEST_CASE("per-pair volumes are checked", "[collective]") {
    const Topology topology = testing::star_topology(3, 100ns, 100e9);
    CollectiveRequest request{CollectiveOp::kAllToAll, testing::all_ranks(topology), 1};
    request.pair_bytes = {0, 1, 2, 3, 0};
    CHECK_THROWS_WITH(validate_collective_request(request, topology),
                      Catch::Contains("need 9 entries for 3 ranks, got 5"));
    request.pair_bytes = {0, 1, 2, 3, 0, -5, 1, 1, 0};
    CHECK_THROWS_WITH(validate_collective_request(request, topology),
                      Catch::Contains("must be >= 0, got -5 bytes"));
    request.op = CollectiveOp::kAllGather;
    request.pair_bytes = {0, 1, 2, 3, 0, 5, 1, 1, 0};
    CHECK_THROWS_WITH(validate_collective_request(request, topology),
                      Catch::Contains("for alltoall only"));
    CHECK(find_collective_algorithm("pairwise")->unsupported_reason(request, topology) ==
          "pairwise does not implement allgather");
}
