// SPDX-License-Identifier: Apache-2.0
// File: task_graph.cc
// TaskGraph storage (dependencies and successors in compressed rows) and its builder, which
// chains tasks of a stream and rejects cycles (Kahn's algorithm).
#include "task_graph.h"

#include "stepsim/error.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace stepsim {

std::string_view to_string(TaskKind kind) {
    switch (kind) {
        case TaskKind::kCompute:
            return "compute";
        case TaskKind::kCollective:
            return "collective";
        case TaskKind::kSendRecv:
            return "sendrecv";
    }
    return "?";
}

std::string_view to_string(ComputeKind kind) {
    switch (kind) {
        case ComputeKind::kForward:
            return "F";
        case ComputeKind::kBackward:
            return "B";
        case ComputeKind::kWeight:
            return "W";
        case ComputeKind::kRecompute:
            return "recompute";
        case ComputeKind::kOptimizer:
            return "optimizer";
        case ComputeKind::kDataLoader:
            return "data loader";
        case ComputeKind::kHostOverhead:
            return "host overhead";
    }
    return "?";
}

std::string_view to_string(CommKind kind) {
    switch (kind) {
        case CommKind::kTensorParallel:
            return "tp";
        case CommKind::kPipeline:
            return "pp";
        case CommKind::kDataParallel:
            return "dp";
        case CommKind::kZero:
            return "zero";
        case CommKind::kExpertParallel:
            return "ep";
        case CommKind::kContextParallel:
            return "cp";
        case CommKind::kFsdp:
            return "fsdp";
    }
    return "?";
}

std::string_view to_string(StreamKind kind) {
    switch (kind) {
        case StreamKind::kCompute:
            return "compute";
        case StreamKind::kDataParallel:
            return "dp";
        case StreamKind::kZero:
            return "zero";
        case StreamKind::kTensorParallel:
            return "tp";
        case StreamKind::kContextParallel:
            return "cp";
        case StreamKind::kExpertParallel:
            return "ep";
    }
    return "?";
}

std::string task_name(const Task& task, const CommRequest* request) {
    std::string name;
    if (task.kind == TaskKind::kCompute) {
        name = to_string(task.compute);
    } else {
        name = to_string(task.comm);
        name += ' ';
        if (task.kind == TaskKind::kSendRecv) {
            name += "send";
        } else if (request != nullptr) {
            name += to_string(request->request.op);
        }
    }
    if (task.microbatch >= 0) {
        name += " mb" + std::to_string(task.microbatch);
    }
    if (task.layer >= 0) {
        name += " L" + std::to_string(task.layer);
    } else if (task.layer == kEmbeddingLayer) {
        name += " embedding";
    } else if (task.layer == kLogitsLayer) {
        name += " logits";
    } else if (task.virtual_stage >= 0) {
        name += " vs" + std::to_string(task.virtual_stage);
    }
    return name;
}

std::span<const TaskId> TaskGraph::dependencies(TaskId id) const {
    const std::size_t i = id.index();
    return {dependencies_.data() + dependency_offsets_[i],
            dependencies_.data() + dependency_offsets_[i + 1]};
}

std::span<const TaskId> TaskGraph::successors(TaskId id) const {
    const std::size_t i = id.index();
    return {successors_.data() + successor_offsets_[i],
            successors_.data() + successor_offsets_[i + 1]};
}

const CommRequest& TaskGraph::request(std::int32_t index) const {
    STEPSIM_CHECK(index >= 0 && static_cast<std::size_t>(index) < requests_.size(),
                  "task refers to communication request " + std::to_string(index) + " of " +
                      std::to_string(requests_.size()));
    return requests_[static_cast<std::size_t>(index)];
}

std::int32_t TaskGraphBuilder::add_stream(RankId rank, StreamKind kind) {
    graph_.streams_.push_back(Stream{rank, kind, {}});
    return static_cast<std::int32_t>(graph_.streams_.size() - 1);
}

std::int32_t TaskGraphBuilder::add_request(CommRequest request) {
    graph_.requests_.push_back(std::move(request));
    return static_cast<std::int32_t>(graph_.requests_.size() - 1);
}

TaskId TaskGraphBuilder::last_on_stream(std::int32_t stream) const {
    if (stream < 0 || static_cast<std::size_t>(stream) >= graph_.streams_.size()) {
        throw InternalError("unknown stream " + std::to_string(stream));
    }
    const std::vector<TaskId>& tasks = graph_.streams_[static_cast<std::size_t>(stream)].tasks;
    return tasks.empty() ? TaskId() : tasks.back();
}

