// SPDX-License-Identifier: Apache-2.0
// File: fsdp.h
// ZeRO-3 / FSDP in the task graph: every layer's parameters, sharded over the stage's gradient
// group (dp·cp ranks), are all-gathered before each use (its forward and its backward, in
// every micro-batch) on the stage's ZeRO stream, with `prefetch_layers` gathers allowed ahead
// of the layer running (a gather waits until the use prefetch_layers + 1 back has finished, so
// at most prefetch_layers + 1 gathered layers are held); every layer's gradient is
// reduce-scattered as soon as its backward has produced it, in every micro-batch, on the DP
// stream. docs/models/training-step.md, "ZeRO-3 / FSDP".
#pragma once

#include "task_graph.h"

#include <cstdint>
#include <vector>

namespace stepsim {

class FsdpLowering {
public:
    explicit FsdpLowering(TaskGraphBuilder& builder, int prefetch_layers)
        : builder_(builder)
        , prefetch_layers_(prefetch_layers < 0 ? 0 : prefetch_layers) {}

    /// Starts a new stage: its GPU, its ZeRO stream (gathers) and DP stream (reduce-scatters).
    void start_stage(RankId rank, std::int32_t gather_stream, std::int32_t reduce_stream);

    /// The all-gather of a layer's parameters before a use (`request`: the gather over the
    /// gradient group). Call used() with the use's last task afterwards.
    TaskId gather(const Task& context, std::int32_t request);
    /// The last compute task of the use the latest gather fed.
    void used(TaskId last_use);

    /// The reduce-scatter of a layer's gradient once `gradient_ready` has finished.
    TaskId reduce_scatter(const Task& context, std::int32_t request, TaskId gradient_ready);

private:
    TaskGraphBuilder& builder_;
    int prefetch_layers_;
    RankId rank_;
    std::int32_t gather_stream_ = -1;
    std::int32_t reduce_stream_ = -1;
    std::vector<TaskId> uses_;  ///< per gather of the stage: the last task that used it
};

}  // namespace stepsim
