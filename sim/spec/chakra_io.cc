// SPDX-License-Identifier: Apache-2.0
// File: chakra_io.cc
// Chakra .et files: varint32-length-delimited records, GlobalMetadata first, then Nodes
// (docs/chakra.md). Every malformed input is a SpecError naming the file and the record.
#include "stepsim/chakra.h"
#include "stepsim/error.h"
#include "stepsim/report.h"

#include "workloads/chakra/et_def.pb.h"

#include <google/protobuf/stubs/logging.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <system_error>
#include <unordered_map>

namespace stepsim::chakra {

namespace {

[[noreturn]] void fail(const std::string& file, std::string message) {
    throw SpecError(SourceLocation{file, 0, 0}, "", std::move(message));
}

void append_varint(std::string& out, std::uint64_t value) {
    while (value >= 0x80) {
        out.push_back(static_cast<char>((value & 0x7f) | 0x80));
        value >>= 7;
    }
    out.push_back(static_cast<char>(value));
}

void append_record(std::string& out, const google::protobuf::MessageLite& message) {
    const std::string bytes = message.SerializeAsString();
    append_varint(out, bytes.size());
    out += bytes;
}

ChakraProtoMsg::AttributeProto* add_attr(ChakraProtoMsg::Node& node, std::string_view name) {
    ChakraProtoMsg::AttributeProto* attr = node.add_attr();
    attr->set_name(std::string(name));
    return attr;
}

/// An integer or bool scalar member as int64 (feeder v3 converts among these too).
std::optional<std::int64_t> integer_value(const ChakraProtoMsg::AttributeProto& attr) {
    using A = ChakraProtoMsg::AttributeProto;
    switch (attr.value_case()) {
        case A::kInt32Val:
            return attr.int32_val();
        case A::kInt64Val:
            return attr.int64_val();
        case A::kUint32Val:
            return attr.uint32_val();
        case A::kUint64Val:
            return static_cast<std::int64_t>(attr.uint64_val());
        case A::kSint32Val:
            return attr.sint32_val();
        case A::kSint64Val:
            return attr.sint64_val();
        case A::kFixed32Val:
            return attr.fixed32_val();
        case A::kFixed64Val:
            return static_cast<std::int64_t>(attr.fixed64_val());
        case A::kSfixed32Val:
            return attr.sfixed32_val();
        case A::kSfixed64Val:
            return attr.sfixed64_val();
        case A::kBoolVal:
            return attr.bool_val() ? 1 : 0;
        default:
            return std::nullopt;
    }
}

std::string record_prefix(std::size_t record) {
    return "record " + std::to_string(record) + ": ";
}

Node to_node(const ChakraProtoMsg::Node& in, const std::string& file, std::size_t record) {
    Node node;
    node.id = in.id();
    node.name = in.name();
    const int type = static_cast<int>(in.type());
    if (type < 0 || type > static_cast<int>(NodeType::kCollective)) {
        fail(file, record_prefix(record) + "node " + std::to_string(in.id()) +
                       ": unknown node type " + std::to_string(type));
    }
    node.type = static_cast<NodeType>(type);
    node.data_deps.assign(in.data_deps().begin(), in.data_deps().end());
    node.ctrl_deps.assign(in.ctrl_deps().begin(), in.ctrl_deps().end());
    node.duration_micros = in.duration_micros();
    for (const ChakraProtoMsg::AttributeProto& attr : in.attr()) {
        const std::string& name = attr.name();
        if (name == "pg_name") {
            if (attr.value_case() == ChakraProtoMsg::AttributeProto::kStringVal) {
                node.pg_name = attr.string_val();
            } else if (const auto v = integer_value(attr)) {
                node.pg_name = std::to_string(*v);
            }
            continue;
        }
        static const std::set<std::string> kIntegers = {
            "is_cpu_op",     "num_ops",
            "tensor_size",   "comm_type",
            "comm_size",     "comm_src",
            "comm_dst",      "comm_tag",
            "comm_priority", std::string(kDurationPsAttribute)};
        if (!kIntegers.count(name)) {
            continue;  // involved_dim, rf_id, op_schema, ...: not used by stepsim
        }
        const std::optional<std::int64_t> v = integer_value(attr);
        if (!v) {
            fail(file, record_prefix(record) + "node " + std::to_string(in.id()) + ": attribute " +
                           name + " is not an integer or bool scalar");
        }
        if (name == "is_cpu_op") {
            node.is_cpu_op = *v != 0;
        } else if (name == "num_ops") {
            node.num_ops = *v;
        } else if (name == "tensor_size") {
            node.tensor_size = static_cast<std::uint64_t>(*v);
        } else if (name == "comm_type") {
            node.comm_type = *v;
        } else if (name == "comm_size") {
            node.comm_size = *v;
        } else if (name == "comm_src") {
            node.comm_src = static_cast<std::int32_t>(*v);
        } else if (name == "comm_dst") {
            node.comm_dst = static_cast<std::int32_t>(*v);
        } else if (name == "comm_tag") {
            node.comm_tag = static_cast<std::int32_t>(*v);
        } else if (name == "comm_priority") {
            node.comm_priority = static_cast<std::int32_t>(*v);
        } else {
            node.duration_ps = *v;
        }
    }
    return node;
}

std::size_t dependency_count(const Trace& trace) {
    std::size_t count = 0;
    for (const Node& node : trace.nodes) {
        count += node.data_deps.size() + node.ctrl_deps.size();
    }
    return count;
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        fail(path.string(), "cannot open");
    }
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

std::string_view to_string(NodeType type) {
    switch (type) {
        case NodeType::kInvalid:
            return "INVALID_NODE";
        case NodeType::kMetadata:
            return "METADATA_NODE";
        case NodeType::kMemLoad:
            return "MEM_LOAD_NODE";
        case NodeType::kMemStore:
            return "MEM_STORE_NODE";
        case NodeType::kCompute:
            return "COMP_NODE";
        case NodeType::kSend:
            return "COMM_SEND_NODE";
        case NodeType::kRecv:
            return "COMM_RECV_NODE";
        case NodeType::kCollective:
            return "COMM_COLL_NODE";
    }
    return "INVALID_NODE";
}

std::string encode_trace(const Trace& trace) {
    std::string out;
    ChakraProtoMsg::GlobalMetadata metadata;
    metadata.set_version(trace.version.empty() ? "0.0.4" : trace.version);
    append_record(out, metadata);
    for (const Node& node : trace.nodes) {
        ChakraProtoMsg::Node message;
        message.set_id(node.id);
        message.set_name(node.name);
        message.set_type(static_cast<ChakraProtoMsg::NodeType>(node.type));
        for (const std::uint64_t dep : node.ctrl_deps) {
            message.add_ctrl_deps(dep);
        }
        for (const std::uint64_t dep : node.data_deps) {
            message.add_data_deps(dep);
        }
        message.set_duration_micros(node.duration_micros);
        // The member each attribute is written with is the one the legacy feeder reads.
        if (node.is_cpu_op) {
            add_attr(message, "is_cpu_op")->set_bool_val(*node.is_cpu_op);
        }
        if (node.num_ops) {
            add_attr(message, "num_ops")->set_int64_val(*node.num_ops);
        }
        if (node.tensor_size) {
            add_attr(message, "tensor_size")->set_uint64_val(*node.tensor_size);
        }
        if (node.comm_type) {
            add_attr(message, "comm_type")->set_int64_val(*node.comm_type);
        }
        if (node.comm_size) {
            add_attr(message, "comm_size")->set_int64_val(*node.comm_size);
        }
        if (node.comm_src) {
            add_attr(message, "comm_src")->set_int32_val(*node.comm_src);
        }
        if (node.comm_dst) {
            add_attr(message, "comm_dst")->set_int32_val(*node.comm_dst);
        }
        if (node.comm_tag) {
            add_attr(message, "comm_tag")->set_int32_val(*node.comm_tag);
        }
        if (node.comm_priority) {
            add_attr(message, "comm_priority")->set_int32_val(*node.comm_priority);
        }
        if (node.pg_name) {
            add_attr(message, "pg_name")->set_string_val(*node.pg_name);
        }
        if (node.duration_ps) {
            add_attr(message, kDurationPsAttribute)->set_int64_val(*node.duration_ps);
        }
        append_record(out, message);
    }
    return out;
}

Trace decode_trace(std::string_view bytes, const std::string& file, const Limits& limits) {
    // protobuf logs a string field that is not UTF-8 to stderr before the parse fails; the
    // failure is reported here as a SpecError, and library code prints nothing.
    const google::protobuf::LogSilencer silence;
    Trace trace;
    std::size_t offset = 0;
    std::size_t record = 0;
    std::size_t dependencies = 0;
    std::unordered_map<std::uint64_t, std::size_t> record_of_id;
    std::vector<std::size_t> records;  // record index of each node
    while (offset < bytes.size()) {
        ++record;
        std::uint64_t length = 0;
        int shift = 0;
        bool done = false;
        for (int i = 0; i < 5; ++i) {
            if (offset >= bytes.size()) {
                fail(file, record_prefix(record) + "bad varint: the length prefix is truncated");
            }
            const auto byte = static_cast<std::uint8_t>(bytes[offset++]);
            length |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
            shift += 7;
            if ((byte & 0x80) == 0) {
                done = true;
                break;
            }
        }
        if (!done || length > 0xffffffffULL) {
            fail(file, record_prefix(record) + "bad varint: length prefix longer than 5 bytes");
        }
        if (length > limits.max_record_bytes) {
            fail(file, record_prefix(record) + "length " + std::to_string(length) +
                           " bytes exceeds the limit max_record_bytes = " +
                           std::to_string(limits.max_record_bytes) +
                           " (raise it with --max-record-bytes N)");
        }
        if (length > bytes.size() - offset) {
            fail(file, record_prefix(record) + "truncated record: length " +
                           std::to_string(length) + " bytes, " +
                           std::to_string(bytes.size() - offset) + " left in the file");
        }
        const char* data = bytes.data() + offset;
        offset += length;
        if (record == 1) {
            ChakraProtoMsg::GlobalMetadata metadata;
            if (!metadata.ParseFromArray(data, static_cast<int>(length))) {
                fail(file, record_prefix(record) + "GlobalMetadata does not parse");
            }
            trace.version = metadata.version();
            continue;
        }
        if (trace.nodes.size() >= limits.max_nodes_per_file) {
            fail(file, record_prefix(record) + "more than the limit max_nodes_per_file = " +
                           std::to_string(limits.max_nodes_per_file) +
                           " nodes (raise it with --max-nodes-per-file N)");
        }
        ChakraProtoMsg::Node message;
        if (!message.ParseFromArray(data, static_cast<int>(length))) {
            fail(file, record_prefix(record) + "Node does not parse");
        }
        Node node = to_node(message, file, record);
        dependencies += node.data_deps.size() + node.ctrl_deps.size();
        if (dependencies > limits.max_total_dependencies) {
            fail(file, record_prefix(record) + "more than the limit max_total_dependencies = " +
                           std::to_string(limits.max_total_dependencies) +
                           " dependencies (raise it with --max-total-dependencies N)");
        }
        if (!record_of_id.emplace(node.id, record).second) {
            fail(file, record_prefix(record) + "duplicate node id " + std::to_string(node.id) +
                           " (first in record " + std::to_string(record_of_id[node.id]) + ")");
        }
        records.push_back(record);
        trace.nodes.push_back(std::move(node));
    }
    if (record == 0) {
        fail(file, "record 1: empty file (no GlobalMetadata)");
    }
    if (trace.nodes.empty()) {
        fail(file, "record 2: no nodes (a trace needs at least one)");
    }
    // Every parent exists; the graph is acyclic (Kahn's algorithm).
    std::unordered_map<std::uint64_t, std::size_t> index_of;
    for (std::size_t i = 0; i < trace.nodes.size(); ++i) {
        index_of.emplace(trace.nodes[i].id, i);
    }
    std::vector<std::size_t> missing(trace.nodes.size(), 0);
    std::vector<std::vector<std::size_t>> children(trace.nodes.size());
    for (std::size_t i = 0; i < trace.nodes.size(); ++i) {
        const Node& node = trace.nodes[i];
        for (const auto* deps : {&node.data_deps, &node.ctrl_deps}) {
            for (const std::uint64_t dep : *deps) {
                const auto it = index_of.find(dep);
                if (it == index_of.end()) {
                    fail(file, record_prefix(records[i]) + "node " + std::to_string(node.id) +
                                   " depends on node " + std::to_string(dep) +
                                   ", which is not in the file");
                }
                ++missing[i];
                children[it->second].push_back(i);
            }
        }
    }
    std::vector<std::size_t> ready;
    for (std::size_t i = 0; i < trace.nodes.size(); ++i) {
        if (missing[i] == 0) {
            ready.push_back(i);
        }
    }
    std::size_t visited = 0;
    while (!ready.empty()) {
        const std::size_t i = ready.back();
        ready.pop_back();
        ++visited;
        for (const std::size_t child : children[i]) {
            if (--missing[child] == 0) {
                ready.push_back(child);
            }
        }
    }
    if (visited != trace.nodes.size()) {
        for (std::size_t i = 0; i < trace.nodes.size(); ++i) {
            if (missing[i] != 0) {
                fail(file, record_prefix(records[i]) + "node " + std::to_string(trace.nodes[i].id) +
                               " is on or behind a dependency cycle");
            }
        }
    }
    return trace;
}

/// Minimal reader for {"1":[0,1,2],"2":[3,4]}.
std::map<std::int64_t, std::vector<int>> parse_comm_groups(std::string_view text,
                                                           const std::string& file) {
    std::map<std::int64_t, std::vector<int>> groups;
    std::size_t i = 0;
    const auto skip = [&] {
        while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) {
            ++i;
        }
    };
    const auto expect = [&](char c) {
        skip();
        if (i >= text.size() || text[i] != c) {
            fail(file, "offset " + std::to_string(i) + ": expected '" + std::string(1, c) + "'");
        }
        ++i;
    };
    const auto number = [&] {
        skip();
        const std::size_t begin = i;
        while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
            ++i;
        }
        if (begin == i || i - begin > 9) {
            fail(file, "offset " + std::to_string(begin) + ": expected a non-negative integer");
        }
        std::int64_t value = 0;  // at most 9 digits: fits
        std::from_chars(text.data() + begin, text.data() + i, value);
        return value;
    };
    expect('{');
    skip();
    if (i < text.size() && text[i] == '}') {
        return groups;
    }
    while (true) {
        expect('"');
        const std::int64_t id = number();
        expect('"');
        expect(':');
        expect('[');
        std::vector<int>& ranks = groups[id];
        skip();
        if (i < text.size() && text[i] == ']') {
            ++i;
        } else {
            while (true) {
                ranks.push_back(static_cast<int>(number()));
                skip();
                if (i < text.size() && text[i] == ',') {
                    ++i;
                    continue;
                }
                expect(']');
                break;
            }
        }
        skip();
        if (i < text.size() && text[i] == ',') {
            ++i;
            continue;
        }
        expect('}');
        break;
    }
    return groups;
}

