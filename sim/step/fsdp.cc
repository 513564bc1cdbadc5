// SPDX-License-Identifier: Apache-2.0
// File: fsdp.cc
// ZeRO-3 / FSDP gathers with prefetch and per-layer reduce-scatters (see fsdp.h).
#include "fsdp.h"

#include "stepsim/error.h"

namespace stepsim {

void FsdpLowering::start_stage(RankId rank,
                               std::int32_t gather_stream,
                               std::int32_t reduce_stream) {
    rank_ = rank;
    gather_stream_ = gather_stream;
    reduce_stream_ = reduce_stream;
    uses_.clear();
}

TaskId FsdpLowering::gather(const Task& context, std::int32_t request) {
    STEPSIM_CHECK(uses_.empty() || uses_.back().is_valid(),
                  "an FSDP gather before the previous one's use was recorded");
    Task task = context;
    task.kind = TaskKind::kCollective;
    task.comm = CommKind::kFsdp;
    task.rank = rank_;
    task.stream = gather_stream_;
    task.request = request;
    std::vector<TaskId> deps;
    // Room for prefetch_layers + 1 gathered layers: this one's buffer frees when the use
    // prefetch_layers + 1 back has finished.
    const std::size_t held = static_cast<std::size_t>(prefetch_layers_) + 1;
    if (uses_.size() >= held) {
        deps.push_back(uses_[uses_.size() - held]);
    }
    const TaskId id = builder_.add(task, deps);
    uses_.push_back(TaskId());
    return id;
}

void FsdpLowering::used(TaskId last_use) {
    STEPSIM_CHECK(!uses_.empty() && !uses_.back().is_valid(), "FSDP use without its gather");
    uses_.back() = last_use;
}

TaskId FsdpLowering::reduce_scatter(const Task& context,
                                    std::int32_t request,
                                    TaskId gradient_ready) {
    Task task = context;
    task.kind = TaskKind::kCollective;
    task.comm = CommKind::kFsdp;
    task.rank = rank_;
    task.stream = reduce_stream_;
    task.request = request;
    return builder_.add(task, {gradient_ready});
}

}  // namespace stepsim
