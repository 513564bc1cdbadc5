// SPDX-License-Identifier: Apache-2.0
// File: units_test.cc
// The unit parser (sim/spec/units.cc). Expectations:
//   decimal prefixes k M G T P = 1e3 ... 1e15; binary Ki Mi Gi Ti Pi = 2^10 ... 2^50;
//   bandwidth: "xBps" is bytes/s, "xbps" is bits/s = x/8 bytes/s, so 400Gbps = 50GBps = 5e10;
//   time: ps ns us ms s min h d = 1e-12 ... 86400 s; parse_time rounds to the nearest ps;
//   a missing or unknown unit is a UnitError whose message says what was expected.
#include "stepsim/units.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <string>

using namespace stepsim;
using namespace std::chrono_literals;

namespace {

std::string unit_error(const auto& parse, const char* text) {
    try {
        parse(text);
    } catch (const UnitError& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("time units: every suffix, to seconds and to picoseconds", "[spec][units]") {
    CHECK(parse_duration_s("700ps") == Approx(700e-12));
    CHECK(parse_duration_s("700ns") == Approx(700e-9));
    CHECK(parse_duration_s("1.5us") == Approx(1.5e-6));
    CHECK(parse_duration_s("2ms") == Approx(2e-3));
    CHECK(parse_duration_s("3s") == Approx(3.0));
    CHECK(parse_duration_s("2min") == Approx(120.0));
    CHECK(parse_duration_s("1.5h") == Approx(5400.0));
    CHECK(parse_duration_s("2d") == Approx(172800.0));
    CHECK(parse_duration_s("1e3ns") == Approx(1e-6));
    CHECK(parse_duration_s(" 250 ns ") == Approx(250e-9));
    // Integer picoseconds, rounded to nearest: 700 ns = 700'000 ps, 0.4 ps -> 0, 0.6 ps -> 1.
    CHECK(parse_time("700ns") == 700ns);
    CHECK(parse_time("1us") == Time(1'000'000));
    CHECK(parse_time("0.4ps") == Time(0));
    CHECK(parse_time("0.6ps") == Time(1));
}

TEST_CASE("size units: decimal and binary prefixes differ", "[spec][units]") {
    CHECK(parse_size_bytes("1B") == 1);
    CHECK(parse_size_bytes("1kB") == 1000);
    CHECK(parse_size_bytes("1MB") == 1'000'000);
    CHECK(parse_size_bytes("1GB") == 1'000'000'000);
    CHECK(parse_size_bytes("1TB") == 1'000'000'000'000);
    CHECK(parse_size_bytes("1PB") == 1'000'000'000'000'000);
    CHECK(parse_size_bytes("1KiB") == 1024);
    CHECK(parse_size_bytes("1MiB") == 1024 * 1024);
    CHECK(parse_size_bytes("1.5GiB") == 3 * (std::int64_t{1} << 29));
    CHECK(parse_size_bytes("1TiB") == std::int64_t{1} << 40);
    CHECK(parse_size_bytes("1PiB") == std::int64_t{1} << 50);
    // GB and GiB differ by 2^30 / 1e9 = 1.0737...
    CHECK(static_cast<double>(parse_size_bytes("1GiB")) / parse_size_bytes("1GB") ==
          Approx(1.073741824));
}

TEST_CASE("bandwidth units: bytes per second and bits per second", "[spec][units]") {
    CHECK(parse_bandwidth_Bps("450GBps") == Approx(450e9));
    CHECK(parse_bandwidth_Bps("1Bps") == Approx(1.0));
    CHECK(parse_bandwidth_Bps("1kBps") == Approx(1e3));
    CHECK(parse_bandwidth_Bps("1MBps") == Approx(1e6));
    CHECK(parse_bandwidth_Bps("1TBps") == Approx(1e12));
    CHECK(parse_bandwidth_Bps("1PBps") == Approx(1e15));
    CHECK(parse_bandwidth_Bps("1GiBps") == Approx(1073741824.0));
    CHECK(parse_bandwidth_Bps("1KiBps") == Approx(1024.0));
    // Bits: 400 Gb/s NDR = 50 GB/s; 8 bps = 1 Bps.
    CHECK(parse_bandwidth_Bps("400Gbps") == Approx(50e9));
    CHECK(parse_bandwidth_Bps("8bps") == Approx(1.0));
    CHECK(parse_bandwidth_Bps("8kbps") == Approx(1e3));
    CHECK(parse_bandwidth_Bps("8Mbps") == Approx(1e6));
    CHECK(parse_bandwidth_Bps("8Tbps") == Approx(1e12));
    CHECK(parse_bandwidth_Bps("8Pbps") == Approx(1e15));
    CHECK(parse_bandwidth_Bps("400Gbps") * 8 == Approx(parse_bandwidth_Bps("400GBps")));
}

TEST_CASE("work and rate units", "[spec][units]") {
    CHECK(parse_flops("3.2PFLOP") == Approx(3.2e15));
    CHECK(parse_flops("1kFLOP") == Approx(1e3));
    CHECK(parse_flops("1EFLOP") == Approx(1e18));
    CHECK(parse_flops_per_s("989TFLOPS") == Approx(989e12));
    CHECK(parse_flops_per_s("989TFLOP/s") == Approx(989e12));
    CHECK(parse_flops_per_s("1GFLOPS") == Approx(1e9));
}

TEST_CASE("missing and unknown units say what was expected", "[spec][units]") {
    const auto bandwidth = [](const char* s) {
        return parse_bandwidth_Bps(s);
    };
    const auto size = [](const char* s) {
        return parse_size_bytes(s);
    };
    const auto time = [](const char* s) {
        return parse_time(s);
    };

    const std::string missing = unit_error(bandwidth, "450");
    CHECK(missing.find("missing unit in bandwidth \"450\"") != std::string::npos);
    CHECK(missing.find("GBps") != std::string::npos);
    CHECK(missing.find("1Bps = 8bps") != std::string::npos);

    CHECK(unit_error(bandwidth, "450GB") ==
          "unknown unit \"GB\" in bandwidth \"450GB\" (did you mean \"GBps\" or \"Gbps\"?)");
    CHECK(unit_error(size, "1KB").find("did you mean \"kB\"") != std::string::npos);
    CHECK(unit_error(size, "4Gbps").find("that is a bandwidth") != std::string::npos);
    CHECK(unit_error(time, "5 parsecs").find("unknown unit \"parsecs\"") != std::string::npos);
    CHECK(unit_error(time, "fast").find("expected a time such as \"700ns\"") != std::string::npos);
    CHECK(unit_error(time, "").find("expected a time") != std::string::npos);
}

TEST_CASE("non-physical values are rejected", "[spec][units]") {
    const auto bandwidth = [](const char* s) {
        return parse_bandwidth_Bps(s);
    };
    const auto time = [](const char* s) {
        return parse_time(s);
    };
    CHECK(unit_error(bandwidth, "0GBps") == "bandwidth \"0GBps\" must be positive");
    CHECK(unit_error(bandwidth, "-1GBps").find("negative") != std::string::npos);
    CHECK(unit_error(bandwidth, "nanGBps") == "bandwidth \"nanGBps\" is not finite");
    CHECK(unit_error(bandwidth, "infGBps") == "bandwidth \"infGBps\" is not finite");
    CHECK(unit_error(time, "-5ns") == "time \"-5ns\" is negative");
    // int64 picoseconds hold about 106.75 days; 200 days do not fit.
    CHECK(unit_error(time, "200d").find("106 days") != std::string::npos);
}
