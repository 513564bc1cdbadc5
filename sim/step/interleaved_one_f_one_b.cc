// SPDX-License-Identifier: Apache-2.0
// File: interleaved_one_f_one_b.cc
// Interleaved 1F1B (Narayanan et al., SC'21 §2.2.2; Megatron-LM's
// forward_backward_pipelining_with_interleaving). Each stage holds v chunks; the m·v
// (micro-batch, chunk) forwards are taken in groups of p micro-batches per chunk:
//   k-th forward:  chunk (k / p) % v,          micro-batch (k / (p·v))·p + k % p
//   k-th backward: chunk v - 1 - (k / p) % v,  same micro-batch
// with (p - s - 1)·2 + (v - 1)·p warm-up forwards on stage s, then 1F1B, then the drain.
// Requires m % p == 0 (as Megatron-LM does).
#include "stepsim/error.h"

#include "pipeline_schedule.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace stepsim {

void InterleavedOneFOneBSchedule::check_shape(const PipelineShape& shape) const {
    if (shape.stages < 1 || shape.microbatches < 1 || shape.chunks < 1) {
        throw UserError("interleaved: stages, micro-batches and chunks must be positive");
    }
    if (shape.microbatches % shape.stages != 0) {
        throw UserError("interleaved: micro-batches (" + std::to_string(shape.microbatches) +
                        ") must be a multiple of pipeline stages (" + std::to_string(shape.stages) +
                        ")");
    }
}

std::vector<std::vector<PipelineOp>> InterleavedOneFOneBSchedule::build_checked(
    const PipelineShape& shape) const {
    const int p = shape.stages;
    const int m = shape.microbatches;
    const int v = shape.chunks;
    const int total = m * v;
    const auto microbatch_of = [&](int k) {
        return (k / (p * v)) * p + k % p;
    };
    const auto forward_chunk = [&](int k) {
        return (k / p) % v;
    };
    const auto backward_chunk = [&](int k) {
        return v - 1 - (k / p) % v;
    };
    std::vector<std::vector<PipelineOp>> ops(static_cast<std::size_t>(p));
    for (int stage = 0; stage < p; ++stage) {
        std::vector<PipelineOp>& stage_ops = ops[static_cast<std::size_t>(stage)];
        const int warmup = std::min((p - stage - 1) * 2 + (v - 1) * p, total);
        for (int k = 0; k < warmup; ++k) {
            stage_ops.push_back({microbatch_of(k), forward_chunk(k), PipelineOpKind::kForward});
        }
        for (int i = 0; i < total - warmup; ++i) {
            const int k = warmup + i;
            stage_ops.push_back({microbatch_of(k), forward_chunk(k), PipelineOpKind::kForward});
            stage_ops.push_back({microbatch_of(i), backward_chunk(i), PipelineOpKind::kBackward});
        }
        for (int k = total - warmup; k < total; ++k) {
            stage_ops.push_back({microbatch_of(k), backward_chunk(k), PipelineOpKind::kBackward});
        }
    }
    return ops;
}

}  // namespace stepsim
