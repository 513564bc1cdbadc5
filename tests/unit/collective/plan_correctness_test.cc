// SPDX-License-Identifier: Apache-2.0
// Every algorithm's plan, executed symbolically (plan_checker.h), leaves every rank with the
// right reduced / gathered content, for N = 2, 3, 8, 13, 64 and with several chunking and
// channel settings. Plans need no network: these tests only build a topology for the hosts.
#include "stepsim/collective.h"
#include "stepsim/error.h"

#include "plan_checker.h"
#include "test_topologies.h"

#include <catch2/catch.hpp>

using namespace stepsim;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t kGroupSizes[] = {2, 3, 8, 13, 64};

constexpr CollectiveOp kOps[] = {CollectiveOp::kAllReduce, CollectiveOp::kReduceScatter,
                                 CollectiveOp::kAllGather, CollectiveOp::kBroadcast,
                                 CollectiveOp::kReduce,    CollectiveOp::kAllToAll};

/// Chunk sizes summed per segment, in group order.
std::vector<std::int64_t> bytes_per_segment(const CommPlan& plan) {
    std::vector<std::int64_t> sums(plan.group_size(), 0);
    for (std::uint32_t c = 0; c < plan.chunk_count(); ++c) {
        sums[plan.chunk_segment(c)] += plan.chunk_bytes(c);
    }
    return sums;
}

void check_all_ops(const std::string& algorithm,
                   const Topology& topology,
                   const CollectiveOptions& options,
                   std::int64_t size_bytes) {
    const CollectiveAlgorithm* algo = find_collective_algorithm(algorithm);
    REQUIRE(algo != nullptr);
    for (const CollectiveOp op : kOps) {
        CollectiveRequest request{op, testing::all_ranks(topology), size_bytes};
        request.root_index = request.ranks.size() / 2;
        if (!algo->unsupported_reason(request, topology).empty()) {
            continue;
        }
        const CommPlan plan = algo->plan(request, topology, options);
        INFO(algorithm << " " << to_string(op) << " n=" << request.ranks.size()
                       << " chunk=" << options.chunk_bytes << " channels=" << options.channels);
        CHECK(testing::check_plan(plan) == "");
        // The chunks cover the buffer exactly once (all-to-all: once per receiver).
        std::int64_t total = 0;
        for (std::uint32_t c = 0; c < plan.chunk_count(); ++c) {
            total += plan.chunk_bytes(c);
        }
        if (op == CollectiveOp::kAllToAll) {
            // Each of the n ranks sends all but its own block: n·S − S.
            const auto n = static_cast<std::int64_t>(request.ranks.size());
            CHECK(total == size_bytes * (n - 1));
        } else {
            CHECK(total == size_bytes);
        }
        if (op == CollectiveOp::kReduceScatter || op == CollectiveOp::kAllGather) {
            const auto sums = bytes_per_segment(plan);
            for (std::size_t g = 0; g < sums.size(); ++g) {
                const auto n = static_cast<std::int64_t>(sums.size());
                const auto gi = static_cast<std::int64_t>(g);
                CHECK(sums[g] == size_bytes * (gi + 1) / n - size_bytes * gi / n);
            }
        }
    }
}

}  // namespace

TEST_CASE("plans leave every rank with the right content, N = 2, 3, 8, 13, 64",
          "[collective][plan]") {
    const auto algorithm = GENERATE(as<std::string>{}, "ring", "tree", "halving_doubling",
                                    "recursive_doubling", "direct");
    for (const std::uint32_t n : kGroupSizes) {
        const Topology topology = testing::star_topology(n, 100ns, 100e9);
        // Defaults; then small chunks (several per segment) and several channels.
        check_all_ops(algorithm, topology, CollectiveOptions{}, 6'000'000);
        CollectiveOptions chunked;
        chunked.chunk_bytes = 1'000'000 / n + 1;
        chunked.channels = 2;
        check_all_ops(algorithm, topology, chunked, 6'000'000);
    }
}

