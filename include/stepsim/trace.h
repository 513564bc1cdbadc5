// SPDX-License-Identifier: Apache-2.0
// File: trace.h
// Recorded training timelines in, straggler what-if out (docs/models/stragglers.md, "Trace
// replay"). `load_trace_file()` reads Chrome trace-event JSON (plain or gzip) into complete
// events; `replay_trace()` rebuilds the per-op dependency graph of each recorded step,
// replays it on the engine with recorded and with idealised durations, and attributes the
// slowdown (the what-if analysis of Lin et al., OSDI'25). Bad input raises SpecError.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stepsim {

/// One complete ("ph": "X") event. Times are microseconds, as the format writes them.
struct TraceEvent {
    std::string name;
    std::string category;
    std::int64_t pid = 0;
    std::int64_t tid = 0;
    double ts_us = 0;
    double dur_us = 0;
    /// args.step, args.mb_id, args.model_chunk, args.seq_id; -1 when absent.
    std::int64_t step = -1;
    std::int64_t mb_id = -1;
    std::int64_t model_chunk = -1;
    std::int64_t seq_id = -1;
    bool has_step = false;   ///< args.step was given
    std::int64_t index = 0;  ///< position in the file's event array (metadata included)
    int line = 0;            ///< line of the event's "{" (of the decompressed text)
    int column = 0;
};

/// A loaded trace: its complete events in file order and the names of its tracks.
struct Trace {
    std::string file;  ///< as given, for messages
    std::vector<TraceEvent> events;
    std::map<std::pair<std::int64_t, std::int64_t>, std::string> thread_names;  ///< (pid, tid)
    std::map<std::int64_t, std::string> process_names;
    std::int64_t array_events = 0;  ///< every event of the array, metadata included
    /// Durations between -1 ms and 0 (clock skew between an op's two timestamps), read as 0.
    std::int64_t clamped_durations = 0;
};

/// What a trace may cost; exceeding one is a SpecError naming it.
struct TraceLimits {
    std::int64_t max_events = 50'000'000;                    ///< events in the array
    std::int64_t max_json_bytes = 8LL * 1024 * 1024 * 1024;  ///< decompressed text
};

/// Reads `path`: gzip (by its magic bytes) or plain JSON, either a bare event array or an
/// object with "traceEvents". Keeps "X" events and the process_name/thread_name metadata;
/// other phases are skipped, except "B"/"E" (unpaired begin/end slices), which are refused.
/// Throws SpecError with the event index and line:col for bad JSON, missing or non-finite
/// fields, durations below -1 ms (above that, negative ones are clock skew and read as 0),
/// truncated or corrupt gzip, and exceeded limits.
Trace load_trace_file(const std::filesystem::path& path, const TraceLimits& limits = {});

/// The same, from text already in memory; `file` names it in messages.
Trace parse_trace_json(std::string_view text,
                       const std::string& file,
                       const TraceLimits& limits = {});

/// As load_trace_file, from the file's bytes already in memory (gzip or plain JSON).
Trace parse_trace_bytes(std::string_view bytes,
                        const std::string& file,
                        const TraceLimits& limits = {});

/// The job's shape from a meta YAML ("dp_size: 4" lines, as the StragglerAnalysis artifact
/// writes them). Only flat `key: value` lines are read.
struct TraceMeta {
    std::string trial_name;
    int dp = 0;
    int pp = 0;
    int tp = 0;
    int vpp = 1;
    int dsp = 1;
    int world_size = 0;
};

/// Throws SpecError (file:line) for a missing or non-positive dp_size, pp_size or tp_size.
TraceMeta load_trace_meta(const std::filesystem::path& path);

/// How compute ops are idealised: the paper's mean of the op type, or its median (robust
/// when few workers share an op type, e.g. a synthetic step with a handful of replicas).
enum class ComputeIdeal : std::uint8_t { kMean, kMedian };

