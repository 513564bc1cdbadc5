// SPDX-License-Identifier: Apache-2.0
// File: parameters_test.cc
// Parameter counts against Megatron's P = 12·l·h²·(1 + 13/(12h) + (V+s)/(12·l·h))
// = 12lh² + 13lh + (V + s)·h, which leaves out the final layer norm (2h): ours counts it.
#include "stepsim/analytic.h"
#include "stepsim/workload.h"

#include "workload_test_models.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>

using stepsim::test::gpt_model;
using stepsim::test::make_job;

TEST_CASE("GPT parameter count is Megatron's formula plus the final layer norm", "[workload]") {
    // Megatron-LM Table 1 (reference.md §3a): hidden, layers, published billions.
    struct Row {
        std::int64_t hidden;
        int layers;
        double published_billions;
    };

    const Row rows[] = {{2304, 24, 1.7},     {3072, 30, 3.6},    {4096, 36, 7.5},
                        {6144, 40, 18.4},    {8192, 48, 39.1},   {10240, 60, 76.1},
                        {12288, 80, 145.6},  {16384, 96, 310.1}, {20480, 105, 529.6},
                        {25600, 128, 1008.0}};
    for (const Row& row : rows) {
        const stepsim::ModelConfig model = gpt_model(row.layers, row.hidden, 32);
        const std::int64_t l = row.layers, h = row.hidden, v = 51200, s = 2048;
        const std::int64_t megatron = 12 * l * h * h + 13 * l * h + (v + s) * h;
        INFO("hidden " << h << " layers " << l);
        REQUIRE(stepsim::parameter_count(model) == megatron + 2 * h);
        // The closed form in doubles (a handful of roundings below 2^53 relative).
        REQUIRE(stepsim::analytic::megatron_parameter_count(l, h, v, s) ==
                Approx(static_cast<double>(megatron)).epsilon(1e-15));
        // And the published column, to its one decimal.
        REQUIRE(std::round(static_cast<double>(megatron) / 1e8) / 10 == row.published_billions);
    }
}

TEST_CASE("stage parameters add up to the model across TP and PP", "[workload]") {
    // Without biases or norms (split evenly), TP shards sum to the whole; every stage's layers
    // sum to l; the tied embedding appears on the first stage and again on the last.
    stepsim::ModelConfig model = stepsim::test::llama_7b_model();
    const int tp = 4, pp = 4;
    const stepsim::TrainingJob job = make_job(model, 64, tp, pp, 4);
    std::int64_t total = 0;
    for (int stage = 0; stage < pp; ++stage) {
        total += stepsim::stage_parameter_count(job, stage);
    }
    // Replicated per TP rank: 2 RMSNorms per layer (2h) and the final norm (h).
    const std::int64_t h = model.hidden;
    const std::int64_t replicated = model.layers * 2 * h + h;
    const std::int64_t sharded = stepsim::parameter_count(model) - replicated;
    REQUIRE(total == sharded / tp + replicated);
    REQUIRE(sharded % tp == 0);
}
