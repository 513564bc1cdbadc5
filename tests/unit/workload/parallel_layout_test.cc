// SPDX-License-Identifier: Apache-2.0
// File: parallel_layout_test.cc
// Rank order (innermost dimension first: rank = i0 + n0·(i1 + n1·i2)), micro-batch count
// m = B / (b·dp), and the split of layers into pipeline chunks.
#include "stepsim/workload.h"

#include "workload_test_models.h"

#include <catch2/catch.hpp>

#include <numeric>
#include <set>
#include <vector>

using stepsim::ParallelDim;
using stepsim::ParallelLayout;
using stepsim::RankCoordinates;

TEST_CASE("default rank order puts TP innermost, then DP, then PP", "[workload]") {
    ParallelLayout layout;
    layout.tp = 8;
    layout.dp = 4;
    layout.pp = 2;
    REQUIRE(stepsim::rank_of(layout, {3, 2, 1}) == 3 + 8 * (2 + 4 * 1));
    std::set<int> seen;
    for (int rank = 0; rank < layout.world_size(); ++rank) {
        const RankCoordinates c = stepsim::coordinates_of(layout, rank);
        REQUIRE(stepsim::rank_of(layout, c) == rank);
        seen.insert(rank);
    }
    REQUIRE(seen.size() == 64u);
    layout.order = {ParallelDim::kDp, ParallelDim::kTp, ParallelDim::kCp, ParallelDim::kPp};
    REQUIRE(stepsim::rank_of(layout, {3, 2, 1}) == 2 + 4 * (3 + 8 * 1));
    REQUIRE_THROWS_AS(stepsim::coordinates_of(layout, 64), stepsim::InternalError);
}

TEST_CASE("uneven pipeline splits take layers from the end chunks first", "[workload]") {
    stepsim::ModelConfig model = stepsim::test::gpt_model(126, 1024, 16);
    ParallelLayout layout;
    layout.pp = 16;
    // Llama 3 405B: 126 layers on 16 stages, first and last stage one layer short.
    std::vector<int> layers = stepsim::chunk_layers(model, layout);
    REQUIRE(layers.front() == 7);
    REQUIRE(layers.back() == 7);
    REQUIRE(std::accumulate(layers.begin() + 1, layers.end() - 1, 0) == 14 * 8);
    for (int total : {16, 17, 31, 96, 100}) {
        for (int v : {1, 2, 3}) {
            model.layers = total;
            layout.virtual_stages = v;
            if (total < 16 * v) {
                continue;
            }
            layers = stepsim::chunk_layers(model, layout);
            REQUIRE(layers.size() == static_cast<std::size_t>(16 * v));
            REQUIRE(std::accumulate(layers.begin(), layers.end(), 0) == total);
            const auto [low, high] = std::minmax_element(layers.begin(), layers.end());
            REQUIRE(*high - *low <= 1);
        }
    }
}

TEST_CASE("micro-batches per pipeline are B / (b·dp)", "[workload]") {
    stepsim::TrainingJob job =
        stepsim::test::make_job(stepsim::test::gpt_model(96, 12288, 96), 1536, 8, 16, 8);
    REQUIRE(stepsim::microbatches(job) == 1536 / 8);
    job.training.micro_batch = 2;
    REQUIRE(stepsim::microbatches(job) == 1536 / 16);
    REQUIRE(stepsim::tokens_per_step(job) == 1536 * 2048);
}
