// SPDX-License-Identifier: Apache-2.0
// File: moe_lowering.cc
// A MoE layer's tasks in a pipeline op and its EP all-to-all requests (see moe_lowering.h;
// docs/models/moe.md).
#include "moe_lowering.h"

#include <stdexcept>
#include <string>

namespace stepsim {

std::vector<MoeTaskSpec> moe_layer_tasks(const MoeWork& moe,
                                         PipelineOpKind kind,
                                         bool is_backward_split) {
    std::vector<MoeTaskSpec> tasks;
    if (!moe.is_moe) {
        return tasks;
    }
    const auto exchange = [&](const EpAllToAll& a2a) {
        if (a2a.size_bytes > 0) {
            tasks.push_back(MoeTaskSpec{true, ComputeKind::kForward, Time(0), &a2a});
        }
    };
    switch (kind) {
        case PipelineOpKind::kForward:
            exchange(moe.dispatch);
            tasks.push_back(MoeTaskSpec{false, ComputeKind::kForward, moe.forward, nullptr});
            exchange(moe.combine);
            break;
        case PipelineOpKind::kBackward: {
            // The output gradient goes to the experts (the combine's backward), their input
            // gradient comes back (the dispatch's backward).
            exchange(moe.backward_dispatch);
            const Time duration =
                is_backward_split ? moe.backward_input : moe.backward_input + moe.backward_weight;
            tasks.push_back(MoeTaskSpec{false, ComputeKind::kBackward, duration, nullptr});
            exchange(moe.backward_combine);
            break;
        }
        case PipelineOpKind::kWeight:
            tasks.push_back(MoeTaskSpec{false, ComputeKind::kWeight, moe.backward_weight, nullptr});
            break;
    }
    return tasks;
}

CommRequest ep_all_to_all_request(const RankGroups& groups, int stage, const EpAllToAll& exchange) {
    if (stage < 0 || static_cast<std::size_t>(stage) >= groups.ep_groups.size() ||
        groups.ep_groups[static_cast<std::size_t>(stage)].empty()) {
        throw std::invalid_argument("no expert-parallel group for stage " + std::to_string(stage));
    }
    const auto& per_tp = groups.ep_groups[static_cast<std::size_t>(stage)];
    CommRequest comm;
    for (std::size_t t = 0; t < per_tp.size(); ++t) {
        CollectiveRequest request;
        request.op = CollectiveOp::kAllToAll;
        request.ranks = per_tp[t];
        request.size_bytes = exchange.size_bytes;
        request.pair_bytes = exchange.pair_bytes;
        if (t == 0) {
            comm.request = std::move(request);
        } else {
            comm.mirrors.push_back(std::move(request));
        }
    }
    return comm;
}

}  // namespace stepsim
