// SPDX-License-Identifier: Apache-2.0
// File: topology_expander.cc
// Expansion order (it fixes device order, hence GPU ranks): explicit devices in file order,
// then each instance's copies (components in template order), then fabric switches. Host
// indices: explicit ones as written; copies of templates that hold GPUs get the next free
// index after the largest explicit one, in instance order. Endpoint selectors are resolved in
// topology_selectors.cc, fabric builders in topology_fabrics.cc.
#include "topology_expander.h"

#include "stepsim/units.h"

#include "topology_expander_impl.h"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace stepsim::spec {

std::size_t ExpandedTopology::gpu_count() const {
    return static_cast<std::size_t>(
        std::count_if(devices.begin(), devices.end(),
                      [](const ExpandedDevice& d) { return d.kind == ::stepsim::NodeKind::kGpu; }));
}

namespace detail {

std::optional<::stepsim::NodeKind> to_node_kind(DeviceKind kind) {
    switch (kind) {
        case GPU:
            return ::stepsim::NodeKind::kGpu;
        case NVSWITCH:
            return ::stepsim::NodeKind::kNvSwitch;
        case NIC:
            return ::stepsim::NodeKind::kNic;
        case SWITCH:
            return ::stepsim::NodeKind::kSwitch;
        case HOST:
            return ::stepsim::NodeKind::kHost;
        case PCIE_SWITCH:
            return ::stepsim::NodeKind::kPcieSwitch;
        default:
            return std::nullopt;
    }
}

std::optional<::stepsim::LinkKind> to_link_kind(LinkKind kind) {
    switch (kind) {
        case NVLINK:
            return ::stepsim::LinkKind::kNvLink;
        case PCIE:
            return ::stepsim::LinkKind::kPcie;
        case INFINIBAND:
            return ::stepsim::LinkKind::kInfiniBand;
        case ETHERNET:
            return ::stepsim::LinkKind::kEthernet;
        default:
            return std::nullopt;
    }
}

std::optional<std::int64_t> Expander::count_of(const gp::Message& m,
                                               bool has_count,
                                               std::int64_t count,
                                               std::string_view owner) {
    if (!has_count) {
        return 1;
    }
    if (count < 1) {
        error(m, "count",
              std::string(owner) + ": count must be at least 1, got " + std::to_string(count));
        return std::nullopt;
    }
    if (count > limits_.max_count) {
        error(m, "count",
              std::string(owner) + ": count " + std::to_string(count) + " exceeds the limit of " +
                  std::to_string(limits_.max_count) + limit_hint("max_count", limits_.max_count));
        return std::nullopt;
    }
    return count;
}

std::optional<double> Expander::bandwidth(const gp::Message& m,
                                          std::string_view field,
                                          const std::string& text,
                                          std::string_view owner) {
    if (text.empty()) {
        error(m, field,
              std::string(owner) + " has no " + std::string(field) +
                  " (expected a rate per direction such as \"400Gbps\" or \"450GBps\")");
        return std::nullopt;
    }
    try {
        return parse_bandwidth_Bps(text);
    } catch (const UnitError& e) {
        error(m, field, e.what());
        return std::nullopt;
    }
}

std::optional<Time> Expander::latency(const gp::Message& m,
                                      std::string_view field,
                                      const std::string& text,
                                      std::string_view owner) {
    if (text.empty()) {
        error(m, field,
              std::string(owner) + " has no " + std::string(field) +
                  " (expected a time per hop such as \"700ns\")");
        return std::nullopt;
    }
    try {
        const Time t = parse_time(text);
        if (t <= Time::zero()) {
            error(m, field,
                  std::string(field) + " " + quoted(text) +
                      " must be positive (a hop takes time; write e.g. \"1ps\" for an "
                      "idealized link)");
            return std::nullopt;
        }
        return t;
    } catch (const UnitError& e) {
        error(m, field, e.what());
        return std::nullopt;
    }
}

Expander::ResolvedLinkType Expander::resolve_link_type(const LinkType& type,
                                                       std::string_view owner) {
    ResolvedLinkType resolved;
    const std::string label = std::string(owner) + " link type " + quoted(type.name());
    const auto kind = to_link_kind(type.kind());
    if (!kind) {
        error(type, "kind", label + " has no kind (expected " + std::string(kLinkKinds) + ")");
    }
    const auto bw = bandwidth(type, "bandwidth", type.bandwidth(), label);
    const auto lat = latency(type, "latency", type.latency(), label);
    if (kind && bw && lat) {
        resolved = ResolvedLinkType{*kind, *lat, *bw, true};
    }
    return resolved;
}

bool Expander::add_device(std::string name,
                          ::stepsim::NodeKind kind,
                          std::int32_t host,
                          std::int32_t tier,
                          std::uint32_t origin_index) {
    const auto index = static_cast<std::uint32_t>(result_.devices.size());
    const auto [it, inserted] = device_index_.try_emplace(name, index);
    if (!inserted) {
        const SpecOrigin& here = result_.origins[origin_index];
        const SpecOrigin& first = result_.origins[result_.devices[it->second].origin];
        diagnostics_.error(here.location, here.field_path,
                           "duplicate device name " + quoted(name) + " (first defined at " +
                               first.location.to_string() + ")");
        return false;
    }
    result_.devices.push_back(ExpandedDevice{std::move(name), kind, host, tier, origin_index});
    return true;
}

void Expander::add_cables(std::uint32_t a,
                          std::uint32_t b,
                          const ResolvedLinkType& type,
                          std::int64_t count,
                          bool is_duplex,
                          std::uint32_t origin_index) {
    // Every phase's own estimate is checked before it allocates; this is the backstop for
    // their sum (several edges and fabrics, each within the limit on its own).
    const std::int64_t added = saturating_mul(is_duplex ? 2 : 1, count);
    if (is_over_link_limit_ ||
        saturating_add(directed_links_, added) > limits_.max_directed_links) {
        if (!is_over_link_limit_) {
            const SpecOrigin& where = result_.origins[origin_index];
            diagnostics_.error(where.location, where.field_path,
                               "the topology expands to more than " +
                                   std::to_string(limits_.max_directed_links) + " directed links" +
                                   limit_hint("max_directed_links", limits_.max_directed_links));
        }
        is_over_link_limit_ = true;
        return;
    }
    directed_links_ += added;
    for (std::int64_t i = 0; i < count; ++i) {
        result_.links.push_back(ExpandedLink{a, b, type.kind, type.latency, type.bandwidth_Bps,
                                             is_duplex, origin_index});
    }
}

ExpansionLimits Expander::resolve_limits() {
    ExpansionLimits limits;
    if (!spec_.has_limits()) {
        return limits;
    }
    const TopologyLimits& l = spec_.limits();
    for (auto [has, value, field, target] :
         {std::tuple{l.has_max_devices(), l.max_devices(), "max_devices", &limits.max_devices},
          std::tuple{l.has_max_directed_links(), l.max_directed_links(), "max_directed_links",
                     &limits.max_directed_links},
          std::tuple{l.has_max_count(), l.max_count(), "max_count", &limits.max_count}}) {
        if (!has) {
            continue;
        }
        if (value < 1) {
            error(l, field,
                  std::string("limits.") + field + " must be at least 1, got " +
                      std::to_string(value));
            continue;
        }
        *target = value;
    }
    return limits;
}

void Expander::resolve_top_link_types() {
    for (int i = 0; i < spec_.link_type_size(); ++i) {
        const LinkType& type = spec_.link_type(i);
        if (type.name().empty()) {
            error_at(type, "link_type[" + std::to_string(i) + "] has no name");
            continue;
        }
        const ResolvedLinkType resolved = resolve_link_type(type, "top-level");
        if (!top_link_types_.try_emplace(type.name(), resolved).second) {
            error(type, "name", "duplicate link type name " + quoted(type.name()));
        }
    }
}

void Expander::resolve_templates() {
    templates_.resize(static_cast<std::size_t>(spec_.device_template_size()));
    for (int i = 0; i < spec_.device_template_size(); ++i) {
        const DeviceTemplate& message = spec_.device_template(i);
        ResolvedTemplate& t = templates_[static_cast<std::size_t>(i)];
        t.message = &message;
        if (message.name().empty()) {
            error_at(message, "device_template[" + std::to_string(i) + "] has no name");
            t.is_valid = false;
        } else if (!template_by_name_.try_emplace(message.name(), static_cast<std::size_t>(i))
                        .second) {
            error(message, "name", "duplicate device template name " + quoted(message.name()));
            t.is_valid = false;
        }
        resolve_template(t);
    }
}

void Expander::resolve_template(ResolvedTemplate& t) {
    const DeviceTemplate& message = *t.message;
    const std::string label = "device template " + quoted(message.name());
    for (int c = 0; c < message.component_size(); ++c) {
        const Component& component = message.component(c);
        if (!is_simple_name(component.name())) {
            error(component, "name",
                  label + ": component name " + quoted(component.name()) +
                      " must be non-empty and made of letters, digits, '_' and '-'");
            t.is_valid = false;
            continue;
        }
        const auto kind = to_node_kind(component.kind());
        if (!kind) {
            error(component, "kind",
                  label + ": component " + quoted(component.name()) + " has no kind (expected " +
                      std::string(kDeviceKinds) + ")");
            t.is_valid = false;
        }
        const auto count = count_of(component, component.has_count(), component.count(),
                                    "component " + quoted(component.name()));
        if (!count) {
            t.is_valid = false;
        }
        if (component.has_tier() && (component.tier() < 0 || component.tier() > 3)) {
            error(component, "tier",
                  "tier must be 0 (in a server), 1 (leaf), 2 (spine) or 3 (core), got " +
                      std::to_string(component.tier()));
            t.is_valid = false;
        }
        if (t.component_by_name.count(component.name()) > 0) {
            error(component, "name",
                  label + ": duplicate component name " + quoted(component.name()));
            t.is_valid = false;
            continue;
        }
        if (!kind || !count) {
            continue;
        }
        const std::int32_t tier = component.has_tier()                    ? component.tier()
                                  : *kind == ::stepsim::NodeKind::kSwitch ? 1
                                                                          : 0;
        t.component_by_name.emplace(component.name(), t.components.size());
        t.components.push_back(
            ResolvedComponent{component.name(), *kind, *count, t.device_count, tier});
        t.device_count += *count;
        t.has_gpu = t.has_gpu || *kind == ::stepsim::NodeKind::kGpu;
    }
    for (int l = 0; l < message.link_size(); ++l) {
        const LinkType& type = message.link(l);
        if (type.name().empty()) {
            error_at(type, label + ": link[" + std::to_string(l) + "] has no name");
            t.is_valid = false;
            continue;
        }
        const ResolvedLinkType resolved = resolve_link_type(type, label);
        t.is_valid = t.is_valid && resolved.is_valid;
        if (!t.link_types.try_emplace(type.name(), resolved).second) {
            error(type, "name", label + ": duplicate link type name " + quoted(type.name()));
            t.is_valid = false;
        }
    }
    for (int e = 0; e < message.edge_size(); ++e) {
        const Edge& edge = message.edge(e);
        const auto ep1 = template_endpoint(t, edge, "ep1", edge.ep1());
        const auto ep2 = template_endpoint(t, edge, "ep2", edge.ep2());
        const ResolvedLinkType* type = nullptr;
        if (const auto it = t.link_types.find(edge.link()); it != t.link_types.end()) {
            type = &it->second;
        } else if (const auto top = top_link_types_.find(edge.link());
                   top != top_link_types_.end()) {
            type = &top->second;
        } else {
            error(edge, "link",
                  label + ": edge references unknown link type " + quoted(edge.link()) +
                      " (define it in the template's or the top-level link list)");
        }
        const auto count = count_of(edge, edge.has_count(), edge.count(), "edge");
        if (!ep1 || !ep2 || type == nullptr || !count) {
            t.is_valid = false;
            continue;
        }
        if (!type->is_valid) {
            t.is_valid = false;  // its own error was reported where it is defined
            continue;
        }
        const std::uint32_t where = origin(edge);
        const std::size_t first_new = t.cables.size();
        if (edge.scheme() == ONE_TO_ONE) {
            if (ep1->size() != ep2->size()) {
                error(edge, "scheme",
                      label + ": a ONE_TO_ONE edge needs endpoint sets of the same size, got " +
                          std::to_string(ep1->size()) + " (" + quoted(edge.ep1()) + ") and " +
                          std::to_string(ep2->size()) + " (" + quoted(edge.ep2()) + ")");
                t.is_valid = false;
                continue;
            }
            const std::int64_t cables =
                saturating_add(static_cast<std::int64_t>(t.cables.size()),
                               saturating_mul(static_cast<std::int64_t>(ep1->size()), *count));
            if (saturating_mul(cables, 2) > limits_.max_directed_links) {
                error(edge, "count",
                      label + ": the template's edges make more than " +
                          std::to_string(limits_.max_directed_links) + " directed links" +
                          limit_hint("max_directed_links", limits_.max_directed_links));
                t.is_valid = false;
                continue;
            }
            for (std::size_t k = 0; k < ep1->size(); ++k) {
                for (std::int64_t n = 0; n < *count; ++n) {
                    t.cables.push_back(LocalCable{(*ep1)[k], (*ep2)[k], type, where});
                }
            }
        } else {
            const std::int64_t pairs = saturating_mul(static_cast<std::int64_t>(ep1->size()),
                                                      static_cast<std::int64_t>(ep2->size()));
            const std::int64_t cables = saturating_add(static_cast<std::int64_t>(t.cables.size()),
                                                       saturating_mul(pairs, *count));
            if (saturating_mul(cables, 2) > limits_.max_directed_links) {
                error(edge, "scheme",
                      label + ": the template's edges make more than " +
                          std::to_string(limits_.max_directed_links) + " directed links" +
                          limit_hint("max_directed_links", limits_.max_directed_links));
                t.is_valid = false;
                continue;
            }
            for (const std::int64_t a : *ep1) {
                for (const std::int64_t b : *ep2) {
                    for (std::int64_t n = 0; n < *count; ++n) {
                        t.cables.push_back(LocalCable{a, b, type, where});
                    }
                }
            }
        }
        if (std::any_of(t.cables.begin() + static_cast<std::ptrdiff_t>(first_new), t.cables.end(),
                        [](const LocalCable& cable) { return cable.a == cable.b; })) {
            error(edge, "ep2", label + ": edge connects a device to itself");
            t.is_valid = false;
        }
    }
    t.directed_links = 2 * static_cast<std::int64_t>(t.cables.size());
}

bool Expander::resolve_instances() {
    std::int64_t devices = spec_.device_size();
    std::int64_t links = 0;
    for (const Link& link : spec_.link()) {
        links =
            saturating_add(links, 2 * std::clamp<std::int64_t>(link.count(), 1, limits_.max_count));
    }
    bool within_limits = true;
    for (int i = 0; i < spec_.instance_size(); ++i) {
        const Instance& message = spec_.instance(i);
        ResolvedInstance instance;
        instance.message = &message;
        const std::string label = "instance " + quoted(message.name());
        if (!is_simple_name(message.name())) {
            error(message, "name",
                  "instance name " + quoted(message.name()) +
                      " must be non-empty and made of letters, digits, '_' and '-'");
        } else if (!instance_by_name_.try_emplace(message.name(), instances_.size()).second) {
            error(message, "name", "duplicate instance name " + quoted(message.name()));
        }
        const auto count = count_of(message, message.has_count(), message.count(), label);
        const auto it = template_by_name_.find(message.device_template());
        if (message.device_template().empty()) {
            error_at(message, label + " has no device_template");
        } else if (it == template_by_name_.end()) {
            error(
                message, "device_template",
                label + " references unknown device template " + quoted(message.device_template()));
        } else if (count && templates_[it->second].is_valid) {
            instance.templ = &templates_[it->second];
            instance.count = *count;
            devices = saturating_add(devices, saturating_mul(*count, instance.templ->device_count));
            links = saturating_add(links, saturating_mul(*count, instance.templ->directed_links));
            if (within_limits && devices > limits_.max_devices) {
                error(message, "count",
                      "the topology expands to more than " + std::to_string(limits_.max_devices) +
                          " devices with " + label + " (" + std::to_string(*count) + " copies of " +
                          std::to_string(instance.templ->device_count) + " devices)" +
                          limit_hint("max_devices", limits_.max_devices));
                within_limits = false;
            }
            if (within_limits && links > limits_.max_directed_links) {
                error(message, "count",
                      "the topology expands to more than " +
                          std::to_string(limits_.max_directed_links) + " directed links with " +
                          label + limit_hint("max_directed_links", limits_.max_directed_links));
                within_limits = false;
            }
        }
        instances_.push_back(instance);
    }
    return within_limits;
}

void Expander::add_explicit_devices() {
    for (int i = 0; i < spec_.device_size(); ++i) {
        const Device& device = spec_.device(i);
        if (device.name().empty()) {
            error_at(device, "device[" + std::to_string(i) + "] has no name");
            continue;
        }
        const auto kind = to_node_kind(device.kind());
        if (!kind) {
            error(device, "kind",
                  "device " + quoted(device.name()) + " has no kind (expected " +
                      std::string(kDeviceKinds) + ")");
        }
        if (device.has_host() && device.host() < 0) {
            error(device, "host",
                  "host must be a server index >= 0, got " + std::to_string(device.host()));
        } else if (device.has_host() && device.host() >= limits_.max_devices) {
            // Hosts after it are numbered from host + 1: past the device limit they overflow.
            error(device, "host",
                  "host " + std::to_string(device.host()) + " is past the topology's device limit" +
                      limit_hint("max_devices", limits_.max_devices));
        }
        if (device.has_tier() && (device.tier() < 0 || device.tier() > 3)) {
            error(device, "tier",
                  "tier must be 0 (in a server), 1 (leaf), 2 (spine) or 3 (core), got " +
                      std::to_string(device.tier()));
        }
        // Register the name even when the kind is missing, so links to it do not cascade.
        const ::stepsim::NodeKind node_kind = kind.value_or(::stepsim::NodeKind::kHost);
        const std::int32_t tier = device.has_tier()                           ? device.tier()
                                  : node_kind == ::stepsim::NodeKind::kSwitch ? 1
                                                                              : 0;
        add_device(device.name(), node_kind, device.has_host() ? device.host() : -1, tier,
                   origin(device));
    }
}

void Expander::add_instance_devices() {
    std::int32_t next_host = 0;
    for (const Device& device : spec_.device()) {
        if (device.has_host()) {
            // Saturates: a host at INT32_MAX was reported above; no signed overflow here.
            next_host =
                std::max(next_host, device.host() == INT32_MAX ? device.host() : device.host() + 1);
        }
    }
    for (ResolvedInstance& instance : instances_) {
        if (instance.templ == nullptr) {
            continue;
        }
        instance.first_device = static_cast<std::uint32_t>(result_.devices.size());
        const std::uint32_t where = origin(*instance.message);
        const std::string& name = instance.message->name();
        const bool is_server = instance.templ->has_gpu;
        instance.first_host = is_server ? next_host : -1;
        for (std::int64_t copy = 0; copy < instance.count; ++copy) {
            const std::string prefix = name + "[" + std::to_string(copy) + "].";
            // Saturates like the device hosts above: past INT32_MAX an error is reported.
            const std::int32_t host = is_server ? next_host : -1;
            if (is_server && next_host < INT32_MAX) {
                ++next_host;
            }
            for (const ResolvedComponent& component : instance.templ->components) {
                for (std::int64_t j = 0; j < component.count; ++j) {
                    add_device(prefix + component.name + "[" + std::to_string(j) + "]",
                               component.kind, host, component.tier, where);
                }
            }
        }
    }
}

void Expander::add_explicit_links() {
    for (int i = 0; i < spec_.link_size(); ++i) {
        const Link& link = spec_.link(i);
        const std::string label =
            link.name().empty() ? "link[" + std::to_string(i) + "]" : "link " + quoted(link.name());
        std::optional<std::uint32_t> ends[2];
        const std::string* names[2] = {&link.a(), &link.b()};
        const char* fields[2] = {"a", "b"};
        for (int e = 0; e < 2; ++e) {
            if (names[e]->empty()) {
                error_at(link,
                         label + " has no end \"" + fields[e] + "\" (expected a device name)");
            } else if (const auto it = device_index_.find(*names[e]); it != device_index_.end()) {
                ends[e] = it->second;
            } else {
                error(link, fields[e], label + " references unknown device " + quoted(*names[e]));
            }
        }
        if (ends[0] && ends[1] && *ends[0] == *ends[1]) {
            error(link, "b", label + " connects device " + quoted(link.a()) + " to itself");
            ends[0].reset();
        }
        const auto kind = to_link_kind(link.kind());
        if (!kind) {
            error(link, "kind", label + " has no kind (expected " + std::string(kLinkKinds) + ")");
        }
        const auto bw = bandwidth(link, "bandwidth", link.bandwidth(), label);
        const auto lat = latency(link, "latency", link.latency(), label);
        const auto count = count_of(link, link.has_count(), link.count(), label);
        if (ends[0] && ends[1] && kind && bw && lat && count) {
            add_cables(*ends[0], *ends[1], ResolvedLinkType{*kind, *lat, *bw, true}, *count,
                       !link.has_duplex() || link.duplex(), origin(link));
        }
    }
}

void Expander::add_template_links() {
    for (const ResolvedInstance& instance : instances_) {
        if (instance.templ == nullptr) {
            continue;
        }
        const auto stride = static_cast<std::uint32_t>(instance.templ->device_count);
        for (std::int64_t copy = 0; copy < instance.count; ++copy) {
            const std::uint32_t base =
                instance.first_device + static_cast<std::uint32_t>(copy) * stride;
            for (const LocalCable& cable : instance.templ->cables) {
                add_cables(base + static_cast<std::uint32_t>(cable.a),
                           base + static_cast<std::uint32_t>(cable.b), *cable.type, 1, true,
                           cable.origin);
            }
        }
    }
}

void Expander::add_top_edges() {
    for (int e = 0; e < spec_.edge_size(); ++e) {
        const Edge& edge = spec_.edge(e);
        const auto ep1 = top_endpoint(edge, "ep1", edge.ep1());
        const auto ep2 = top_endpoint(edge, "ep2", edge.ep2());
        const auto type = top_link_types_.find(edge.link());
        if (type == top_link_types_.end()) {
            error(edge, "link",
                  "edge references unknown link type " + quoted(edge.link()) +
                      " (define it in the top-level link_type list)");
        }
        const auto count = count_of(edge, edge.has_count(), edge.count(), "edge");
        if (!ep1 || !ep2 || type == top_link_types_.end() || !type->second.is_valid || !count) {
            continue;
        }
        std::vector<std::pair<std::uint32_t, std::uint32_t>> pairs;
        if (edge.scheme() == ONE_TO_ONE) {
            if (ep1->size() != ep2->size()) {
                error(edge, "scheme",
                      "a ONE_TO_ONE edge needs endpoint sets of the same size, got " +
                          std::to_string(ep1->size()) + " (" + quoted(edge.ep1()) + ") and " +
                          std::to_string(ep2->size()) + " (" + quoted(edge.ep2()) + ")");
                continue;
            }
            for (std::size_t k = 0; k < ep1->size(); ++k) {
                pairs.emplace_back((*ep1)[k], (*ep2)[k]);
            }
        } else {
            if (saturating_mul(static_cast<std::int64_t>(ep1->size() * ep2->size()),
                               saturating_mul(*count, 2)) > limits_.max_directed_links) {
                error(edge, "scheme",
                      "this MANY_TO_MANY edge makes more than " +
                          std::to_string(limits_.max_directed_links) + " directed links" +
                          limit_hint("max_directed_links", limits_.max_directed_links));
                continue;
            }
            for (const std::uint32_t a : *ep1) {
                for (const std::uint32_t b : *ep2) {
                    pairs.emplace_back(a, b);
                }
            }
        }
        if (std::any_of(pairs.begin(), pairs.end(),
                        [](const auto& p) { return p.first == p.second; })) {
            error(edge, "ep2", "edge connects a device to itself");
            continue;
        }
        const std::uint32_t where = origin(edge);
        for (const auto& [a, b] : pairs) {
            add_cables(a, b, type->second, *count, true, where);
        }
    }
}

ExpandedTopology Expander::run() {
    resolve_top_link_types();
    resolve_templates();
    if (!resolve_instances()) {
        return std::move(result_);  // too large to expand; nothing else is meaningful
    }
    add_explicit_devices();
    add_instance_devices();
    // Checks of the whole cluster run only when its parts are sound, so that one mistake
    // (a device without a kind, a link to a misspelt name) does not also show up as a GPU
    // count or reachability error.
    const bool are_devices_sound = diagnostics_.empty();
    add_explicit_links();
    add_template_links();
    add_top_edges();
    add_fabrics();
    if (is_over_link_limit_) {
        return std::move(result_);  // the links stopped at the limit; the graph is partial
    }
    if (are_devices_sound && result_.gpu_count() == 0) {
        diagnostics_.error(SourceLocation{locator_.file(), 0, 0}, "",
                           "the cluster has no GPUs (expected at least one device or component "
                           "of kind GPU)");
    }
    return std::move(result_);  // build_topology() checks that the GPUs reach each other
}

}  // namespace detail

