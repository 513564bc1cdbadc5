// SPDX-License-Identifier: Apache-2.0
// File: run_command.cc
// The command table (add new subcommands here) and the exception -> exit status mapping.
#include "run_command.h"

#include "stepsim/error.h"
#include "stepsim/units.h"

#include <array>
#include <ostream>
#include <sstream>

namespace stepsim::cli {

namespace {

constexpr std::array kCommands = {
    Command{"topology", "summarize a cluster topology spec", topology_command},
    Command{"collective", "time a collective (nccl-tests style rows)", collective_command},
    Command{"checkpoint", "sweep the checkpoint interval against failure rates",
            checkpoint_command},
    Command{"workload", "check a workload spec and print its FLOPs, costs and memory",
            workload_command},
    Command{"step", "simulate one training step: time, breakdown, bubble, MFU, memory",
            step_command},
    Command{"sweep", "run a command over the points of a sweep spec (threads, MPI, resumable)",
            sweep_command},
    Command{"search", "rank the parallel layouts of a model on a cluster", search_command},
    Command{"whatif", "stragglers, jitter, slow links: a scenario against the baseline step",
            whatif_command},
    Command{"validate", "reproduce Megatron-LM's weak-scaling table (SC'21) on a DGX A100 cluster",
            validate_command},
    Command{"replay", "run Chakra execution traces (PREFIX.<npu>.et) on a topology",
            replay_command},
};

}  // namespace

std::span<const Command> commands() {
    return kCommands;
}

const Command* find_command(std::string_view name) {
    for (const Command& command : kCommands) {
        if (command.name == name) {
            return &command;
        }
    }
    return nullptr;
}

int run_command(std::string_view name,
                const std::vector<std::string>& args,
                std::ostream& out,
                std::ostream& err) {
    const Command* command = find_command(name);
    if (command == nullptr) {
        err << "stepsim: error: unknown command \"" << name << "\" (see stepsim --help)\n";
        return 2;
    }
    CommandIo io(out, err);
    try {
        return command->run(args, io);
    } catch (const SpecError& e) {  // located: "file:line:col: error: ..." (and JobClusterMismatch)
        err << e.what() << '\n';
        return 2;
    } catch (const UserError& e) {  // UsageError, UnitError, ResourceLimitError, bad values
        err << "stepsim " << name << ": error: " << e.what() << '\n';
        return 2;
    } catch (const InternalError& e) {
        err << e.what() << '\n';
        return 1;
    } catch (const std::exception& e) {
        err << "stepsim " << name << ": error: " << e.what() << '\n';
        return 1;
    }
}

CommandOutcome run_command(std::string_view name, const std::vector<std::string>& args) {
    std::ostringstream out;
    std::ostringstream err;
    CommandOutcome outcome;
    outcome.status = run_command(name, args, out, err);
    outcome.output = out.str();
    outcome.error = err.str();
    return outcome;
}

}  // namespace stepsim::cli