TEST_CASE("hierarchical plans are right for every server shape", "[collective][plan]") {
    struct Shape {
        std::size_t servers;
        std::size_t per_server;
    };

    for (const Shape shape : {Shape{1, 2}, Shape{2, 1}, Shape{3, 1}, Shape{1, 3}, Shape{2, 4},
                              Shape{1, 13}, Shape{13, 1}, Shape{8, 8}, Shape{4, 16}}) {
        const Topology topology =
            testing::servers_topology(shape.servers, shape.per_server, 100ns, 400e9, 1us, 50e9);
        CollectiveOptions options;
        options.chunk_bytes = 8 << 10;  // several pieces
        INFO(shape.servers << " servers x " << shape.per_server);
        check_all_ops("hierarchical", topology, options, 2'000'000);
        check_all_ops("hierarchical", topology, CollectiveOptions{}, 2'000'000);
    }
}

TEST_CASE("ring all-reduce makes 2(N-1) steps of S/N bytes per rank", "[collective][plan]") {
    // Each of the N ranks sends 2(N−1) times (N−1 reducing, N−1 copying) S/N bytes.
    const std::uint32_t n = 13;
    const std::int64_t size = 13 * 1000;
    const Topology topology = testing::star_topology(n, 100ns, 100e9);
    const CommPlan plan = find_collective_algorithm("ring")->plan(
        {CollectiveOp::kAllReduce, testing::all_ranks(topology), size}, topology, {});
    REQUIRE(plan.transfer_count() == std::size_t{n} * 2 * (n - 1));
    std::vector<int> sends(n, 0);
    std::vector<int> reduces(n, 0);
    for (const PlanTransfer& t : plan.transfers()) {
        CHECK(t.size_bytes == size / n);
        CHECK(t.dst == (t.src + 1) % n);
        ++sends[t.src];
        reduces[t.src] += t.is_reduce ? 1 : 0;
    }
    for (std::uint32_t r = 0; r < n; ++r) {
        CHECK(sends[r] == 2 * (n - 1));
        CHECK(reduces[r] == n - 1);
    }
}

TEST_CASE(
    "double binary tree: depth ceil(log2 N), interior nodes of one tree are leaves of "
    "the other",
    "[collective][plan]") {
    for (const std::uint32_t n : {2u, 3u, 8u, 13u, 64u}) {
        const Topology topology = testing::star_topology(n, 100ns, 100e9);
        CollectiveOptions options;
        options.chunk_bytes = 1 << 30;  // one chunk per tree
        const CommPlan plan = find_collective_algorithm("tree")->plan(
            {CollectiveOp::kAllReduce, testing::all_ranks(topology), 1 << 20}, topology, options);
        // Per tree: n−1 reduce transfers up, n−1 copies down.
        REQUIRE(plan.transfer_count() == 2 * 2 * std::size_t{n - 1});
        // Interior = sends down in that tree.
        std::vector<std::vector<int>> down_sends(2, std::vector<int>(n, 0));
        for (const PlanTransfer& t : plan.transfers()) {
            if (!t.is_reduce) {
                ++down_sends[t.channel][t.src];
            }
        }
        int interior_in_both = 0;
        for (std::uint32_t r = 0; r < n; ++r) {
            CHECK(down_sends[0][r] <= 2);
            interior_in_both += (down_sends[0][r] > 0 && down_sends[1][r] > 0) ? 1 : 0;
        }
        // Mirror (even n) / shift (odd n): at most a couple of ranks are interior in both.
        CHECK(interior_in_both <= 2);
        // Depth: the longest chain of down transfers = longest path from the root.
        std::vector<int> depth(plan.transfer_count(), 0);
        int max_depth = 0;
        for (std::uint32_t t = 0; t < plan.transfer_count(); ++t) {
            if (plan.transfer(t).is_reduce) {
                continue;
            }
            int d = 1;
            for (const std::uint32_t dep : plan.dependencies(t)) {
                if (!plan.transfer(dep).is_reduce) {
                    d = std::max(d, depth[dep] + 1);
                }
            }
            depth[t] = d;
            max_depth = std::max(max_depth, d);
        }
        int expected = 0;
        while ((1u << expected) < n) {
            ++expected;
        }
        CHECK(max_depth == expected);
    }
}

