// SPDX-License-Identifier: Apache-2.0
// File: command.h
// What every subcommand shares: its I/O (stdout or an atomically written --output file),
// the common options (--json, --output, --set) and usage errors. Only tools/ picks exit codes:
// 0 success, 1 internal error, 2 bad input (spec, flags, units).
#pragma once

#include "stepsim/spec.h"

#include <boost/program_options.hpp>

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace stepsim {
namespace study {
struct CheckpointStudyResult;
}  // namespace study
enum class StepFidelity : std::uint8_t;
enum class NetworkKind : std::uint8_t;
}  // namespace stepsim

namespace stepsim::cli {

/// A bad flag or argument: printed as "stepsim <command>: error: <message>", exit status 2.
class UsageError : public UserError {
public:
    using UserError::UserError;
};

class CommandIo {
public:
    CommandIo(std::ostream& out, std::ostream& err)
        : out_(out)
        , err_(err) {}

    /// Writes the command's result: to --output atomically when given, else to stdout.
    void emit(std::string_view text);

    std::ostream& err() { return err_; }

    void set_output(std::optional<std::filesystem::path> path) { output_ = std::move(path); }

private:
    std::ostream& out_;
    std::ostream& err_;
    std::optional<std::filesystem::path> output_;
};

/// Options every command takes: --json, --output FILE, --set FIELD=VALUE (repeatable), --help.
struct CommonOptions {
    bool json = false;
    std::vector<std::string> set;
    std::optional<std::string> output;
    bool help = false;

    std::vector<SpecOverride> overrides() const;
};

/// Adds the common options to `description`, bound to `common`.
void add_common_options(boost::program_options::options_description& description,
                        CommonOptions& common);

/// Parses `args` against `description` (and positional names, in order). Unknown options or
/// bad values raise UsageError. Applies --output to `io`. Returns false when --help was given
/// (the help text has then been written to stdout).
bool parse_command_line(const std::vector<std::string>& args,
                        const boost::program_options::options_description& description,
                        const std::vector<std::string>& positional,
                        CommonOptions& common,
                        CommandIo& io,
                        std::string_view usage);

/// --fidelity: "fast" or "full"; anything else raises UsageError.
StepFidelity parse_fidelity_flag(const std::string& text);

/// --network: "fair_share" or "alpha_beta" (also "fairshare", "alphabeta"); anything else
/// raises UsageError.
NetworkKind parse_network_flag(const std::string& text);

/// Moves the overrides whose field path starts with `prefix` (e.g. "topology.") out of
/// `overrides` and returns them, in order, with the prefix removed; the rest stay in order.
std::vector<SpecOverride> take_prefixed_overrides(std::vector<SpecOverride>& overrides,
                                                  std::string_view prefix);

/// Moves the overrides meant for the topology out of `overrides` (the rest are the
/// workload's): those prefixed "topology." (prefix removed), and those whose path is not a
/// workload field but is a topology field ("instance[0].count"). A path that is both, or
/// neither, stays with the workload (whose loader reports an unknown one).
std::vector<SpecOverride> take_topology_overrides(std::vector<SpecOverride>& overrides);

using CommandFunction = int (*)(const std::vector<std::string>& args, CommandIo& io);

struct Command {
    std::string_view name;
    std::string_view summary;
    CommandFunction run;
};

// One function per subcommand, each in <name>_command.cc.
int topology_command(const std::vector<std::string>& args, CommandIo& io);
int collective_command(const std::vector<std::string>& args, CommandIo& io);
int checkpoint_command(const std::vector<std::string>& args, CommandIo& io);
int workload_command(const std::vector<std::string>& args, CommandIo& io);
int step_command(const std::vector<std::string>& args, CommandIo& io);
int sweep_command(const std::vector<std::string>& args, CommandIo& io);
int search_command(const std::vector<std::string>& args, CommandIo& io);
int whatif_command(const std::vector<std::string>& args, CommandIo& io);
/// `stepsim checkpoint ARGS`'s work without the printing: the flags turned into the study's
/// inputs, the study run (the --csv journal and the --plot file written); std::nullopt after
/// --help. `is_json`: whether --json was given. Used by checkpoint_command() and the Python
/// module's checkpoint().
std::optional<study::CheckpointStudyResult> run_checkpoint_flags(
    const std::vector<std::string>& args, CommandIo& io, bool& is_json);
/// `whatif --replay TRACE ...` (replay_command.cc); whatif_command() hands over to it.
int replay_trace_command(const std::vector<std::string>& args, CommandIo& io);
int validate_command(const std::vector<std::string>& args, CommandIo& io);
int replay_command(const std::vector<std::string>& args, CommandIo& io);

}  // namespace stepsim::cli
