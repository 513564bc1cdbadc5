// SPDX-License-Identifier: Apache-2.0
// The ring's plans generated on demand (sim/collective/ring_lazy_plan.cc) against its stored
// plans (ring_algorithm.cc), which the symbolic checker proves correct
// (plan_correctness_test.cc):
//  - the same DAG: transfer i is the same transfer, with as many dependencies, and the
//    successors of i are the transfers that list i as a dependency, in increasing order; the
//    sources are the transfers without dependencies;
//  - the same times: the executor runs either on a contended max-min network with reductions
//    that overlap on GPUs (so postponements happen) and on the alpha-beta network, and ends at
//    the same picosecond after the same events (the engine's fingerprint hashes every event's
//    time and kind);
//  - memory that follows the transfers in flight: every record is gone when the plan ends.
// Then the record table (transfer_records.h) against std::map.
#include "stepsim/collective.h"
#include "stepsim/error.h"
#include "stepsim/network.h"

#include "collective/transfer_records.h"
#include "test_topologies.h"

#include <catch2/catch.hpp>

#include <map>
#include <random>

using namespace stepsim;
using namespace std::chrono_literals;

namespace {

constexpr CollectiveOp kRingOps[] = {CollectiveOp::kAllReduce, CollectiveOp::kReduceScatter,
                                     CollectiveOp::kAllGather, CollectiveOp::kBroadcast,
                                     CollectiveOp::kReduce};

/// Successors of every transfer of a stored plan: the transfers listing it as a dependency,
/// in increasing order.
std::vector<std::vector<std::uint64_t>> stored_successors(const CommPlan& plan) {
    std::vector<std::vector<std::uint64_t>> successors(plan.transfer_count());
    for (std::uint32_t t = 0; t < plan.transfer_count(); ++t) {
        for (const std::uint32_t d : plan.dependencies(t)) {
            successors[d].push_back(t);
        }
    }
    return successors;
}

bool same_transfer(const PlanTransfer& a, const PlanTransfer& b) {
    return a.src == b.src && a.dst == b.dst && a.chunk_first == b.chunk_first &&
           a.chunk_count == b.chunk_count && a.size_bytes == b.size_bytes &&
           a.channel == b.channel && a.is_reduce == b.is_reduce;
}

/// The generated plan of `request` has the stored plan's transfers and dependencies.
void require_same_dag(const CollectiveRequest& request,
                      const Topology& topology,
                      const CollectiveOptions& options) {
    const CollectiveAlgorithm& ring = *find_collective_algorithm("ring");
    const CommPlan stored = ring.plan(request, topology, options);
    const std::unique_ptr<const LazyPlan> lazy = ring.lazy_plan(request, topology, options);
    REQUIRE(lazy != nullptr);
    CHECK(lazy->op() == stored.op());
    CHECK(lazy->group_size() == stored.group_size());
    CHECK(lazy->root_index() == stored.root_index());
    REQUIRE(lazy->transfer_count() == stored.transfer_count());
    const auto successors = stored_successors(stored);
    std::vector<std::uint64_t> expected_sources;
    std::vector<std::uint64_t> out;
    std::size_t mismatches = 0;
    for (std::uint32_t t = 0; t < stored.transfer_count(); ++t) {
        const bool is_same = same_transfer(lazy->transfer(t), stored.transfer(t)) &&
                             lazy->dependency_count(t) == stored.dependencies(t).size();
        lazy->successors(t, out);
        if (!is_same || out != successors[t]) {
            ++mismatches;
        }
        if (stored.dependencies(t).empty()) {
            expected_sources.push_back(t);
        }
    }
    CHECK(mismatches == 0);
    lazy->sources(out);
    CHECK(out == expected_sources);
}

/// What one run of a plan on a fresh simulator gives.
struct Outcome {
    Time end{0};
    std::uint64_t events = 0;
    std::uint64_t fingerprint = 0;
    std::uint64_t transfers = 0;
    std::size_t peak_live_transfers = 0;
};

/// Runs the ring plan of `request` (generated or stored) twice at once, the second one on the
/// same GPUs 300 ns later, so that reductions of the two overlap on GPUs (and delay each
/// other), on `kind`.
Outcome run_ring(const CollectiveRequest& request,
                 const Topology& topology,
                 const CollectiveOptions& options,
                 NetworkKind kind,
                 bool is_lazy) {
    const CollectiveAlgorithm& ring = *find_collective_algorithm("ring");
    Simulator sim(7);
    Router router(topology);
    auto network = make_network_model(kind, sim, topology, router);
    PlanExecutor executor(sim, topology, *network, 2e-12);
    Time last_end{0};
    int finished = 0;
    const auto start_one = [&] {
        const auto on_done = [&] {
            last_end = sim.now();
            ++finished;
        };
        if (is_lazy) {
            executor.execute(std::shared_ptr<const LazyPlan>(
                                 ring.lazy_plan(request, topology, options).release()),
                             request.ranks, on_done);
        } else {
            executor.execute(
                std::make_shared<const CommPlan>(ring.plan(request, topology, options)),
                request.ranks, on_done);
        }
    };
    start_one();
    sim.schedule_at(300ns, start_one);
    sim.run();
    REQUIRE(finished == 2);
    CHECK(executor.active_plans() == 0);
    return Outcome{last_end, sim.events_executed(), sim.fingerprint(), executor.transfers_started(),
                   executor.peak_live_transfers()};
}

}  // namespace

