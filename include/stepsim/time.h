// SPDX-License-Identifier: Apache-2.0
// File: time.h
// Simulated time. `Time` is an integer count of picoseconds (std::chrono), used by the
// step-level simulation; `RunTime` is an integer count of nanoseconds, used by the run-level
// failure/checkpoint simulation, whose horizon (a year or more) exceeds int64 picoseconds
// (±106 days). See docs/units.md. `from_seconds()` is the only place a double becomes a time.
#pragma once

#include <chrono>
#include <cstdint>

namespace stepsim {

/// Step-level simulated time: integer picoseconds, range ±106.75 days.
using Time = std::chrono::duration<std::int64_t, std::pico>;

/// Run-level simulated time: integer nanoseconds, range ±292 years.
using RunTime = std::chrono::duration<std::int64_t, std::nano>;

/// "No event": later than any reachable time.
inline constexpr Time kNever = Time::max();

/// Rounds `seconds` to the nearest picosecond. Throws InternalError on NaN and
/// ResourceLimitError when the value does not fit in `Time`.
Time from_seconds(double seconds);

/// Rounds `seconds` to the nearest nanosecond (run-level clock); throws as from_seconds().
RunTime run_time_from_seconds(double seconds);

/// Seconds as a double (for output and for analytic comparisons only).
constexpr double to_seconds(Time t) {
    return static_cast<double>(t.count()) * 1e-12;
}

/// Divides (correctly rounded: 60 s prints as 60, not 60.00000000000001).
constexpr double to_seconds(RunTime t) {
    return static_cast<double>(t.count()) / 1e9;
}

/// Time to push `size_bytes` through a link of `bandwidth_Bps` bytes per second, rounded
/// once to the nearest picosecond. Throws InternalError if bandwidth is not positive.
Time serialization_time(std::int64_t size_bytes, double bandwidth_Bps);

/// a + b, throwing ResourceLimitError instead of wrapping.
Time checked_add(Time a, Time b);

}  // namespace stepsim
