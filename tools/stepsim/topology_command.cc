// SPDX-License-Identifier: Apache-2.0
// File: topology_command.cc
// `stepsim topology FILE [--json] [--set FIELD=VALUE]`: load, validate and summarize a
// cluster: devices by kind, links by kind with total bandwidth, GPUs, nodes, diameter in
// hops, and per-GPU injection bandwidth by tier (summarize(); --json is
// sim/report/topology_json.cc).
#include "stepsim/results_json.h"
#include "stepsim/topology.h"
#include "stepsim/units.h"

#include "command.h"

#include <cstdio>
#include <sstream>

namespace po = boost::program_options;

namespace stepsim::cli {

namespace {

std::string summary_table(const std::string& file, const TopologySummary& s) {
    std::ostringstream out;
    char line[160];
    out << "topology: " << file << '\n';
    std::snprintf(line, sizeof line, "gpus: %zu   nodes: %zu   diameter: %zu hops\n", s.gpus,
                  s.nodes, s.diameter_hops);
    out << line << "\ndevices:\n";
    for (const auto& [kind, count] : s.devices_by_kind) {
        std::snprintf(line, sizeof line, "  %-12s %8zu\n", kind.c_str(), count);
        out << line;
    }
    out << "\nlinks (one direction each):\n";
    for (const auto& [kind, links] : s.links_by_kind) {
        std::snprintf(line, sizeof line, "  %-12s %8zu   total %s\n", kind.c_str(), links.count,
                      format_bandwidth(links.total_bandwidth_Bps).c_str());
        out << line;
    }
    out << "\ninjection bandwidth per GPU (one direction):\n";
    for (const auto& [tier, bandwidth] : s.injection_Bps_by_tier) {
        std::snprintf(line, sizeof line, "  %-12s %s\n", tier.c_str(),
                      format_bandwidth(bandwidth).c_str());
        out << line;
    }
    return out.str();
}

}  // namespace

int topology_command(const std::vector<std::string>& args, CommandIo& io) {
    CommonOptions common;
    std::string file;
    po::options_description description("stepsim topology options");
    description.add_options()("file", po::value<std::string>(&file), "topology spec (.textproto)");
    add_common_options(description, common);
    if (!parse_command_line(args, description, {"file"}, common, io,
                            "stepsim topology FILE [--json] [--set FIELD=VALUE]...")) {
        return 0;
    }
    // "topology.fabric[0]..." as under `step` works too: the prefix is dropped.
    std::vector<SpecOverride> overrides = common.overrides();
    for (SpecOverride& o : overrides) {
        if (o.field_path.starts_with("topology.")) {
            o.field_path.erase(0, std::string_view("topology.").size());
        }
    }
    const Topology topology = load_topology_file(file, overrides);
    Router router(topology);
    const TopologySummary summary = summarize(topology, router);
    io.emit(common.json ? to_json(summary, file) : summary_table(file, summary));
    return 0;
}

}  // namespace stepsim::cli
