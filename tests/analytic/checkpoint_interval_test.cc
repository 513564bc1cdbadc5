// SPDX-License-Identifier: Apache-2.0
// File: checkpoint_interval_test.cc
// Young's and Daly's intervals and Daly's expected wall time against values worked by hand.
//
// Young (1974):   τ = √(2δM).
//   δ = 60 s, M = 3 h = 10800 s: 2δM = 1,296,000 = 360²·10, so τ = 360·√10 s.
// Daly (2006), eq. 37, δ < 2M:  τ = √(2δM)·[1 + ⅓·√(δ/2M) + ⅑·(δ/2M)] − δ.
//   Same inputs: δ/2M = 1/360, √(2δM)·√(δ/2M) = δ = 60, √(2δM)·(δ/2M) = √10, so
//   τ = 360√10 + 60/3 + √10/9 − 60 = 360√10 − 40 + √10/9.
//   δ >= 2M: τ = M.
// Expected wall time (exponential failures): T_w = M·e^{R/M}·(e^{(τ+δ)/M} − 1)·T_s/τ.
//   M = 1 h, R = 0, τ + δ = M·ln 2 makes e^{(τ+δ)/M} − 1 = 1, so T_w = M·T_s/τ.
// Its minimiser solves e^{(τ+δ)/M}(1 − τ/M) = 1, i.e. τ = M·(1 + W₀(−e^{−1−δ/M})).
#include "stepsim/analytic.h"
#include "stepsim/error.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <stdexcept>

using namespace stepsim::analytic;

TEST_CASE("Young's interval is sqrt(2 delta M)", "[analytic][checkpoint]") {
    REQUIRE(young_interval_s(60.0, 10800.0) == Approx(360.0 * std::sqrt(10.0)).epsilon(1e-14));
    // δ = 2 s, M = 4 s: √16 = 4.
    REQUIRE(young_interval_s(2.0, 4.0) == 4.0);
}

TEST_CASE("Daly's eq. 37 interval, worked by hand", "[analytic][checkpoint]") {
    const double expected = 360.0 * std::sqrt(10.0) - 40.0 + std::sqrt(10.0) / 9.0;
    REQUIRE(daly_interval_s(60.0, 10800.0) == Approx(expected).epsilon(1e-14));
    // δ = M/2: δ/2M = 1/4, √(2δM) = M: τ = M(1 + 1/6 + 1/36) − M/2 = M·25/36.
    REQUIRE(daly_interval_s(1800.0, 3600.0) == Approx(3600.0 * 25.0 / 36.0).epsilon(1e-14));
    // δ >= 2M: τ = M.
    REQUIRE(daly_interval_s(10.0, 5.0) == 5.0);
    REQUIRE(daly_interval_s(7200.0, 3600.0) == 3600.0);
}

TEST_CASE("Daly's expected wall time, worked by hand", "[analytic][checkpoint]") {
    const double m = 3600.0;
    const double segment = m * std::log(2.0);  // e^{w/M} − 1 = 1
    const double delta = 300.0;
    const double tau = segment - delta;
    const double work = 100 * tau;
    REQUIRE(daly_expected_wall_time_s(work, tau, delta, 0.0, m) == Approx(m * 100).epsilon(1e-12));
    // A restart R multiplies by e^{R/M}: R = M·ln 3 triples it.
    REQUIRE(daly_expected_wall_time_s(work, tau, delta, m * std::log(3.0), m) ==
            Approx(3 * m * 100).epsilon(1e-12));
    // M → ∞: T_w → T_s·(τ + δ)/τ, the failure-free time.
    REQUIRE(daly_expected_wall_time_s(work, tau, delta, 0.0, 1e12) ==
            Approx(work * (tau + delta) / tau).epsilon(1e-6));
}

TEST_CASE("Lambert W0 at known points", "[analytic][checkpoint]") {
    REQUIRE(lambert_w0(0.0) == 0.0);
    REQUIRE(lambert_w0(std::exp(1.0)) == Approx(1.0).epsilon(1e-15));
    REQUIRE(lambert_w0(1.0) == Approx(0.5671432904097838).epsilon(1e-15));  // omega constant
    REQUIRE(lambert_w0(-std::exp(-1.0)) == Approx(-1.0).margin(1e-7));
    REQUIRE(lambert_w0(2.0 * std::exp(2.0)) == Approx(2.0).epsilon(1e-15));
    REQUIRE(lambert_w0(-0.5 * std::exp(-0.5)) == Approx(-0.5).epsilon(1e-14));
    REQUIRE_THROWS_AS(lambert_w0(-0.5), stepsim::InternalError);
}

TEST_CASE("the exact optimum minimises Daly's wall time", "[analytic][checkpoint]") {
    for (const double d : {1e-4, 1e-2, 0.1, 0.5, 2.0}) {
        const double m = 3600.0;
        const double delta = d * m;
        const double tau = daly_exact_optimal_interval_s(delta, m);
        const double x = tau / m;
        // The optimality condition, and the Lambert-W form of its root.
        REQUIRE(std::exp(x + d) * (1 - x) == Approx(1.0).epsilon(1e-12));
        REQUIRE(tau == Approx(m * (1 + lambert_w0(-std::exp(-1 - d)))).epsilon(1e-6));
        // A minimum: both neighbours are higher.
        const double at = daly_expected_wall_time_s(1e6, tau, delta, 60.0, m);
        REQUIRE(daly_expected_wall_time_s(1e6, tau * 1.001, delta, 60.0, m) > at);
        REQUIRE(daly_expected_wall_time_s(1e6, tau * 0.999, delta, 60.0, m) > at);
    }
    // Small δ/M: τ = √(2δM) − 2δ/3 + O(δ^{3/2}/M^{1/2}), matching Daly's expansion.
    const double m = 1e6;
    const double delta = 1.0;
    REQUIRE(daly_exact_optimal_interval_s(delta, m) ==
            Approx(std::sqrt(2 * delta * m) - 2 * delta / 3).epsilon(1e-5));
}

TEST_CASE("checkpoint formulas reject non-positive inputs", "[analytic][checkpoint]") {
    REQUIRE_THROWS_AS(young_interval_s(0.0, 10.0), stepsim::UserError);
    REQUIRE_THROWS_AS(young_interval_s(1.0, -1.0), stepsim::UserError);
    REQUIRE_THROWS_AS(daly_interval_s(1.0, 0.0), stepsim::UserError);
    REQUIRE_THROWS_AS(daly_expected_wall_time_s(1.0, 0.0, 1.0, 0.0, 1.0), stepsim::UserError);
    REQUIRE_THROWS_AS(daly_expected_wall_time_s(1.0, 1.0, 1.0, -1.0, 1.0), stepsim::UserError);
    REQUIRE_THROWS_AS(daly_exact_optimal_interval_s(1.0, 0.0), stepsim::UserError);
}
