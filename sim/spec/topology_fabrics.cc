// SPDX-License-Identifier: Apache-2.0
// File: topology_fabrics.cc
// Fabric builders of the topology expander: `nvswitch_crossbar` (every GPU of each server to
// every NVSwitch of that server) and `fat_tree` (the servers' NICs, rail by rail, into a
// k-ary fat tree planned by fat_tree.cc).
#include "stepsim/error.h"

#include "fat_tree.h"
#include "topology_expander_impl.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace stepsim::spec::detail {

const Expander::ResolvedComponent* Expander::find_component(const gp::Message& m,
                                                            std::string_view field,
                                                            const ResolvedInstance& instance,
                                                            const std::string& name,
                                                            ::stepsim::NodeKind kind,
                                                            std::string_view builder) {
    const auto it = instance.templ->component_by_name.find(name);
    if (it == instance.templ->component_by_name.end()) {
        error(m, field,
              std::string(builder) + ": device template " +
                  quoted(instance.templ->message->name()) + " of instance " +
                  quoted(instance.message->name()) + " has no component " + quoted(name));
        return nullptr;
    }
    const ResolvedComponent& component = instance.templ->components[it->second];
    if (component.kind != kind) {
        error(m, field,
              std::string(builder) + ": component " + quoted(name) + " is a " +
                  std::string(to_string(component.kind)) + ", expected a " +
                  std::string(to_string(kind)));
        return nullptr;
    }
    return &component;
}

void Expander::add_crossbar(const Fabric& fabric, const NvSwitchCrossbar& crossbar) {
    constexpr std::string_view kBuilder = "nvswitch_crossbar";
    const auto bw =
        bandwidth(crossbar, "bandwidth_per_gpu", crossbar.bandwidth_per_gpu(), kBuilder);
    const auto lat = latency(crossbar, "latency", crossbar.latency(), kBuilder);
    if (crossbar.instance().empty()) {
        error_at(crossbar,
                 "nvswitch_crossbar has no instance (expected the name of the servers' "
                 "instance)");
        return;
    }
    const ResolvedInstance* instance = find_instance(crossbar, "instance", crossbar.instance());
    if (instance == nullptr) {
        return;
    }
    const std::string gpu_name =
        crossbar.gpu_component().empty() ? "gpu" : crossbar.gpu_component();
    const std::string switch_name =
        crossbar.switch_component().empty() ? "nvswitch" : crossbar.switch_component();
    const ResolvedComponent* gpus = find_component(crossbar, "gpu_component", *instance, gpu_name,
                                                   ::stepsim::NodeKind::kGpu, kBuilder);
    const ResolvedComponent* switches =
        find_component(crossbar, "switch_component", *instance, switch_name,
                       ::stepsim::NodeKind::kNvSwitch, kBuilder);
    if (gpus == nullptr || switches == nullptr || !bw || !lat) {
        return;
    }
    const ResolvedLinkType type{::stepsim::LinkKind::kNvLink, *lat,
                                *bw / static_cast<double>(switches->count), true};
    const std::uint32_t where = origin(fabric);
    const std::int64_t stride = instance->templ->device_count;
    for (std::int64_t copy = 0; copy < instance->count; ++copy) {
        const std::int64_t base = instance->first_device + copy * stride;
        for (std::int64_t g = 0; g < gpus->count; ++g) {
            for (std::int64_t s = 0; s < switches->count; ++s) {
                add_cables(static_cast<std::uint32_t>(base + gpus->first + g),
                           static_cast<std::uint32_t>(base + switches->first + s), type, 1, true,
                           where);
            }
        }
    }
}

