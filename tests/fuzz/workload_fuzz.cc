// SPDX-License-Identifier: Apache-2.0
// File: workload_fuzz.cc
// libFuzzer target: drive_workload (fuzz_drivers.h) on each input. Run with tools/fuzz.sh workload.
#include "fuzz_drivers.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    stepsim::fuzz::drive_workload(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
