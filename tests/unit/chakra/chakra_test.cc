// SPDX-License-Identifier: Apache-2.0
// Chakra execution traces: the bytes of a hand-built all-reduce trace (the format note's
// example), the round trip step -> .et -> replay, and malformed files (exit status 2 with the
// file and the record).
#include "stepsim/chakra.h"

#include "stepsim/error.h"

#include "unit/cli_process.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

namespace {

using namespace stepsim;
namespace fs = std::filesystem;

const std::string kSource = STEPSIM_SOURCE_DIR;
const std::string kTopology16 = kSource + "/topologies/dgx-h100-16.textproto";
const std::string kTinyPp = kSource + "/workloads/tiny-pp.textproto";

fs::path scratch(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / ("stepsim_chakra_test_" + name);
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

void write_bytes(const fs::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
}

std::string read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string hex(const std::string& bytes) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (const char c : bytes) {
        const auto b = static_cast<unsigned char>(c);
        out += digits[b >> 4];
        out += digits[b & 15];
        out += ' ';
    }
    return out;
}

/// One all-reduce node per NPU, as ASTRA-sim's microbenchmark generator writes it.
chakra::Trace all_reduce_trace(int npu, int npus) {
    chakra::Trace trace;
    trace.npu = npu;
    chakra::Node node;
    node.id = static_cast<std::uint64_t>(npu);
    node.name = "all_reduce_" + std::to_string(npus) + "npus_1MB";
    node.type = chakra::NodeType::kCollective;
    node.is_cpu_op = false;
    node.comm_type = static_cast<std::int64_t>(chakra::CommType::kAllReduce);
    node.comm_size = 1 << 20;
    trace.nodes.push_back(node);
    return trace;
}

double json_number(const std::string& json, const std::string& key) {
    const std::regex pattern("\"" + key + "\": ([-0-9.e+]+)");
    std::smatch match;
    REQUIRE(std::regex_search(json, match, pattern));
    return std::stod(match[1]);
}

}  // namespace

TEST_CASE("chakra: the format note's 1 MiB all-reduce record, byte for byte", "[chakra]") {
    // examples/workload/microbenchmarks/all_reduce/4npus_1MB/all_reduce.1.et (83 bytes).
    const std::string name = "all_reduce_4npus_1MB";
    std::string expected;
    expected += "\x07\x0a\x05";
    expected += "0.0.4";
    expected += "\x4a\x08\x01\x12\x14";
    expected += name;
    expected += "\x18\x07";
    expected += std::string("\x52\x0e\x0a\x09", 4) + "is_cpu_op" + std::string("\xd8\x01\x00", 3);
    expected += std::string("\x52\x0d\x0a\x09", 4) + "comm_type" + std::string("\x48\x00", 2);
    expected += std::string("\x52\x0f\x0a\x09", 4) + "comm_size" + "\x48\x80\x80\x40";
    REQUIRE(expected.size() == 83);
    const std::string bytes = chakra::encode_trace(all_reduce_trace(1, 4));
    CHECK(hex(bytes) == hex(expected));
    // In file 0 the id is 0 and proto3 leaves it out: two bytes shorter.
    const std::string zero = chakra::encode_trace(all_reduce_trace(0, 4));
    CHECK(zero.size() == 81);
    CHECK(zero.substr(9, 2) == "\x12\x14");
    // And it reads back.
    const chakra::Trace back = chakra::decode_trace(bytes, "all_reduce.1.et");
    REQUIRE(back.nodes.size() == 1);
    CHECK(back.version == "0.0.4");
    CHECK(back.nodes[0].id == 1);
    CHECK(back.nodes[0].type == chakra::NodeType::kCollective);
    CHECK(back.nodes[0].is_cpu_op == false);
    CHECK(back.nodes[0].comm_type == 0);
    CHECK(back.nodes[0].comm_size == 1 << 20);
}

