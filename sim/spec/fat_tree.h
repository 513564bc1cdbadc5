// SPDX-License-Identifier: Apache-2.0
// File: fat_tree.h
// The shape of a rail-optimized fat tree, computed from the NICs that attach to it, the switch
// radix, the leaf oversubscription and the number of tiers (docs/models/topology.md):
//   leaf:  takes at most d = floor(radix * o / (1 + o)) NICs, all of one rail (the NIC's index
//          within its server); a rail of m NICs gets ceil(m / d) leaves, NICs spread evenly;
//          every leaf has u = ceil(n_max / o) uplinks, n_max the most NICs on one leaf.
//   2 tiers: S = ceil(L * u / radix) spines; uplink j of leaf l goes to spine (l*u + j) mod S.
//            Needs L <= radix leaves so that every leaf reaches every spine.
//   3 tiers: pods of P = radix/2 leaves, each with u pod spines (leaf uplink j -> spine j of
//            its pod); spine j of every pod has P' = min(P, L) uplinks into core group j of
//            C = ceil(pods * P' / radix) cores. Needs pods <= radix.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace stepsim::spec {

struct FatTreeShape {
    int tiers = 2;                ///< 2 or 3
    std::int64_t radix = 64;      ///< ports per switch, >= 4
    double oversubscription = 1;  ///< leaf down:up ratio, >= 1
};

struct FatTreePlan {
    struct Switch {
        std::string name;  ///< "leaf[3]", "spine[2]", "pod[1].spine[0]", "core[5]"
        int tier = 1;      ///< 1 leaf, 2 spine, 3 core
    };

    std::vector<Switch> switches;  ///< leaves (rail-major), then spines, then cores
    /// For each NIC, in input order, the index of its leaf in `switches`.
    std::vector<std::size_t> nic_leaf;
    /// Switch-to-switch cables (lower tier, upper tier), indices into `switches`. Parallel
    /// cables between the same pair appear once per cable.
    std::vector<std::pair<std::size_t, std::size_t>> cables;

    std::int64_t leaves = 0;
    std::int64_t spines = 0;
    std::int64_t cores = 0;
    std::int64_t max_nics_per_leaf = 0;  ///< d
    std::int64_t uplinks_per_leaf = 0;   ///< u
};

/// `nic_rails[i]` is the rail of NIC i (NICs in server order). Throws UserError,
/// with a message that says what to change, when the tree cannot be built with this radix and
/// tier count (too many leaves or pods), or for parameters out of range.
FatTreePlan plan_fat_tree(std::span<const int> nic_rails, const FatTreeShape& shape);

}  // namespace stepsim::spec
