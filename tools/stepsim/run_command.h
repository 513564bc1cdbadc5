// SPDX-License-Identifier: Apache-2.0
// File: run_command.h
// The command table and the one mapping from errors to exit statuses (0 ok, 1 internal error,
// 2 bad input), shared by the CLI's main(), the sweep runner (which runs a command per point
// in-process) and the Python module (which runs commands in-process with --json).
#pragma once

#include "command.h"

#include <iosfwd>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stepsim::cli {

/// Every subcommand, in the order `stepsim --help` lists them.
std::span<const Command> commands();

/// The command called `name`, or null.
const Command* find_command(std::string_view name);

/// Runs command `name` with `args` (its flags, without the command name), writing its result
/// to `out` and messages to `err`. Exceptions become exit statuses here and nowhere else:
/// SpecError, UsageError and UnitError 2 (bad input), InternalError and anything else 1; an
/// unknown command 2.
int run_command(std::string_view name,
                const std::vector<std::string>& args,
                std::ostream& out,
                std::ostream& err);

/// What one in-process run produced.
struct CommandOutcome {
    int status = 0;      ///< the exit status the CLI would return
    std::string output;  ///< what the command emitted (its table or JSON)
    std::string error;   ///< what it wrote to stderr, the error message for a failed run
};

/// As above, capturing both streams.
CommandOutcome run_command(std::string_view name, const std::vector<std::string>& args);

}  // namespace stepsim::cli
