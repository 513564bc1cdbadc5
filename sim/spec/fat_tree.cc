// SPDX-License-Identifier: Apache-2.0
// File: fat_tree.cc
#include "fat_tree.h"

#include "stepsim/error.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace stepsim::spec {

namespace {

std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
    return (a + b - 1) / b;
}

std::string number(double value) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%g", value);
    return buffer;
}

}  // namespace

FatTreePlan plan_fat_tree(std::span<const int> nic_rails, const FatTreeShape& shape) {
    if (shape.tiers != 2 && shape.tiers != 3) {
        throw UserError("tiers must be 2 or 3, got " + std::to_string(shape.tiers));
    }
    if (shape.radix < 4) {
        throw UserError("radix must be at least 4 ports, got " + std::to_string(shape.radix));
    }
    if (!(shape.oversubscription >= 1) || !std::isfinite(shape.oversubscription)) {
        throw UserError(
            "oversubscription must be a finite ratio >= 1 (1 = "
            "non-blocking, 2 = 2:1), got " +
            number(shape.oversubscription));
    }
    if (shape.oversubscription > static_cast<double>(shape.radix - 1)) {
        // Past radix - 1 a leaf has no up-port left; 1.8e308 overflowed k·o (a fuzz find).
        throw UserError("oversubscription " + number(shape.oversubscription) +
                        " leaves a leaf switch of radix " + std::to_string(shape.radix) +
                        " no up-port: at most radix - 1 = " + std::to_string(shape.radix - 1));
    }
    if (nic_rails.empty()) {
        throw UserError("no NICs attach to the fat tree");
    }
    const double o = shape.oversubscription;
    const std::int64_t k = shape.radix;
    // Slack of 1e-9 so that ratios like 64 * 3 / 4 that are integers stay integers.
    const auto d =
        static_cast<std::int64_t>(std::floor(static_cast<double>(k) * o / (1 + o) + 1e-9));

    FatTreePlan plan;
    plan.max_nics_per_leaf = d;

    // Leaves, rail by rail.
    const int rails = *std::max_element(nic_rails.begin(), nic_rails.end()) + 1;
    std::vector<std::vector<std::size_t>> nics_of_rail(static_cast<std::size_t>(rails));
    for (std::size_t i = 0; i < nic_rails.size(); ++i) {
        if (nic_rails[i] < 0) {
            throw InternalError("negative rail index");
        }
        nics_of_rail[static_cast<std::size_t>(nic_rails[i])].push_back(i);
    }
    plan.nic_leaf.assign(nic_rails.size(), 0);
    std::vector<std::int64_t> nics_on_leaf;
    for (const auto& nics : nics_of_rail) {
        const auto m = static_cast<std::int64_t>(nics.size());
        if (m == 0) {
            continue;
        }
        const std::int64_t leaves_of_rail = ceil_div(m, d);
        const auto base = static_cast<std::int64_t>(nics_on_leaf.size());
        nics_on_leaf.resize(nics_on_leaf.size() + static_cast<std::size_t>(leaves_of_rail), 0);
        for (std::int64_t q = 0; q < m; ++q) {
            const std::int64_t leaf = base + q * leaves_of_rail / m;
            plan.nic_leaf[nics[static_cast<std::size_t>(q)]] = static_cast<std::size_t>(leaf);
            ++nics_on_leaf[static_cast<std::size_t>(leaf)];
        }
    }
    const auto leaves = static_cast<std::int64_t>(nics_on_leaf.size());
    const std::int64_t n_max = *std::max_element(nics_on_leaf.begin(), nics_on_leaf.end());
    const auto u = static_cast<std::int64_t>(std::ceil(static_cast<double>(n_max) / o - 1e-9));
    plan.leaves = leaves;
    plan.uplinks_per_leaf = u;
    for (std::int64_t l = 0; l < leaves; ++l) {
        plan.switches.push_back({"leaf[" + std::to_string(l) + "]", 1});
    }

    if (shape.tiers == 2) {
        if (leaves > k) {
            throw UserError("a two-tier fat tree of radix " + std::to_string(k) +
                            " connects at most " + std::to_string(k) +
                            " leaf switches, this one needs " + std::to_string(leaves) +
                            " (use tiers: 3, a larger radix or a higher oversubscription)");
        }
        const std::int64_t spines = ceil_div(leaves * u, k);
        plan.spines = spines;
        const auto first_spine = plan.switches.size();
        for (std::int64_t s = 0; s < spines; ++s) {
            plan.switches.push_back({"spine[" + std::to_string(s) + "]", 2});
        }
        for (std::int64_t l = 0; l < leaves; ++l) {
            for (std::int64_t j = 0; j < u; ++j) {
                plan.cables.emplace_back(
                    static_cast<std::size_t>(l),
                    first_spine + static_cast<std::size_t>((l * u + j) % spines));
            }
        }
        return plan;
    }

    const std::int64_t leaves_per_pod = k / 2;
    const std::int64_t pods = ceil_div(leaves, leaves_per_pod);
    if (pods > k) {
        throw UserError("a three-tier fat tree of radix " + std::to_string(k) +
                        " connects at most " + std::to_string(k) + " pods of " +
                        std::to_string(leaves_per_pod) + " leaf switches, this one needs " +
                        std::to_string(pods) +
                        " pods (use a larger radix or a higher oversubscription)");
    }
    const std::int64_t spine_uplinks = std::min(leaves_per_pod, leaves);
    const std::int64_t cores_per_group = ceil_div(pods * spine_uplinks, k);
    plan.spines = pods * u;
    plan.cores = u * cores_per_group;
    const auto first_spine = plan.switches.size();
    for (std::int64_t p = 0; p < pods; ++p) {
        for (std::int64_t j = 0; j < u; ++j) {
            plan.switches.push_back(
                {"pod[" + std::to_string(p) + "].spine[" + std::to_string(j) + "]", 2});
        }
    }
    const auto first_core = plan.switches.size();
    for (std::int64_t c = 0; c < plan.cores; ++c) {
        plan.switches.push_back({"core[" + std::to_string(c) + "]", 3});
    }
    for (std::int64_t l = 0; l < leaves; ++l) {
        const std::int64_t p = l / leaves_per_pod;
        for (std::int64_t j = 0; j < u; ++j) {
            plan.cables.emplace_back(static_cast<std::size_t>(l),
                                     first_spine + static_cast<std::size_t>(p * u + j));
        }
    }
    for (std::int64_t p = 0; p < pods; ++p) {
        for (std::int64_t j = 0; j < u; ++j) {
            for (std::int64_t m = 0; m < spine_uplinks; ++m) {
                const std::int64_t c = (p * spine_uplinks + m) % cores_per_group;
                plan.cables.emplace_back(
                    first_spine + static_cast<std::size_t>(p * u + j),
                    first_core + static_cast<std::size_t>(j * cores_per_group + c));
            }
        }
    }
    return plan;
}

}  // namespace stepsim::spec
