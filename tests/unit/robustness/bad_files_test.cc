// SPDX-License-Identifier: Apache-2.0
// File: bad_files_test.cc
// The readers of recorded files (trace-event JSON plain or gzip, Chakra .et streams and their
// comm_groups.json, kernel profiles) through the CLI, as a user meets them: a bad file or a
// file past a limit ends with exit status 2, a message that names the file (and the line:col,
// event or record where there is one) and, for a limit, the flag that raises it; and nothing
// is written, neither --output nor the command's other outputs (--trace, --plot). Also: no
// reader recurses along dependencies, so a 100,000-node chain decodes and replays.
#include "stepsim/chakra.h"
#include "stepsim/spec.h"

#include "unit/cli_process.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

using namespace stepsim;
namespace fs = std::filesystem;

const std::string kSource = STEPSIM_SOURCE_DIR;
const std::string kTopology16 = kSource + "/topologies/dgx-h100-16.textproto";

fs::path scratch(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / ("stepsim_bad_files_test_" + name);
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

void write_bytes(const fs::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
}

/// Runs `stepsim COMMAND ARGUMENTS --output DIR/out.txt` plus the extra output flags, and
/// checks exit status 2, every `parts` in the message, and that no output file exists.
void expect_refused(const fs::path& dir,
                    const std::string& command,
                    const std::string& arguments,
                    const std::vector<std::string>& extra_outputs,
                    const std::vector<std::string>& parts) {
    std::string flags = arguments + " --output " + (dir / "out.txt").string();
    for (const std::string& flag : extra_outputs) {
        flags += " --" + flag + " " + (dir / ("out-" + flag)).string();
    }
    const test::CliOutcome outcome = test::run_cli_process(command, flags);
    INFO(command << " " << flags << "\n" << outcome.out);
    CHECK(outcome.status == 2);
    for (const std::string& part : parts) {
        CHECK(outcome.out.find(part) != std::string::npos);
    }
    CHECK(outcome.out.find("error:") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "out.txt"));
    CHECK_FALSE(fs::exists(dir / "out.txt.tmp"));
    for (const std::string& flag : extra_outputs) {
        CHECK_FALSE(fs::exists(dir / ("out-" + flag)));
    }
}

const std::string kMetadata = std::string("\x07\x0a\x05", 3) + "0.0.4";

std::string record(const std::string& body) {
    return std::string(1, static_cast<char>(body.size())) + body;
}

// A COMP_NODE with id `id` (fields 1 and 3) and, when `parent` > 0, data_deps = {parent}.
std::string compute_node(int id, int parent = 0) {
    std::string body = {'\x08', static_cast<char>(id), '\x18', '\x04'};
    if (parent > 0) {
        body += {'\x2a', '\x01', static_cast<char>(parent)};
    }
    return record(body);
}

}  // namespace

TEST_CASE("bad trace-event files exit 2 with the file and place, and write nothing",
          "[robustness]") {
    const fs::path dir = scratch("trace");
    const std::vector<std::string> outputs = {"plot", "trace"};
    const auto refused = [&](const std::string& name, const std::string& bytes,
                             const std::vector<std::string>& parts) {
        const fs::path file = dir / name;
        write_bytes(file, bytes);
        std::vector<std::string> with_file = parts;
        with_file.push_back(file.string());
        expect_refused(dir, "whatif", "--replay " + file.string(), outputs, with_file);
    };
    // Syntax: the event's line and column.
    refused("syntax.json", "[\n  {\"ph\": \"X\", \"name\": }\n]\n", {":2:"});
    // Not gzip after the magic bytes.
    refused("corrupt.json.gz", std::string("\x1f\x8b\x08\x00garbage", 11), {"gzip"});
    // Nesting deeper than the reader's fixed limit.
    refused(
        "deep.json",
        "[{\"ph\":\"X\",\"args\":{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}}]",
        {"nested deeper than 64"});
    // Past --max-events: names the limit and the flag that raises it.
    std::string events = "[";
    for (int i = 0; i < 20; ++i) {
        events += std::string(i ? "," : "") + "{\"ph\":\"M\",\"name\":\"x\",\"pid\":0,\"tid\":0}";
    }
    events += "]";
    const fs::path many = dir / "many.json";
    write_bytes(many, events);
    expect_refused(dir, "whatif", "--replay " + many.string() + " --max-events 5", outputs,
                   {"more than 5 events", "max_events", "--max-events N"});
    expect_refused(dir, "whatif", "--replay " + many.string() + " --max-json-bytes 100", outputs,
                   {"max_json_bytes", "--max-json-bytes N"});
    // Ranks past --max-ranks (a shipped Megatron-LM step: PP ranks 0..3, DP ranks 0..).
    const std::string megatron = kSource + "/tests/fuzz/corpus/trace/seed-megatron-st-step23";
    expect_refused(dir, "whatif", "--replay " + megatron + " --max-ranks 1", outputs,
                   {megatron + ":", "the limit max_ranks", "--max-ranks N"});
}

