// SPDX-License-Identifier: Apache-2.0
// File: overrides_fuzz.cc
// libFuzzer target: --set parsing and application (drive_overrides in fuzz_drivers.h) on the
// bundled specs. Run with tools/fuzz.sh overrides.
#include "fuzz_drivers.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    stepsim::fuzz::drive_overrides(std::string_view(reinterpret_cast<const char*>(data), size),
                                   STEPSIM_SOURCE_DIR);
    return 0;
}
