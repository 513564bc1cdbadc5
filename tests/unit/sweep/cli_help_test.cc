// SPDX-License-Identifier: Apache-2.0
// File: cli_help_test.cc
// Every command answers --help (and -h) with status 0 even when its required options are
// missing: help is read before the required options are checked.
#include "run_command.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

TEST_CASE("cli: every command prints its help without its required options", "[cli]") {
    for (const std::string command : {"topology", "collective", "workload", "step", "validate",
                                      "whatif", "checkpoint", "sweep", "search"}) {
        for (const std::string flag : {"--help", "-h"}) {
            INFO(command << ' ' << flag);
            const auto outcome = stepsim::cli::run_command(command, {flag});
            CHECK(outcome.status == 0);
            CHECK(outcome.output.rfind("usage: stepsim " + command, 0) == 0);
        }
    }
}

TEST_CASE("cli: without --help a missing required option is still a usage error", "[cli]") {
    const auto outcome = stepsim::cli::run_command("search", {"--workload", "w.textproto"});
    CHECK(outcome.status == 2);
    CHECK(outcome.error.find("--topology") != std::string::npos);
}