TEST_CASE("chakra: 8 NPUs x 1 MiB all-reduce, written and replayed", "[chakra]") {
    const fs::path dir = scratch("allreduce8");
    chakra::TraceSet set;
    for (int npu = 0; npu < 8; ++npu) {
        set.traces.push_back(all_reduce_trace(npu, 8));
    }
    const std::string prefix = (dir / "all_reduce").string();
    chakra::write_chakra_traces(prefix, set);
    for (int npu = 0; npu < 8; ++npu) {
        const std::string bytes = read_bytes(prefix + "." + std::to_string(npu) + ".et");
        CHECK(bytes == chakra::encode_trace(all_reduce_trace(npu, 8)));
        CHECK(bytes.size() == (npu == 0 ? 81U : 83U));
    }
    CHECK_FALSE(fs::exists(prefix + ".comm_groups.json"));  // no groups: pg_name absent
    const auto outcome = test::run_cli_process(
        "replay", "--topology " + kTopology16 + " --chakra " + prefix + " --json");
    INFO(outcome.out);
    REQUIRE(outcome.status == 0);
    // Every NPU finishes together, as the same stepsim all-reduce on GPUs 0-7.
    const auto collective =
        test::run_cli_process("collective", "--topology " + kTopology16 +
                                                " --op allreduce --bytes 1MiB --ranks 0-7 --json");
    INFO(collective.out);
    REQUIRE(collective.status == 0);
    const double replay_s = json_number(outcome.out, "total_time_s");
    const double collective_s = json_number(collective.out, "time_s");
    CHECK(replay_s == Approx(collective_s).epsilon(1e-6));  // 5.899 us
    // --trace: one Perfetto slice per node.
    const std::string trace = (dir / "replay_trace.json").string();
    const auto traced = test::run_cli_process(
        "replay", "--topology " + kTopology16 + " --chakra " + prefix + " --trace " + trace);
    REQUIRE(traced.status == 0);
    const std::string events = read_bytes(trace);
    CHECK(events.find("\"traceEvents\"") != std::string::npos);
    CHECK(events.find("\"cat\":\"COMM_COLL_NODE\"") != std::string::npos);
    for (int npu = 0; npu < 8; ++npu) {
        CHECK(outcome.out.find("\"npu\": " + std::to_string(npu)) != std::string::npos);
    }
}

TEST_CASE("chakra: step -> .et -> replay gives the same step time", "[chakra]") {
    const fs::path dir = scratch("roundtrip");

    struct Case {
        std::string flags;
        double tolerance;  // relative
    };

    // Full fidelity runs every collective and message on the shared network, as the replay
    // does: the same time (alpha-beta exactly; fair sharing within 0.1%). Fast fidelity times
    // collectives uncontended and memoized: within 3%.
    const std::vector<Case> cases = {{"--fidelity full --network alpha_beta", 1e-9},
                                     {"--fidelity full --network fair_share", 1e-3},
                                     {"--fidelity fast --network fair_share", 3e-2}};
    int k = 0;
    for (const Case& c : cases) {
        const std::string prefix = (dir / ("tiny" + std::to_string(k++))).string();
        const auto step =
            test::run_cli_process("step", "--topology " + kTopology16 + " --workload " + kTinyPp +
                                              " " + c.flags + " --json --chakra-out " + prefix);
        INFO(step.out);
        REQUIRE(step.status == 0);
        for (int npu = 0; npu < 16; ++npu) {
            CHECK(fs::exists(prefix + "." + std::to_string(npu) + ".et"));
        }
        CHECK(fs::exists(prefix + ".comm_groups.json"));
        const std::string network = c.flags.substr(c.flags.rfind(' ') + 1);
        const auto replay =
            test::run_cli_process("replay", "--topology " + kTopology16 + " --chakra " + prefix +
                                                " --network " + network + " --json");
        INFO(replay.out);
        REQUIRE(replay.status == 0);
        const double step_s = json_number(step.out, "step_time_s");
        const double replay_s = json_number(replay.out, "total_time_s");
        INFO(c.flags << ": step " << step_s << " s, replay " << replay_s << " s");
        CHECK(std::abs(replay_s - step_s) <= c.tolerance * step_s);
    }
}