TaskId TaskGraphBuilder::add(const Task& task, std::span<const TaskId> dependencies) {
    const TaskId id(static_cast<std::uint32_t>(graph_.tasks_.size()));
    if (task.kind == TaskKind::kCompute && task.duration < Time(0)) {
        throw InternalError("compute task with a negative duration");
    }
    if (task.kind != TaskKind::kCompute &&
        (task.request < 0 || static_cast<std::size_t>(task.request) >= graph_.requests_.size())) {
        throw InternalError("communication task without a known request");
    }
    for (const TaskId dependency : dependencies) {
        if (!dependency.is_valid() || dependency.index() >= graph_.tasks_.size()) {
            throw InternalError("dependency on an unknown task");
        }
        edges_.emplace_back(id, dependency);
    }
    if (task.stream >= 0) {
        const TaskId previous = last_on_stream(task.stream);
        if (previous.is_valid()) {
            edges_.emplace_back(id, previous);
        }
        graph_.streams_[static_cast<std::size_t>(task.stream)].tasks.push_back(id);
    }
    graph_.tasks_.push_back(task);
    return id;
}

void TaskGraphBuilder::add_dependency(TaskId task, TaskId dependency) {
    if (!task.is_valid() || task.index() >= graph_.tasks_.size() || !dependency.is_valid() ||
        dependency.index() >= graph_.tasks_.size()) {
        throw InternalError("dependency between unknown tasks");
    }
    edges_.emplace_back(task, dependency);
}

TaskGraph TaskGraphBuilder::build() && {
    const std::size_t n = graph_.tasks_.size();
    // Sort the (task, dependency) pairs: a counting sort by task, then each task's few
    // dependencies; the same order as sorting all pairs, in linear time for a graph whose
    // tasks have a bounded number of dependencies.
    {
        std::vector<std::uint32_t> begin(n + 1, 0);
        for (const auto& edge : edges_) {
            ++begin[edge.first.index() + 1];
        }
        for (std::size_t i = 0; i < n; ++i) {
            begin[i + 1] += begin[i];
        }
        std::vector<std::pair<TaskId, TaskId>> sorted(edges_.size());
        std::vector<std::uint32_t> fill(begin.begin(), begin.end() - 1);
        for (const auto& edge : edges_) {
            sorted[fill[edge.first.index()]++] = edge;
        }
        for (std::size_t i = 0; i < n; ++i) {
            std::sort(sorted.begin() + begin[i], sorted.begin() + begin[i + 1]);
        }
        edges_.swap(sorted);
    }
    edges_.erase(std::unique(edges_.begin(), edges_.end()), edges_.end());

    graph_.dependency_offsets_.assign(n + 1, 0);
    graph_.successor_offsets_.assign(n + 1, 0);
    for (const auto& [task, dependency] : edges_) {
        ++graph_.dependency_offsets_[task.index() + 1];
        ++graph_.successor_offsets_[dependency.index() + 1];
    }
    for (std::size_t i = 0; i < n; ++i) {
        graph_.dependency_offsets_[i + 1] += graph_.dependency_offsets_[i];
        graph_.successor_offsets_[i + 1] += graph_.successor_offsets_[i];
    }
    graph_.dependencies_.resize(edges_.size());
    graph_.successors_.resize(edges_.size());
    std::vector<std::uint32_t> successor_fill(graph_.successor_offsets_.begin(),
                                              graph_.successor_offsets_.end() - 1);
    // edges_ is sorted by task, so each task's dependencies arrive in order.
    std::size_t next = 0;
    for (const auto& [task, dependency] : edges_) {
        graph_.dependencies_[next++] = dependency;
        graph_.successors_[successor_fill[dependency.index()]++] = task;
    }

    // Kahn: every task must become ready.
    std::vector<std::uint32_t> remaining(n);
    std::vector<TaskId> ready;
    for (std::size_t i = 0; i < n; ++i) {
        remaining[i] = graph_.dependency_offsets_[i + 1] - graph_.dependency_offsets_[i];
        if (remaining[i] == 0) {
            ready.emplace_back(static_cast<std::uint32_t>(i));
        }
    }
    std::size_t visited = 0;
    while (!ready.empty()) {
        const TaskId id = ready.back();
        ready.pop_back();
        ++visited;
        for (const TaskId successor : graph_.successors(id)) {
            if (--remaining[successor.index()] == 0) {
                ready.push_back(successor);
            }
        }
    }
    if (visited != n) {
        throw InternalError("task graph has a dependency cycle (" + std::to_string(n - visited) +
                            " tasks never become ready)");
    }
    edges_.clear();
    return std::move(graph_);
}

}  // namespace stepsim
