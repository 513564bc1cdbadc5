// SPDX-License-Identifier: Apache-2.0
// File: fat_tree_test.cc
// The fat-tree builder's shape (sim/spec/fat_tree.h). For radix k and leaf oversubscription o:
//   d = floor(k*o/(1+o)) NICs per leaf at most, ceil(m/d) leaves per rail of m NICs,
//   u = ceil(n_max/o) uplinks per leaf, S = ceil(L*u/k) spines (two tiers).
// The classic three-tier k-ary fat tree (Al-Fares et al., SIGCOMM 2008) is the special case of
// k^3/4 NICs, o = 1, one NIC per server: k^2/2 edge, k^2/2 aggregation and k^2/4 core switches.
// Every switch uses at most k ports; every leaf carries one rail; every leaf reaches every spine.
#include "spec/fat_tree.h"

#include "stepsim/error.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>
#include <stdexcept>
#include <vector>

using stepsim::spec::FatTreePlan;
using stepsim::spec::FatTreeShape;
using stepsim::spec::plan_fat_tree;

namespace {

// NIC rails for `servers` servers with `rails` NICs each, in server order.
std::vector<int> server_rails(int servers, int rails) {
    std::vector<int> result;
    for (int s = 0; s < servers; ++s) {
        for (int r = 0; r < rails; ++r) {
            result.push_back(r);
        }
    }
    return result;
}

std::vector<std::int64_t> ports_used(const FatTreePlan& plan) {
    std::vector<std::int64_t> ports(plan.switches.size(), 0);
    for (const std::size_t leaf : plan.nic_leaf) {
        ++ports[leaf];
    }
    for (const auto& [lower, upper] : plan.cables) {
        ++ports[lower];
        ++ports[upper];
    }
    return ports;
}

}  // namespace

TEST_CASE("two-tier rail-optimized fat tree for 128 servers of 8 NICs", "[spec][fat_tree]") {
    const std::vector<int> rails = server_rails(128, 8);
    for (const double o : {1.0, 2.0}) {
        const FatTreePlan plan = plan_fat_tree(rails, FatTreeShape{2, 64, o});
        const auto d = static_cast<std::int64_t>(std::floor(64 * o / (1 + o)));  // 32, 42
        const std::int64_t leaves_per_rail = (128 + d - 1) / d;                  // 4, 4
        const std::int64_t nics_per_leaf = 128 / leaves_per_rail;                // 32
        const auto u = static_cast<std::int64_t>(std::ceil(nics_per_leaf / o));  // 32, 16
        const std::int64_t leaves = 8 * leaves_per_rail;
        CHECK(plan.max_nics_per_leaf == d);
        CHECK(plan.leaves == leaves);
        CHECK(plan.uplinks_per_leaf == u);
        CHECK(plan.spines == (leaves * u + 63) / 64);  // 16 non-blocking, 8 at 2:1
        CHECK(plan.cores == 0);
        CHECK(plan.switches.size() == static_cast<std::size_t>(plan.leaves + plan.spines));
        CHECK(plan.cables.size() == static_cast<std::size_t>(leaves * u));
    }
}

TEST_CASE("three-tier fat tree of radix 8 is the classic k-ary fat tree", "[spec][fat_tree]") {
    const int k = 8;
    const FatTreePlan plan = plan_fat_tree(server_rails(k * k * k / 4, 1), FatTreeShape{3, k, 1});
    CHECK(plan.leaves == k * k / 2);
    CHECK(plan.spines == k * k / 2);
    CHECK(plan.cores == k * k / 4);
    for (const std::int64_t ports : ports_used(plan)) {
        CHECK(ports == k);  // full tree: every port of every switch is used
    }
}

