// SPDX-License-Identifier: Apache-2.0
// File: halving_doubling.cc
// Rabenseifner's algorithm: recursive halving reduce-scatter (distances p/2, p/4, …, 1, each
// rank keeping the half of its range its bit selects) then recursive doubling all-gather
// (distances 1, 2, …, p/2). All-reduce works on any n through the fold of FoldLayout (extra
// ranks hand their buffer to a partner first and receive the result last); reduce-scatter
// and all-gather need a power-of-two group. A send waits for every earlier receive of both
// its ends (a send/receive rendezvous). Thakur, Rabenseifner & Gropp, IJHPCA 19(1) 2005.
#include "stepsim/analytic.h"
#include "stepsim/error.h"

#include "algorithms.h"

#include <stdexcept>
#include <string>

namespace stepsim::collective {

namespace {

class HalvingDoublingAlgorithm final : public CollectiveAlgorithm {
public:
    std::string_view name() const override { return "halving_doubling"; }

    std::string unsupported_reason(const CollectiveRequest& request,
                                   const Topology& /*topology*/) const override {
        switch (request.op) {
            case CollectiveOp::kAllReduce:
                return {};
            case CollectiveOp::kReduceScatter:
            case CollectiveOp::kAllGather:
                if (!is_power_of_two(request.ranks.size())) {
                    return "halving_doubling " + std::string(to_string(request.op)) +
                           " needs a power-of-two group, got " +
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
        // p blocks; for reduce-scatter / all-gather (n == p) block b belongs to rank b.
        for (std::uint32_t b = 0; b < p; ++b) {
            plan.add_chunk(even_part(request.size_bytes, p, b), b, b);
        }
        if (n == 1) {
            return plan;
        }
        RendezvousPlanner planner(plan, fold);
        // Fold: even index 2i sends everything to 2i+1.
        if (request.op == CollectiveOp::kAllReduce) {
            planner.fold_in(p);
        }
        // Ranges kept after each halving step, by new rank.
        std::vector<std::uint32_t> lo(p, 0);
        std::vector<std::uint32_t> hi(p, p);
        std::uint32_t steps = 0;
        while ((1u << steps) < p) {
            ++steps;
        }
        std::vector<std::vector<std::pair<std::uint32_t, std::uint32_t>>> kept(
            p, std::vector<std::pair<std::uint32_t, std::uint32_t>>(steps));
        if (request.op != CollectiveOp::kAllGather) {
            for (std::uint32_t s = 0; s < steps; ++s) {
                const std::uint32_t d = p >> (s + 1);
                planner.exchange(d, [&](std::uint32_t i) {
                    const std::uint32_t mid = (lo[i] + hi[i]) / 2;
                    const bool keeps_low = (i & d) == 0;
                    const std::uint32_t first = keeps_low ? mid : lo[i];
                    const std::uint32_t count = keeps_low ? hi[i] - mid : mid - lo[i];
                    kept[i][s] = keeps_low ? std::pair{lo[i], mid} : std::pair{mid, hi[i]};
                    return planner.send(fold.group_of(i), fold.group_of(i ^ d), first, count, true);
                });
                for (std::uint32_t i = 0; i < p; ++i) {
                    lo[i] = kept[i][s].first;
                    hi[i] = kept[i][s].second;
                }
            }
        } else {
            // All-gather only: rank i starts with block i, as if a halving had left it there.
            for (std::uint32_t i = 0; i < p; ++i) {
                std::uint32_t range_lo = 0;
                std::uint32_t range_hi = p;
                for (std::uint32_t s = 0; s < steps; ++s) {
                    const std::uint32_t d = p >> (s + 1);
                    const std::uint32_t mid = (range_lo + range_hi) / 2;
                    if ((i & d) == 0) {
                        range_hi = mid;
                    } else {
                        range_lo = mid;
                    }
                    kept[i][s] = {range_lo, range_hi};
                }
            }
        }
        if (request.op != CollectiveOp::kReduceScatter) {
            // Doubling: undo the halving steps in reverse; before undoing step s, rank i holds
            // kept[i][s] final and sends it to its partner of that step.
            for (std::uint32_t s = steps; s-- > 0;) {
                const std::uint32_t d = p >> (s + 1);
                planner.exchange(d, [&](std::uint32_t i) {
                    const auto [first, last] = kept[i][s];
                    return planner.send(fold.group_of(i), fold.group_of(i ^ d), first, last - first,
                                        false);
                });
            }
            if (request.op == CollectiveOp::kAllReduce) {
                planner.fold_out(p);
            }
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
        switch (request.op) {
            case CollectiveOp::kReduceScatter:
                return analytic::halving_reduce_scatter_time_s(n, size, cost);
            case CollectiveOp::kAllGather:
                return analytic::doubling_all_gather_time_s(n, size, cost);
            default:
                return analytic::halving_doubling_all_reduce_time_s(n, size, cost);
        }
    }
};

}  // namespace

std::unique_ptr<CollectiveAlgorithm> make_halving_doubling_algorithm() {
    return std::make_unique<HalvingDoublingAlgorithm>();
}

}  // namespace stepsim::collective