void Expander::add_fat_tree(const Fabric& fabric, const FatTree& tree) {
    constexpr std::string_view kBuilder = "fat_tree";
    bool is_valid = true;
    if (!is_simple_name(fabric.name())) {
        error(fabric, "name",
              "a fat_tree fabric needs a name made of letters, digits, '_' and '-' (the prefix "
              "of its switches' names), got " +
                  quoted(fabric.name()));
        is_valid = false;
    }
    if (tree.tiers() != 2 && tree.tiers() != 3) {
        error(tree, "tiers", "tiers must be 2 or 3, got " + std::to_string(tree.tiers()));
        is_valid = false;
    }
    if (tree.radix() < 4) {
        error(tree, "radix", "radix must be at least 4 ports, got " + std::to_string(tree.radix()));
        is_valid = false;
    } else if (tree.radix() > limits_.max_count) {
        error(tree, "radix",
              "radix " + std::to_string(tree.radix()) + " exceeds the limit of " +
                  std::to_string(limits_.max_count) + " ports" +
                  limit_hint("max_count", limits_.max_count));
        is_valid = false;
    }
    const double oversubscription = tree.has_oversubscription() ? tree.oversubscription() : 1.0;
    if (!(oversubscription >= 1) || !std::isfinite(oversubscription)) {
        char value[32];
        std::snprintf(value, sizeof value, "%g", oversubscription);
        error(tree, "oversubscription",
              std::string("oversubscription must be a finite ratio >= 1 (1 = non-blocking, 2 = "
                          "2:1), got ") +
                  value);
        is_valid = false;
    } else if (tree.radix() >= 4 && oversubscription > static_cast<double>(tree.radix() - 1)) {
        // Past radix - 1 a leaf has no up-port left; 1.8e308 overflowed radix x
        // oversubscription in the plan (a fuzz find).
        char value[32];
        std::snprintf(value, sizeof value, "%g", oversubscription);
        error(tree, "oversubscription",
              std::string("oversubscription ") + value + " leaves a leaf switch of radix " +
                  std::to_string(tree.radix()) +
                  " no up-port: at most radix - 1 = " + std::to_string(tree.radix() - 1));
        is_valid = false;
    }
    std::optional<::stepsim::LinkKind> kind = ::stepsim::LinkKind::kInfiniBand;
    if (tree.link_kind() != LINK_KIND_UNSPECIFIED) {
        kind = to_link_kind(tree.link_kind());
        if (kind != ::stepsim::LinkKind::kInfiniBand && kind != ::stepsim::LinkKind::kEthernet) {
            error(tree, "link_kind",
                  "a fat tree's link_kind must be INFINIBAND or ETHERNET, got " +
                      LinkKind_Name(tree.link_kind()));
            is_valid = false;
        }
    }
    const auto bw = bandwidth(tree, "bandwidth", tree.bandwidth(), kBuilder);
    const auto lat = latency(tree, "latency", tree.latency(), kBuilder);
    if (tree.instance_size() == 0) {
        error_at(tree, "fat_tree has no instance (expected the names of the servers' instances)");
        is_valid = false;
    }
    const std::string nic_name = tree.nic_component().empty() ? "nic" : tree.nic_component();
    std::vector<int> rails;
    std::vector<std::uint32_t> nics;
    std::map<std::string, int, std::less<>> seen;
    for (int i = 0; i < tree.instance_size(); ++i) {
        if (!seen.try_emplace(tree.instance(i), i).second) {
            error(tree, "instance", "instance " + quoted(tree.instance(i)) + " is listed twice", i);
            is_valid = false;
            continue;
        }
        const ResolvedInstance* instance = find_instance(tree, "instance", tree.instance(i), i);
        if (instance == nullptr) {
            is_valid = false;
            continue;
        }
        const ResolvedComponent* component = find_component(
            tree, "nic_component", *instance, nic_name, ::stepsim::NodeKind::kNic, kBuilder);
        if (component == nullptr) {
            is_valid = false;
            continue;
        }
        const std::int64_t stride = instance->templ->device_count;
        for (std::int64_t copy = 0; copy < instance->count; ++copy) {
            for (std::int64_t j = 0; j < component->count; ++j) {
                rails.push_back(static_cast<int>(j));
                nics.push_back(static_cast<std::uint32_t>(instance->first_device + copy * stride +
                                                          component->first + j));
            }
        }
    }
    if (!is_valid || !bw || !lat || !kind) {
        return;
    }
    FatTreePlan plan;
    try {
        plan = plan_fat_tree(
            rails, FatTreeShape{static_cast<int>(tree.tiers()), tree.radix(), oversubscription});
    } catch (const UserError& e) {
        error_at(tree, std::string("fat_tree ") + quoted(fabric.name()) + ": " + e.what());
        return;
    }
    if (static_cast<std::int64_t>(result_.devices.size() + plan.switches.size()) >
        limits_.max_devices) {
        error_at(tree, "the fat tree's " + std::to_string(plan.switches.size()) +
                           " switches take the topology past the limit of " +
                           std::to_string(limits_.max_devices) + " devices" +
                           limit_hint("max_devices", limits_.max_devices));
        return;
    }
    const std::uint32_t where = origin(fabric);
    const auto first_switch = static_cast<std::uint32_t>(result_.devices.size());
    for (const FatTreePlan::Switch& sw : plan.switches) {
        add_device(fabric.name() + "." + sw.name, ::stepsim::NodeKind::kSwitch, -1, sw.tier, where);
    }
    if (result_.devices.size() != first_switch + plan.switches.size()) {
        return;  // a name clashed; reported by add_device
    }
    const ResolvedLinkType type{*kind, *lat, *bw, true};
    for (std::size_t i = 0; i < nics.size(); ++i) {
        add_cables(nics[i], first_switch + static_cast<std::uint32_t>(plan.nic_leaf[i]), type, 1,
                   true, where);
    }
    for (const auto& [lower, upper] : plan.cables) {
        add_cables(first_switch + static_cast<std::uint32_t>(lower),
                   first_switch + static_cast<std::uint32_t>(upper), type, 1, true, where);
    }
}

void Expander::add_fabrics() {
    for (int f = 0; f < spec_.fabric_size(); ++f) {
        const Fabric& fabric = spec_.fabric(f);
        switch (fabric.builder_case()) {
            case Fabric::kNvswitchCrossbar:
                add_crossbar(fabric, fabric.nvswitch_crossbar());
                break;
            case Fabric::kFatTree:
                add_fat_tree(fabric, fabric.fat_tree());
                break;
            case Fabric::BUILDER_NOT_SET:
                error_at(fabric, "fabric[" + std::to_string(f) +
                                     "] has no builder (expected nvswitch_crossbar or fat_tree)");
                break;
        }
    }
}

}  // namespace stepsim::spec::detail
