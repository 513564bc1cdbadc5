// SPDX-License-Identifier: Apache-2.0
// Time conversions: from_seconds rounds to the nearest picosecond, once; the tick meets the
// requirement that a 4 KiB transfer at 450 GB/s (9.102 ns) rounds with relative error < 1e-4.
#include "stepsim/time.h"

#include "stepsim/error.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

using namespace stepsim;

TEST_CASE("from_seconds rounds to the nearest picosecond", "[engine][time]") {
    REQUIRE(from_seconds(1e-12) == Time(1));
    REQUIRE(from_seconds(1.4e-12) == Time(1));
    REQUIRE(from_seconds(1.6e-12) == Time(2));
    REQUIRE(from_seconds(0.5) == Time(500'000'000'000));
    REQUIRE(from_seconds(-2e-12) == Time(-2));
}

TEST_CASE("from_seconds refuses NaN and out-of-range values", "[engine][time]") {
    REQUIRE_THROWS_AS(from_seconds(std::nan("")), InternalError);
    REQUIRE_THROWS_AS(from_seconds(1e8), ResourceLimitError);  // 1e20 ps > 9.2e18
    REQUIRE_THROWS_AS(from_seconds(std::numeric_limits<double>::infinity()), ResourceLimitError);
}

TEST_CASE("a picosecond tick keeps 4 KiB at 450 GB/s within 1e-4", "[engine][time]") {
    const double exact_s = 4096.0 / 450e9;  // 9.1022 ns
    const Time t = serialization_time(4096, 450e9);
    const double error = std::fabs(to_seconds(t) - exact_s) / exact_s;
    REQUIRE(error <= 0.5e-12 / exact_s);  // at most half a tick
    REQUIRE(error < 1e-4);
}

TEST_CASE("serialization_time needs a positive bandwidth", "[engine][time]") {
    REQUIRE_THROWS_AS(serialization_time(10, 0.0), InternalError);
    REQUIRE_THROWS_AS(serialization_time(10, std::nan("")), InternalError);
    REQUIRE(serialization_time(0, 1.0) == Time(0));
}

TEST_CASE("checked_add throws instead of wrapping", "[engine][time]") {
    REQUIRE_THROWS_AS(checked_add(Time::max(), Time(1)), ResourceLimitError);
    REQUIRE(checked_add(Time(1), Time(2)) == Time(3));
}
