// SPDX-License-Identifier: Apache-2.0
// File: moe_lowering.h
// The MoE part of a step's lowering: which tasks a MoE layer adds to a pipeline op (the
// token dispatch and combine all-to-alls over the EP group around the routed experts'
// compute, forward and backward) and the EP communication requests. step_lowering.cc adds
// the tasks in this order on the stage's compute stream.
#pragma once

#include "step_lowering.h"

#include <vector>

namespace stepsim {

/// One task of a MoE layer: a compute of `duration`, or the all-to-all `exchange`.
struct MoeTaskSpec {
    bool is_exchange = false;
    ComputeKind compute = ComputeKind::kForward;
    Time duration{0};
    const EpAllToAll* exchange = nullptr;
};

/// The tasks of `moe` in a pipeline op of `kind` (forward or backward; a split-off W op
/// gets the experts' weight gradient alone, with `is_backward_split`), in execution order.
/// Empty for a dense layer or an op with nothing to do.
std::vector<MoeTaskSpec> moe_layer_tasks(const MoeWork& moe,
                                         PipelineOpKind kind,
                                         bool is_backward_split);

/// The all-to-all over the EP group of TP rank 0 of `stage` (the request), with the other TP
/// ranks' EP groups as mirrors. Throws std::invalid_argument when the groups have no EP
/// group for the stage.
CommRequest ep_all_to_all_request(const RankGroups& groups, int stage, const EpAllToAll& exchange);

}  // namespace stepsim
