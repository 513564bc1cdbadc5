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

    CommPlan plan(const CollectiveRequest& request,
                  const Topology& topology,
                  const CollectiveOptions& /*options*/) const override {
        if (const std::string why = unsupported_reason(request, topology); !why.empty()) {
            throw std::invalid_argument(why);
        }
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
        std::vector<std::vector<std::uint32_t>> received(n);  // transfers into each group index
        std::vector<std::uint32_t> deps;
        const auto send = [&](std::uint32_t from, std::uint32_t to, std::uint32_t first,
                              std::uint32_t count, bool is_reduce) {
            // Rendezvous, as a send/receive pair: both sides have all their earlier data.
            deps.assign(received[from].begin(), received[from].end());
            deps.insert(deps.end(), received[to].begin(), received[to].end());
            return plan.add_transfer(from, to, first, count, is_reduce, 0, deps);
        };
        if (!is_all_gather) {
            for (std::uint32_t i = 0; i < fold.r; ++i) {
                received[2 * i + 1].push_back(send(2 * i, 2 * i + 1, 0, 1, true));
            }
        }
        for (std::uint32_t d = 1; d < p; d *= 2) {
            std::vector<std::uint32_t> incoming(p);
            for (std::uint32_t i = 0; i < p; ++i) {
                if (is_all_gather) {
                    // Rank i holds the blocks of its aligned group of size d.
                    const std::uint32_t first = i & ~(d - 1);
                    incoming[i ^ d] = send(i, i ^ d, first, d, false);
                } else {
                    incoming[i ^ d] = send(fold.group_of(i), fold.group_of(i ^ d), 0, 1, true);
                }
            }
            for (std::uint32_t i = 0; i < p; ++i) {
                received[fold.group_of(i)].push_back(incoming[i]);
            }
        }
        if (!is_all_gather) {
            for (std::uint32_t i = 0; i < fold.r; ++i) {
                send(2 * i + 1, 2 * i, 0, 1, false);
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