TEST_CASE("fat tree shapes respect the radix, the rails and full reachability",
          "[spec][fat_tree]") {
    for (const int tiers : {2, 3}) {
        for (const std::int64_t k : {8, 16, 64}) {
            for (const double o : {1.0, 1.5, 2.0, 3.0}) {
                for (const int servers : {1, 3, 7, 16, 64, 200}) {
                    const std::vector<int> rails = server_rails(servers, 4);
                    FatTreePlan plan;
                    try {
                        plan = plan_fat_tree(rails, FatTreeShape{tiers, k, o});
                    } catch (const stepsim::UserError&) {
                        continue;  // too large for this radix and tier count
                    }
                    INFO("tiers " << tiers << " radix " << k << " o " << o << " servers "
                                  << servers);
                    const std::vector<std::int64_t> ports = ports_used(plan);
                    for (const std::int64_t p : ports) {
                        REQUIRE(p <= k);
                    }
                    // One rail per leaf.
                    std::map<std::size_t, std::set<int>> leaf_rails;
                    for (std::size_t i = 0; i < rails.size(); ++i) {
                        leaf_rails[plan.nic_leaf[i]].insert(rails[i]);
                    }
                    for (const auto& [leaf, set] : leaf_rails) {
                        REQUIRE(set.size() == 1);
                    }
                    // Oversubscription: uplinks >= NICs / o on every leaf.
                    std::map<std::size_t, std::int64_t> nics_on_leaf;
                    for (const std::size_t leaf : plan.nic_leaf) {
                        ++nics_on_leaf[leaf];
                    }
                    for (const auto& [leaf, n] : nics_on_leaf) {
                        REQUIRE(static_cast<double>(plan.uplinks_per_leaf) * o >=
                                static_cast<double>(n) - 1e-9);
                    }
                    // Every leaf reaches every tier-2 switch of its pod (two tiers: all spines),
                    // and in three tiers every spine j reaches every core of group j.
                    std::map<std::size_t, std::set<std::size_t>> up;
                    for (const auto& [lower, upper] : plan.cables) {
                        up[lower].insert(upper);
                    }
                    if (tiers == 2) {
                        for (std::int64_t l = 0; l < plan.leaves; ++l) {
                            REQUIRE(static_cast<std::int64_t>(
                                        up[static_cast<std::size_t>(l)].size()) == plan.spines);
                        }
                    } else {
                        const std::int64_t cores_per_group = plan.cores / plan.uplinks_per_leaf;
                        for (std::size_t s = static_cast<std::size_t>(plan.leaves);
                             s < static_cast<std::size_t>(plan.leaves + plan.spines); ++s) {
                            REQUIRE(static_cast<std::int64_t>(up[s].size()) == cores_per_group);
                        }
                    }
                }
            }
        }
    }
}

TEST_CASE("fat tree parameters out of range are refused with a reason", "[spec][fat_tree]") {
    const std::vector<int> rails = server_rails(10, 1);
    CHECK_THROWS_WITH(plan_fat_tree(rails, FatTreeShape{4, 64, 1}), "tiers must be 2 or 3, got 4");
    CHECK_THROWS_WITH(plan_fat_tree(rails, FatTreeShape{2, 2, 1}),
                      "radix must be at least 4 ports, got 2");
    CHECK_THROWS_WITH(plan_fat_tree(rails, FatTreeShape{2, 64, 0.5}),
                      Catch::Contains("oversubscription must be a finite ratio >= 1"));
    CHECK_THROWS_WITH(plan_fat_tree({}, FatTreeShape{2, 64, 1}), "no NICs attach to the fat tree");
    // Radix 4, o = 1: 2 NICs per leaf, 10 NICs -> 5 leaves > 4.
    CHECK_THROWS_WITH(plan_fat_tree(rails, FatTreeShape{2, 4, 1}),
                      Catch::Contains("connects at most 4 leaf switches, this one needs 5"));
    // Three tiers, radix 4: pods of 2 leaves, at most 4 pods = 8 leaves = 16 NICs.
    CHECK_NOTHROW(plan_fat_tree(server_rails(16, 1), FatTreeShape{3, 4, 1}));
    CHECK_THROWS_WITH(plan_fat_tree(server_rails(17, 1), FatTreeShape{3, 4, 1}),
                      Catch::Contains("connects at most 4 pods"));
}
