// SPDX-License-Identifier: Apache-2.0
// File: chakra.h
// MLCommons Chakra execution traces (ETs), the workload format of ASTRA-sim: one file per NPU,
// `PREFIX.<npu>.et`, each a GlobalMetadata record then Node records (docs/chakra.md).
//
//   export: simulate_step(... keeps_timeline) -> chakra_traces_from_step() -> write_chakra_traces()
//   import: read_chakra_traces() -> replay_chakra() on a Topology
//
// The structs below are the subset of a Node that stepsim reads and writes; the file I/O
// (protobuf) lives in sim/spec, the conversion and the replay in sim/chakra.
#pragma once

#include "stepsim/collective.h"
#include "stepsim/ids.h"
#include "stepsim/network.h"
#include "stepsim/topology.h"
#include "stepsim/training_step.h"
#include "stepsim/workload.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stepsim::chakra {

/// Chakra's NodeType numbers.
enum class NodeType : std::uint8_t {
    kInvalid = 0,
    kMetadata = 1,
    kMemLoad = 2,
    kMemStore = 3,
    kCompute = 4,
    kSend = 5,
    kRecv = 6,
    kCollective = 7,
};

/// Chakra's CollectiveCommType numbers (the `comm_type` attribute).
enum class CommType : std::int64_t {
    kAllReduce = 0,
    kReduce = 1,
    kAllGather = 2,
    kGather = 3,
    kScatter = 4,
    kBroadcast = 5,
    kAllToAll = 6,
    kReduceScatter = 7,
    kReduceScatterBlock = 8,
    kBarrier = 9,
};

/// "COMP_NODE", ...
std::string_view to_string(NodeType type);

/// The name of stepsim's own attribute holding a compute node's exact duration in
/// picoseconds (duration_micros keeps whole microseconds only). Other readers ignore it.
inline constexpr std::string_view kDurationPsAttribute = "stepsim_duration_ps";

struct Node {
    std::uint64_t id = 0;
    std::string name;
    NodeType type = NodeType::kInvalid;
    std::vector<std::uint64_t> data_deps;
    std::vector<std::uint64_t> ctrl_deps;
    std::uint64_t duration_micros = 0;
    // Attributes (absent unless set; the writer emits each set one, zero values included).
    std::optional<bool> is_cpu_op;
    std::optional<std::int64_t> num_ops;       ///< FLOPs
    std::optional<std::uint64_t> tensor_size;  ///< bytes
    std::optional<std::int64_t> comm_type;     ///< CommType number
    std::optional<std::int64_t> comm_size;     ///< bytes per NPU
    std::optional<std::int32_t> comm_src;
    std::optional<std::int32_t> comm_dst;
    std::optional<std::int32_t> comm_tag;
    std::optional<std::int32_t> comm_priority;
    std::optional<std::string> pg_name;       ///< communicator group id ("" or "0": all NPUs)
    std::optional<std::int64_t> duration_ps;  ///< kDurationPsAttribute
};

/// One NPU's file.
struct Trace {
    int npu = 0;
    std::string version = "0.0.4";
    std::vector<Node> nodes;
};

/// A set of per-NPU traces plus the communicator groups their pg_name values refer to
/// (ASTRA-sim's --comm-group-configuration: group id > 0 -> NPUs in ring order).
struct TraceSet {
    std::vector<Trace> traces;  ///< traces[i].npu == i
    std::map<std::int64_t, std::vector<int>> groups;
};

/// What a reader accepts; beyond it the input is refused (exit status 2) naming the limit.
struct Limits {
    std::size_t max_files = 65536;             ///< NPUs per prefix
    std::size_t max_nodes_per_file = 1 << 22;  ///< 4,194,304
    std::size_t max_record_bytes = 1 << 24;    ///< 16 MiB per serialized record
    /// Over all files read: the replay keeps about 0.5 KB per node (8,388,608 → ~4 GB).
    std::size_t max_total_nodes = 1 << 23;
    std::size_t max_export_nodes = 1 << 26;  ///< over all files written by an export
    /// data_deps + ctrl_deps over all files read: each costs about 40 bytes of decode and
    /// replay state (33,554,432 → ~1.3 GB), and a file of 1-byte varints holds 8 per 8 bytes.
    std::size_t max_total_dependencies = 1 << 25;
};

// ---- file I/O (sim/spec/chakra_io.cc; the only code that links protobuf) -----------------

/// The bytes of one .et file: varint32 length + GlobalMetadata, then varint32 length + Node
/// for each node, in the order given.
std::string encode_trace(const Trace& trace);

/// Parses one .et file. Throws SpecError "FILE: error: record N: ..." (N counts from 1, the
/// metadata record) for a bad varint, a truncated record, a record that does not parse, an
/// unknown node type, a duplicate id, a dependency on a missing id, a cycle, or a limit.
Trace decode_trace(std::string_view bytes, const std::string& file, const Limits& limits = {});

/// Parses PREFIX.comm_groups.json: {"1": [0, 1, 2], "2": [3, 4]} (group id -> NPUs). Throws
/// SpecError "FILE: error: offset N: ..." for anything else.
std::map<std::int64_t, std::vector<int>> parse_comm_groups(std::string_view text,
                                                           const std::string& file);