TEST_CASE("chakra: exported attributes are the ones ASTRA-sim requires", "[chakra]") {
    const fs::path dir = scratch("attributes");
    const std::string prefix = (dir / "new_folder" / "tiny").string();  // created
    const auto step = test::run_cli_process(
        "step", "--topology " + kTopology16 + " --workload " + kTinyPp + " --chakra-out " + prefix);
    REQUIRE(step.status == 0);
    const chakra::TraceSet set = chakra::read_chakra_traces(prefix);
    REQUIRE(set.traces.size() == 16);
    int sends = 0;
    int recvs = 0;
    int collectives = 0;
    for (const chakra::Trace& trace : set.traces) {
        for (const chakra::Node& node : trace.nodes) {
            CHECK(node.ctrl_deps.empty());
            REQUIRE(node.is_cpu_op.has_value());
            switch (node.type) {
                case chakra::NodeType::kCompute:
                    CHECK(node.num_ops.has_value());
                    CHECK(node.tensor_size.has_value());
                    break;
                case chakra::NodeType::kCollective:
                    ++collectives;
                    CHECK(node.comm_type.has_value());
                    CHECK(node.comm_size.has_value());
                    CHECK(node.comm_priority == 0);
                    REQUIRE(node.pg_name.has_value());
                    CHECK(set.groups.count(std::stoll(*node.pg_name)) == 1);
                    break;
                case chakra::NodeType::kSend:
                    ++sends;
                    CHECK(node.comm_src == trace.npu);
                    CHECK(node.comm_dst.has_value());
                    CHECK(node.comm_size.has_value());
                    CHECK(node.comm_tag.has_value());
                    break;
                case chakra::NodeType::kRecv:
                    ++recvs;
                    CHECK(node.comm_dst == trace.npu);
                    CHECK(node.comm_src.has_value());
                    CHECK(node.comm_size.has_value());
                    CHECK(node.comm_tag.has_value());
                    break;
                default:
                    FAIL("unexpected node type");
            }
        }
    }
    CHECK(sends == recvs);
    CHECK(sends > 0);
    CHECK(collectives > 0);
    // A zero value is written: is_cpu_op=false is d8 01 00.
    const std::string bytes = read_bytes(prefix + ".0.et");
    CHECK(bytes.find(std::string("is_cpu_op\xd8\x01\x00", 12)) != std::string::npos);
}

TEST_CASE("chakra: malformed traces exit 2 naming the file and the record", "[chakra]") {
    const fs::path dir = scratch("malformed");
    const std::string metadata = std::string("\x07\x0a\x05", 3) + "0.0.4";
    const auto node = [](const std::string& body) {
        return std::string(1, static_cast<char>(body.size())) + body;
    };
    // id 1, COMP_NODE
    const std::string comp1 = std::string("\x08\x01\x18\x04", 4);

    struct Case {
        std::string name;
        std::string bytes;
        std::string message;
    };

    const std::vector<Case> cases = {
        {"bad_varint", metadata + node(comp1) + std::string(6, '\xff'), "record 3: bad varint"},
        {"truncated", metadata + node(comp1) + std::string("\x09\x08\x02", 3),
         "record 3: truncated record"},
        {"unknown_type", metadata + node(std::string("\x08\x01\x18\x0c", 4)),
         "record 2: node 1: unknown node type 12"},
        {"missing_dep", metadata + node(comp1 + std::string("\x2a\x01\x07", 3)),
         "record 2: node 1 depends on node 7, which is not in the file"},
        {"cycle",
         metadata + node(std::string("\x08\x01\x18\x04\x2a\x01\x02", 7)) +
             node(std::string("\x08\x02\x18\x04\x2a\x01\x01", 7)),
         "record 2: node 1 is on or behind a dependency cycle"},
        {"no_nodes", metadata, "record 2: no nodes"},
        {"unparsable", metadata + node(std::string("\x0a\x05\x41", 3)),
         "record 2: Node does not parse"},
    };
    for (const Case& c : cases) {
        const std::string prefix = (dir / c.name).string();
        write_bytes(prefix + ".0.et", c.bytes);
        const auto outcome =
            test::run_cli_process("replay", "--topology " + kTopology16 + " --chakra " + prefix);
        INFO(c.name << ": " << outcome.out);
        CHECK(outcome.status == 2);
        CHECK(outcome.out.find(prefix + ".0.et") != std::string::npos);
        CHECK(outcome.out.find(c.message) != std::string::npos);
    }
    // Packed and unpacked data_deps read the same.
    const std::string unpacked = metadata + node(std::string("\x08\x01\x18\x04", 4)) +
                                 node(std::string("\x08\x02\x18\x04\x28\x01", 6));
    const chakra::Trace trace = chakra::decode_trace(unpacked, "unpacked.et");
    REQUIRE(trace.nodes.size() == 2);
    CHECK(trace.nodes[1].data_deps == std::vector<std::uint64_t>{1});
}

