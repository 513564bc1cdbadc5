// SPDX-License-Identifier: Apache-2.0
// File: dual_pipe_v.cc
// DualPipeV (the deepseek-ai/DualPipe reference's "cut-in-half" DualPipe): one model copy in
// 2p chunks on p ranks placed as a V, rank s holding chunks s and 2p−1−s; every micro-batch
// runs down the ranks through the first chunks and back up through the second. The order is
// DualPipe's eight phases (dual_pipe.cc) with R = p ranks and M = m micro-batches per phase.
#include "stepsim/error.h"

#include "pipeline_schedule.h"

#include <string>

namespace stepsim {

void DualPipeVSchedule::check_shape(const PipelineShape& shape) const {
    if (shape.stages < 1 || shape.microbatches < 1) {
        throw UserError("dualpipev: stages and micro-batches must be positive");
    }
    if (shape.chunks != 2) {
        throw UserError("dualpipev runs two model chunks per stage, got " +
                        std::to_string(shape.chunks));
    }
    if (shape.microbatches < 2 * shape.stages) {
        throw UserError("dualpipev needs at least 2·p = " + std::to_string(2 * shape.stages) +
                        " micro-batches, got " + std::to_string(shape.microbatches));
    }
}

int DualPipeVSchedule::virtual_stage_of(int stage, int chunk, const PipelineShape& shape) const {
    return chunk == 0 ? stage : 2 * shape.stages - 1 - stage;
}

int DualPipeVSchedule::stage_of(int vs, const PipelineShape& shape) const {
    return vs < shape.stages ? vs : 2 * shape.stages - 1 - vs;
}

std::vector<std::vector<PipelineOp>> DualPipeVSchedule::build_checked(
    const PipelineShape& shape) const {
    std::vector<std::vector<PipelineOp>> ops(static_cast<std::size_t>(shape.stages));
    for (int stage = 0; stage < shape.stages; ++stage) {
        ops[static_cast<std::size_t>(stage)] =
            detail::dual_pipe_rank_ops(shape.stages, shape.microbatches, stage);
    }
    return ops;
}

}  // namespace stepsim