TEST_CASE("generated ring plans have the stored plans' transfers and dependencies",
          "[collective][plan][lazy]") {
    // Servers of 4 GPUs, so that channels > 0 rotate each server's ring order.
    for (const std::size_t servers : {1u, 2u, 3u}) {
        for (const std::size_t per_server : {1u, 2u, 4u}) {
            const Topology topology =
                testing::servers_topology(servers, per_server, 100ns, 400e9, 1us, 50e9);
            const std::vector<RankId> ranks = testing::all_ranks(topology);
            const auto n = static_cast<std::int64_t>(ranks.size());
            for (const CollectiveOp op : kRingOps) {
                for (const int channels : {1, 2, 3}) {
                    const std::int64_t size = 1'000'003;
                    // Chunk sizes for 1 piece, and for about 2, 3 and 4 pieces per segment
                    // (broadcast / reduce: per channel's part).
                    const bool is_chain =
                        op == CollectiveOp::kBroadcast || op == CollectiveOp::kReduce;
                    const std::int64_t unit = is_chain ? size / channels : size / (n * channels);
                    for (const std::int64_t pieces : {1, 2, 3, 4}) {
                        CollectiveOptions options;
                        options.channels = channels;
                        options.chunk_bytes = pieces == 1 ? 0 : unit / pieces + 1;
                        if (is_chain && pieces == 1) {
                            options.chunk_bytes = size;  // the default is 512 KiB
                        }
                        CollectiveRequest request{op, ranks, size};
                        request.root_index = ranks.size() / 2;
                        INFO(to_string(op)
                             << " n=" << n << " (" << servers << " x " << per_server
                             << ") channels=" << channels << " chunk=" << options.chunk_bytes);
                        require_same_dag(request, topology, options);
                    }
                }
            }
        }
    }
}

TEST_CASE("generated ring plans match the stored ones for pieces beyond 4 GiB",
          "[collective][plan][lazy]") {
    // 3 · 2^32 + 5 bytes on 3 GPUs: segments and chain pieces of more than 2^32 bytes take the
    // 64-bit path of the piece sizes.
    const Topology topology = testing::star_topology(3, 100ns, 100e9);
    for (const CollectiveOp op : kRingOps) {
        for (const std::int64_t chunk_bytes : {std::int64_t{0}, std::int64_t{1} << 30}) {
            CollectiveOptions options;
            options.chunk_bytes = chunk_bytes;
            options.channels = 2;
            const CollectiveRequest request{op, testing::all_ranks(topology),
                                            (std::int64_t{3} << 32) + 5};
            INFO(to_string(op) << " chunk=" << chunk_bytes);
            require_same_dag(request, topology, options);
        }
    }
}

