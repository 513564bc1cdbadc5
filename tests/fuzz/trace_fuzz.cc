// SPDX-License-Identifier: Apache-2.0
// File: trace_fuzz.cc
// libFuzzer target: drive_trace (fuzz_drivers.h) on each input. Run with tools/fuzz.sh trace.
#include "fuzz_drivers.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    stepsim::fuzz::drive_trace(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
