// SPDX-License-Identifier: Apache-2.0
// File: chakra_replay_command.cc
// `stepsim replay --topology T --chakra PREFIX [--json] [--network fair_share|alpha_beta]`:
// runs Chakra execution traces (PREFIX.<npu>.et, one per NPU) on stepsim's engine and
// reports each NPU's total time, its exposed communication and the critical path
// (docs/chakra.md): replay_chakra(), then a table or sim/report/chakra_replay_json.cc.
#include "stepsim/chakra.h"
#include "stepsim/error.h"
#include "stepsim/report.h"
#include "stepsim/results_json.h"
#include "stepsim/topology.h"
#include "stepsim/units.h"

#include "command.h"

#include <cstdio>
#include <map>
#include <sstream>
#include <stdexcept>

namespace po = boost::program_options;

namespace stepsim::cli {

namespace {

std::string replay_table(const std::string& topology_file,
                         const std::string& prefix,
                         const chakra::ReplayResult& r) {
    std::ostringstream out;
    char line[256];
    out << "replay: " << prefix << ".<npu>.et (" << r.ranks.size() << " NPUs) on " << topology_file
        << "\n\n";
    std::snprintf(line, sizeof line, "total time       %s (slowest NPU)\n\n",
                  format_duration(r.total_s).c_str());
    out << line;
    out << "   npu    nodes    total_time_s       compute_s  exposed_comm_s\n";
    for (const chakra::RankReplay& rank : r.ranks) {
        std::snprintf(line, sizeof line, "%6d %8zu %15.9f %15.9f %15.9f\n", rank.npu, rank.nodes,
                      rank.total_s, rank.compute_s, rank.exposed_communication_s);
        out << line;
    }
    std::map<std::string, double> by_type;
    for (const chakra::CriticalPathStep& step : r.critical_path) {
        by_type[std::string(chakra::to_string(step.type))] += step.end_s - step.start_s;
    }
    std::snprintf(line, sizeof line, "\ncritical path    %zu nodes;", r.critical_path.size());
    out << line;
    for (const auto& [type, time_s] : by_type) {
        std::snprintf(line, sizeof line, "  %s %.6f s", type.c_str(), time_s);
        out << line;
    }
    out << '\n';
    return out.str();
}

}  // namespace

int replay_command(const std::vector<std::string>& args, CommandIo& io) {
    CommonOptions common;
    std::string topology_file;
    std::string prefix;
    std::string network = "fair_share";
    std::string trace_file;
    chakra::Limits limits;
    po::options_description description("stepsim replay options");
    description.add_options()("topology", po::value<std::string>(&topology_file)->required(),
                              "cluster topology spec (.textproto); NPU i runs on GPU i")(
        "chakra", po::value<std::string>(&prefix)->required(),
        "trace prefix: reads PREFIX.0.et, PREFIX.1.et, ... and PREFIX.comm_groups.json")(
        "network", po::value<std::string>(&network), "fair_share (default) or alpha_beta")(
        "trace", po::value<std::string>(&trace_file),
        "write a Chrome trace-event JSON (Perfetto) of every node to FILE")(
        "max-nodes-per-file", po::value<std::size_t>(&limits.max_nodes_per_file),
        "refuse a file with more nodes (default 4194304)")(
        "max-total-nodes", po::value<std::size_t>(&limits.max_total_nodes),
        "refuse traces with more nodes in all (default 8388608, about 4 GB of replay state)")(
        "max-total-dependencies", po::value<std::size_t>(&limits.max_total_dependencies),
        "refuse traces with more data and control dependencies in all (default 33554432)")(
        "max-files", po::value<std::size_t>(&limits.max_files),
        "refuse a prefix with more NPU files (default 65536)")(
        "max-record-bytes", po::value<std::size_t>(&limits.max_record_bytes),
        "refuse a record longer than this (default 16777216)");
    add_common_options(description, common);
    if (!parse_command_line(
            args, description, {}, common, io,
            "stepsim replay --topology FILE --chakra PREFIX [--json] "
            "[--network fair_share|alpha_beta] [--trace FILE] [--set FIELD=VALUE]... [-o FILE]")) {
        return 0;
    }
    chakra::ReplayOptions options;
    options.network = parse_network_flag(network);
    options.keeps_timeline = !trace_file.empty();
    const Topology topology = load_topology_file(topology_file, common.overrides());
    const chakra::TraceSet set = chakra::read_chakra_traces(prefix, limits);
    chakra::ReplayResult result;
    try {
        result = chakra::replay_chakra(set, topology, options);
    } catch (const UserError& e) {
        throw SpecError(SourceLocation{prefix, 0, 0}, "", e.what());
    }
    if (!trace_file.empty()) {
        write_file_atomically(trace_file, to_chrome_trace_json(result));
    }
    io.emit(common.json ? to_json(result, topology_file, prefix)
                        : replay_table(topology_file, prefix, result));
    return 0;
}

}  // namespace stepsim::cli
