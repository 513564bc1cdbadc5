// SPDX-License-Identifier: Apache-2.0
// File: one_f_one_b.cc
// 1F1B, PipeDream-Flush (Narayanan et al., SC'21 §2.2.1; Megatron-LM's
// forward_backward_pipelining_without_interleaving): stage s runs min(p - s - 1, m) warm-up
// forwards, then alternates one forward and one backward, then drains the backwards. At most
// p - s micro-batches are in flight on stage s.
#include "pipeline_schedule.h"

#include <algorithm>

namespace stepsim {

std::vector<std::vector<PipelineOp>> OneFOneBSchedule::build_checked(
    const PipelineShape& shape) const {
    const int p = shape.stages;
    const int m = shape.microbatches;
    std::vector<std::vector<PipelineOp>> ops(static_cast<std::size_t>(p));
    for (int stage = 0; stage < p; ++stage) {
        std::vector<PipelineOp>& stage_ops = ops[static_cast<std::size_t>(stage)];
        const int warmup = std::min(p - stage - 1, m);
        for (int mb = 0; mb < warmup; ++mb) {
            stage_ops.push_back({mb, 0, PipelineOpKind::kForward});
        }
        for (int i = 0; i < m - warmup; ++i) {
            stage_ops.push_back({warmup + i, 0, PipelineOpKind::kForward});
            stage_ops.push_back({i, 0, PipelineOpKind::kBackward});
        }
        for (int mb = m - warmup; mb < m; ++mb) {
            stage_ops.push_back({mb, 0, PipelineOpKind::kBackward});
        }
    }
    return ops;
}

}  // namespace stepsim
