// SPDX-License-Identifier: Apache-2.0
// File: training_closed_forms_test.cc
// The training closed forms against the cases in reference.md §1 and §3a:
//   1F1B/GPipe bubble rate (p−1)/(m+p−1), fraction of ideal (p−1)/m;
//   interleaved (p−1)/(v·m+p−1) and (p−1)/(v·m);
//   ZB-H1 (p−1)(F+B−W) / (m(F+B+W) + (p−1)(F+B−W)) → about a third of 1F1B for F = B = W;
//   Megatron's F_iter with full recompute: 96·B·s·l·h²·(1 + s/(6h) + V/(16·l·h)).
#include "stepsim/analytic.h"
#include "stepsim/error.h"

#include <catch2/catch.hpp>

#include <cmath>

namespace analytic = stepsim::analytic;

TEST_CASE("pipeline bubble formulas reproduce reference.md's worked cases", "[analytic]") {
    // p = 4, m = 8: (p−1)/m = 0.375 and (p−1)/(m+p−1) = 3/11.
    REQUIRE(analytic::one_f_one_b_bubble_fraction_of_ideal(4, 8) == 0.375);
    REQUIRE(analytic::one_f_one_b_bubble_rate(4, 8) == 3.0 / 11.0);
    // p = 4, m = 4 GPipe: 3/7.
    REQUIRE(analytic::one_f_one_b_bubble_rate(4, 4) == 3.0 / 7.0);
    // Interleaving with v = 1 is plain 1F1B; v chunks divide the bubble time by v.
    for (int p : {2, 4, 8}) {
        for (int m : {4, 8, 32}) {
            REQUIRE(analytic::interleaved_bubble_rate(p, m, 1) ==
                    analytic::one_f_one_b_bubble_rate(p, m));
            REQUIRE(
                analytic::interleaved_bubble_fraction_of_ideal(p, m, 3) ==
                Approx(analytic::one_f_one_b_bubble_fraction_of_ideal(p, m) / 3).epsilon(1e-15));
            REQUIRE(analytic::interleaved_bubble_rate(p, m, 2) ==
                    static_cast<double>(p - 1) / (2 * m + p - 1));
        }
    }
    REQUIRE_THROWS_AS(analytic::one_f_one_b_bubble_rate(0, 4), stepsim::UserError);
}

TEST_CASE("ZB-H1's bubble is about a third of 1F1B's when F = B = W", "[analytic]") {
    // With F = B = W = t: bubble (p−1)·t against 3·m·t of work: (p−1)/(3m+p−1).
    for (int p : {2, 4, 8}) {
        for (int m : {8, 64, 1024}) {
            const double zb = analytic::zero_bubble_h1_bubble_rate(p, m, 1.0, 1.0, 1.0);
            REQUIRE(zb == Approx(static_cast<double>(p - 1) / (3 * m + p - 1)).epsilon(1e-15));
            // Ratio to 1F1B: (m+p−1)/(3m+p−1), which tends to 1/3 as m grows.
            const double ratio = zb / analytic::one_f_one_b_bubble_rate(p, m);
            REQUIRE(ratio == Approx(static_cast<double>(m + p - 1) / (3 * m + p - 1)));
            REQUIRE(ratio >= 1.0 / 3.0);
            REQUIRE(ratio <= 1.0 / 3.0 + static_cast<double>(p - 1) / (3.0 * m));
        }
    }
    // W = 0 turns it into 1F1B (B carries the whole backward).
    REQUIRE(analytic::zero_bubble_h1_bubble_rate(4, 8, 1.0, 2.0, 0.0) ==
            Approx(analytic::one_f_one_b_bubble_rate(4, 8)));
}

TEST_CASE("Megatron F_iter reproduces reference.md's derived targets", "[analytic]") {
    // reference.md §3a, "Derived per-iteration targets" (PFLOP, one decimal).
    struct Row {
        double batch, layers, hidden, pflop;
    };

    const Row rows[] = {{512, 24, 2304, 15.5},
                        {1536, 48, 8192, 1021.2},
                        {2520, 105, 20480, 22215.9},
                        {3072, 128, 25600, 51390.5}};
    for (const Row& row : rows) {
        const double flops = analytic::megatron_flops_per_iteration(row.batch, 2048, row.layers,
                                                                    row.hidden, 51200, true);
        REQUIRE(std::round(flops / 1e14) / 10 == row.pflop);
    }
    // Full recompute adds exactly one forward of the layers: 96 − 72 = 24·B·s·l·h²·(1+s/6h).
    const double b = 8, s = 2048, l = 24, h = 2304, v = 51200;
    const double difference = analytic::megatron_flops_per_iteration(b, s, l, h, v, true) -
                              analytic::megatron_flops_per_iteration(b, s, l, h, v, false);
    REQUIRE(difference == Approx(24 * b * s * l * h * h * (1 + s / (6 * h))).epsilon(1e-13));
}

TEST_CASE("6ND and Megatron's parameter formula", "[analytic]") {
    REQUIRE(analytic::six_n_d_flops(7e9, 1e12) == 4.2e22);
    // GPT-3 175B: 12·96·12288²·(1 + 13/(12·12288) + (51200+2048)/(12·96·12288)) = 174.6e9.
    REQUIRE(analytic::megatron_parameter_count(96, 12288, 51200, 2048) ==
            Approx(174.6e9).epsilon(5e-4));
}

TEST_CASE("Korthikanti's activation forms are consistent", "[analytic]") {
    const double s = 2048, b = 1, h = 12288, a = 96;
    // t = 1: both forms are s·b·h·(34 + 5·a·s/h).
    REQUIRE(analytic::korthikanti_activation_bytes(s, b, h, a, 1, false, false, false) ==
            Approx(s * b * h * (34 + 5 * a * s / h)));
    REQUIRE(analytic::korthikanti_activation_bytes(s, b, h, a, 1, true, false, false) ==
            Approx(s * b * h * (34 + 5 * a * s / h)));
    // SP + selective recompute divides everything by t: 34·s·b·h/t.
    REQUIRE(analytic::korthikanti_activation_bytes(s, b, h, a, 8, true, true, false) ==
            Approx(34 * s * b * h / 8));
    REQUIRE(analytic::korthikanti_activation_bytes(s, b, h, a, 8, false, false, true) ==
            2 * s * b * h);
}