TEST_CASE("chakra: limits are refused with exit 2, naming the limit", "[chakra]") {
    const fs::path dir = scratch("limits");
    const std::string prefix = (dir / "all_reduce").string();
    chakra::TraceSet set;
    for (int npu = 0; npu < 2; ++npu) {
        set.traces.push_back(all_reduce_trace(npu, 2));
        chakra::Node extra;
        extra.id = 100;
        extra.type = chakra::NodeType::kCompute;
        extra.data_deps = {static_cast<std::uint64_t>(npu)};
        set.traces.back().nodes.push_back(extra);
    }
    chakra::write_chakra_traces(prefix, set);
    auto outcome = test::run_cli_process(
        "replay", "--topology " + kTopology16 + " --chakra " + prefix + " --max-nodes-per-file 1");
    INFO(outcome.out);
    CHECK(outcome.status == 2);
    CHECK(outcome.out.find("record 3: more than the limit max_nodes_per_file = 1") !=
          std::string::npos);
    outcome = test::run_cli_process(
        "replay", "--topology " + kTopology16 + " --chakra " + prefix + " --max-total-nodes 3");
    INFO(outcome.out);
    CHECK(outcome.status == 2);
    CHECK(outcome.out.find("max_total_nodes = 3") != std::string::npos);
    // Within the limits it runs; more NPUs than GPUs does not.
    outcome = test::run_cli_process("replay", "--topology " + kTopology16 + " --chakra " + prefix);
    CHECK(outcome.status == 0);
    chakra::Limits tight;
    tight.max_record_bytes = 8;
    CHECK_THROWS_AS(chakra::decode_trace(chakra::encode_trace(set.traces[1]), "x.et", tight),
                    SpecError);
}

TEST_CASE("chakra: unmatched sends and unknown groups are bad input", "[chakra]") {
    const fs::path dir = scratch("unmatched");
    chakra::TraceSet set;
    for (int npu = 0; npu < 2; ++npu) {
        chakra::Trace trace;
        trace.npu = npu;
        chakra::Node node;
        node.id = 1;
        node.name = "send";
        node.type = npu == 0 ? chakra::NodeType::kSend : chakra::NodeType::kCompute;
        node.comm_src = 0;
        node.comm_dst = 1;
        node.comm_size = 1024;
        node.comm_tag = 7;
        trace.nodes.push_back(node);
        set.traces.push_back(trace);
    }
    std::string prefix = (dir / "send").string();
    chakra::write_chakra_traces(prefix, set);
    auto outcome =
        test::run_cli_process("replay", "--topology " + kTopology16 + " --chakra " + prefix);
    INFO(outcome.out);
    CHECK(outcome.status == 2);
    CHECK(outcome.out.find("npu 0 node 1 (send) (COMM_SEND_NODE) never finished") !=
          std::string::npos);

    set.traces[0].nodes[0].type = chakra::NodeType::kCollective;
    set.traces[0].nodes[0].comm_type = 0;
    set.traces[0].nodes[0].pg_name = "5";
    prefix = (dir / "group").string();
    chakra::write_chakra_traces(prefix, set);
    outcome = test::run_cli_process("replay", "--topology " + kTopology16 + " --chakra " + prefix);
    INFO(outcome.out);
    CHECK(outcome.status == 2);
    CHECK(outcome.out.find("pg_name \"5\" is not a communicator group") != std::string::npos);
}
