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
    // Every (micro-batch, chunk) on the micro-batch's route appears once per op kind, F before
    // B before W; nothing off the route.
    const int kinds = splits_backward() ? 3 : 2;
    for (int stage = 0; stage < shape.stages; ++stage) {
        const std::vector<PipelineOp>& stage_ops = ops[static_cast<std::size_t>(stage)];
        std::vector<int> seen(static_cast<std::size_t>(shape.microbatches) * shape.chunks, 0);
        for (const PipelineOp& op : stage_ops) {
            STEPSIM_CHECK(op.microbatch >= 0 && op.microbatch < shape.microbatches &&
                              op.chunk >= 0 && op.chunk < shape.chunks,
                          std::string(name()) + " built an op out of range");
            const int vs = virtual_stage_of(stage, op.chunk, shape);
            const auto [first, last] = route(op.microbatch, shape);
            STEPSIM_CHECK(vs >= first && vs <= last,
                          std::string(name()) + " built an op off its micro-batch's route");
            int& state = seen[static_cast<std::size_t>(op.microbatch) * shape.chunks + op.chunk];
            STEPSIM_CHECK(state == static_cast<int>(op.kind),
                          std::string(name()) + " built ops out of F, B, W order");
            ++state;
        }
        for (int mb = 0; mb < shape.microbatches; ++mb) {
            const auto [first, last] = route(mb, shape);
            for (int c = 0; c < shape.chunks; ++c) {
                const int vs = virtual_stage_of(stage, c, shape);
                const int expected = vs >= first && vs <= last ? kinds : 0;
                STEPSIM_CHECK(seen[static_cast<std::size_t>(mb) * shape.chunks + c] == expected,
                              std::string(name()) + " built the wrong number of ops");
            }
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
        case PipelineScheduleKind::kDualPipe:
            return std::make_unique<DualPipeSchedule>();
        case PipelineScheduleKind::kDualPipeV:
            return std::make_unique<DualPipeVSchedule>();
    }
    throw InternalError("unknown pipeline schedule kind");
}

}  // namespace stepsim
