// SPDX-License-Identifier: Apache-2.0
// File: registry.cc
// The algorithm registry (typed factories, looked up by name), the shared plan helpers of
// algorithms.h, the group's alpha/beta read off the topology, and `auto`: the supporting
// algorithm with the lowest closed-form time, as NCCL's tuner picks (src/graph/tuning.cc); and
// CollectiveAlgorithm::plan() and lazy_plan(), the support check before every algorithm's
// make_plan() and make_lazy_plan().
#include "stepsim/error.h"

#include "algorithms.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>

namespace stepsim {

namespace {

struct Registry {
    std::vector<std::unique_ptr<CollectiveAlgorithm>> algorithms;

    Registry() {
        algorithms.push_back(collective::make_direct_algorithm());
        algorithms.push_back(collective::make_halving_doubling_algorithm());
        algorithms.push_back(collective::make_hierarchical_algorithm());
        algorithms.push_back(collective::make_hierarchical_all_to_all_algorithm());
        algorithms.push_back(collective::make_pairwise_all_to_all_algorithm());
        algorithms.push_back(collective::make_recursive_doubling_algorithm());
        algorithms.push_back(collective::make_ring_algorithm());
        algorithms.push_back(collective::make_double_binary_tree_algorithm());
        std::sort(algorithms.begin(), algorithms.end(),
                  [](const auto& a, const auto& b) { return a->name() < b->name(); });
    }
};

const Registry& registry() {
    static const Registry instance;  // immutable after construction
    return instance;
}

}  // namespace

std::vector<std::string_view> collective_algorithm_names() {
    std::vector<std::string_view> names;
    for (const auto& algorithm : registry().algorithms) {
        names.push_back(algorithm->name());
    }
    return names;
}

CommPlan CollectiveAlgorithm::plan(const CollectiveRequest& request,
                                   const Topology& topology,
                                   const CollectiveOptions& options) const {
    if (const std::string why = unsupported_reason(request, topology); !why.empty()) {
        throw UserError(why);
    }
    return make_plan(request, topology, options);
}

std::unique_ptr<const LazyPlan> CollectiveAlgorithm::lazy_plan(
    const CollectiveRequest& request,
    const Topology& topology,
    const CollectiveOptions& options) const {
    if (!has_lazy_plan()) {
        return nullptr;
    }
    if (const std::string why = unsupported_reason(request, topology); !why.empty()) {
        throw UserError(why);
    }
    return make_lazy_plan(request, topology, options);
}

const CollectiveAlgorithm* find_collective_algorithm(std::string_view name) {
    for (const auto& algorithm : registry().algorithms) {
        if (algorithm->name() == name) {
            return algorithm.get();
        }
    }
    return nullptr;
}

GroupCosts group_costs(const CollectiveRequest& request,
                       const Topology& topology,
                       Router& router,
                       const CollectiveOptions& options) {
    GroupCosts costs;
    costs.gamma_s_per_byte = reduction_gamma_s_per_byte(options);
    const std::size_t n = request.ranks.size();
    const auto measure = [&](RankId a, RankId b, double& alpha_s, double& min_Bps) {
        const Route& route = router.route(topology.gpu(a), topology.gpu(b));
        alpha_s = std::max(alpha_s, to_seconds(route.latency));
        min_Bps = std::min(min_Bps, route.bottleneck_Bps);
    };
    double min_Bps = std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < n && n > 1; ++i) {
        measure(request.ranks[i], request.ranks[(i + 1) % n], costs.alpha_s, min_Bps);
    }
    costs.beta_s_per_byte = std::isfinite(min_Bps) ? 1.0 / min_Bps : 0.0;

    const collective::NodeLayout layout = collective::node_layout(request.ranks, topology);
    if (layout.is_uniform) {
        costs.nodes = layout.members.size();
        costs.ranks_per_node = layout.ranks_per_node();
        double intra_Bps = std::numeric_limits<double>::infinity();
        double inter_Bps = std::numeric_limits<double>::infinity();
        for (const auto& members : layout.members) {
            for (std::size_t p = 0; p + 1 < members.size(); ++p) {
                measure(request.ranks[members[p]], request.ranks[members[p + 1]],
                        costs.intra_alpha_s, intra_Bps);
            }
            if (members.size() > 1) {
                measure(request.ranks[members.back()], request.ranks[members.front()],
                        costs.intra_alpha_s, intra_Bps);
            }
        }
        for (std::size_t l = 0; l < costs.ranks_per_node && costs.nodes > 1; ++l) {
            for (std::size_t v = 0; v < costs.nodes; ++v) {
                measure(request.ranks[layout.members[v][l]],
                        request.ranks[layout.members[(v + 1) % costs.nodes][l]],
                        costs.inter_alpha_s, inter_Bps);
            }
        }
        costs.intra_beta_s_per_byte = std::isfinite(intra_Bps) ? 1.0 / intra_Bps : 0.0;
        costs.inter_beta_s_per_byte = std::isfinite(inter_Bps) ? 1.0 / inter_Bps : 0.0;
    }
    return costs;
}

