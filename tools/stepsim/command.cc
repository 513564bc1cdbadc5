// SPDX-License-Identifier: Apache-2.0
// File: command.cc
#include "command.h"

#include "stepsim/report.h"
#include "stepsim/training_step.h"

#include <iostream>
#include <sstream>

namespace po = boost::program_options;

namespace stepsim::cli {

void CommandIo::emit(std::string_view text) {
    if (output_) {
        write_file_atomically(*output_, text);
    } else {
        out_ << text;
        out_.flush();
    }
}

std::vector<SpecOverride> CommonOptions::overrides() const {
    std::vector<SpecOverride> result;
    result.reserve(set.size());
    for (const std::string& text : set) {
        result.push_back(parse_override(text));
    }
    return result;
}

void add_common_options(po::options_description& description, CommonOptions& common) {
    description.add_options()                                                     //
        ("json", po::bool_switch(&common.json), "print JSON instead of a table")  //
        ("output,o", po::value<std::string>(),
         "write the result to FILE (atomically) instead of stdout")  //
        ("set", po::value<std::vector<std::string>>(&common.set)->composing(),
         "override a spec field: FIELD=VALUE, FIELD a protobuf path (repeatable)")  //
        ("help,h", po::bool_switch(&common.help), "show this help");
}

namespace {
void print_help(CommandIo& io, std::string_view usage, const po::options_description& description) {
    std::ostringstream text;
    text << "usage: " << usage << "\n\n" << description << '\n';
    io.emit(text.str());
}
}  // namespace

bool parse_command_line(const std::vector<std::string>& args,
                        const po::options_description& description,
                        const std::vector<std::string>& positional,
                        CommonOptions& common,
                        CommandIo& io,
                        std::string_view usage) {
    po::positional_options_description positions;
    for (const std::string& name : positional) {
        positions.add(name.c_str(), 1);
    }
    po::variables_map values;
    try {
        po::store(po::command_line_parser(args).options(description).positional(positions).run(),
                  values);
        // --help before notify(): it must work without the command's required options.
        if (values.count("help") != 0U && !values["help"].defaulted() &&
            values["help"].as<bool>()) {
            print_help(io, usage, description);
            return false;
        }
        po::notify(values);
    } catch (const po::error& e) {
        throw UsageError(e.what());
    }
    if (common.help) {
        print_help(io, usage, description);
        return false;
    }
    if (values.count("output")) {
        io.set_output(std::filesystem::path(values["output"].as<std::string>()));
    }
    for (const std::string& name : positional) {
        if (!values.count(name)) {
            throw UsageError("missing argument " + name + " (usage: " + std::string(usage) + ")");
        }
    }
    return true;
}

StepFidelity parse_fidelity_flag(const std::string& text) {
    if (text == "fast") {
        return StepFidelity::kFast;
    }
    if (text == "full") {
        return StepFidelity::kFull;
    }
    throw UsageError("--fidelity must be \"fast\" or \"full\", got \"" + text + "\"");
}

NetworkKind parse_network_flag(const std::string& text) {
    // "fairshare" and "alphabeta" are the spellings `collective` used to take.
    if (text == "fair_share" || text == "fairshare") {
        return NetworkKind::kFairShare;
    }
    if (text == "alpha_beta" || text == "alphabeta") {
        return NetworkKind::kAlphaBeta;
    }
    throw UsageError("--network must be \"fair_share\" or \"alpha_beta\", got \"" + text + "\"");
}

std::vector<SpecOverride> take_prefixed_overrides(std::vector<SpecOverride>& overrides,
                                                  std::string_view prefix) {
    std::vector<SpecOverride> taken;
    std::vector<SpecOverride> rest;
    for (SpecOverride& o : overrides) {
        if (o.field_path.rfind(prefix, 0) == 0) {
            o.field_path.erase(0, prefix.size());
            taken.push_back(std::move(o));
        } else {
            rest.push_back(std::move(o));
        }
    }
    overrides = std::move(rest);
    return taken;
}

std::vector<SpecOverride> take_topology_overrides(std::vector<SpecOverride>& overrides) {
    std::vector<SpecOverride> taken = take_prefixed_overrides(overrides, "topology.");
    std::vector<SpecOverride> rest;
    for (SpecOverride& o : overrides) {
        if (!is_workload_field_path(o.field_path) && is_topology_field_path(o.field_path)) {
            taken.push_back(std::move(o));
        } else {
            rest.push_back(std::move(o));
        }
    }
    overrides = std::move(rest);
    return taken;
}

}  // namespace stepsim::cli
