// SPDX-License-Identifier: Apache-2.0
// File: export_outputs_test.cc
// A Chakra export is a set of files that `replay` reads as PREFIX.0.et up to the first missing
// index: an export over what a larger one left under the same prefix must not leave those
// extra files, or the replay would take them as more NPUs. Each file is written atomically
// (FILE.tmp, then a rename), so none is left behind either.
#include "unit/cli_process.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;

const std::string kSource = STEPSIM_SOURCE_DIR;

}  // namespace

TEST_CASE("a Chakra export removes the files a larger earlier export left", "[robustness]") {
    const fs::path dir =
        fs::temp_directory_path() / ("stepsim_export_outputs_test." + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string prefix = (dir / "tiny").string();
    // tiny-pp is TP2 x PP4 x DP2 = 16 GPUs: NPUs 0..15. Leftovers at 16 and 17.
    for (const int npu : {16, 17}) {
        std::ofstream(prefix + "." + std::to_string(npu) + ".et") << "stale";
    }
    const stepsim::test::CliOutcome outcome = stepsim::test::run_cli_process(
        "step", "--topology " + kSource + "/topologies/dgx-h100-16.textproto --workload " +
                    kSource + "/workloads/tiny-pp.textproto --chakra-out " + prefix);
    INFO(outcome.out);
    REQUIRE(outcome.status == 0);
    for (int npu = 0; npu < 16; ++npu) {
        CHECK(fs::exists(prefix + "." + std::to_string(npu) + ".et"));
    }
    CHECK_FALSE(fs::exists(prefix + ".16.et"));
    CHECK_FALSE(fs::exists(prefix + ".17.et"));
    for (const auto& entry : fs::directory_iterator(dir)) {
        CHECK(entry.path().extension() != ".tmp");
    }
    const stepsim::test::CliOutcome replay = stepsim::test::run_cli_process(
        "replay", "--topology " + kSource + "/topologies/dgx-h100-16.textproto --chakra " + prefix);
    INFO(replay.out);
    CHECK(replay.status == 0);
}
