// SPDX-License-Identifier: Apache-2.0
// File: zero_bubble_h1.cc
// ZB-H1 (Qi, Wan, Huang, Lin, "Zero Bubble Pipeline Parallelism", ICLR 2024): the backward is
// split into B (input gradients, on the critical path between stages) and W (weight
// gradients, free to move). The order is built by list-scheduling the whole pipeline with
// F = B = W = one time unit, the paper's handcrafted setting: whenever a stage is free it runs
// a ready B, else a ready F if fewer than p - s micro-batches sit between their F and B on
// stage s (1F1B's activation limit), else a pending W. With equal times this gives the
// paper's bubble (p-1)(T_F + T_B - T_W), a third of 1F1B's; the order is then timed with
// the real costs, so unequal F, B, W show their own bubble.
#include "stepsim/error.h"

#include "pipeline_schedule.h"

#include <algorithm>
#include <cstdint>
#include <limits>

namespace stepsim {

std::vector<std::vector<PipelineOp>> ZeroBubbleH1Schedule::build_checked(
    const PipelineShape& shape) const {
    const int p = shape.stages;
    const int m = shape.microbatches;
    const auto index = [m](int stage, int mb) {
        return static_cast<std::size_t>(stage) * m + mb;
    };
    constexpr std::int64_t kNotYet = -1;
    std::vector<std::int64_t> forward_done(static_cast<std::size_t>(p) * m, kNotYet);
    std::vector<std::int64_t> backward_done(static_cast<std::size_t>(p) * m, kNotYet);
    std::vector<std::int64_t> free_at(static_cast<std::size_t>(p), 0);
    std::vector<int> forwards(static_cast<std::size_t>(p), 0);
    std::vector<int> backwards(static_cast<std::size_t>(p), 0);
    std::vector<int> weights(static_cast<std::size_t>(p), 0);
    std::vector<std::vector<PipelineOp>> ops(static_cast<std::size_t>(p));

    const std::int64_t total = 3LL * p * m;
    for (std::int64_t placed = 0; placed < total; ++placed) {
        // The (start, priority, stage)-smallest ready op over all stages; priority B < F < W.
        std::int64_t best_start = std::numeric_limits<std::int64_t>::max();
        int best_priority = 3;
        int best_stage = -1;
        for (int stage = 0; stage < p; ++stage) {
            const auto s = static_cast<std::size_t>(stage);
            const auto consider = [&](std::int64_t ready, int priority) {
                const std::int64_t start = std::max(ready, free_at[s]);
                if (start < best_start || (start == best_start && priority < best_priority)) {
                    best_start = start;
                    best_priority = priority;
                    best_stage = stage;
                }
            };
            if (backwards[s] < forwards[s]) {
                const int mb = backwards[s];
                const std::int64_t ready = stage == p - 1 ? forward_done[index(stage, mb)]
                                                          : backward_done[index(stage + 1, mb)];
                if (ready != kNotYet) {
                    consider(ready, 0);
                }
            }
            if (forwards[s] < m && forwards[s] - backwards[s] < p - stage) {
                const int mb = forwards[s];
                const std::int64_t ready = stage == 0 ? 0 : forward_done[index(stage - 1, mb)];
                if (ready != kNotYet) {
                    consider(ready, 1);
                }
            }
            if (weights[s] < backwards[s]) {
                consider(free_at[s], 2);
            }
        }
        STEPSIM_CHECK(best_stage >= 0, "zb-h1 list scheduling found no ready op");
        const auto s = static_cast<std::size_t>(best_stage);
        free_at[s] = best_start + 1;
        if (best_priority == 0) {
            const int mb = backwards[s]++;
            backward_done[index(best_stage, mb)] = free_at[s];
            ops[s].push_back({mb, 0, PipelineOpKind::kBackward});
        } else if (best_priority == 1) {
            const int mb = forwards[s]++;
            forward_done[index(best_stage, mb)] = free_at[s];
            ops[s].push_back({mb, 0, PipelineOpKind::kForward});
        } else {
            ops[s].push_back({weights[s]++, 0, PipelineOpKind::kWeight});
        }
    }
    return ops;
}

}  // namespace stepsim
