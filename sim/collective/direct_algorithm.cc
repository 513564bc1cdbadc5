// SPDX-License-Identifier: Apache-2.0
// File: direct_algorithm.cc
// Direct (one-shot) collectives: every rank sends straight to every rank that needs its data,
// all at once, as on an NVSwitch. Reduce-scatter: block b of every rank goes to rank b, which
// reduces the n−1 pieces; all-gather: rank b sends its block to everyone; all-reduce: the two
// in a row (the all-gather of block b waits for rank b's reductions); all-to-all: rank i sends
// its block for j to j (CollectiveRequest::pair_bytes, or the even split); broadcast: the root
// sends the buffer to everyone; reduce: everyone sends to the root; send/recv: one transfer.
#include "stepsim/analytic.h"

#include "algorithms.h"

#include <stdexcept>
#include <string>

namespace stepsim::collective {

namespace {

class DirectAlgorithm final : public CollectiveAlgorithm {
public:
    std::string_view name() const override { return "direct"; }

    std::string unsupported_reason(const CollectiveRequest& /*request*/,
                                   const Topology& /*topology*/) const override {
        return {};
    }

    CommPlan make_plan(const CollectiveRequest& request,
                       const Topology& /*topology*/,
                       const CollectiveOptions& /*options*/) const override {
        const auto n = static_cast<std::uint32_t>(request.ranks.size());
        const auto root = static_cast<std::uint32_t>(request.root_index);
        CommPlan plan(request.op, n, root);
        const std::int64_t size = request.size_bytes;
        switch (request.op) {
            case CollectiveOp::kReduceScatter:
            case CollectiveOp::kAllGather:
            case CollectiveOp::kAllReduce: {
                for (std::uint32_t b = 0; b < n; ++b) {
                    plan.add_chunk(even_part(size, n, b), b, b);
                }
                std::vector<std::vector<std::uint32_t>> received(n);
                if (request.op != CollectiveOp::kAllGather) {
                    for (std::uint32_t i = 0; i < n; ++i) {
                        for (std::uint32_t b = 0; b < n; ++b) {
                            if (b != i) {
                                received[b].push_back(plan.add_transfer(i, b, b, 1, true, 0, {}));
                            }
                        }
                    }
                }
                if (request.op != CollectiveOp::kReduceScatter) {
                    for (std::uint32_t b = 0; b < n; ++b) {
                        for (std::uint32_t i = 0; i < n; ++i) {
                            if (i != b) {
                                plan.add_transfer(b, i, b, 1, false, 1, received[b]);
                            }
                        }
                    }
                }
                break;
            }
            case CollectiveOp::kAllToAll: {
                // Chunk (i, j) for i != j: what i sends to j; segment j, source i.
                for (std::uint32_t i = 0; i < n; ++i) {
                    for (std::uint32_t j = 0; j < n; ++j) {
                        if (i != j) {
                            const std::uint32_t chunk =
                                plan.add_chunk(request.bytes_between(i, j), j, i);
                            plan.add_transfer(i, j, chunk, 1, false, 0, {});
                        }
                    }
                }
                break;
            }
            case CollectiveOp::kBroadcast:
            case CollectiveOp::kReduce: {
                plan.add_chunk(size, root, root);
                const bool is_reduce = request.op == CollectiveOp::kReduce;
                for (std::uint32_t i = 0; i < n; ++i) {
                    if (i != root) {
                        if (is_reduce) {
                            plan.add_transfer(i, root, 0, 1, true, 0, {});
                        } else {
                            plan.add_transfer(root, i, 0, 1, false, 0, {});
                        }
                    }
                }
                break;
            }
            case CollectiveOp::kSendRecv:
                plan.add_chunk(size, 1, 0);
                plan.add_transfer(0, 1, 0, 1, false, 0, {});
                break;
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
        // A GPU's concurrent flows share its port (behind a switch, max-min shared).
        constexpr bool kIsPortLimited = true;
        switch (request.op) {
            case CollectiveOp::kAllReduce:
                return analytic::direct_all_reduce_time_s(n, size, cost, kIsPortLimited);
            case CollectiveOp::kReduceScatter:
                return analytic::direct_reduce_scatter_time_s(n, size, cost, kIsPortLimited);
            case CollectiveOp::kAllGather:
                return analytic::direct_all_gather_time_s(n, size, cost, kIsPortLimited);
            case CollectiveOp::kAllToAll:
                if (!request.pair_bytes.empty()) {
                    return analytic::direct_all_to_all_skewed_time_s(n, pair_matrix(request), cost,
                                                                     kIsPortLimited);
                }
                if (costs.nodes > 1 && costs.ranks_per_node > 1 &&
                    costs.intra_beta_s_per_byte < costs.inter_beta_s_per_byte) {
                    // A faster fabric inside the servers (NVLink) is a port of its own beside
                    // the NIC: the same-server blocks do not queue behind the remote ones.
                    return analytic::direct_all_to_all_two_level_time_s(
                        static_cast<std::int64_t>(costs.nodes),
                        static_cast<std::int64_t>(costs.ranks_per_node), size,
                        {costs.intra_alpha_s, costs.intra_beta_s_per_byte, 0.0},
                        {costs.inter_alpha_s, costs.inter_beta_s_per_byte, 0.0});
                }
                return analytic::direct_all_to_all_time_s(n, size, cost, kIsPortLimited);
            case CollectiveOp::kBroadcast:
                return analytic::direct_broadcast_time_s(n, size, cost, kIsPortLimited);
            case CollectiveOp::kReduce:
                return analytic::direct_reduce_time_s(n, size, cost, kIsPortLimited);
            case CollectiveOp::kSendRecv:
                return analytic::send_recv_time_s(size, cost);
        }
        return 0;
    }
};

}  // namespace

std::unique_ptr<CollectiveAlgorithm> make_direct_algorithm() {
    return std::make_unique<DirectAlgorithm>();
}

}  // namespace stepsim::collective
