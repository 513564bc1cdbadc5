// SPDX-License-Identifier: Apache-2.0
// File: units.h
// Quantities with mandatory units, as written in specs and on the command line:
//   time       "700ns"  ps ns us ms s min h d
//   size       "1.5GiB" B kB MB GB TB PB (decimal), KiB MiB GiB TiB PiB (binary)
//   bandwidth  "450GBps", "400Gbps"  Bps kBps ... PBps, KiBps ... (bytes/s); bps kbps ... Pbps
//              (bits/s, divided by 8)
//   work       "3.2PFLOP"  FLOP kFLOP ... EFLOP
//   rate       "989TFLOPS" FLOPS kFLOPS ... EFLOPS (also "FLOP/s")
// Prefixes are decimal unless they say "i". A missing or unknown unit is an error whose
// message says what was expected. The result is in SI base units (s, bytes, bytes/s, flop).
#pragma once

#include "stepsim/error.h"
#include "stepsim/time.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace stepsim {

/// A quantity string that does not parse; what() is a lower-case message such as
/// `unknown unit "GB" in "450GB" (did you mean "GBps" or "Gbps"?)`.
class UnitError : public UserError {
public:
    using UserError::UserError;
};

/// Seconds; rejects negative values.
double parse_duration_s(std::string_view text);
/// As parse_duration_s, rounded to the nearest picosecond.
Time parse_time(std::string_view text);
/// Bytes, rounded to the nearest byte; rejects negative values.
std::int64_t parse_size_bytes(std::string_view text);
/// Bytes per second; must be positive and finite.
double parse_bandwidth_Bps(std::string_view text);
/// Floating-point operations; rejects negative values.
double parse_flops(std::string_view text);
/// Floating-point operations per second; must be positive.
double parse_flops_per_s(std::string_view text);

/// Human-readable forms for tables: "1.5 GiB", "450 GB/s", "12.3 us".
std::string format_size(double bytes);
std::string format_bandwidth(double bytes_per_s);
std::string format_duration(double seconds);

}  // namespace stepsim