TEST_CASE("generated ring plans run at the stored plans' times, event for event",
          "[collective][plan][lazy]") {
    // 3 servers of 4 GPUs; 50 GB/s uplinks shared by the flows that leave or enter a server
    // (max-min), reductions of 2 ps/B that overlap on GPUs (two runs 300 ns apart, and several
    // channels).
    const Topology topology = testing::servers_topology(3, 4, 200ns, 400e9, 1us, 50e9);
    const std::vector<RankId> ranks = testing::all_ranks(topology);
    for (const NetworkKind kind : {NetworkKind::kFairShare, NetworkKind::kAlphaBeta}) {
        for (const CollectiveOp op : kRingOps) {
            for (const int channels : {1, 3}) {
                for (const std::int64_t chunk_bytes : {std::int64_t{0}, std::int64_t{9'000}}) {
                    CollectiveOptions options;
                    options.channels = channels;
                    options.chunk_bytes = chunk_bytes;
                    CollectiveRequest request{op, ranks, 777'777};
                    request.root_index = 5;
                    INFO(to_string(kind) << " " << to_string(op) << " channels=" << channels
                                         << " chunk=" << chunk_bytes);
                    const Outcome stored = run_ring(request, topology, options, kind, false);
                    const Outcome lazy = run_ring(request, topology, options, kind, true);
                    CHECK(lazy.end == stored.end);
                    CHECK(lazy.events == stored.events);
                    CHECK(lazy.fingerprint == stored.fingerprint);
                    CHECK(lazy.transfers == stored.transfers);
                    CHECK(stored.peak_live_transfers == 0);  // stored plans keep no records
                    // Records exist only for transfers pending or in flight: fewer than
                    // the plan has (two runs of it), and at least one per source.
                    CHECK(lazy.peak_live_transfers < lazy.transfers);
                    CHECK(lazy.peak_live_transfers >= std::size_t(channels));
                }
            }
        }
    }
}

TEST_CASE("the collective executor runs the ring from its generated plan", "[collective][lazy]") {
    // CollectiveExecutor runs the ring's generated plan: the same end and events as the
    // stored plan run by a PlanExecutor. Stored-only algorithms (tree) have no generated plan.
    const Topology topology = testing::star_topology(8, 500ns, 100e9);
    const CollectiveAlgorithm& ring = *find_collective_algorithm("ring");
    const CollectiveAlgorithm& tree = *find_collective_algorithm("tree");
    CHECK(ring.has_lazy_plan());
    CHECK_FALSE(tree.has_lazy_plan());
    CollectiveRequest request{CollectiveOp::kAllReduce, testing::all_ranks(topology), 1 << 20};
    request.algorithm = "ring";
    CHECK(tree.lazy_plan(request, topology, {}) == nullptr);

    Simulator sim(7);
    Router router(topology);
    auto network = make_network_model(NetworkKind::kFairShare, sim, topology, router);
    CollectiveExecutor collectives(sim, topology, *network, CollectiveOptions{});
    Time end{0};
    CHECK(collectives.start(request, [&] { end = sim.now(); }) == "ring");
    sim.run();

    Simulator stored_sim(7);
    Router stored_router(topology);
    auto stored_network =
        make_network_model(NetworkKind::kFairShare, stored_sim, topology, stored_router);
    PlanExecutor stored(stored_sim, topology, *stored_network, reduction_gamma_s_per_byte({}));
    Time stored_end{0};
    stored.execute(std::make_shared<const CommPlan>(ring.plan(request, topology, {})),
                   request.ranks, [&] { stored_end = stored_sim.now(); });
    stored_sim.run();
    CHECK(end > Time{0});
    CHECK(end == stored_end);
    CHECK(sim.events_executed() == stored_sim.events_executed());
    CHECK(sim.fingerprint() == stored_sim.fingerprint());
    // An unsupported op throws from lazy_plan() as from plan().
    CollectiveRequest all_to_all = request;
    all_to_all.op = CollectiveOp::kAllToAll;
    CHECK_THROWS_AS(ring.lazy_plan(all_to_all, topology, {}), UserError);
}

TEST_CASE("transfer records: find, insert and erase agree with std::map", "[collective][lazy]") {
    // Keys from a sliding window (as a ring's live transfers) and from far apart (channels),
    // many colliding in the table; records keep their address while they live.
    collective::TransferRecords<std::uint64_t> records;
    std::map<std::uint64_t, std::uint64_t*> reference;
    std::mt19937_64 random(12345);
    for (int round = 0; round < 200'000; ++round) {
        const std::uint64_t window = static_cast<std::uint64_t>(round) / 8;
        const std::uint64_t key =
            (random() % 4 == 0 ? (random() % 4) << 40 : 0) + window + random() % 600;
        if (random() % 3 != 0) {
            bool is_new = false;
            std::uint64_t& record = records.find_or_insert(key, is_new);
            const auto it = reference.find(key);
            REQUIRE(is_new == (it == reference.end()));
            if (is_new) {
                REQUIRE(record == 0);  // value-initialized
                record = key ^ 0x5555;
                reference.emplace(key, &record);
            } else {
                REQUIRE(&record == it->second);
                REQUIRE(record == (key ^ 0x5555));
            }
        } else if (const auto it = reference.find(key); it != reference.end()) {
            records.erase(key);
            reference.erase(it);
            REQUIRE(records.find(key) == nullptr);
        } else {
            REQUIRE(records.find(key) == nullptr);
        }
        REQUIRE(records.size() == reference.size());
    }
    for (const auto& [key, record] : reference) {
        REQUIRE(records.find(key) == record);
        REQUIRE(*record == (key ^ 0x5555));
    }
}
