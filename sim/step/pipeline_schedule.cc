// SPDX-License-Identifier: Apache-2.0
// File: pipeline_schedule.cc
// The schedule base: shape checks, the completeness check every built schedule passes, and
// the factory from PipelineScheduleKind.
#include "pipeline_schedule.h"

#include "stepsim/error.h"

#include <stdexcept>
#include <string>

namespace stepsim {

std::string_view to_string(PipelineOpKind kind) {
    switch (kind) {
        case PipelineOpKind::kForward:
            return "F";
        case PipelineOpKind::kBackward:
            return "B";
        case PipelineOpKind::kWeight:
            return "W";
    }
    return "?";
}

void PipelineSchedule::check_shape(const PipelineShape& shape) const {
    if (shape.stages < 1 || shape.microbatches < 1) {
        throw UserError(std::string(name()) + ": stages (" + std::to_string(shape.stages) +
                        ") and micro-batches (" + std::to_string(shape.microbatches) +
                        ") must be positive");
    }
    if (shape.chunks != 1) {
        throw UserError(std::string(name()) + " runs one model chunk per stage, got " +
                        std::to_string(shape.chunks) +
                        " (virtual stages need the interleaved schedule)");
    }
}

std::vector<std::vector<PipelineOp>> PipelineSchedule::build(const PipelineShape& shape) const {
    check_shape(shape);
    std::vector<std::vector<PipelineOp>> ops = build_checked(shape);
    STEPSIM_CHECK(ops.size() == static_cast<std::size_t>(shape.stages),
                  std::string(name()) + " built the wrong number of stages");
    // Every (micro-batch, chunk) appears once per op kind, F before B before W.
    const int kinds = splits_backward() ? 3 : 2;
    for (const std::vector<PipelineOp>& stage_ops : ops) {
        STEPSIM_CHECK(
            stage_ops.size() == static_cast<std::size_t>(kinds) * shape.microbatches * shape.chunks,
            std::string(name()) + " built the wrong number of ops");
        std::vector<int> seen(static_cast<std::size_t>(shape.microbatches) * shape.chunks, 0);
        for (const PipelineOp& op : stage_ops) {
            STEPSIM_CHECK(op.microbatch >= 0 && op.microbatch < shape.microbatches &&
                              op.chunk >= 0 && op.chunk < shape.chunks,
                          std::string(name()) + " built an op out of range");
            int& state = seen[static_cast<std::size_t>(op.microbatch) * shape.chunks + op.chunk];
            STEPSIM_CHECK(state == static_cast<int>(op.kind),
                          std::string(name()) + " built ops out of F, B, W order");
            ++state;
        }
    }
    return ops;
}

std::unique_ptr<PipelineSchedule> make_pipeline_schedule(PipelineScheduleKind kind) {
    switch (kind) {
        case PipelineScheduleKind::kGPipe:
            return std::make_unique<GPipeSchedule>();
        case PipelineScheduleKind::kOneFOneB:
            return std::make_unique<OneFOneBSchedule>();
        case PipelineScheduleKind::kInterleaved:
            return std::make_unique<InterleavedOneFOneBSchedule>();
        case PipelineScheduleKind::kZeroBubbleH1:
            return std::make_unique<ZeroBubbleH1Schedule>();
    }
    throw InternalError("unknown pipeline schedule kind");
}

}  // namespace stepsim
