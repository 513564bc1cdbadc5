// SPDX-License-Identifier: Apache-2.0
// File: dual_pipe.cc
// DualPipe (DeepSeek-AI, "DeepSeek-V3 Technical Report", arXiv 2412.19437, §3.2.1, Figure 5,
// Table 2; the order is the deepseek-ai/DualPipe reference implementation's). Two copies of
// the model run in opposite directions over the same p ranks; each rank's ops follow eight
// phases (docs/models/dualpipe.md), written here once for DualPipe and DualPipeV, with r the
// rank's index among R ranks of one direction and M micro-batches per phase:
//   1 nF0      (R−r−1)·2 forwards of phase 0 (the direction fed from this rank's end)
//   2 nF0F1    r+1 times: F0, F1
//   3 nB1W1F1  R−r−1 times: B1 (W deferred), the oldest deferred W, F1
//   4 main     M−2R+r+1 times: F0&B1 overlapped, F1&B0 overlapped (the middle rank runs its
//              first F0 and B1 apart)
//   5 nB1F1B0  R−r−1 times: B1, F1&B0 overlapped
//   6 nB1B0    r+1 times: B1, B0; from the middle of the phase on, W is deferred
//   7 nWB0     R−r−1 times: the oldest deferred W, B0 (W deferred)
//   8 nW       r+1 times: the oldest deferred W
// A backward whose W is not deferred is a full backward: its W op follows at once.
#include "stepsim/error.h"

#include "pipeline_schedule.h"

#include <deque>
#include <string>

namespace stepsim {

namespace detail {

std::vector<PipelineOp> dual_pipe_rank_ops(int ranks, int microbatches, int rank) {
    STEPSIM_CHECK(ranks >= 1 && rank >= 0 && rank < ranks && microbatches >= 2 * ranks,
                  "dual_pipe_rank_ops: bad shape");
    const int R = ranks;
    const int M = microbatches;
    const int r = rank;
    std::vector<PipelineOp> ops;
    int forwards[2] = {0, 0};
    int backwards[2] = {0, 0};
    std::deque<PipelineOp> deferred;  // W ops in the order their B ran
    const auto forward = [&](int phase, bool is_paired) {
        ops.push_back({forwards[phase]++, phase, PipelineOpKind::kForward, is_paired});
    };
    const auto backward = [&](int phase, bool defers_weight) {
        const int mb = backwards[phase]++;
        ops.push_back({mb, phase, PipelineOpKind::kBackward});
        const PipelineOp weight{mb, phase, PipelineOpKind::kWeight};
        if (defers_weight) {
            deferred.push_back(weight);
        } else {
            ops.push_back(weight);
        }
    };
    const auto weight = [&] {
        STEPSIM_CHECK(!deferred.empty(), "dual_pipe_rank_ops: no deferred W");
        ops.push_back(deferred.front());
        deferred.pop_front();
    };
    const auto pair = [&](int forward_phase, int backward_phase) {
        forward(forward_phase, true);
        backward(backward_phase, false);
    };
    const bool is_middle = r == R - 1;
    for (int i = 0; i < (R - r - 1) * 2; ++i) {  // 1
        forward(0, false);
    }
    for (int i = 0; i < r + 1; ++i) {  // 2
        forward(0, false);
        forward(1, false);
    }
    for (int i = 0; i < R - r - 1; ++i) {  // 3
        backward(1, true);
        weight();
        forward(1, false);
    }
    for (int i = 0; i < M - 2 * R + r + 1; ++i) {  // 4
        if (i == 0 && is_middle) {
            forward(0, false);
            backward(1, false);
        } else {
            pair(0, 1);
        }
        pair(1, 0);
    }
    for (int i = 0; i < R - r - 1; ++i) {  // 5
        backward(1, false);
        pair(1, 0);
    }
    const int step6 = r + 1;  // 6
    bool defers = false;
    for (int i = 0; i < step6; ++i) {
        if (i == step6 / 2 && r % 2 == 1) {
            defers = true;
        }
        backward(1, defers);
        if (i == step6 / 2 && r % 2 == 0) {
            defers = true;
        }
        backward(0, defers);
    }
    for (int i = 0; i < R - r - 1; ++i) {  // 7
        weight();
        backward(0, true);
    }
    for (int i = 0; i < r + 1; ++i) {  // 8
        weight();
    }
    STEPSIM_CHECK(deferred.empty(), "dual_pipe_rank_ops: W left over");
    return ops;
}

}  // namespace detail

namespace {

void check_dual_shape(std::string_view name, const PipelineShape& shape, int min_stages) {
    if (shape.stages < min_stages || shape.microbatches < 1) {
        throw UserError(std::string(name) + " needs at least " + std::to_string(min_stages) +
                        " stages, got " + std::to_string(shape.stages));
    }
    if (shape.chunks != 2) {
        throw UserError(std::string(name) + " runs two model chunks per stage, got " +
                        std::to_string(shape.chunks));
    }
    if (shape.microbatches < 2 * shape.stages) {
        throw UserError(std::string(name) +
                        " needs at least 2·p = " + std::to_string(2 * shape.stages) +
                        " micro-batches, got " + std::to_string(shape.microbatches));
    }
}

}  // namespace

void DualPipeSchedule::check_shape(const PipelineShape& shape) const {
    check_dual_shape(name(), shape, 2);
    if (shape.stages % 2 != 0) {
        throw UserError("dualpipe needs an even number of stages, got " +
                        std::to_string(shape.stages));
    }
    if (shape.microbatches % 2 != 0) {
        throw UserError("dualpipe needs an even number of micro-batches, got " +
                        std::to_string(shape.microbatches));
    }
}

int DualPipeSchedule::virtual_stage_of(int stage, int chunk, const PipelineShape& shape) const {
    // Copy 0's stage j is virtual stage j on rank j; copy 1's stage j is p + j on rank p−1−j.
    return chunk == 0 ? stage : shape.stages + (shape.stages - 1 - stage);
}

int DualPipeSchedule::stage_of(int vs, const PipelineShape& shape) const {
    return vs < shape.stages ? vs : shape.stages - 1 - (vs - shape.stages);
}

std::pair<int, int> DualPipeSchedule::route(int microbatch, const PipelineShape& shape) const {
    const int p = shape.stages;
    return microbatch < shape.microbatches / 2 ? std::pair{0, p - 1} : std::pair{p, 2 * p - 1};
}

std::vector<std::vector<PipelineOp>> DualPipeSchedule::build_checked(
    const PipelineShape& shape) const {
    const int p = shape.stages;
    const int half = shape.microbatches / 2;
    std::vector<std::vector<PipelineOp>> ops(static_cast<std::size_t>(p));
    for (int stage = 0; stage < p; ++stage) {
        // Phase 0 is the direction fed from this rank's end: copy 0 on the first half of the
        // ranks, copy 1 on the second.
        const bool is_second_half = stage >= p / 2;
        const int index = is_second_half ? p - 1 - stage : stage;
        for (PipelineOp op : detail::dual_pipe_rank_ops(p / 2, half, index)) {
            const int copy = is_second_half ? 1 - op.chunk : op.chunk;
            op.chunk = copy;
            op.microbatch += copy * half;
            ops[static_cast<std::size_t>(stage)].push_back(op);
        }
    }
    return ops;
}

}  // namespace stepsim
