// SPDX-License-Identifier: Apache-2.0
// File: results_json.h
// One JSON serializer per result type (sim/report/*_json.cc): the only code that turns a
// study's (or a model's) typed result into the JSON the CLI prints with --json or writes as a
// Chrome trace, the sweep runner stores and the Python module's to_json()/to_dict() return.
// Field names carry their units.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stepsim {

class JsonWriter;
class Topology;
struct MemoryBreakdown;
struct ReplayResult;
struct StepBreakdown;
struct SweepPointRecord;
enum class SweepPointStatus : std::uint8_t;
struct SweepSpec;
struct SweepSummary;
struct TimelineSlice;
struct TopologySummary;

namespace chakra {
struct ReplayResult;
}  // namespace chakra

namespace study {
struct CheckpointStudyResult;
struct CollectiveStudyResult;
struct ValidationResult;
struct SearchResult;
struct StepStudyResult;
struct WhatIfStudyResult;
struct WorkloadStudyResult;
}  // namespace study

/// A step breakdown as an object (compute_s, recompute_s, tp_s, pp_s, dp_s, zero_s, bubble_s,
/// other_idle_s): the shape step, whatif and validate share.
void write_json(JsonWriter& json, const StepBreakdown& breakdown);

/// A memory breakdown's fields (weights_bytes, gradients_bytes, optimizer_bytes,
/// activations_bytes, transient_bytes, total_bytes) into the object open in `json`: the
/// fields step and workload share.
void write_fields(JsonWriter& json, const MemoryBreakdown& memory);

/// `stepsim step --json`: step time, rates, the cluster and per-stage breakdowns, memory,
/// kernels, critical path, closed-form estimates and simulation counts. Ends with a newline.
std::string to_json(const study::StepStudyResult& result);

/// `stepsim whatif --json`: baseline and scenario step times, slowdown, breakdowns and their
/// delta, attribution, sweep curve, sensitivity and critical path. Ends with a newline.
std::string to_json(const study::WhatIfStudyResult& result);

/// `stepsim checkpoint --json`: the run spec, then per failure rate the best interval and its
/// band, Young's and Daly's intervals as simulated, the refined optimum, the caveats and the
/// grid's points. Ends with a newline.
std::string to_json(const study::CheckpointStudyResult& result);

/// `stepsim validate --json`: the rows (listed, or with their results), per-table error
/// statistics and the targets over the rows held to them. Ends with a newline.
std::string to_json(const study::ValidationResult& result);

/// `stepsim search --json`: the counts and the best `top` layouts (0: every simulated one),
/// with the objective's fields. Ends with a newline.
std::string to_json(const study::SearchResult& result, std::size_t top);

/// `stepsim collective --json`: the op, group size, network and channels, then a row per
/// size (bytes, time_s, algbw_Bps, busbw_Bps, analytic_time_s, algorithm). Ends with a
/// newline.
std::string to_json(const study::CollectiveStudyResult& result);

/// `stepsim workload --json`: the layout, parameters, FLOPs beside 6ND, one layer's and the
/// edges' work and times, the MoE block (MoE models), the bubble and memory per stage. Ends
/// with the closing brace's line break only (no blank last line, as the command printed).
std::string to_json(const study::WorkloadStudyResult& result);

/// `stepsim topology --json`: GPUs, servers, devices and links by kind, diameter and per-GPU
/// injection bandwidth by tier, for the spec `topology_file`. Ends with the closing brace's
/// line break only (no blank last line, as the command printed).
std::string to_json(const TopologySummary& summary, std::string_view topology_file);

/// `stepsim whatif --replay --json`: slowdown, recorded / replayed / ideal step times, M_S and
/// M_W, attribution, compute variation and the per-step rows of the replay of `trace_file`
/// (`clamped_durations`: slightly negative recorded durations read as 0). Ends with a newline.
std::string to_json(const ReplayResult& result,
                    std::string_view trace_file,
                    std::int64_t clamped_durations);

/// `stepsim replay --chakra --json`: total time, per-NPU times and the critical path of the
/// Chakra traces `chakra_prefix`.* on `topology_file`. Ends with a newline.
std::string to_json(const chakra::ReplayResult& result,
                    std::string_view topology_file,
                    std::string_view chakra_prefix);

/// results.csv's header: "point,seed,<axes>,status,<results>,reason\n" (seed only with a
/// seed flag).
std::string sweep_csv_header(const SweepSpec& spec);
/// A point's results.csv record (ends with a newline): axis values and results as text, a
/// JSON string result unquoted.
std::string sweep_csv_record(const SweepSpec& spec, const SweepPointRecord& record);
/// A point's results.jsonl line (ends with a newline): axis values and seed as numbers when
/// they read as numbers, results as the command wrote them, null where absent.
std::string sweep_json_line(const SweepSpec& spec, const SweepPointRecord& record);

/// The status of a results.jsonl line written by sweep_json_line() (a resumed run counts its
/// finished points by it); failed when the line has none it knows.
SweepPointStatus sweep_json_line_status(std::string_view line);

/// `stepsim sweep --json`: the finished run's counts by status, ranks, threads and files.
/// Ends with a newline.
std::string to_json(const SweepSummary& summary);

// Chrome trace-event JSON (Perfetto), one line: complete events in microseconds, then the
// process and thread names (sim/report/chrome_trace_json.cc).

/// A simulated step's timeline (`step --trace`, `whatif --trace`): a process per server, a
/// track per GPU stream named "gpu R (stage S) <stream>" (the names `whatif --replay` reads
/// back).
std::string to_chrome_trace_json(const Topology& topology,
                                 const std::vector<TimelineSlice>& timeline);

/// A trace replay's idealised first step (`whatif --replay --trace`): a process per worker, a
/// track per stream.
std::string to_chrome_trace_json(const ReplayResult& result);

/// A Chakra replay's every node (`replay --trace`): a process per NPU, a compute track and a
/// communication track.
std::string to_chrome_trace_json(const chakra::ReplayResult& result);

}  // namespace stepsim
