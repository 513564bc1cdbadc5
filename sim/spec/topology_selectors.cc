// SPDX-License-Identifier: Apache-2.0
// File: topology_selectors.cc
// Endpoint selectors of the topology expander: NAME, NAME[i], NAME[a:b] and NAME[*], parsed,
// range-checked, and resolved to device indices against a template's components (template
// edges) or against instances and their components (top-level edges, INSTANCE[sel].COMP[sel]).
#include "topology_expander_impl.h"

#include <charconv>
#include <system_error>

namespace stepsim::spec::detail {

namespace {

std::optional<std::int64_t> parse_index(std::string_view s) {
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < 0) {
        return std::nullopt;
    }
    return v;
}

}  // namespace

std::optional<Selector> parse_selector(std::string_view text) {
    Selector selector;
    const std::size_t bracket = text.find('[');
    if (bracket == std::string_view::npos) {
        selector.name = std::string(text);
        return is_simple_name(selector.name) ? std::optional(selector) : std::nullopt;
    }
    if (text.back() != ']') {
        return std::nullopt;
    }
    selector.name = std::string(text.substr(0, bracket));
    if (!is_simple_name(selector.name)) {
        return std::nullopt;
    }
    const std::string_view inside = text.substr(bracket + 1, text.size() - bracket - 2);
    if (inside == "*") {
        return selector;
    }
    selector.is_all = false;
    const std::size_t colon = inside.find(':');
    if (colon == std::string_view::npos) {
        const auto i = parse_index(inside);
        if (!i) {
            return std::nullopt;
        }
        selector.begin = *i;
        selector.end = *i + 1;
        return selector;
    }
    const auto a = parse_index(inside.substr(0, colon));
    const auto b = parse_index(inside.substr(colon + 1));
    if (!a || !b) {
        return std::nullopt;
    }
    selector.begin = *a;
    selector.end = *b;
    return selector;
}

// Range check of a selector against `count` items; returns an error message or "".
std::string resolve_range(Selector& selector, std::int64_t count, std::string_view what) {
    if (selector.is_all) {
        selector.begin = 0;
        selector.end = count;
        return "";
    }
    if (selector.begin >= selector.end) {
        return "empty range [" + std::to_string(selector.begin) + ":" +
               std::to_string(selector.end) + "] of " + std::string(what) + " " +
               quoted(selector.name) + " (expected [a:b] with a < b)";
    }
    if (selector.end > count) {
        return std::string(what) + " " + quoted(selector.name) + " has " + std::to_string(count) +
               (count == 1 ? " element" : " elements") + ", index " +
               std::to_string(selector.end - 1) + " is out of range";
    }
    return "";
}

std::optional<std::vector<std::int64_t>> Expander::template_endpoint(const ResolvedTemplate& t,
                                                                     const Edge& edge,
                                                                     std::string_view field,
                                                                     const std::string& text) {
    const std::string label = "device template " + quoted(t.message->name());
    auto selector = parse_selector(text);
    if (!selector) {
        error(edge, field,
              label + ": malformed endpoint " + quoted(text) + " " + std::string(kSelectorHelp));
        return std::nullopt;
    }
    const auto it = t.component_by_name.find(selector->name);
    if (it == t.component_by_name.end()) {
        error(edge, field, label + ": edge references unknown component " + quoted(selector->name));
        return std::nullopt;
    }
    const ResolvedComponent& component = t.components[it->second];
    if (const std::string problem = resolve_range(*selector, component.count, "component");
        !problem.empty()) {
        error(edge, field, label + ": " + problem);
        return std::nullopt;
    }
    std::vector<std::int64_t> devices;
    for (std::int64_t i = selector->begin; i < selector->end; ++i) {
        devices.push_back(component.first + i);
    }
    return devices;
}

const Expander::ResolvedInstance* Expander::find_instance(const gp::Message& m,
                                                          std::string_view field,
                                                          const std::string& name,
                                                          int index) {
    const auto it = instance_by_name_.find(name);
    if (it == instance_by_name_.end()) {
        error(m, field, "unknown instance " + quoted(name), index);
        return nullptr;
    }
    const ResolvedInstance& instance = instances_[it->second];
    return instance.templ == nullptr ? nullptr : &instance;  // its error is reported already
}

std::optional<std::vector<std::uint32_t>> Expander::top_endpoint(const Edge& edge,
                                                                 std::string_view field,
                                                                 const std::string& text) {
    if (const auto it = device_index_.find(text); it != device_index_.end()) {
        return std::vector<std::uint32_t>{it->second};
    }
    const std::size_t dot = text.find("].");
    std::optional<Selector> instance_selector;
    std::optional<Selector> component_selector;
    if (dot != std::string::npos) {
        instance_selector = parse_selector(std::string_view(text).substr(0, dot + 1));
        component_selector = parse_selector(std::string_view(text).substr(dot + 2));
    }
    if (!instance_selector || !component_selector) {
        error(edge, field,
              "endpoint " + quoted(text) +
                  " is neither a device name nor INSTANCE[sel].COMPONENT[sel] " +
                  std::string(kSelectorHelp));
        return std::nullopt;
    }
    const ResolvedInstance* instance = find_instance(edge, field, instance_selector->name);
    if (instance == nullptr) {
        return std::nullopt;
    }
    const auto it = instance->templ->component_by_name.find(component_selector->name);
    if (it == instance->templ->component_by_name.end()) {
        error(edge, field,
              "edge references unknown component " + quoted(component_selector->name) +
                  " of device template " + quoted(instance->templ->message->name()));
        return std::nullopt;
    }
    const ResolvedComponent& component = instance->templ->components[it->second];
    std::string problem = resolve_range(*instance_selector, instance->count, "instance");
    if (problem.empty()) {
        problem = resolve_range(*component_selector, component.count, "component");
    }
    if (!problem.empty()) {
        error(edge, field, problem);
        return std::nullopt;
    }
    std::vector<std::uint32_t> devices;
    const std::int64_t stride = instance->templ->device_count;
    for (std::int64_t copy = instance_selector->begin; copy < instance_selector->end; ++copy) {
        for (std::int64_t j = component_selector->begin; j < component_selector->end; ++j) {
            devices.push_back(instance->first_device +
                              static_cast<std::uint32_t>(copy * stride + component.first + j));
        }
    }
    return devices;
}

}  // namespace stepsim::spec::detail
