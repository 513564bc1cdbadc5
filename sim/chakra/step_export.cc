// SPDX-License-Identifier: Apache-2.0
// File: step_export.cc
// A simulated step's task graph as per-NPU Chakra graphs (docs/chakra.md §Export). stepsim
// simulates one GPU per pipeline stage; every other GPU of the stage runs the same graph, so
// its trace is the stage's graph with each peer rank shifted by the GPU's TP and DP offset.
#include "stepsim/chakra.h"
#include "stepsim/error.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <stdexcept>
#include <unordered_map>

namespace stepsim::chakra {

namespace {

std::int64_t comm_type_of(std::string_view op) {
    if (op == "allreduce") {
        return static_cast<std::int64_t>(CommType::kAllReduce);
    }
    if (op == "reducescatter") {
        return static_cast<std::int64_t>(CommType::kReduceScatter);
    }
    if (op == "allgather") {
        return static_cast<std::int64_t>(CommType::kAllGather);
    }
    if (op == "broadcast") {
        return static_cast<std::int64_t>(CommType::kBroadcast);
    }
    if (op == "reduce") {
        return static_cast<std::int64_t>(CommType::kReduce);
    }
    if (op == "alltoall") {
        return static_cast<std::int64_t>(CommType::kAllToAll);
    }
    throw UserError("Chakra export: no Chakra collective for \"" + std::string(op) + "\"");
}

std::uint64_t whole_micros(double seconds) {
    return static_cast<std::uint64_t>(std::llround(std::max(0.0, seconds) * 1e6));
}

/// A node of a simulated rank's graph with its ranks still those of the simulated GPUs.
struct TemplateNode {
    const TimelineSlice* slice = nullptr;
    NodeType type = NodeType::kCompute;
    std::vector<std::uint64_t> deps;
};

}  // namespace

std::map<std::int64_t, std::vector<int>> export_step_traces(
    const StepResult& result,
    const ParallelLayout& layout,
    const std::function<void(Trace&&)>& sink,
    const Limits& limits) {
    std::vector<const TimelineSlice*> tasks;
    for (const TimelineSlice& slice : result.timeline) {
        if (slice.task >= 0) {
            tasks.push_back(&slice);
        }
    }
    if (tasks.empty()) {
        throw InternalError("Chakra export: the step result has no task timeline");
    }
    std::sort(tasks.begin(), tasks.end(),
              [](const TimelineSlice* a, const TimelineSlice* b) { return a->task < b->task; });

    // Which simulated ranks hold each task: its own rank; both ends of a message.
    std::map<std::uint32_t, std::vector<TemplateNode>> graphs;
    std::map<std::uint32_t, std::set<std::int64_t>> present;
    for (const TimelineSlice* slice : tasks) {
        if (slice->op == "sendrecv") {
            if (slice->group.size() != 2) {
                throw InternalError("Chakra export: a message without {src, dst}");
            }
            graphs[slice->group[0].value].push_back({slice, NodeType::kSend, {}});
            graphs[slice->group[1].value].push_back({slice, NodeType::kRecv, {}});
            present[slice->group[0].value].insert(slice->task);
            present[slice->group[1].value].insert(slice->task);
        } else {
            graphs[slice->rank.value].push_back(
                {slice, slice->op == "compute" ? NodeType::kCompute : NodeType::kCollective, {}});
            present[slice->rank.value].insert(slice->task);
        }
    }
    // Dependencies inside a rank's file; one on another GPU's task is carried by the message
    // or collective between them, so it is dropped.
    for (auto& [rank, nodes] : graphs) {
        const std::set<std::int64_t>& here = present[rank];
        for (TemplateNode& node : nodes) {
            for (const std::uint32_t dep : node.slice->dependencies) {
                if (here.count(dep)) {
                    node.deps.push_back(dep);
                }
            }
        }
    }

    // The simulated GPU standing for each stage, and each GPU's offset from it.
    std::map<int, std::uint32_t> simulated_of_stage;
    for (const auto& [rank, nodes] : graphs) {
        const RankCoordinates c = coordinates_of(layout, static_cast<int>(rank));
        simulated_of_stage.emplace(c.pp, rank);
    }
    const int world = layout.world_size();
    std::size_t total = 0;
    for (int g = 0; g < world; ++g) {
        const RankCoordinates c = coordinates_of(layout, g);
        const auto it = simulated_of_stage.find(c.pp);
        if (it == simulated_of_stage.end()) {
            throw InternalError("Chakra export: stage " + std::to_string(c.pp) +
                                " has no simulated GPU in the timeline");
        }
        total += graphs[it->second].size();
    }
    if (total > limits.max_export_nodes) {
        throw ResourceLimitError(
            "Chakra export: " + std::to_string(total) + " nodes over " + std::to_string(world) +
            " files exceeds the limit max_export_nodes = " +
            std::to_string(limits.max_export_nodes) + " (export a smaller layout)");
    }

    std::map<std::int64_t, std::vector<int>> groups;
    std::map<std::vector<int>, std::int64_t> group_ids;  // sorted members -> id
    for (int g = 0; g < world; ++g) {
        const RankCoordinates c = coordinates_of(layout, g);
        const std::uint32_t base = simulated_of_stage.at(c.pp);
        const RankCoordinates b = coordinates_of(layout, static_cast<int>(base));
        const auto shift = [&](RankId rank) {
            RankCoordinates x = coordinates_of(layout, static_cast<int>(rank.value));
            x.tp = (x.tp + c.tp - b.tp + layout.tp) % layout.tp;
            x.dp = (x.dp + c.dp - b.dp + layout.dp) % layout.dp;
            return rank_of(layout, x);
        };
        Trace trace;
        trace.npu = g;
        for (const TemplateNode& t : graphs.at(base)) {
            const TimelineSlice& s = *t.slice;
            Node node;
            node.id = static_cast<std::uint64_t>(s.task);
            node.name = s.name;
            node.type = t.type;
            node.data_deps = t.deps;
            node.is_cpu_op = false;
            if (t.type == NodeType::kCompute) {
                node.duration_micros = whole_micros(static_cast<double>(s.duration_ps) * 1e-12);
                node.num_ops = 0;
                node.tensor_size = 0;
                node.duration_ps = s.duration_ps;
            } else if (t.type == NodeType::kCollective) {
                node.duration_micros = whole_micros(s.end_s - s.start_s);
                node.comm_type = comm_type_of(s.op);
                node.comm_size = s.size_bytes;
                node.comm_priority = 0;
                std::vector<int> members;
                for (const RankId member : s.group) {
                    members.push_back(shift(member));
                }
                std::vector<int> key = members;
                std::sort(key.begin(), key.end());
                auto [it, is_new] =
                    group_ids.emplace(key, static_cast<std::int64_t>(group_ids.size() + 1));
                if (is_new) {
                    groups.emplace(it->second, members);
                }
                node.pg_name = std::to_string(it->second);
            } else {
                node.duration_micros = whole_micros(s.end_s - s.start_s);
                node.comm_src = shift(s.group[0]);
                node.comm_dst = shift(s.group[1]);
                node.comm_size = s.size_bytes;
                node.comm_tag = static_cast<std::int32_t>(s.task);
            }
            trace.nodes.push_back(std::move(node));
        }
        sink(std::move(trace));
    }
    return groups;
}

TraceSet chakra_traces_from_step(const StepResult& result,
                                 const ParallelLayout& layout,
                                 const Limits& limits) {
    TraceSet set;
    set.groups = export_step_traces(
        result, layout, [&](Trace&& trace) { set.traces.push_back(std::move(trace)); }, limits);
    return set;
}

}  // namespace stepsim::chakra