TraceSet read_chakra_traces(const std::string& prefix, const Limits& limits) {
    TraceSet set;
    std::size_t total = 0;
    std::size_t dependencies = 0;
    for (std::size_t npu = 0;; ++npu) {
        const std::filesystem::path path = prefix + "." + std::to_string(npu) + ".et";
        if (!std::filesystem::exists(path)) {
            if (npu == 0) {
                fail(path.string(), "no such file (expected PREFIX.0.et, PREFIX.1.et, ...)");
            }
            break;
        }
        if (npu >= limits.max_files) {
            fail(path.string(),
                 "more than the limit max_files = " + std::to_string(limits.max_files) +
                     " files, one per NPU (raise it with --max-files N)");
        }
        Trace trace = decode_trace(read_file(path), path.string(), limits);
        trace.npu = static_cast<int>(npu);
        total += trace.nodes.size();
        if (total > limits.max_total_nodes) {
            fail(path.string(),
                 "more than the limit max_total_nodes = " + std::to_string(limits.max_total_nodes) +
                     " nodes in all (raise it with --max-total-nodes N)");
        }
        dependencies += dependency_count(trace);
        if (dependencies > limits.max_total_dependencies) {
            fail(path.string(),
                 "more than the limit max_total_dependencies = " +
                     std::to_string(limits.max_total_dependencies) +
                     " dependencies in all (raise it with --max-total-dependencies N)");
        }
        set.traces.push_back(std::move(trace));
    }
    const std::filesystem::path groups = prefix + ".comm_groups.json";
    if (std::filesystem::exists(groups)) {
        set.groups = parse_comm_groups(read_file(groups), groups.string());
    }
    return set;
}