TEST_CASE("algorithms refuse operations and group sizes they do not support",
          "[collective][plan]") {
    const Topology topology = testing::star_topology(6, 100ns, 100e9);
    const CollectiveRequest rs{CollectiveOp::kReduceScatter, testing::all_ranks(topology), 600};
    CHECK_THAT(find_collective_algorithm("halving_doubling")->unsupported_reason(rs, topology),
               Catch::Contains("power-of-two group, got 6 ranks"));
    CHECK_THROWS_AS(find_collective_algorithm("halving_doubling")->plan(rs, topology, {}),
                    UserError);
    const CollectiveRequest a2a{CollectiveOp::kAllToAll, testing::all_ranks(topology), 600};
    CHECK_THAT(find_collective_algorithm("tree")->unsupported_reason(a2a, topology),
               Catch::Contains("tree does not implement alltoall"));
    const Topology uneven = [] {
        Topology t = testing::servers_topology(2, 2, 100ns, 400e9, 1us, 50e9);
        return t;
    }();
    const CollectiveRequest odd{CollectiveOp::kAllReduce, {RankId{0}, RankId{1}, RankId{2}}, 600};
    CHECK_THAT(find_collective_algorithm("hierarchical")->unsupported_reason(odd, uneven),
               Catch::Contains("same number of the group's GPUs on every server"));
}

TEST_CASE("requests with unknown ranks, bad sizes or duplicate ranks are rejected",
          "[collective]") {
    const Topology topology = testing::star_topology(4, 100ns, 100e9);
    CHECK_THROWS_WITH(validate_collective_request(
                          {CollectiveOp::kAllReduce, {RankId{0}, RankId{7}}, 64}, topology),
                      Catch::Contains("unknown GPU rank 7 (the topology has 4 GPUs"));
    CHECK_THROWS_WITH(validate_collective_request(
                          {CollectiveOp::kAllReduce, {RankId{0}, RankId{1}}, 0}, topology),
                      Catch::Contains("size must be positive, got 0 bytes"));
    CHECK_THROWS_WITH(validate_collective_request(
                          {CollectiveOp::kAllReduce, {RankId{0}, RankId{0}}, 64}, topology),
                      Catch::Contains("appears twice"));
    CHECK_THROWS_WITH(
        validate_collective_request(
            {CollectiveOp::kSendRecv, {RankId{0}, RankId{1}, RankId{2}}, 64}, topology),
        Catch::Contains("exactly 2 ranks"));
}

TEST_CASE("the checker catches a broken plan", "[collective][plan]") {
    // Ring all-reduce on 3 ranks with one data dependency missing: rank 1 forwards chunk 0
    // before receiving it, so its payload lacks rank 0's contribution.
    CommPlan plan(CollectiveOp::kAllReduce, 3);
    plan.add_chunk(10, 0, 0);
    plan.add_transfer(0, 1, 0, 1, true, 0, {});
    plan.add_transfer(1, 2, 0, 1, true, 0, {});  // should depend on transfer 0
    plan.add_transfer(2, 0, 0, 1, false, 0, {1});
    plan.add_transfer(0, 1, 0, 1, false, 0, {2});
    CHECK_FALSE(testing::check_plan(plan).empty());
    // Double counting: rank 0 reduces the same contribution into rank 1 twice.
    CommPlan twice(CollectiveOp::kReduce, 2, 1);
    twice.add_chunk(10, 1, 1);
    twice.add_transfer(0, 1, 0, 1, true, 0, {});
    twice.add_transfer(0, 1, 0, 1, true, 0, {0});
    CHECK_THAT(testing::check_plan(twice), Catch::Contains("double-counts"));
}
