// SPDX-License-Identifier: Apache-2.0
// File: task_graph.h
// The lowered form of a training step: tasks (compute with a duration, a collective, a
// point-to-point send/recv) and the dependencies between them. Tasks on the same stream (a
// GPU's compute stream, its data-parallel communication stream, ...) run one after another in
// the order they were added; everything else is ordered only by explicit dependencies. The
// graph is immutable once built; the step executor times it on a Simulator.
#pragma once

#include "stepsim/collective.h"
#include "stepsim/ids.h"
#include "stepsim/time.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stepsim {

enum class TaskKind : std::uint8_t { kCompute, kCollective, kSendRecv };

enum class ComputeKind : std::uint8_t {
    kForward,
    kBackward,      ///< full backward, or backward-for-inputs (B) when W is split off
    kWeight,        ///< backward-for-weights (W) of a split backward
    kRecompute,     ///< forward work re-run in backward (activation recomputation)
    kOptimizer,     ///< the optimizer step
    kDataLoader,    ///< exposed data-loading time
    kHostOverhead,  ///< the framework's per-op host work the GPU waits for (pipeline engine)
};

/// Which parallelism a communication task belongs to (the breakdown's exposed-comm kinds).
enum class CommKind : std::uint8_t {
    kTensorParallel,   ///< TP all-reduce / all-gather / reduce-scatter inside a layer
    kPipeline,         ///< activations and their gradients between pipeline stages
    kDataParallel,     ///< gradient reduction across data-parallel replicas
    kZero,             ///< ZeRO 1-2 parameter all-gathers (distributed optimizer)
    kExpertParallel,   ///< MoE token dispatch / combine all-to-alls over the EP group
    kContextParallel,  ///< context parallelism's K/V exchange (ring transfers or all-gather)
    kFsdp,             ///< ZeRO-3 per-layer parameter all-gathers and gradient reduce-scatters
};

/// kTensorParallel carries the TP collectives that tp_comm_overlap runs beside the GEMMs.
/// kContextParallel carries context parallelism's ring transfers; kExpertParallel the EP
/// all-to-alls of DualPipe's overlapped pairs (one stream per op of the pair).
enum class StreamKind : std::uint8_t {
    kCompute,
    kDataParallel,
    kZero,
    kTensorParallel,
    kContextParallel,
    kExpertParallel,
};

std::string_view to_string(TaskKind kind);
std::string_view to_string(ComputeKind kind);
/// "tp", "pp", "dp", "zero", "ep", "cp", "fsdp"
std::string_view to_string(CommKind kind);
std::string_view to_string(StreamKind kind);

/// A communication: the request that is timed, plus `mirrors` started at the same moment on
/// behalf of symmetric ranks that are not simulated on their own (their traffic contends on
/// the network; the task ends when the request and every mirror have finished).
struct CommRequest {
    CollectiveRequest request;
    std::vector<CollectiveRequest> mirrors;
};

/// Layer index of the non-transformer parts, for names.
inline constexpr int kEmbeddingLayer = -2;
inline constexpr int kLogitsLayer = -3;
inline constexpr int kNoLayer = -1;

struct Task {
    TaskKind kind = TaskKind::kCompute;
    ComputeKind compute = ComputeKind::kForward;  ///< for kCompute
    CommKind comm = CommKind::kTensorParallel;    ///< for kCollective and kSendRecv
    RankId rank;                                  ///< the GPU whose timeline shows the task
    std::int32_t stream = -1;                     ///< index of its stream, -1 for none
    Time duration{0};                             ///< for kCompute
    std::int32_t request = -1;                    ///< index of its CommRequest
    std::int32_t microbatch = -1;
    std::int32_t virtual_stage = -1;  ///< model chunk in forward order (chunk·p + stage)
    std::int32_t layer = kNoLayer;    ///< global layer index, kEmbeddingLayer, kLogitsLayer
    std::int32_t pipeline_op = -1;    ///< index of the pipeline op (F/B/W) it belongs to
};

/// "F mb3 L17", "tp allreduce mb3 L17", "pp send mb3 vs2", "dp reducescatter", "optimizer"
std::string task_name(const Task& task, const CommRequest* request);

struct Stream {
    RankId rank;
    StreamKind kind = StreamKind::kCompute;
    std::vector<TaskId> tasks;  ///< in execution order
};

class TaskGraph {
public:
    std::size_t size() const { return tasks_.size(); }

    const Task& task(TaskId id) const { return tasks_[id.index()]; }

    std::span<const Task> tasks() const { return tasks_; }

    std::span<const TaskId> dependencies(TaskId id) const;
    std::span<const TaskId> successors(TaskId id) const;
    const CommRequest& request(std::int32_t index) const;

    std::size_t request_count() const { return requests_.size(); }

    std::span<const Stream> streams() const { return streams_; }

private:
    friend class TaskGraphBuilder;
    std::vector<Task> tasks_;
    std::vector<CommRequest> requests_;
    std::vector<Stream> streams_;
    std::vector<std::uint32_t> dependency_offsets_;  ///< CSR, size() + 1 entries
    std::vector<TaskId> dependencies_;
    std::vector<std::uint32_t> successor_offsets_;
    std::vector<TaskId> successors_;
};

class TaskGraphBuilder {
public:
    std::int32_t add_stream(RankId rank, StreamKind kind);
    std::int32_t add_request(CommRequest request);
    /// Adds a task; it depends on `dependencies` and, when task.stream >= 0, on the task added
    /// before it to that stream. Throws InternalError for an unknown stream, request
    /// or dependency, or a compute task with a negative duration.
    TaskId add(const Task& task, std::span<const TaskId> dependencies = {});

    TaskId add(const Task& task, std::initializer_list<TaskId> dependencies) {
        return add(task, std::span<const TaskId>(dependencies.begin(), dependencies.size()));
    }

    /// `task` also waits for `dependency` (which may have been added later; build() rejects
    /// cycles).
    void add_dependency(TaskId task, TaskId dependency);

    std::size_t size() const { return graph_.tasks_.size(); }

    const Task& task(TaskId id) const { return graph_.tasks_[id.index()]; }

    /// The last task added to `stream`, or an invalid id.
    TaskId last_on_stream(std::int32_t stream) const;

    /// Finishes the graph. Throws InternalError when the dependencies form a cycle.
    TaskGraph build() &&;

private:
    TaskGraph graph_;
    std::vector<std::pair<TaskId, TaskId>> edges_;  ///< (task, dependency)
};

}  // namespace stepsim
