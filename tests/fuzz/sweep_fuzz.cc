// SPDX-License-Identifier: Apache-2.0
// File: sweep_fuzz.cc
// libFuzzer target: drive_sweep (fuzz_drivers.h) on each input. Run with tools/fuzz.sh sweep.
#include "fuzz_drivers.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    stepsim::fuzz::drive_sweep(std::string_view(reinterpret_cast<const char*>(data), size),
                               STEPSIM_SOURCE_DIR);
    return 0;
}
