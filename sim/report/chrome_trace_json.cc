// SPDX-License-Identifier: Apache-2.0
// File: chrome_trace_json.cc
// Timelines as Chrome trace-event JSON (Perfetto, chrome://tracing): complete ("X") events
// in microseconds on (pid, tid) tracks, then metadata ("M") events naming the processes and
// threads. One line, no indentation (the files get large).
#include "stepsim/chakra.h"
#include "stepsim/report.h"
#include "stepsim/results_json.h"
#include "stepsim/topology.h"
#include "stepsim/trace.h"
#include "stepsim/training_step.h"

#include <map>
#include <optional>
#include <utility>

namespace stepsim {

namespace {

void begin_trace(JsonWriter& json) {
    json.begin_object();
    json.field("displayTimeUnit", "ns");
    json.key("traceEvents").begin_array();
}

std::string end_trace(JsonWriter& json) {
    json.end_array();
    json.end_object();
    return json.str() + "\n";
}

/// A complete ("X") event from `start_s` to `end_s`, in microseconds.
void write_complete(JsonWriter& json,
                    std::string_view name,
                    std::string_view category,
                    std::int64_t pid,
                    std::int64_t tid,
                    double start_s,
                    double end_s) {
    json.begin_object();
    json.field("name", name);
    json.field("cat", category);
    json.field("ph", "X");
    json.field("pid", pid);
    json.field("tid", tid);
    json.field("ts", start_s * 1e6);
    json.field("dur", (end_s - start_s) * 1e6);
    json.end_object();
}

/// A metadata ("M") event naming process `pid` (no tid) or its thread `tid`.
void write_name(JsonWriter& json,
                std::int64_t pid,
                std::optional<std::int64_t> tid,
                std::string_view name) {
    json.begin_object();
    json.field("name", tid ? "thread_name" : "process_name");
    json.field("ph", "M");
    json.field("pid", pid);
    if (tid) {
        json.field("tid", *tid);
    }
    json.key("args").begin_object().field("name", name).end_object();
    json.end_object();
}

}  // namespace

std::string to_chrome_trace_json(const Topology& topology,
                                 const std::vector<TimelineSlice>& timeline) {
    JsonWriter json(0);
    begin_trace(json);
    const std::map<std::string, int> stream_index = {{"compute", 0}, {"dp", 1},    {"zero", 2},
                                                     {"pp", 3},      {"other", 4}, {"cp", 5}};
    std::map<std::int64_t, std::string> processes;
    std::map<std::pair<std::int64_t, std::int64_t>, std::string> threads;
    for (const TimelineSlice& slice : timeline) {
        const NodeId gpu = topology.gpu(slice.rank);
        const std::int64_t pid = topology.node(gpu).host;
        const int stream = stream_index.count(slice.stream) ? stream_index.at(slice.stream) : 4;
        const std::int64_t tid = static_cast<std::int64_t>(slice.rank.value) * 8 + stream;
        processes.emplace(pid, "node " + std::to_string(pid));
        threads.emplace(std::make_pair(pid, tid), "gpu " + std::to_string(slice.rank.value) +
                                                      " (stage " + std::to_string(slice.stage) +
                                                      ") " + slice.stream);
        write_complete(json, slice.name, slice.category, pid, tid, slice.start_s, slice.end_s);
    }
    for (const auto& [pid, name] : processes) {
        write_name(json, pid, std::nullopt, name);
    }
    for (const auto& [key, name] : threads) {
        write_name(json, key.first, key.second, name);
    }
    return end_trace(json);
}

std::string to_chrome_trace_json(const ReplayResult& result) {
    JsonWriter json(0);
    begin_trace(json);
    std::map<std::pair<int, int>, bool> tracks;
    for (const ReplayResult::Slice& s : result.ideal_timeline) {
        write_complete(json, s.name, s.name, s.worker, s.stream, s.start_s, s.end_s);
        tracks[{s.worker, s.stream}] = true;
    }
    for (std::size_t w = 0; w < result.worker_names.size(); ++w) {
        write_name(json, static_cast<std::int64_t>(w), std::nullopt, result.worker_names[w]);
    }
    for (const auto& [track, is_used] : tracks) {
        write_name(json, track.first, track.second,
                   result.stream_names[static_cast<std::size_t>(track.second)]);
    }
    return end_trace(json);
}

std::string to_chrome_trace_json(const chakra::ReplayResult& result) {
    JsonWriter json(0);
    begin_trace(json);
    std::map<std::int64_t, bool> npus;
    for (const chakra::CriticalPathStep& node : result.timeline) {
        const std::string name = node.name.empty() ? "node " + std::to_string(node.id) : node.name;
        const bool is_compute = node.type == chakra::NodeType::kCompute;
        write_complete(json, name, chakra::to_string(node.type), node.npu, is_compute ? 0 : 1,
                       node.start_s, node.end_s);
        npus.emplace(node.npu, true);
    }
    for (const auto& [npu, unused] : npus) {
        write_name(json, npu, std::nullopt, "npu " + std::to_string(npu));
        write_name(json, npu, 0, "compute");
        write_name(json, npu, 1, "communication");
    }
    return end_trace(json);
}

}  // namespace stepsim
