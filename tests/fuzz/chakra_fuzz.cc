// SPDX-License-Identifier: Apache-2.0
// File: chakra_fuzz.cc
// libFuzzer target: drive_chakra (fuzz_drivers.h) on each input, one NPU's Chakra .et stream
// (or, starting with '{', a comm_groups.json). Run with tools/fuzz.sh chakra.
#include "fuzz_drivers.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    stepsim::fuzz::drive_chakra(std::string_view(reinterpret_cast<const char*>(data), size),
                                STEPSIM_SOURCE_DIR);
    return 0;
}
