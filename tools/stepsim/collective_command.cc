// SPDX-License-Identifier: Apache-2.0
// File: collective_command.cc
// `stepsim collective --topology FILE --op allreduce --algo ring --bytes 1GiB`: times one
// collective (or a sweep of sizes, factor 2 apart) on a topology and prints, as nccl-tests
// does, one row per size: size, time, algbw, busbw, the closed-form time beside the simulated
// one, and the algorithm used (the one `auto` picked). The timing is the collective study
// (sim/study/collective.cc); --json is its serializer (sim/report/collective_json.cc).
#include "stepsim/collective.h"
#include "stepsim/network.h"
#include "stepsim/results_json.h"
#include "stepsim/study/collective.h"
#include "stepsim/topology.h"
#include "stepsim/units.h"

#include "command.h"

#include <cstdio>
#include <sstream>

namespace po = boost::program_options;

namespace stepsim::cli {

namespace {

constexpr std::string_view kUsage =
    "stepsim collective --topology FILE [--op allreduce] [--algo auto] [--bytes 1GiB | "
    "--sweep-bytes 8B:8GiB] [--ranks all | 0-63 | 0,8,16] [--network fair_share|alpha_beta] "
    "[--chunk 512KiB] [--channels N] [--root I] [--gamma-s-per-byte G] [--json] [--set ...] "
    "[--output FILE]";

std::uint32_t parse_rank_number(const std::string& text, const std::string& whole) {
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos ||
        text.size() > 9) {
        throw UsageError("--ranks \"" + whole + "\": \"" + text +
                         "\" is not a rank number (expected all, A-B or A,B,C)");
    }
    return static_cast<std::uint32_t>(std::stoul(text));
}

/// "all", "0-63", "0,8,16", "0-7,16-23".
std::vector<RankId> parse_ranks(const std::string& text, std::size_t gpu_count) {
    std::vector<RankId> ranks;
    if (text == "all") {
        for (std::size_t r = 0; r < gpu_count; ++r) {
            ranks.emplace_back(static_cast<std::uint32_t>(r));
        }
        return ranks;
    }
    std::stringstream items(text);
    std::string item;
    while (std::getline(items, item, ',')) {
        const auto dash = item.find('-');
        if (dash == std::string::npos) {
            ranks.emplace_back(parse_rank_number(item, text));
            continue;
        }
        const std::uint32_t first = parse_rank_number(item.substr(0, dash), text);
        const std::uint32_t last = parse_rank_number(item.substr(dash + 1), text);
        if (last < first) {
            throw UsageError("--ranks \"" + text + "\": range " + item + " is empty");
        }
        for (std::uint32_t r = first; r <= last; ++r) {
            ranks.emplace_back(r);
        }
    }
    if (ranks.empty()) {
        throw UsageError("--ranks \"" + text + "\" names no rank");
    }
    return ranks;
}

std::vector<std::int64_t> sweep_sizes(const std::string& text) {
    const auto colon = text.find(':');
    if (colon == std::string::npos) {
        throw UsageError("--sweep-bytes \"" + text + "\": expected FROM:TO, e.g. 8B:8GiB");
    }
    const std::int64_t from = parse_size_bytes(text.substr(0, colon));
    const std::int64_t to = parse_size_bytes(text.substr(colon + 1));
    if (from <= 0 || to < from) {
        throw UsageError("--sweep-bytes \"" + text + "\": need 0 < FROM <= TO");
    }
    std::vector<std::int64_t> sizes;
    for (std::int64_t s = from; s <= to; s *= 2) {
        sizes.push_back(s);
    }
    return sizes;
}

}  // namespace