TEST_CASE("bad Chakra files exit 2 naming the file and record, and write nothing", "[robustness]") {
    const fs::path dir = scratch("chakra");
    const std::vector<std::string> outputs = {"trace"};
    const auto replay = [&](const std::string& prefix, const std::string& flags,
                            const std::vector<std::string>& parts) {
        expect_refused(
            dir, "replay",
            "--topology " + kTopology16 + " --chakra " + (dir / prefix).string() + " " + flags,
            outputs, parts);
    };
    const std::string chain = kMetadata + compute_node(1) + compute_node(2, 1) + compute_node(3, 2);
    write_bytes(dir / "good.0.et", chain);
    write_bytes(dir / "good.1.et", chain);
    // Broken streams.
    write_bytes(dir / "cut.0.et", chain.substr(0, chain.size() - 2));
    replay("cut", "", {(dir / "cut.0.et").string(), "record 4: truncated record"});
    write_bytes(dir / "cycle.0.et", kMetadata + compute_node(1, 2) + compute_node(2, 1));
    replay("cycle", "", {(dir / "cycle.0.et").string(), "dependency cycle"});
    // A duration past the step clock: 10^13 us made a negative delay (InternalError, exit 1)
    // and 2^62 us wrapped to a zero-time replay (exit 0).
    for (const std::string& micros : {std::string("\x80\xc0\xca\xf3\x84\xa3\x02", 7),
                                      std::string("\x80\x80\x80\x80\x80\x80\x80\x80\x40", 9)}) {
        write_bytes(dir / "long.0.et",
                    kMetadata + record(std::string("\x08\x01\x18\x04\x38", 5) + micros));
        replay("long", "", {(dir / "long").string(), "past the step clock's range of 106 days"});
    }
    // A bad comm_groups.json next to good traces.
    write_bytes(dir / "groups.0.et", chain);
    write_bytes(dir / "groups.comm_groups.json", "{\"1\": [0, 1,]}");
    replay("groups", "", {(dir / "groups.comm_groups.json").string(), "offset 12"});
    // Every limit names itself and its flag.
    replay("good", "--max-nodes-per-file 2", {"max_nodes_per_file = 2", "--max-nodes-per-file N"});
    replay("good", "--max-total-nodes 4", {"max_total_nodes = 4", "--max-total-nodes N"});
    replay("good", "--max-total-dependencies 3",
           {"max_total_dependencies = 3", "--max-total-dependencies N"});
    replay("good", "--max-files 1", {"max_files = 1", "--max-files N"});
    replay("good", "--max-record-bytes 3", {"max_record_bytes = 3", "--max-record-bytes N"});
    // Within the limits the same files replay.
    const test::CliOutcome ok = test::run_cli_process(
        "replay", "--topology " + kTopology16 + " --chakra " + (dir / "good").string());
    INFO(ok.out);
    CHECK(ok.status == 0);
}

TEST_CASE("a bad kernel profile exits 2 at its line, and nothing is written", "[robustness]") {
    const fs::path dir = scratch("profile");
    write_bytes(dir / "profile.textproto",
                "gpu: \"H100-SXM\"\n"
                "kernel { kind: GEMM m: 64 n: 64 k: 64 time: \"2h\" source: \"x\" }\n");
    std::string workload;
    {
        std::ifstream in(kSource + "/workloads/tiny-pp.textproto");
        workload.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    write_bytes(dir / "tiny.textproto", workload);
    expect_refused(dir, "step",
                   "--topology " + kTopology16 + " --workload " +
                       (dir / "tiny.textproto").string() +
                       " --set hardware.kernel_profile=profile.textproto",
                   {"plot", "trace"},
                   {(dir / "profile.textproto").string() + ":2:", "longer than the limit of 1h"});
}

TEST_CASE("no reader recurses along dependencies: a 100,000-node chain decodes and replays",
          "[robustness]") {
    // Each node waits for the one before: depth 100,000. Decoding (Kahn's algorithm), the
    // replay (event-driven) and its critical path (a loop) are all iterative; the replay
    // takes 100,000 x 1 us.
    constexpr int kDepth = 100'000;
    chakra::Trace trace;
    for (int i = 0; i < kDepth; ++i) {
        chakra::Node node;
        node.id = static_cast<std::uint64_t>(i);
        node.type = chakra::NodeType::kCompute;
        node.duration_micros = 1;
        if (i > 0) {
            node.data_deps = {static_cast<std::uint64_t>(i - 1)};
        }
        trace.nodes.push_back(node);
    }
    chakra::TraceSet set;
    set.traces.push_back(chakra::decode_trace(chakra::encode_trace(trace), "chain.0.et"));
    const Topology topology = load_topology_file(kTopology16);
    const chakra::ReplayResult result = chakra::replay_chakra(set, topology);
    CHECK(result.total_s == Approx(kDepth * 1e-6).epsilon(1e-12));
    CHECK(result.critical_path.size() == static_cast<std::size_t>(kDepth));
}

TEST_CASE("a text spec past 256 MiB is refused before it is read", "[robustness]") {
    // Parsing with locations takes about 20 bytes per byte of text; the file is sparse, so
    // the test costs no disk.
    const fs::path dir = scratch("huge_spec");
    const fs::path huge = dir / "huge.textproto";
    write_bytes(huge, "name: \"x\"\n");
    fs::resize_file(huge, (std::uintmax_t{256} << 20) + 1);
    expect_refused(dir, "topology", huge.string(), {},
                   {huge.string(), "more than the limit of 268435456 bytes"});
}