std::string limit_hint(std::string_view name, std::int64_t value) {
    const std::string n(name);
    return " (limits." + n + " = " + std::to_string(value) + "; raise it with --set limits." + n +
           "=N or a limits { " + n + ": N } block in the spec)";
}

ExpandedTopology expand_topology(const Topology& spec,
                                 const SpecLocator& locator,
                                 Diagnostics& diagnostics) {
    return detail::Expander(spec, locator, diagnostics).run();
}

namespace {

// Whether one strongly connected component C of the non-GPU devices takes a link from every
// GPU and gives one to every GPU: then every GPU reaches every other one without passing
// through a GPU (into C, across it, out of it). O(devices + links): Tarjan's algorithm
// (iterative) on the non-GPU subgraph, then one pass over the GPUs' links. A sufficient test
// only (GPUs wired to each other directly, or to separate islands, fail it though connected);
// the caller falls back to the search from each GPU.
bool has_common_transit_core(const ExpandedTopology& expanded) {
    const std::size_t n = expanded.devices.size();
    const auto is_gpu = [&](std::uint32_t device) {
        return expanded.devices[device].kind == ::stepsim::NodeKind::kGpu;
    };
    // Directed edges as CSR: non-GPU to non-GPU (the subgraph), and GPU to non-GPU and back.
    std::vector<std::uint32_t> begin(n + 1, 0);
    std::vector<std::uint32_t> gpu_out_begin(n + 1, 0);
    std::vector<std::uint32_t> gpu_in_begin(n + 1, 0);
    const auto for_each_edge = [&](auto visit) {
        for (const ExpandedLink& link : expanded.links) {
            visit(link.a, link.b);
            if (link.is_duplex) {
                visit(link.b, link.a);
            }
        }
    };
    for_each_edge([&](std::uint32_t from, std::uint32_t to) {
        if (!is_gpu(from) && !is_gpu(to)) {
            ++begin[from + 1];
        } else if (is_gpu(from) && !is_gpu(to)) {
            ++gpu_out_begin[from + 1];
        } else if (!is_gpu(from) && is_gpu(to)) {
            ++gpu_in_begin[to + 1];
        }
    });
    for (std::size_t v = 0; v < n; ++v) {
        begin[v + 1] += begin[v];
        gpu_out_begin[v + 1] += gpu_out_begin[v];
        gpu_in_begin[v + 1] += gpu_in_begin[v];
    }
    std::vector<std::uint32_t> adjacent(begin[n]);
    std::vector<std::uint32_t> gpu_out(gpu_out_begin[n]);
    std::vector<std::uint32_t> gpu_in(gpu_in_begin[n]);
    {
        std::vector<std::uint32_t> next(begin.begin(), begin.end() - 1);
        std::vector<std::uint32_t> next_out(gpu_out_begin.begin(), gpu_out_begin.end() - 1);
        std::vector<std::uint32_t> next_in(gpu_in_begin.begin(), gpu_in_begin.end() - 1);
        for_each_edge([&](std::uint32_t from, std::uint32_t to) {
            if (!is_gpu(from) && !is_gpu(to)) {
                adjacent[next[from]++] = to;
            } else if (is_gpu(from) && !is_gpu(to)) {
                gpu_out[next_out[from]++] = to;
            } else if (!is_gpu(from) && is_gpu(to)) {
                gpu_in[next_in[to]++] = from;
            }
        });
    }
    // Tarjan's strongly connected components, with an explicit call stack.
    constexpr std::uint32_t kUnvisited = std::numeric_limits<std::uint32_t>::max();
    std::vector<std::uint32_t> index(n, kUnvisited);
    std::vector<std::uint32_t> low(n, 0);
    std::vector<std::uint32_t> component(n, kUnvisited);
    std::vector<bool> is_on_stack(n, false);
    std::vector<std::uint32_t> stack;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> calls;  // device, next edge
    std::uint32_t counter = 0;
    std::uint32_t components = 0;
    for (std::uint32_t root = 0; root < n; ++root) {
        if (is_gpu(root) || index[root] != kUnvisited) {
            continue;
        }
        const auto enter = [&](std::uint32_t v) {
            index[v] = low[v] = counter++;
            stack.push_back(v);
            is_on_stack[v] = true;
            calls.emplace_back(v, begin[v]);
        };
        enter(root);
        while (!calls.empty()) {
            auto& [v, edge] = calls.back();
            if (edge < begin[v + 1]) {
                const std::uint32_t w = adjacent[edge++];
                if (index[w] == kUnvisited) {
                    enter(w);  // invalidates v and edge
                } else if (is_on_stack[w]) {
                    low[v] = std::min(low[v], index[w]);
                }
                continue;
            }
            const std::uint32_t done = v;
            if (low[done] == index[done]) {
                std::uint32_t w;
                do {
                    w = stack.back();
                    stack.pop_back();
                    is_on_stack[w] = false;
                    component[w] = components;
                } while (w != done);
                ++components;
            }
            calls.pop_back();
            if (!calls.empty()) {
                const std::uint32_t parent = calls.back().first;
                low[parent] = std::min(low[parent], low[done]);
            }
        }
    }
    // Per component, how many GPUs link into it and how many it links to (each GPU once).
    std::vector<std::uint32_t> into(components, 0);
    std::vector<std::uint32_t> out_of(components, 0);
    std::vector<std::uint32_t> last_into(components, kUnvisited);
    std::vector<std::uint32_t> last_out_of(components, kUnvisited);
    std::uint32_t gpus = 0;
    for (std::uint32_t g = 0; g < n; ++g) {
        if (!is_gpu(g)) {
            continue;
        }
        ++gpus;
        for (std::uint32_t e = gpu_out_begin[g]; e < gpu_out_begin[g + 1]; ++e) {
            const std::uint32_t c = component[gpu_out[e]];
            if (last_into[c] != g) {
                last_into[c] = g;
                ++into[c];
            }
        }
        for (std::uint32_t e = gpu_in_begin[g]; e < gpu_in_begin[g + 1]; ++e) {
            const std::uint32_t c = component[gpu_in[e]];
            if (last_out_of[c] != g) {
                last_out_of[c] = g;
                ++out_of[c];
            }
        }
    }
    for (std::uint32_t c = 0; c < components; ++c) {
        if (into[c] == gpus && out_of[c] == gpus) {
            return true;
        }
    }
    return false;
}

// Every GPU must reach every other GPU. First over cables regardless of direction (connected
// components), which names the groups that are cut off; then, when that holds, along link
// directions from and to GPU 0, which catches one-way links; then the way routes go, never
// through a GPU (router.cc), which catches GPUs wired only to other GPUs.
void check_gpu_connectivity(const ExpandedTopology& expanded,
                            const ::stepsim::Topology& topology,
                            Diagnostics& diagnostics) {
    using Reach = ::stepsim::Topology::Reach;
    const std::span<const NodeId> gpus = topology.gpus();
    if (gpus.size() < 2) {
        return;
    }
    const auto origin_of = [&](NodeId device) -> const SpecOrigin& {
        return expanded.origins[expanded.devices[device.index()].origin];
    };
    const auto name_of = [&](NodeId device) -> const std::string& {
        return expanded.devices[device.index()].name;
    };
    const NodeId reference = gpus.front();
    const std::string& reference_name = name_of(reference);
    const std::vector<std::uint32_t> component = topology.connected_components();
    std::map<std::uint32_t, std::pair<NodeId, std::size_t>> cut_off;  // component -> first, size
    for (const NodeId g : gpus) {
        if (component[g.index()] == component[reference.index()]) {
            continue;
        }
        auto [it, inserted] = cut_off.try_emplace(component[g.index()], g, 0);
        ++it->second.second;
    }
    std::vector<std::pair<NodeId, std::size_t>> groups;
    for (const auto& [id, group] : cut_off) {
        groups.push_back(group);
    }
    std::sort(groups.begin(), groups.end(),
              [](const auto& x, const auto& y) { return x.first.value < y.first.value; });
    for (const auto& [first, size] : groups) {
        const SpecOrigin& at = origin_of(first);
        diagnostics.error(at.location, at.field_path,
                          "gpu " + detail::quoted(name_of(first)) + " cannot reach gpu " +
                              detail::quoted(reference_name) +
                              ": no chain of links connects them (" + std::to_string(size) +
                              (size == 1 ? " GPU is" : " GPUs are") + " cut off this way)");
    }
    if (!groups.empty()) {
        return;
    }
    // Directed reachability from and to the reference GPU.
    const std::vector<bool> from_reference = topology.reachable(reference, Reach::kFrom, true);
    const std::vector<bool> to_reference = topology.reachable(reference, Reach::kTo, true);
    for (const NodeId g : gpus) {
        if (from_reference[g.index()] && to_reference[g.index()]) {
            continue;
        }
        const SpecOrigin& at = origin_of(g);
        const std::string& name = name_of(g);
        diagnostics.error(at.location, at.field_path,
                          !from_reference[g.index()]
                              ? "gpu " + detail::quoted(name) + " cannot be reached from gpu " +
                                    detail::quoted(reference_name) +
                                    " along the links' directions "
                                    "(some links on the way are one-way: duplex: false)"
                              : "gpu " + detail::quoted(name) + " cannot reach gpu " +
                                    detail::quoted(reference_name) +
                                    " along the links' directions "
                                    "(some links on the way are one-way: duplex: false)");
        return;  // one is enough: the same one-way link usually cuts off many GPUs
    }
    // Routes never pass through a GPU (router.cc: a GPU is only a source or a destination), so
    // every GPU must reach every other one through links, NICs and switches alone. Passed at
    // once when one component of NICs and switches links to and from every GPU (any size);
    // else checked from every GPU while that stays cheap, otherwise from the reference GPU
    // both ways.
    const auto no_transit_error = [&](NodeId from, NodeId to) {
        // Located at the GPU left out, usually the one wired wrongly.
        const SpecOrigin& at = origin_of(to);
        diagnostics.error(at.location, at.field_path,
                          "gpu " + detail::quoted(name_of(from)) + " cannot reach gpu " +
                              detail::quoted(name_of(to)) +
                              " without passing through another GPU (routes do not pass "
                              "through GPUs; connect it to a NIC, switch or NVSwitch)");
    };
    if (has_common_transit_core(expanded)) {
        return;  // every pair connects through one component of NICs and switches
    }
    constexpr double kMaxCheckSteps = 5e7;
    const double steps = static_cast<double>(gpus.size()) *
                         static_cast<double>(topology.node_count() + 2 * expanded.links.size());
    if (steps <= kMaxCheckSteps) {
        for (const NodeId from : gpus) {
            const std::vector<bool> seen = topology.reachable(from, Reach::kFrom, false);
            for (const NodeId to : gpus) {
                if (!seen[to.index()]) {
                    no_transit_error(from, to);
                    return;
                }
            }
        }
        return;
    }
    const std::vector<bool> from_ref = topology.reachable(reference, Reach::kFrom, false);
    const std::vector<bool> to_ref = topology.reachable(reference, Reach::kTo, false);
    for (const NodeId g : gpus) {
        if (!from_ref[g.index()]) {
            no_transit_error(reference, g);
            return;
        }
        if (!to_ref[g.index()]) {
            no_transit_error(g, reference);
            return;
        }
    }
}

}  // namespace

::stepsim::Topology build_topology(const ExpandedTopology& expanded, Diagnostics& diagnostics) {
    ::stepsim::Topology topology;
    std::vector<NodeId> ids;
    ids.reserve(expanded.devices.size());
    for (const ExpandedDevice& device : expanded.devices) {
        ids.push_back(topology.add_node(device.name, device.kind, device.host, device.tier));
    }
    for (const ExpandedLink& link : expanded.links) {
        if (link.is_duplex) {
            topology.add_duplex_link(ids[link.a], ids[link.b], link.kind, link.latency,
                                     link.bandwidth_Bps);
        } else {
            topology.add_link(ids[link.a], ids[link.b], link.kind, link.latency,
                              link.bandwidth_Bps);
        }
    }
    check_gpu_connectivity(expanded, topology, diagnostics);
    return topology;
}

}  // namespace stepsim::spec
