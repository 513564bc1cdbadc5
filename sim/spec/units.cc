// SPDX-License-Identifier: Apache-2.0
// File: units.cc
// The one unit parser. A number (decimal, optional exponent) followed by a unit from a fixed
// table per quantity; anything else is a UnitError naming what was found and what was expected.
#include "stepsim/units.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>

namespace stepsim {

namespace {

struct UnitFactor {
    std::string_view unit;
    double factor;
};

constexpr std::array kTimeUnits = {
    UnitFactor{"ps", 1e-12}, UnitFactor{"ns", 1e-9},  UnitFactor{"us", 1e-6},
    UnitFactor{"µs", 1e-6},  UnitFactor{"ms", 1e-3},  UnitFactor{"s", 1.0},
    UnitFactor{"min", 60.0}, UnitFactor{"h", 3600.0}, UnitFactor{"d", 86400.0},
};

constexpr double kKi = 1024.0;
constexpr std::array kSizeUnits = {
    UnitFactor{"B", 1.0},
    UnitFactor{"kB", 1e3},
    UnitFactor{"MB", 1e6},
    UnitFactor{"GB", 1e9},
    UnitFactor{"TB", 1e12},
    UnitFactor{"PB", 1e15},
    UnitFactor{"KiB", kKi},
    UnitFactor{"MiB", kKi* kKi},
    UnitFactor{"GiB", kKi* kKi* kKi},
    UnitFactor{"TiB", kKi* kKi* kKi* kKi},
    UnitFactor{"PiB", kKi* kKi* kKi* kKi* kKi},
};

constexpr std::array kBandwidthUnits = {
    UnitFactor{"Bps", 1.0},
    UnitFactor{"kBps", 1e3},
    UnitFactor{"MBps", 1e6},
    UnitFactor{"GBps", 1e9},
    UnitFactor{"TBps", 1e12},
    UnitFactor{"PBps", 1e15},
    UnitFactor{"KiBps", kKi},
    UnitFactor{"MiBps", kKi* kKi},
    UnitFactor{"GiBps", kKi* kKi* kKi},
    UnitFactor{"TiBps", kKi* kKi* kKi* kKi},
    UnitFactor{"bps", 1.0 / 8},
    UnitFactor{"kbps", 1e3 / 8},
    UnitFactor{"Mbps", 1e6 / 8},
    UnitFactor{"Gbps", 1e9 / 8},
    UnitFactor{"Tbps", 1e12 / 8},
    UnitFactor{"Pbps", 1e15 / 8},
};

constexpr std::array kFlopUnits = {
    UnitFactor{"FLOP", 1.0},   UnitFactor{"kFLOP", 1e3},  UnitFactor{"MFLOP", 1e6},
    UnitFactor{"GFLOP", 1e9},  UnitFactor{"TFLOP", 1e12}, UnitFactor{"PFLOP", 1e15},
    UnitFactor{"EFLOP", 1e18},
};

constexpr std::array kFlopRateUnits = {
    UnitFactor{"FLOPS", 1.0},    UnitFactor{"kFLOPS", 1e3},  UnitFactor{"MFLOPS", 1e6},
    UnitFactor{"GFLOPS", 1e9},   UnitFactor{"TFLOPS", 1e12}, UnitFactor{"PFLOPS", 1e15},
    UnitFactor{"EFLOPS", 1e18},  UnitFactor{"FLOP/s", 1.0},  UnitFactor{"TFLOP/s", 1e12},
    UnitFactor{"PFLOP/s", 1e15}, UnitFactor{"GFLOP/s", 1e9},
};

std::string quoted(std::string_view s) {
    return "\"" + std::string(s) + "\"";
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

// Splits "450 GBps" into (450, "GBps").
std::pair<double, std::string_view> split_number(std::string_view text, const char* what) {
    const std::string_view s = trim(text);
    double value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || end == s.data()) {
        throw UnitError(std::string("expected a ") + what + " such as " +
                        (std::string_view(what) == "time"        ? "\"700ns\""
                         : std::string_view(what) == "size"      ? "\"1.5GiB\""
                         : std::string_view(what) == "bandwidth" ? "\"450GBps\""
                                                                 : "\"989TFLOPS\"") +
                        ", got " + quoted(text));
    }
    if (!std::isfinite(value)) {
        throw UnitError(std::string(what) + " " + quoted(text) + " is not finite");
    }
    return {value,
            trim(std::string_view(end, static_cast<std::size_t>(s.data() + s.size() - end)))};
}

template <std::size_t N>
std::string unit_list(const std::array<UnitFactor, N>& units) {
    std::string list;
    for (const auto& u : units) {
        if (!list.empty()) {
            list += ' ';
        }
        list += u.unit;
    }
    return list;
}

std::string hint(std::string_view unit, const char* what) {
    const std::string_view w(what);
    if (w == "bandwidth") {
        // "GB" or "Gb" where a rate was meant.
        if (!unit.empty() && (unit.back() == 'B' || unit.back() == 'b')) {
            const std::string stem(unit.substr(0, unit.size() - 1));
            return " (did you mean \"" + stem + "Bps\" or \"" + stem + "bps\"?)";
        }
        return " (append 'Bps' for bytes per second, or 'bps' for bits: 1Bps = 8bps)";
    }
    if (w == "size" && unit == "KB") {
        return " (did you mean \"kB\" (1000 bytes) or \"KiB\" (1024 bytes)?)";
    }
    if (w == "size" && unit.size() >= 3 && unit.substr(unit.size() - 3) == "bps") {
        return " (that is a bandwidth; a size needs a unit such as \"GiB\")";
    }
    return "";
}

template <std::size_t N>
double parse_with(std::string_view text, const std::array<UnitFactor, N>& units, const char* what) {
    const auto [value, unit] = split_number(text, what);
    if (unit.empty()) {
        throw UnitError(std::string("missing unit in ") + what + " " + quoted(text) +
                        " (expected one of: " + unit_list(units) + ")" + hint(unit, what));
    }
    for (const auto& u : units) {
        if (u.unit == unit) {
            const double result = value * u.factor;
            if (!std::isfinite(result)) {
                throw UnitError(std::string(what) + " " + quoted(text) + " is out of range");
            }
            if (result < 0) {
                throw UnitError(std::string(what) + " " + quoted(text) + " is negative");
            }
            return result;
        }
    }
    throw UnitError("unknown unit " + quoted(unit) + " in " + what + " " + quoted(text) +
                    (hint(unit, what).empty() ? " (expected one of: " + unit_list(units) + ")"
                                              : hint(unit, what)));
}

std::string format_scaled(double value, const std::array<UnitFactor, 5>& scale) {
    std::size_t i = 0;
    while (i + 1 < scale.size() && std::fabs(value) >= scale[i + 1].factor) {
        ++i;
    }
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.4g %s", value / scale[i].factor,
                  std::string(scale[i].unit).c_str());
    return buffer;
}

}  // namespace

