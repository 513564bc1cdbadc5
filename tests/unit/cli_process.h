// SPDX-License-Identifier: Apache-2.0
// File: cli_process.h
// Runs the stepsim binary (STEPSIM_CLI) in a shell, for the end-to-end CLI tests: its exit
// status and everything it wrote (stdout, then stderr).
#pragma once

#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <sys/wait.h>

namespace stepsim::test {

struct CliOutcome {
    int status = -1;  ///< the exit status, -1 when the process did not exit normally
    std::string out;  ///< stdout then stderr
};

/// `stepsim COMMAND ARGUMENTS 2>&1`.
inline CliOutcome run_cli_process(const std::string& command_name, const std::string& arguments) {
    const std::string command =
        std::string(STEPSIM_CLI) + " " + command_name + " " + arguments + " 2>&1";
    CliOutcome outcome;
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buffer[4096];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) {
        outcome.out.append(buffer, n);
    }
    const int raw = pclose(pipe);
    outcome.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    return outcome;
}

}  // namespace stepsim::test