struct ReplayOptions {
    ComputeIdeal compute_ideal = ComputeIdeal::kMean;
    bool has_attribution = true;
    /// Ranks (DP, PP, TP, gpu), stages and workers beyond this are refused (SpecError naming
    /// the limit): the per-worker tables and the attribution runs grow with them.
    std::int64_t max_ranks = 1 << 20;
};

/// One group kept at its recorded durations while everything else is idealised.
struct ReplayAttribution {
    std::string group;       ///< "forward-compute", "stage 3", "dp 1 pp 3"
    double step_time_s = 0;  ///< mean over steps
    double slowdown = 0;     ///< step_time_s / ideal step time
    /// (step_time_s − ideal) / (replayed − ideal): the share of the slowdown this group
    /// explains on its own (0 when there is no slowdown).
    double explained_fraction = 0;
};

/// How one compute op type varies on one stage: over all its ops (workers, micro-batches,
/// steps), and which part of that variance lies between workers (a persistently slow worker
/// gives a share near 1; per-micro-batch imbalance such as uneven sequence lengths, near 0).
struct ComputeVariation {
    std::string op_type;
    int stage = 0;
    std::int64_t ops = 0;
    double mean_s = 0;
    double cv = 0;                       ///< standard deviation / mean
    double between_worker_fraction = 0;  ///< variance of the worker means / total variance
};

/// One recorded step.
struct ReplayStep {
    std::int64_t step = 0;
    double recorded_step_time_s = 0;  ///< last end − first start over every op of the step
    double replayed_step_time_s = 0;  ///< recorded durations, launch delays removed
    double ideal_step_time_s = 0;
    double replay_error = 0;  ///< (replayed − recorded) / recorded
};

struct ReplayResult {
    std::string format;  ///< "megatron" (StragglerAnalysis timelines) or "stepsim"
    int workers = 0;
    int stages = 0;
    std::int64_t ops = 0;
    std::vector<ReplayStep> steps;
    double recorded_step_time_s = 0;  ///< means over steps
    double replayed_step_time_s = 0;
    double ideal_step_time_s = 0;
    double slowdown = 0;      ///< replayed / ideal (S)
    double replay_error = 0;  ///< mean |replay_error| over steps
    double max_replay_error = 0;
    /// Each sorted by explained_fraction, largest first (ties by group name).
    std::vector<ReplayAttribution> by_op_type;
    std::vector<ReplayAttribution> by_stage;
    std::vector<ReplayAttribution> by_worker;
    /// Stage-partition imbalance: compute idealised per (op type, stage) rather than per op
    /// type, communication idealised; its step time's share of the slowdown.
    double stage_ideal_step_time_s = 0;
    double m_s = 0;
    /// Individual workers: the largest share of the slowdown that one worker, kept at its
    /// recorded durations on top of the stage-ideal step, adds; and that worker.
    double m_w = 0;
    std::string m_w_worker;

    /// Per (compute op type, stage), in type then stage order.
    std::vector<ComputeVariation> compute_variation;

    /// The ideal step's timeline (first step), for a Perfetto trace: worker names and slices.
    struct Slice {
        int worker = 0;
        int stream = 0;
        std::string name;
        double start_s = 0;
        double end_s = 0;
    };

    std::vector<std::string> worker_names;
    std::vector<std::string> stream_names;
    std::vector<Slice> ideal_timeline;
    /// [worker][step]: the worker's busy compute time in the step, seconds (for a heatmap).
    std::vector<std::vector<double>> worker_compute_s;
};

/// Rebuilds each step's dependency graph from `trace` and runs the what-if analysis. `meta`
/// is optional for stepsim's own traces (stages and replicas come from the track names) and
/// checked against the trace when given. Throws SpecError for unmatched sends and receives,
/// collectives with a missing participant, non-monotonic sequence numbers, unknown track
/// names and dependency cycles, each naming the event index.
ReplayResult replay_trace(const Trace& trace,
                          const TraceMeta* meta,
                          const ReplayOptions& options = {});

}  // namespace stepsim