std::filesystem::path write_chakra_trace(const std::string& prefix, const Trace& trace) {
    const std::filesystem::path folder = std::filesystem::path(prefix).parent_path();
    std::error_code error;
    if (!folder.empty() && !std::filesystem::create_directories(folder, error) && error) {
        throw IoError("cannot create the folder " + folder.string() + ": " + error.message());
    }
    const std::filesystem::path path = prefix + "." + std::to_string(trace.npu) + ".et";
    write_file_atomically(path, encode_trace(trace));
    return path;
}

std::filesystem::path write_chakra_groups(const std::string& prefix,
                                          const std::map<std::int64_t, std::vector<int>>& groups) {
    std::ostringstream json;
    json << '{';
    bool first = true;
    for (const auto& [id, ranks] : groups) {
        json << (first ? "" : ",") << "\n  \"" << id << "\": [";
        for (std::size_t i = 0; i < ranks.size(); ++i) {
            json << (i ? "," : "") << ranks[i];
        }
        json << ']';
        first = false;
    }
    json << "\n}\n";
    const std::filesystem::path path = prefix + ".comm_groups.json";
    write_file_atomically(path, json.str());
    return path;
}

namespace {

/// Removes `path`; false when there was none. A file that cannot be removed is an IoError.
bool remove_if_present(const std::filesystem::path& path) {
    std::error_code error;
    const bool removed = std::filesystem::remove(path, error);
    if (error) {
        throw IoError("cannot remove " + path.string() + ": " + error.message());
    }
    return removed;
}

}  // namespace

