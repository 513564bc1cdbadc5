// SPDX-License-Identifier: Apache-2.0
// File: fuzz_regression_test.cc
// Replays every input under tests/fuzz/corpus/<target>/ (the seeds and every input that ever
// crashed a fuzz target) through the same driver the libFuzzer target uses, in the normal
// build. The property is the fuzzers' one: no crash, no sanitizer report, no broken output
// invariant; an input either loads or is rejected with SpecError / UnitError (which the
// drivers absorb), so any exception that reaches REQUIRE_NOTHROW is a regression.
#include "fuzz/fuzz_drivers.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

const fs::path kCorpusRoot = fs::path(STEPSIM_SOURCE_DIR) / "tests" / "fuzz" / "corpus";

// The files of one target's corpus, in name order so that failures are reproducible.
std::vector<fs::path> corpus_files(const std::string& target) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::recursive_directory_iterator(kCorpusRoot / target)) {
        if (entry.is_regular_file()) {
            files.push_back(entry.path());
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

template <typename Driver>
void replay(const std::string& target, Driver drive) {
    const std::vector<fs::path> files = corpus_files(target);
    // Every target keeps at least its seeds; an empty folder means the corpus went missing.
    REQUIRE_FALSE(files.empty());
    for (const fs::path& file : files) {
        INFO(file.string());
        const std::string input = stepsim::fuzz::read_text(file);
        REQUIRE_NOTHROW(drive(input));
    }
}

}  // namespace

TEST_CASE("topology corpus loads or is rejected with SpecError", "[fuzz_regression]") {
    replay("topology", [](const std::string& input) { stepsim::fuzz::drive_topology(input); });
}

TEST_CASE("workload corpus loads or is rejected with SpecError", "[fuzz_regression]") {
    replay("workload", [](const std::string& input) { stepsim::fuzz::drive_workload(input); });
}

TEST_CASE("failures corpus loads or is rejected with SpecError", "[fuzz_regression]") {
    replay("failures", [](const std::string& input) { stepsim::fuzz::drive_failures(input); });
}

TEST_CASE("units corpus parses or is rejected with UnitError", "[fuzz_regression]") {
    replay("units", [](const std::string& input) { stepsim::fuzz::drive_units(input); });
}

TEST_CASE("override corpus: each --set applies or is rejected with SpecError",
          "[fuzz_regression]") {
    replay("overrides", [](const std::string& input) {
        stepsim::fuzz::drive_overrides(input, STEPSIM_SOURCE_DIR);
    });
}

TEST_CASE("scenario corpus loads or is rejected with SpecError", "[fuzz_regression]") {
    replay("scenario", [](const std::string& input) {
        stepsim::fuzz::drive_scenario(input, STEPSIM_SOURCE_DIR);
    });
}

TEST_CASE("sweep corpus loads or is rejected with SpecError", "[fuzz_regression]") {
    replay("sweep",
           [](const std::string& input) { stepsim::fuzz::drive_sweep(input, STEPSIM_SOURCE_DIR); });
}

TEST_CASE("trace corpus reads and replays or is rejected with SpecError", "[fuzz_regression]") {
    replay("trace", [](const std::string& input) { stepsim::fuzz::drive_trace(input); });
}

TEST_CASE("chakra corpus decodes and replays or is rejected as bad input", "[fuzz_regression]") {
    replay("chakra", [](const std::string& input) {
        stepsim::fuzz::drive_chakra(input, STEPSIM_SOURCE_DIR);
    });
}

TEST_CASE("kernel-profile corpus loads and times or is rejected with SpecError",
          "[fuzz_regression]") {
    replay("kernel_profile",
           [](const std::string& input) { stepsim::fuzz::drive_kernel_profile(input); });
}
