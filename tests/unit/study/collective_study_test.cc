// SPDX-License-Identifier: Apache-2.0
// File: collective_study_test.cc
// The collective study. On the α-β network (no contention) a ring all-reduce's simulated time
// is its closed form up to the rounding of each transfer to the picosecond (at most 0.5 ps
// each, so at most one picosecond per transfer of the plan); nccl-tests' bandwidths follow
// from the time: algbw = S / t, busbw = algbw · 2(n−1)/n for all-reduce. A request the
// cluster cannot run is a UserError, and the serializer writes the rows in the order given.
#include "stepsim/collective.h"
#include "stepsim/error.h"
#include "stepsim/json_path.h"
#include "stepsim/results_json.h"
#include "stepsim/spec.h"
#include "stepsim/study/collective.h"
#include "stepsim/topology.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

using namespace stepsim;

namespace {

const std::string kTopology = std::string(STEPSIM_SOURCE_DIR) + "/topologies/dgx-h100-16.textproto";

std::vector<RankId> first_ranks(std::uint32_t n) {
    std::vector<RankId> ranks;
    for (std::uint32_t r = 0; r < n; ++r) {
        ranks.emplace_back(r);
    }
    return ranks;
}

}  // namespace

TEST_CASE("collective study: a ring all-reduce on the alpha-beta network is its closed form",
          "[study][collective]") {
    const Topology topology = load_topology_file(kTopology);
    study::CollectiveStudyOptions options;
    options.request.op = CollectiveOp::kAllReduce;
    options.request.ranks = first_ranks(8);  // one server (NVLink)
    options.request.algorithm = "ring";
    options.sizes_bytes = {std::int64_t{1} << 20, std::int64_t{16} << 20};
    options.network = NetworkKind::kAlphaBeta;
    options.topology_file = "dgx-h100-16";
    const study::CollectiveStudyResult result = study::run_collective_study(topology, options);
    CHECK(result.topology_file == "dgx-h100-16");
    CHECK(result.ranks == 8);
    CHECK(result.algorithm == "ring");
    CHECK(result.network == NetworkKind::kAlphaBeta);
    CHECK(result.channels == 1);
    REQUIRE(result.rows.size() == 2);
    const CollectiveAlgorithm& ring = *find_collective_algorithm("ring");
    for (std::size_t i = 0; i < result.rows.size(); ++i) {
        const study::CollectiveRow& row = result.rows[i];
        INFO("size " << row.size_bytes);
        CHECK(row.size_bytes == options.sizes_bytes[i]);
        CHECK(row.algorithm == "ring");
        CollectiveRequest request = options.request;
        request.size_bytes = row.size_bytes;
        const std::size_t transfers = ring.plan(request, topology, {}).transfer_count();
        CHECK(std::abs(row.time_s - row.analytic_time_s) <= static_cast<double>(transfers) * 1e-12);
        CHECK(row.algbw_Bps == Approx(static_cast<double>(row.size_bytes) / row.time_s));
        CHECK(row.busbw_Bps == Approx(row.algbw_Bps * 2.0 * 7.0 / 8.0));
    }
    // Twice the bytes per rank (16x here) never takes less time.
    CHECK(result.rows[1].time_s > result.rows[0].time_s);

    // The serializer: the rows in order, sizes as given.
    const std::string json = to_json(result);
    CHECK(json_lookup(json, "network").value() == "\"alpha_beta\"");
    CHECK(json_lookup(json, "rows[0].bytes").value() == std::to_string(std::int64_t{1} << 20));
    CHECK(json_lookup(json, "rows[1].bytes").value() == std::to_string(std::int64_t{16} << 20));
}

TEST_CASE("collective study: auto reports the algorithm it picked", "[study][collective]") {
    const Topology topology = load_topology_file(kTopology);
    study::CollectiveStudyOptions options;
    options.request.op = CollectiveOp::kAllGather;
    options.request.ranks = first_ranks(16);
    options.sizes_bytes = {std::int64_t{1} << 20};
    const study::CollectiveStudyResult result = study::run_collective_study(topology, options);
    CHECK(result.algorithm == "auto");
    REQUIRE(result.rows.size() == 1);
    CHECK(find_collective_algorithm(result.rows[0].algorithm) != nullptr);
    CHECK(result.rows[0].time_s > 0);
}

TEST_CASE("collective study: a request the cluster cannot run is a UserError",
          "[study][collective]") {
    const Topology topology = load_topology_file(kTopology);
    study::CollectiveStudyOptions options;
    options.sizes_bytes = {1024};
    options.request.ranks = first_ranks(17);  // the cluster has 16 GPUs
    CHECK_THROWS_AS(study::run_collective_study(topology, options), UserError);

    // Eight GPUs on the first server, one on the second: no hierarchical rings.
    options.request.ranks = first_ranks(9);
    options.request.algorithm = "hierarchical";
    CHECK_THROWS_WITH(study::run_collective_study(topology, options),
                      Catch::Contains("got 8 on the first server and 1 on another"));
    options.request.op = CollectiveOp::kAllToAll;
    options.request.algorithm = "hierarchical_alltoall";
    CHECK_THROWS_WITH(study::run_collective_study(topology, options),
                      Catch::Contains("got 8 on the first server and 1 on another"));
}