std::vector<std::filesystem::path> finish_chakra_export(
    const std::string& prefix,
    std::size_t npus,
    const std::map<std::int64_t, std::vector<int>>& groups) {
    std::vector<std::filesystem::path> written;
    const std::filesystem::path groups_path = prefix + ".comm_groups.json";
    if (!groups.empty()) {
        written.push_back(write_chakra_groups(prefix, groups));
    } else {
        remove_if_present(groups_path);
    }
    // A reader takes PREFIX.0.et up to the first missing index: what an earlier, larger export
    // left from PREFIX.<npus>.et on would join this set.
    for (std::size_t npu = npus;; ++npu) {
        if (!remove_if_present(prefix + "." + std::to_string(npu) + ".et")) {
            break;
        }
    }
    return written;
}

std::vector<std::filesystem::path> write_chakra_traces(const std::string& prefix,
                                                       const TraceSet& set) {
    std::vector<std::filesystem::path> written;
    for (const Trace& trace : set.traces) {
        written.push_back(write_chakra_trace(prefix, trace));
    }
    const std::vector<std::filesystem::path> groups =
        finish_chakra_export(prefix, set.traces.size(), set.groups);
    written.insert(written.end(), groups.begin(), groups.end());
    return written;
}

}  // namespace stepsim::chakra