AlgorithmChoice choose_collective_algorithm(const CollectiveRequest& request,
                                            const Topology& topology,
                                            const GroupCosts& costs,
                                            const CollectiveOptions& options) {
    AlgorithmChoice best;
    best.predicted_time_s = std::numeric_limits<double>::infinity();
    std::string reasons;
    for (const auto& algorithm : registry().algorithms) {
        const std::string why = algorithm->unsupported_reason(request, topology);
        if (!why.empty()) {
            reasons += (reasons.empty() ? "" : "; ") + why;
            continue;
        }
        const double t = algorithm->predict_time_s(request, costs, options);
        if (best.algorithm.empty() || t < best.predicted_time_s) {
            best.algorithm = std::string(algorithm->name());
            best.predicted_time_s = t;
        }
    }
    if (best.algorithm.empty()) {
        throw UserError("no algorithm supports " + std::string(to_string(request.op)) + " on " +
                        std::to_string(request.ranks.size()) + " ranks: " + reasons);
    }
    return best;
}

namespace collective {

NodeLayout node_layout(const std::vector<RankId>& ranks, const Topology& topology) {
    NodeLayout layout;
    layout.node_of.resize(ranks.size());
    layout.local_of.resize(ranks.size());
    std::map<std::int32_t, std::uint32_t> index_of_host;
    for (std::size_t g = 0; g < ranks.size(); ++g) {
        const std::int32_t host = topology.node(topology.gpu(ranks[g])).host;
        const auto [it, inserted] =
            index_of_host.emplace(host, static_cast<std::uint32_t>(layout.members.size()));
        if (inserted) {
            layout.members.emplace_back();
        }
        layout.node_of[g] = it->second;
        layout.local_of[g] = static_cast<std::uint32_t>(layout.members[it->second].size());
        layout.members[it->second].push_back(static_cast<std::uint32_t>(g));
    }
    layout.is_uniform = !layout.members.empty();
    for (const auto& members : layout.members) {
        if (members.size() != layout.members[0].size()) {
            layout.is_uniform = false;
        }
    }
    return layout;
}

std::vector<std::uint32_t> ring_order(const std::vector<RankId>& ranks,
                                      const Topology& topology,
                                      std::uint32_t channel) {
    const auto n = static_cast<std::uint32_t>(ranks.size());
    std::vector<std::uint32_t> order(n);
    for (std::uint32_t g = 0; g < n; ++g) {
        order[g] = g;
    }
    if (channel == 0 || n < 2) {
        return order;
    }
    const NodeLayout layout = node_layout(ranks, topology);
    const std::size_t ppn = layout.ranks_per_node();
    if (!layout.is_uniform || ppn < 2 || layout.members.size() < 2) {
        return order;
    }
    // Contiguous: the group lists each server's GPUs together.
    for (std::uint32_t g = 0; g < n; ++g) {
        if (layout.node_of[g] != g / ppn) {
            return order;
        }
    }
    for (std::uint32_t g = 0; g < n; ++g) {
        const std::uint32_t base =
            g / static_cast<std::uint32_t>(ppn) * static_cast<std::uint32_t>(ppn);
        order[g] = base + (g - base + channel) % static_cast<std::uint32_t>(ppn);
    }
    return order;
}

std::string unsupported_op(std::string_view algorithm, CollectiveOp op) {
    return std::string(algorithm) + " does not implement " + std::string(to_string(op));
}

std::string hierarchical_unsupported_reason(std::string_view algorithm,
                                            CollectiveOp op,
                                            const CollectiveRequest& request,
                                            const Topology& topology) {
    if (request.op != op) {
        return unsupported_op(algorithm, request.op);
    }
    const NodeLayout layout = node_layout(request.ranks, topology);
    if (layout.is_uniform) {
        return {};
    }
    if (layout.members.empty()) {
        return std::string(algorithm) + " needs a group of at least one GPU";
    }
    std::size_t other = 0;
    for (std::size_t v = 1; v < layout.members.size(); ++v) {
        if (layout.members[v].size() != layout.members[0].size()) {
            other = v;
            break;
        }
    }
    return std::string(algorithm) +
           " needs the same number of the group's GPUs on every server, got " +
           std::to_string(layout.members[0].size()) + " on the first server and " +
           std::to_string(layout.members[other].size()) + " on another";
}

}  // namespace collective

}  // namespace stepsim
