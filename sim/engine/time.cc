// SPDX-License-Identifier: Apache-2.0
// File: time.cc
// The one place where a double becomes a simulated time: round to nearest, reject NaN and
// values out of range.
#include "stepsim/time.h"

#include "stepsim/error.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace stepsim {

namespace {
std::int64_t round_ticks(double ticks, const char* what) {
    if (std::isnan(ticks)) {
        throw InternalError(std::string(what) + ": time is NaN");
    }
    const double rounded = std::nearbyint(ticks);
    // 2^63 is exactly representable; anything at or beyond it does not fit.
    if (!(rounded < 9223372036854775808.0) || !(rounded >= -9223372036854775808.0)) {
        throw ResourceLimitError(std::string(what) + ": time out of range (" +
                                 std::to_string(ticks) + " ticks)");
    }
    return static_cast<std::int64_t>(rounded);
}
}  // namespace

Time from_seconds(double seconds) {
    return Time(round_ticks(seconds * 1e12, "from_seconds"));
}

RunTime run_time_from_seconds(double seconds) {
    return RunTime(round_ticks(seconds * 1e9, "run_time_from_seconds"));
}

Time serialization_time(std::int64_t size_bytes, double bandwidth_Bps) {
    if (!(bandwidth_Bps > 0.0)) {
        throw InternalError("serialization_time: bandwidth must be positive, got " +
                            std::to_string(bandwidth_Bps));
    }
    return from_seconds(static_cast<double>(size_bytes) / bandwidth_Bps);
}

Time checked_add(Time a, Time b) {
    std::int64_t sum;
    if (__builtin_add_overflow(a.count(), b.count(), &sum)) {
        throw ResourceLimitError("simulated time overflows int64 picoseconds (±106 days)");
    }
    return Time(sum);
}

}  // namespace stepsim
