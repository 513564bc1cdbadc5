// SPDX-License-Identifier: Apache-2.0
// File: main.cc
// The stepsim command line: subcommands, --help, --version, and the one place that maps
// errors to exit statuses (0 ok, 1 internal error, 2 bad input).
#include <array>
#include <iostream>
#include <string>
#include <vector>

#include "command.h"
#include "stepsim/error.h"
#include "stepsim/units.h"

namespace {

using stepsim::cli::Command;

constexpr std::array kCommands = {
    Command{"topology", "summarize a cluster topology spec", stepsim::cli::topology_command},
    Command{"checkpoint", "sweep the checkpoint interval against failure rates",
            stepsim::cli::checkpoint_command},
    Command{"workload", "check a workload spec and print its FLOPs, costs and memory",
            stepsim::cli::workload_command},
};

void print_help(std::ostream& out) {
    out << "stepsim " << STEPSIM_VERSION
        << ": a discrete-event simulator of LLM-training GPU clusters\n\n"
           "usage: stepsim <command> [options]   (stepsim <command> --help for its options)\n\n"
           "commands:\n";
    for (const Command& command : kCommands) {
        out << "  " << command.name << std::string(14 - command.name.size(), ' ')
            << command.summary << '\n';
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
    const std::string& name = args[0];
    for (const Command& command : kCommands) {
        if (command.name != name) {
            continue;
        }
        stepsim::cli::CommandIo io(std::cout, std::cerr);
        const std::vector<std::string> rest(args.begin() + 1, args.end());
        try {
            return command.run(rest, io);
        } catch (const stepsim::SpecError& e) {
            std::cerr << e.what() << '\n';
            return 2;
        } catch (const stepsim::cli::UsageError& e) {
            std::cerr << "stepsim " << name << ": error: " << e.what() << '\n';
            return 2;
        } catch (const stepsim::UnitError& e) {
            std::cerr << "stepsim " << name << ": error: " << e.what() << '\n';
            return 2;
        } catch (const stepsim::InternalError& e) {
            std::cerr << e.what() << '\n';
            return 1;
        } catch (const std::exception& e) {
            std::cerr << "stepsim " << name << ": error: " << e.what() << '\n';
            return 1;
        }
    }
    std::cerr << "stepsim: error: unknown command \"" << name << "\" (see stepsim --help)\n";
    return 2;
}
