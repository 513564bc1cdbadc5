// SPDX-License-Identifier: Apache-2.0
// File: gpipe.cc
// GPipe (Huang et al., NeurIPS 2019): every stage runs the forwards of all m micro-batches,
// then their backwards, so each stage holds m micro-batches of activations at its peak.
#include "pipeline_schedule.h"

namespace stepsim {

std::vector<std::vector<PipelineOp>> GPipeSchedule::build_checked(
    const PipelineShape& shape) const {
    std::vector<std::vector<PipelineOp>> ops(static_cast<std::size_t>(shape.stages));
    for (std::vector<PipelineOp>& stage_ops : ops) {
        for (int mb = 0; mb < shape.microbatches; ++mb) {
            stage_ops.push_back({mb, 0, PipelineOpKind::kForward});
        }
        for (int mb = 0; mb < shape.microbatches; ++mb) {
            stage_ops.push_back({mb, 0, PipelineOpKind::kBackward});
        }
    }
    return ops;
}

}  // namespace stepsim