double parse_duration_s(std::string_view text) {
    return parse_with(text, kTimeUnits, "time");
}

Time parse_time(std::string_view text) {
    const double seconds = parse_duration_s(text);
    if (seconds * 1e12 >= 9.2e18) {
        throw UnitError("time " + quoted(text) +
                        " exceeds the step-level clock's range of 106 days");
    }
    return from_seconds(seconds);
}

std::int64_t parse_size_bytes(std::string_view text) {
    const double bytes = parse_with(text, kSizeUnits, "size");
    if (bytes >= 9.2e18) {
        throw UnitError("size " + quoted(text) + " exceeds the largest size, 8 EiB");
    }
    return static_cast<std::int64_t>(std::llround(bytes));
}

double parse_bandwidth_Bps(std::string_view text) {
    const double rate = parse_with(text, kBandwidthUnits, "bandwidth");
    if (!(rate > 0)) {
        throw UnitError("bandwidth " + quoted(text) + " must be positive");
    }
    return rate;
}

double parse_flops(std::string_view text) {
    return parse_with(text, kFlopUnits, "work");
}

double parse_flops_per_s(std::string_view text) {
    const double rate = parse_with(text, kFlopRateUnits, "rate");
    if (!(rate > 0)) {
        throw UnitError("rate " + quoted(text) + " must be positive");
    }
    return rate;
}

std::string format_size(double bytes) {
    static constexpr std::array<UnitFactor, 5> kScale = {
        UnitFactor{"B", 1.0}, UnitFactor{"KiB", kKi}, UnitFactor{"MiB", kKi * kKi},
        UnitFactor{"GiB", kKi * kKi * kKi}, UnitFactor{"TiB", kKi * kKi * kKi * kKi}};
    return format_scaled(bytes, kScale);
}

std::string format_bandwidth(double bytes_per_s) {
    static constexpr std::array<UnitFactor, 5> kScale = {
        UnitFactor{"B/s", 1.0}, UnitFactor{"kB/s", 1e3}, UnitFactor{"MB/s", 1e6},
        UnitFactor{"GB/s", 1e9}, UnitFactor{"TB/s", 1e12}};
    return format_scaled(bytes_per_s, kScale);
}

std::string format_duration(double seconds) {
    static constexpr std::array<UnitFactor, 5> kScale = {
        UnitFactor{"ns", 1e-9}, UnitFactor{"us", 1e-6}, UnitFactor{"ms", 1e-3},
        UnitFactor{"s", 1.0}, UnitFactor{"h", 3600.0}};
    if (seconds != 0 && std::fabs(seconds) < 1e-9) {
        char buffer[64];
        std::snprintf(buffer, sizeof buffer, "%.4g ps", seconds * 1e12);
        return buffer;
    }
    return format_scaled(seconds, kScale);
}

}  // namespace stepsim