int collective_command(const std::vector<std::string>& args, CommandIo& io) {
    CommonOptions common;
    std::string topology_file;
    std::string op_name = "allreduce";
    std::string algorithm = "auto";
    std::string bytes_text = "1GiB";
    std::string sweep_text;
    std::string ranks_text = "all";
    std::string network_name = "fair_share";
    std::string chunk_text;
    int channels = 1;
    std::size_t root = 0;
    double gamma = -1;
    po::options_description description("stepsim collective options");
    description.add_options()("topology", po::value<std::string>(&topology_file),
                              "topology spec (.textproto)")(
        "op", po::value<std::string>(&op_name),
        "allreduce, reducescatter, allgather, broadcast, reduce, alltoall, sendrecv")(
        "algo", po::value<std::string>(&algorithm),
        "ring, tree, halving_doubling, recursive_doubling, direct, hierarchical or auto")(
        "bytes", po::value<std::string>(&bytes_text), "buffer size per rank (default 1GiB)")(
        "sweep-bytes", po::value<std::string>(&sweep_text), "FROM:TO, sizes a factor 2 apart")(
        "ranks", po::value<std::string>(&ranks_text), "all (default), A-B, or A,B,C")(
        "network", po::value<std::string>(&network_name),
        "fair_share (default) or alpha_beta (fairshare, alphabeta also accepted)")(
        "chunk", po::value<std::string>(&chunk_text),
        "pipelining chunk size (default per algorithm)")("channels", po::value<int>(&channels),
                                                         "parallel rings / tree pairs (default 1)")(
        "root", po::value<std::size_t>(&root), "root's index in the group (broadcast, reduce)")(
        "gamma-s-per-byte", po::value<double>(&gamma),
        "reduction cost (default: 3 bytes of HBM traffic per byte at 3.35 TB/s)");
    add_common_options(description, common);
    if (!parse_command_line(args, description, {}, common, io, kUsage)) {
        return 0;
    }
    if (topology_file.empty()) {
        throw UsageError(std::string("--topology is required (usage: ") + std::string(kUsage) +
                         ")");
    }
    const std::optional<CollectiveOp> op = parse_collective_op(op_name);
    if (!op) {
        throw UsageError("unknown --op \"" + op_name +
                         "\" (expected allreduce, reducescatter, allgather, broadcast, reduce, "
                         "alltoall or sendrecv)");
    }
    // One spelling everywhere (fair_share, alpha_beta); the old fairshare/alphabeta still work.
    const NetworkKind network_kind = parse_network_flag(network_name);
    if (channels < 1) {
        throw UsageError("--channels must be >= 1, got " + std::to_string(channels));
    }
    if (algorithm != "auto" && find_collective_algorithm(algorithm) == nullptr) {
        std::string known;
        for (const std::string_view name : collective_algorithm_names()) {
            known += std::string(name) + ", ";
        }
        throw UsageError("unknown --algo \"" + algorithm + "\" (expected " + known + "or auto)");
    }
    study::CollectiveStudyOptions study_options;
    study_options.network = network_kind;
    study_options.collective.channels = channels;
    study_options.collective.gamma_s_per_byte = gamma;
    if (!chunk_text.empty()) {
        study_options.collective.chunk_bytes = parse_size_bytes(chunk_text);
        if (study_options.collective.chunk_bytes <= 0) {
            throw UsageError("--chunk must be positive, got \"" + chunk_text + "\"");
        }
    }
    if (!sweep_text.empty()) {
        study_options.sizes_bytes = sweep_sizes(sweep_text);
    } else {
        const std::int64_t bytes = parse_size_bytes(bytes_text);
        if (bytes <= 0) {
            throw UsageError("--bytes must be positive, got \"" + bytes_text + "\"");
        }
        study_options.sizes_bytes.push_back(bytes);
    }

    const Topology topology = load_topology_file(topology_file, common.overrides());
    study_options.request.op = *op;
    study_options.request.ranks = parse_ranks(ranks_text, topology.gpu_count());
    study_options.request.root_index = root;
    study_options.request.algorithm = algorithm;
    study_options.topology_file = topology_file;
    const study::CollectiveStudyResult result =
        study::run_collective_study(topology, study_options);
    if (common.json) {
        io.emit(to_json(result));
        return 0;
    }
    std::ostringstream out;
    char line[200];
    out << "# stepsim collective: " << to_string(result.op) << " on " << result.ranks
        << " ranks of " << result.topology_file << ", algorithm " << result.algorithm
        << ", network " << to_string(result.network) << ", channels " << result.channels << '\n';
    std::snprintf(line, sizeof line, "# %14s %14s %12s %12s %14s  %s\n", "size(B)", "time(us)",
                  "algbw(GB/s)", "busbw(GB/s)", "analytic(us)", "algorithm");
    out << line;
    for (const study::CollectiveRow& row : result.rows) {
        std::snprintf(line, sizeof line, "  %14lld %14.3f %12.2f %12.2f %14.3f  %s\n",
                      static_cast<long long>(row.size_bytes), row.time_s * 1e6, row.algbw_Bps / 1e9,
                      row.busbw_Bps / 1e9, row.analytic_time_s * 1e6, row.algorithm.c_str());
        out << line;
    }
    io.emit(out.str());
    return 0;
}

}  // namespace stepsim::cli
