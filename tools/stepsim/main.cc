// SPDX-License-Identifier: Apache-2.0
// File: main.cc
// The stepsim command line: subcommands, --help, --version, and the one place that maps
// errors to exit statuses (0 ok, 1 internal error, 2 bad input).
#include "run_command.h"

#include <iostream>
#include <string>
#include <vector>

namespace {

using stepsim::cli::Command;

// The command table lives in run_command.cc (library stepsim_cli, shared with the sweep runner
// and the Python module): add new subcommands there.

void print_help(std::ostream& out) {
    out << "stepsim " << STEPSIM_VERSION
        << ": a discrete-event simulator of LLM-training GPU clusters\n\n"
           "usage: stepsim <command> [options]   (stepsim <command> --help for its options)\n\n"
           "commands:\n";
    for (const Command& command : stepsim::cli::commands()) {
        out << "  " << command.name << std::string(14 - command.name.size(), ' ') << command.summary
            << '\n';
    }
    out << "\noptions:\n  --help      show this help\n  --version   print the version\n"
           "\nexit status: 0 success, 1 internal error, 2 bad input (spec, flags, units)\n";
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        print_help(std::cout);
        return args.empty() ? 2 : 0;
    }
    if (args[0] == "--version") {
        std::cout << "stepsim " << STEPSIM_VERSION << '\n';
        return 0;
    }
    // The exception -> exit status mapping is run_command()'s (run_command.cc).
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    return stepsim::cli::run_command(args[0], rest, std::cout, std::cerr);
}
