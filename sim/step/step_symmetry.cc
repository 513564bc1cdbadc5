// SPDX-License-Identifier: Apache-2.0
// File: step_symmetry.cc
// The symmetry check of the folded step: DP replicas grouped by their GPUs' route colours and
// their pipeline messages' route signatures (see step_symmetry.h).
#include "step_symmetry.h"

#include "stepsim/error.h"

#include <cmath>
#include <cstdint>
#include <map>
#include <utility>

namespace stepsim {

namespace {

RankId rank_at(const ParallelLayout& layout, int tp, int dp, int pp) {
    return RankId(static_cast<std::uint32_t>(rank_of(layout, {tp, dp, pp})));
}

/// Appends what a route looks like with its links relabelled away: latency, hops, and per hop
/// the link's kind, latency and bandwidth. Which links two messages of one replica share after
/// ECMP hashing is not part of it (see step_symmetry.h).
void append_route(std::vector<std::int64_t>& signature,
                  const Route& route,
                  const Topology& topology) {
    signature.push_back(route.latency.count());
    signature.push_back(static_cast<std::int64_t>(route.links.size()));
    for (const LinkId id : route.links) {
        const Link& link = topology.link(id);
        signature.push_back(static_cast<std::int64_t>(link.kind));
        signature.push_back(link.latency.count());
        signature.push_back(static_cast<std::int64_t>(std::llround(link.bandwidth_Bps)));
    }
}

}  // namespace

ReplicaClasses replica_classes(const ParallelLayout& layout,
                               const Topology& topology,
                               Router& router,
                               IsolatedCollectiveTimer& isolated) {
    const int dp = layout.dp;
    const int p = layout.pp;
    ReplicaClasses classes;
    if (dp <= 1) {
        classes.representatives = {0};
        classes.weights = {std::max(dp, 1)};
        return classes;
    }
    std::vector<std::vector<std::int64_t>> signatures(static_cast<std::size_t>(dp));
    // Route colours of every GPU of the replica, position by position.
    const std::vector<std::uint32_t> colors = detail::route_colors(topology);
    for (int d = 0; d < dp; ++d) {
        std::vector<std::int64_t>& signature = signatures[static_cast<std::size_t>(d)];
        for (int s = 0; s < p; ++s) {
            for (int t = 0; t < layout.tp; ++t) {
                signature.push_back(colors[topology.gpu(rank_at(layout, t, d, s)).index()]);
            }
        }
    }
    // Pipeline messages into each stage, from the stage before and the stage after (the
    // interleaved schedule also sends from the last stage to the first).
    if (p > 1) {
        for (int s = 0; s < p; ++s) {
            std::vector<RankId> dp_group;
            for (int d = 0; d < dp; ++d) {
                dp_group.push_back(rank_at(layout, 0, d, s));
            }
            isolated.key_group(dp_group);
            for (int d = 0; d < dp; ++d) {
                std::vector<std::int64_t>& signature = signatures[static_cast<std::size_t>(d)];
                const NodeId to = topology.gpu(rank_at(layout, 0, d, s));
                for (const int from_stage : {(s + p - 1) % p, (s + 1) % p}) {
                    const NodeId from = topology.gpu(rank_at(layout, 0, d, from_stage));
                    append_route(signature, router.route(from, to), topology);
                }
            }
        }
    }
    std::map<std::vector<std::int64_t>, std::size_t> class_of;
    for (int d = 0; d < dp; ++d) {
        const auto [it, inserted] = class_of.emplace(
            std::move(signatures[static_cast<std::size_t>(d)]), classes.representatives.size());
        if (inserted) {
            classes.representatives.push_back(d);
            classes.weights.push_back(0);
        }
        ++classes.weights[it->second];
    }
    STEPSIM_CHECK(classes.representatives.front() == 0, "replica 0 must lead its class");
    return classes;
}

}  // namespace stepsim
