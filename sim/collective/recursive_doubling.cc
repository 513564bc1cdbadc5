// SPDX-License-Identifier: Apache-2.0
// File: recursive_doubling.cc
// Recursive doubling: in step s every rank exchanges its whole buffer with the rank 2^s away
// and reduces (all-reduce, log2 p steps, latency-optimal for small messages), or exchanges
// the blocks it holds so far (all-gather, power-of-two groups). Non-power-of-two all-reduce
// folds the extra ranks in first (FoldLayout) and hands them the result last. A send waits
// for every earlier receive of both its ends (a send/receive rendezvous); payloads are the buffer
// as of the send (receives land in a temporary and are reduced afterwards, as MPICH does). Thakur
// et al. 2005.
#include "stepsim/analytic.h"
#include "stepsim/error.h"

#include "algorithms.h"

#include <stdexcept>
#include <string>

namespace stepsim::collective {

namespace {

class RecursiveDoublingAlgorithm final : public CollectiveAlgorithm {
public:
    std::string_view name() const override { return "recursive_doubling"; }

    std::string unsupported_reason(const CollectiveRequest& request,
                                   const Topology& /*topology*/) const override {
        switch (request.op) {
            case CollectiveOp::kAllReduce:
                return {};
            case CollectiveOp::kAllGather:
                if (!is_power_of_two(request.ranks.size())) {
                    return "recursive_doubling allgather needs a power-of-two group, got " +
                           std::to_string(request.ranks.size()) + " ranks";
                }
                return {};
            default:
                return unsupported_op(name(), request.op);
        }
    }

    CommPlan make_plan(const CollectiveRequest& request,
                       const Topology& /*topology*/,
                       const CollectiveOptions& /*options*/) const override {
        const auto n = static_cast<std::uint32_t>(request.ranks.size());
        const FoldLayout fold(n);
        const std::uint32_t p = fold.p;
        CommPlan plan(request.op, n);
        const bool is_all_gather = request.op == CollectiveOp::kAllGather;
        if (is_all_gather) {
            for (std::uint32_t b = 0; b < n; ++b) {
                plan.add_chunk(even_part(request.size_bytes, n, b), b, b);
            }
        } else {
            plan.add_chunk(request.size_bytes, 0, 0);
        }
        if (n == 1) {
            return plan;
        }
        RendezvousPlanner planner(plan, fold);
        if (!is_all_gather) {
            planner.fold_in(1);
        }
        for (std::uint32_t d = 1; d < p; d *= 2) {
            planner.exchange(d, [&](std::uint32_t i) {
                if (is_all_gather) {
                    // Rank i holds the blocks of its aligned group of size d.
                    const std::uint32_t first = i & ~(d - 1);
                    return planner.send(i, i ^ d, first, d, false);
                }
                return planner.send(fold.group_of(i), fold.group_of(i ^ d), 0, 1, true);
            });
        }
        if (!is_all_gather) {
            planner.fold_out(1);
        }
        return plan;
    }

    double predict_time_s(const CollectiveRequest& request,
                          const GroupCosts& costs,
                          const CollectiveOptions& /*options*/) const override {
        const auto n = static_cast<std::int64_t>(request.ranks.size());
        const auto size = static_cast<double>(request.size_bytes);
        const analytic::CollectiveCost cost{costs.alpha_s, costs.beta_s_per_byte,
                                            costs.gamma_s_per_byte};
        if (request.op == CollectiveOp::kAllGather) {
            return analytic::doubling_all_gather_time_s(n, size, cost);
        }
        return analytic::recursive_doubling_all_reduce_time_s(n, size, cost);
    }
};

}  // namespace

std::unique_ptr<CollectiveAlgorithm> make_recursive_doubling_algorithm() {
    return std::make_unique<RecursiveDoublingAlgorithm>();
}

}  // namespace stepsim::collective
