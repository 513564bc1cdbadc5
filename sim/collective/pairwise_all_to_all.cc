// SPDX-License-Identifier: Apache-2.0
// File: pairwise_all_to_all.cc
// Pairwise-exchange all-to-all (MPICH's MPI_Alltoall for long messages; Thakur, Rabenseifner
// & Gropp 2005 §3.5): n−1 steps; in step s member i sends its block for i+s and receives the
// block from i−s (mod n), one sendrecv at a time, so each step starts when both ends have
// finished the previous one. One flow in and one out per GPU at any time: no incast, at the
// price of n−1 latencies. Volumes per pair: CollectiveRequest::pair_bytes or the even split.
#include "stepsim/analytic.h"
#include "stepsim/error.h"

#include "algorithms.h"

#include <string>
#include <vector>

namespace stepsim::collective {

namespace {

class PairwiseAllToAll final : public CollectiveAlgorithm {
public:
    std::string_view name() const override { return "pairwise"; }

    std::string unsupported_reason(const CollectiveRequest& request,
                                   const Topology& /*topology*/) const override {
        if (request.op != CollectiveOp::kAllToAll) {
            return unsupported_op(name(), request.op);
        }
        return {};
    }

    CommPlan make_plan(const CollectiveRequest& request,
                       const Topology& /*topology*/,
                       const CollectiveOptions& /*options*/) const override {
        const auto n = static_cast<std::uint32_t>(request.ranks.size());
        CommPlan plan(request.op, n);
        // Chunk of (i, j), i != j: what i sends to j (segment j, source i).
        std::vector<std::uint32_t> chunk_of(std::size_t{n} * n, CommPlan::kNone);
        for (std::uint32_t i = 0; i < n; ++i) {
            for (std::uint32_t j = 0; j < n; ++j) {
                if (i != j) {
                    chunk_of[std::size_t{i} * n + j] =
                        plan.add_chunk(request.bytes_between(i, j), j, i);
                }
            }
        }
        // sent[i] / received[i]: member i's transfers of the previous step.
        std::vector<std::uint32_t> sent(n, CommPlan::kNone);
        std::vector<std::uint32_t> received(n, CommPlan::kNone);
        std::vector<std::uint32_t> next_sent(n);
        std::vector<std::uint32_t> next_received(n);
        for (std::uint32_t s = 1; s < n; ++s) {
            for (std::uint32_t i = 0; i < n; ++i) {
                const std::uint32_t j = (i + s) % n;
                const std::uint32_t deps[4] = {sent[i], received[i], sent[j], received[j]};
                const std::uint32_t t =
                    plan.add_transfer(i, j, chunk_of[std::size_t{i} * n + j], 1, false, 0, deps);
                next_sent[i] = t;
                next_received[j] = t;
            }
            sent.swap(next_sent);
            received.swap(next_received);
        }
        return plan;
    }

    double predict_time_s(const CollectiveRequest& request,
                          const GroupCosts& costs,
                          const CollectiveOptions& /*options*/) const override {
        const auto n = static_cast<std::int64_t>(request.ranks.size());
        return analytic::pairwise_all_to_all_time_s(
            n, pair_matrix(request),
            {costs.alpha_s, costs.beta_s_per_byte, costs.gamma_s_per_byte});
    }
};

}  // namespace

std::unique_ptr<CollectiveAlgorithm> make_pairwise_all_to_all_algorithm() {
    return std::make_unique<PairwiseAllToAll>();
}

}  // namespace stepsim::collective
