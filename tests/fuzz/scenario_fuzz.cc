// SPDX-License-Identifier: Apache-2.0
// File: scenario_fuzz.cc
// libFuzzer target: drive_scenario (fuzz_drivers.h) on each input, mutated as a
// Scenario message by the structure-aware mutator (spec_mutator.h). Run with tools/fuzz.sh
// scenario.
#include "fuzz_drivers.h"
#include "spec_mutator.h"
#include "workloads/scenario.pb.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    stepsim::fuzz::drive_scenario(std::string_view(reinterpret_cast<const char*>(data), size),
                                  STEPSIM_SOURCE_DIR);
    return 0;
}

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data,
                                               std::size_t size,
                                               std::size_t max_size,
                                               unsigned int seed) {
    return stepsim::fuzz::mutate_text_spec<stepsim::spec::Scenario>(data, size, max_size, seed);
}