/// Reads PREFIX.0.et, PREFIX.1.et, ... up to the first missing index (at least one file), and
/// PREFIX.comm_groups.json when present. Throws SpecError as decode_trace.
TraceSet read_chakra_traces(const std::string& prefix, const Limits& limits = {});

/// Writes every trace to PREFIX.<npu>.et and, when there are groups,
/// PREFIX.comm_groups.json, each atomically, then finish_chakra_export(). Returns the paths
/// written.
std::vector<std::filesystem::path> write_chakra_traces(const std::string& prefix,
                                                       const TraceSet& set);

/// Writes PREFIX.<trace.npu>.et atomically (creating PREFIX's folder); returns the path.
std::filesystem::path write_chakra_trace(const std::string& prefix, const Trace& trace);

/// Ends an export of `npus` traces (PREFIX.0.et .. PREFIX.<npus-1>.et, already written):
/// writes PREFIX.comm_groups.json atomically when there are groups, and removes what an
/// earlier export to the same prefix left that this one does not have (a comm_groups.json,
/// PREFIX.<npus>.et and up), which a reader would otherwise take as part of this set. Returns
/// the paths written.
std::vector<std::filesystem::path> finish_chakra_export(
    const std::string& prefix,
    std::size_t npus,
    const std::map<std::int64_t, std::vector<int>>& groups);

/// Writes PREFIX.comm_groups.json atomically; returns the path.
std::filesystem::path write_chakra_groups(const std::string& prefix,
                                          const std::map<std::int64_t, std::vector<int>>& groups);

// ---- conversion and replay (sim/chakra) ---------------------------------------------------

/// The per-NPU graphs of a simulated step (`result` from simulate_step with keeps_timeline),
/// one trace per GPU of the layout: each GPU that stepsim did not simulate on its own (the
/// other TP ranks and DP replicas of a stage) gets its stage's graph with every peer rank
/// shifted by its own TP and DP offset. Compute tasks become COMP nodes with their duration,
/// TP/DP/ZeRO collectives COMM_COLL nodes on a communicator group, pipeline messages a SEND on
/// the sender and a RECV on the receiver. Each trace goes to `sink` as soon as it is built
/// (NPU 0 first), so that only one is in memory; returns the communicator groups. Throws
/// std::invalid_argument if the result has no timeline or the export exceeds
/// `limits.max_export_nodes`.
std::map<std::int64_t, std::vector<int>> export_step_traces(
    const StepResult& result,
    const ParallelLayout& layout,
    const std::function<void(Trace&&)>& sink,
    const Limits& limits = {});

/// export_step_traces() into one TraceSet.
TraceSet chakra_traces_from_step(const StepResult& result,
                                 const ParallelLayout& layout,
                                 const Limits& limits = {});

struct ReplayOptions {
    NetworkKind network = NetworkKind::kFairShare;
    CollectiveOptions collective;
    /// Compute nodes without a duration: time = max(num_ops / peak, tensor_size / bandwidth).
    double peak_flops_per_s = 989e12;       ///< H100 SXM dense BF16
    double memory_bandwidth_Bps = 3.35e12;  ///< H100 SXM HBM3
    /// Keep every node's interval in ReplayResult::timeline (for --trace).
    bool keeps_timeline = false;
};

struct RankReplay {
    int npu = 0;
    double total_s = 0;                  ///< when its last node finished
    double compute_s = 0;                ///< union of its compute nodes' intervals
    double exposed_communication_s = 0;  ///< total_s − compute_s (ASTRA-sim's definition)
    std::size_t nodes = 0;
};

struct CriticalPathStep {
    int npu = 0;
    std::uint64_t id = 0;
    std::string name;
    NodeType type = NodeType::kInvalid;
    double start_s = 0;
    double end_s = 0;
};

struct ReplayResult {
    double total_s = 0;  ///< the slowest NPU
    std::vector<RankReplay> ranks;
    /// From the last node to finish back to the start, following the parent (or the
    /// collective member, or the sender) that finished last; in time order.
    std::vector<CriticalPathStep> critical_path;
    std::uint64_t events = 0;
    /// Every node, NPU by NPU in file order (with ReplayOptions::keeps_timeline).
    std::vector<CriticalPathStep> timeline;
};

/// Runs every NPU's graph on `topology` (GPU i = NPU i): a node starts when all its
/// data_deps and ctrl_deps have finished; COMP by its duration (stepsim_duration_ps, else
/// duration_micros, else num_ops/tensor_size through the roofline of `options`); a COMM_COLL
/// when every member of its group has reached its k-th collective on that group (k by node
/// id), then as one stepsim collective; SEND/RECV as one point-to-point transfer once both
/// sides are ready (matched on src, dst, tag). METADATA, MEM and INVALID nodes take no time.
/// Throws std::invalid_argument (bad input: more NPUs than GPUs, an unknown group, an
/// unsupported collective, an unmatched send or receive, a graph that never drains).
ReplayResult replay_chakra(const TraceSet& set,
                           const Topology& topology,
                           const ReplayOptions& options = {});

}  // namespace stepsim::chakra
