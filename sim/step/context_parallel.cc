// SPDX-License-Identifier: Apache-2.0
// File: context_parallel.cc
// One context-parallel attention pass as tasks (see context_parallel.h).
#include "context_parallel.h"

#include "stepsim/error.h"

#include <vector>

namespace stepsim {

namespace {

Task communication(const Task& context,
                   TaskKind kind,
                   const CpLoweringTarget& target,
                   std::int32_t stream,
                   std::int32_t request) {
    Task task = context;
    task.kind = kind;
    task.comm = CommKind::kContextParallel;
    task.rank = target.rank;
    task.stream = stream;
    task.request = request;
    return task;
}

std::vector<TaskId> valid(std::initializer_list<TaskId> ids) {
    std::vector<TaskId> out;
    for (const TaskId id : ids) {
        if (id.is_valid()) {
            out.push_back(id);
        }
    }
    return out;
}

}  // namespace

CpLoweredPass lower_cp_pass(TaskGraphBuilder& builder,
                            const CpLoweringTarget& target,
                            const Task& context,
                            ComputeKind kind,
                            Time block,
                            int blocks,
                            const CpPassRequests& requests,
                            TaskId after) {
    STEPSIM_CHECK(blocks >= 1, "a context-parallel pass needs at least one attention block");
    CpLoweredPass pass;
    const auto on_compute = [&](Task task, const std::vector<TaskId>& deps) {
        task.rank = target.rank;
        task.stream = target.compute_stream;
        const TaskId id = builder.add(task, deps);
        if (!pass.first.is_valid()) {
            pass.first = id;
        }
        pass.last = id;
        return id;
    };
    Task attention = context;
    attention.kind = TaskKind::kCompute;
    attention.compute = kind;
    attention.duration = block;

    if (requests.gather >= 0 || requests.scatter >= 0) {
        // All-gather variant: blocking collectives on the compute stream around one block.
        if (requests.gather >= 0) {
            on_compute(communication(context, TaskKind::kCollective, target, -1, requests.gather),
                       valid({after}));
        }
        for (int i = 0; i < blocks; ++i) {
            on_compute(attention, valid({after}));
        }
        if (requests.scatter >= 0) {
            on_compute(communication(context, TaskKind::kCollective, target, -1, requests.scatter),
                       {});
        }
        return pass;
    }

    // Ring: block i runs on the chunk transfer i−1 brought; transfer i forwards that chunk
    // once block i−1 has released the buffer it lands in.
    STEPSIM_CHECK(blocks == 1 || requests.ring_step >= 0, "a ring pass needs its step transfer");
    TaskId previous_transfer;
    TaskId previous_block;
    for (int i = 0; i < blocks; ++i) {
        TaskId transfer;
        if (i + 1 < blocks) {
            transfer = builder.add(communication(context, TaskKind::kSendRecv, target,
                                                 target.cp_stream, requests.ring_step),
                                   valid({i == 0 ? after : previous_transfer, previous_block}));
        }
        previous_block = on_compute(attention, valid({i == 0 ? after : previous_transfer}));
        previous_transfer = transfer;
    }
    if (requests.ring_tail >= 0) {
        // The dK/dV accumulated along the ring goes back to the chunk's owner; the layer's
        // remaining backward (the QKV input gradient) needs it.
        const TaskId tail = builder.add(communication(context, TaskKind::kSendRecv, target,
                                                      target.cp_stream, requests.ring_tail),
                                        valid({previous_block}));
        Task join = attention;
        join.duration = Time(0);
        on_compute(join, {tail});
    }
    return pass;
}

}  // namespace stepsim
