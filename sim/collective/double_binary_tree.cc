// SPDX-License-Identifier: Apache-2.0
// File: double_binary_tree.cc
// NCCL's double binary tree all-reduce (src/graph/trees.cc): tree 0 is the in-order binary
// tree on ranks 0..n−1 whose root 0 has one child; tree 1 mirrors it (n even: rank r plays
// n−1−r) or shifts it by one (n odd), so that most interior nodes of one tree are leaves of
// the other. Each tree (times the channel count) carries its share of the buffer, cut into
// chunks that are reduced up the tree and broadcast down, pipelined. Sanders, Speck & Träff,
// "Two-tree algorithms for full bandwidth broadcast, reduction and scan", Parallel Comput. 2009.
#include "stepsim/analytic.h"
#include "stepsim/error.h"

#include "algorithms.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace stepsim::collective {

namespace {

/// Parent of `rank` in NCCL's binary tree on n ranks (-1 for the root 0).
std::int64_t btree_parent(std::int64_t n, std::int64_t rank) {
    if (rank == 0) {
        return -1;
    }
    std::int64_t bit = 1;
    while (bit < n && (bit & rank) == 0) {
        bit <<= 1;
    }
    std::int64_t up = (rank ^ bit) | (bit << 1);
    if (up >= n) {
        up = rank ^ bit;
    }
    return up;
}

class DoubleBinaryTreeAlgorithm final : public CollectiveAlgorithm {
public:
    std::string_view name() const override { return "tree"; }

    std::string unsupported_reason(const CollectiveRequest& request,
                                   const Topology& /*topology*/) const override {
        if (request.op != CollectiveOp::kAllReduce) {
            return unsupported_op(name(), request.op);
        }
        return {};
    }

    CommPlan make_plan(const CollectiveRequest& request,
                       const Topology& /*topology*/,
                       const CollectiveOptions& options) const override {
        const auto n = static_cast<std::uint32_t>(request.ranks.size());
        CommPlan plan(request.op, n);
        if (n == 1) {
            plan.add_chunk(request.size_bytes, 0, 0);
            return plan;
        }
        const std::uint32_t trees = 2 * channel_count(options);
        const std::int64_t largest = (request.size_bytes + trees - 1) / trees;
        const auto k =
            static_cast<std::uint32_t>(pieces_for(largest, chunk_or(options, kDefaultChunkBytes)));
        for (std::uint32_t t = 0; t < trees; ++t) {
            const std::int64_t part = even_part(request.size_bytes, trees, t);
            for (std::uint32_t j = 0; j < k; ++j) {
                plan.add_chunk(even_part(part, k, j), 0, 0);
            }
        }
        plan.reserve(std::size_t{trees} * k * 2 * (n - 1),
                     std::size_t{trees} * k * 2 * (n - 1) * 3);

        // Tree shape in positions; position q is group index member(tree, q).
        std::vector<std::int64_t> parent(n);
        std::vector<std::vector<std::uint32_t>> children(n);
        for (std::uint32_t q = 0; q < n; ++q) {
            parent[q] = btree_parent(n, q);
            if (parent[q] >= 0) {
                children[static_cast<std::size_t>(parent[q])].push_back(q);
            }
        }
        // Post-order (children before parents) for the reduce, reversed for the broadcast.
        std::vector<std::uint32_t> post_order;
        post_order.reserve(n);
        std::vector<std::pair<std::uint32_t, std::size_t>> stack{{0, 0}};
        while (!stack.empty()) {
            auto& [node, next_child] = stack.back();
            if (next_child < children[node].size()) {
                const std::uint32_t child = children[node][next_child++];
                stack.emplace_back(child, 0);
            } else {
                post_order.push_back(node);
                stack.pop_back();
            }
        }

        std::vector<std::uint32_t> up(n);    // transfer q -> parent(q) of the current chunk
        std::vector<std::uint32_t> down(n);  // transfer parent(q) -> q of the current chunk
        for (std::uint32_t t = 0; t < trees; ++t) {
            const bool is_mirror = (t % 2) == 1;
            const auto member = [&](std::uint32_t q) -> std::uint32_t {
                if (!is_mirror) {
                    return q;
                }
                return (n % 2 == 0) ? n - 1 - q : (q + 1) % n;
            };
            std::vector<std::uint32_t> last_up(n, CommPlan::kNone);
            std::vector<std::uint32_t> last_down(n, CommPlan::kNone);  // by receiving position
            std::vector<std::uint32_t> deps;
            for (std::uint32_t j = 0; j < k; ++j) {
                const std::uint32_t chunk = t * k + j;
                for (const std::uint32_t q : post_order) {
                    if (q == 0) {
                        continue;
                    }
                    deps.assign({last_up[q]});
                    for (const std::uint32_t child : children[q]) {
                        deps.push_back(up[child]);
                    }
                    up[q] =
                        plan.add_transfer(member(q), member(static_cast<std::uint32_t>(parent[q])),
                                          chunk, 1, true, t, deps);
                    last_up[q] = up[q];
                }
                for (auto it = post_order.rbegin(); it != post_order.rend(); ++it) {
                    const std::uint32_t q = *it;
                    if (q == 0) {
                        continue;
                    }
                    const auto from = static_cast<std::uint32_t>(parent[q]);
                    deps.assign({last_down[q]});
                    if (from == 0) {
                        for (const std::uint32_t child : children[0]) {
                            deps.push_back(up[child]);
                        }
                    } else {
                        deps.push_back(down[from]);
                    }
                    down[q] = plan.add_transfer(member(from), member(q), chunk, 1, false, t, deps);
                    last_down[q] = down[q];
                }
            }
        }
        return plan;
    }

    PipelineShape pipeline_shape(const CollectiveRequest& request,
                                 const CollectiveOptions& options) const override {
        const auto n = static_cast<std::int64_t>(request.ranks.size());
        if (n == 1) {
            return {};
        }
        const std::int64_t trees = 2 * std::int64_t{channel_count(options)};
        const std::int64_t largest = (request.size_bytes + trees - 1) / trees;
        return {trees, pieces_for(largest, chunk_or(options, kDefaultChunkBytes))};
    }

    double predict_time_s(const CollectiveRequest& request,
                          const GroupCosts& costs,
                          const CollectiveOptions& options) const override {
        const auto n = static_cast<std::int64_t>(request.ranks.size());
        const std::int64_t trees = 2 * channel_count(options);
        const std::int64_t k =
            pieces_for(request.size_bytes / trees, chunk_or(options, kDefaultChunkBytes));
        // Channels share the same links: the whole buffer crosses them. A GPU that is
        // interior in one tree and a leaf in the other sends (and receives) 3 + 1 halves of
        // S/2 through its port: at least 2·S·beta on a port-limited GPU.
        const double port_bound_s =
            2.0 * static_cast<double>(request.size_bytes) * costs.beta_s_per_byte;
        return std::max(
            port_bound_s,
            analytic::double_binary_tree_all_reduce_time_s(
                n, static_cast<double>(request.size_bytes) / static_cast<double>(trees / 2),
                {costs.alpha_s, costs.beta_s_per_byte * static_cast<double>(trees / 2),
                 costs.gamma_s_per_byte},
                k));
    }
};

}  // namespace

std::unique_ptr<CollectiveAlgorithm> make_double_binary_tree_algorithm() {
    return std::make_unique<DoubleBinaryTreeAlgorithm>();
}

}  // namespace stepsim::collective
