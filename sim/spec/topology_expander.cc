// SPDX-License-Identifier: Apache-2.0
// File: topology_expander.cc
// Expansion order (it fixes device order, hence GPU ranks): explicit devices in file order,
// then each instance's copies (components in template order), then fabric switches. Host
// indices: explicit ones as written; copies of templates that hold GPUs get the next free
// index after the largest explicit one, in instance order.
#include "topology_expander.h"

#include "stepsim/units.h"

#include "fat_tree.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <unordered_map>

namespace stepsim::spec {

namespace gp = google::protobuf;

std::size_t ExpandedTopology::gpu_count() const {
    return static_cast<std::size_t>(
        std::count_if(devices.begin(), devices.end(),
                      [](const ExpandedDevice& d) { return d.kind == ::stepsim::NodeKind::kGpu; }));
}

namespace {

std::string quoted(std::string_view s) {
    return "\"" + std::string(s) + "\"";
}

std::int64_t saturating_mul(std::int64_t a, std::int64_t b) {
    if (a != 0 && b > std::numeric_limits<std::int64_t>::max() / a) {
        return std::numeric_limits<std::int64_t>::max();
    }
    return a * b;
}

std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
    return a > std::numeric_limits<std::int64_t>::max() - b
               ? std::numeric_limits<std::int64_t>::max()
               : a + b;
}

bool is_simple_name(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
}

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

constexpr std::string_view kDeviceKinds = "GPU, NVSWITCH, NIC, SWITCH, HOST or PCIE_SWITCH";
constexpr std::string_view kLinkKinds = "NVLINK, PCIE, INFINIBAND or ETHERNET";

// A selector after a name: none or [*] (all), [i], [a:b] (a <= i < b).
struct Selector {
    std::string name;
    bool is_all = true;
    std::int64_t begin = 0;
    std::int64_t end = 0;
};

std::optional<std::int64_t> parse_index(std::string_view s) {
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < 0) {
        return std::nullopt;
    }
    return v;
}

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

constexpr std::string_view kSelectorHelp =
    "(expected NAME, NAME[i], NAME[a:b] or NAME[*], names made of letters, digits, '_', '-')";

class Expander {
public:
    Expander(const Topology& spec, const SpecLocator& locator, Diagnostics& diagnostics)
        : spec_(spec)
        , locator_(locator)
        , diagnostics_(diagnostics)
        , limits_(resolve_limits()) {}

    ExpandedTopology run();

private:
    struct ResolvedLinkType {
        ::stepsim::LinkKind kind = ::stepsim::LinkKind::kNvLink;
        Time latency{0};
        double bandwidth_Bps = 0;
        bool is_valid = false;
    };

    struct ResolvedComponent {
        std::string name;
        ::stepsim::NodeKind kind = ::stepsim::NodeKind::kGpu;
        std::int64_t count = 0;
        std::int64_t first = 0;  // index of its first device within the template
        std::int32_t tier = 0;
    };

    struct LocalCable {
        std::int64_t a = 0;
        std::int64_t b = 0;
        const ResolvedLinkType* type = nullptr;
        std::uint32_t origin = 0;
    };

    struct ResolvedTemplate {
        const DeviceTemplate* message = nullptr;
        bool is_valid = true;
        std::vector<ResolvedComponent> components;
        std::map<std::string, std::size_t, std::less<>> component_by_name;
        std::map<std::string, ResolvedLinkType, std::less<>> link_types;
        std::vector<LocalCable> cables;
        std::int64_t device_count = 0;
        std::int64_t directed_links = 0;
        bool has_gpu = false;
    };

    struct ResolvedInstance {
        const Instance* message = nullptr;
        const ResolvedTemplate* templ = nullptr;  // null when it does not resolve
        std::int64_t count = 0;
        std::uint32_t first_device = 0;
        std::int32_t first_host = -1;
    };

    // --- helpers -----------------------------------------------------------------------------
    void error(const gp::Message& m, std::string_view field, std::string message, int index = -1) {
        diagnostics_.error(locator_.where(m, field, index), locator_.path(m, field, index),
                           std::move(message));
    }

    void error_at(const gp::Message& m, std::string message) {
        diagnostics_.error(locator_.where(m), locator_.path(m), std::move(message));
    }

    std::uint32_t origin(const gp::Message& m) {
        result_.origins.push_back(SpecOrigin{locator_.where(m), locator_.path(m)});
        return static_cast<std::uint32_t>(result_.origins.size() - 1);
    }

    std::optional<std::int64_t> count_of(const gp::Message& m,
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
                  std::string(owner) + ": count " + std::to_string(count) +
                      " exceeds the limit of " + std::to_string(limits_.max_count) +
                      limit_hint("max_count", limits_.max_count));
            return std::nullopt;
        }
        return count;
    }

    std::optional<double> bandwidth(const gp::Message& m,
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

    std::optional<Time> latency(const gp::Message& m,
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

    ResolvedLinkType resolve_link_type(const LinkType& type, std::string_view owner) {
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

    // Adds a device, checking that its name is new. Returns false on a duplicate.
    bool add_device(std::string name,
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

    void add_cables(std::uint32_t a,
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
                diagnostics_.error(
                    where.location, where.field_path,
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

    /// The spec's limits block over the defaults; a limit below 1 is an error (default kept).
    ExpansionLimits resolve_limits() {
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

    // --- phases ------------------------------------------------------------------------------
    void resolve_top_link_types();
    void resolve_templates();
    void resolve_template(ResolvedTemplate& t);
    std::optional<std::vector<std::int64_t>> template_endpoint(const ResolvedTemplate& t,
                                                               const Edge& edge,
                                                               std::string_view field,
                                                               const std::string& text);
    bool resolve_instances();
    void add_explicit_devices();
    void add_instance_devices();
    void add_explicit_links();
    void add_template_links();
    std::optional<std::vector<std::uint32_t>> top_endpoint(const Edge& edge,
                                                           std::string_view field,
                                                           const std::string& text);
    void add_top_edges();
    void add_fabrics();
    void add_crossbar(const Fabric& fabric, const NvSwitchCrossbar& crossbar);
    void add_fat_tree(const Fabric& fabric, const FatTree& tree);
    const ResolvedInstance* find_instance(const gp::Message& m,
                                          std::string_view field,
                                          const std::string& name,
                                          int index = -1);
    const ResolvedComponent* find_component(const gp::Message& m,
                                            std::string_view field,
                                            const ResolvedInstance& instance,
                                            const std::string& name,
                                            ::stepsim::NodeKind kind,
                                            std::string_view builder);
    void check_gpus();

    const Topology& spec_;
    const SpecLocator& locator_;
    Diagnostics& diagnostics_;
    ExpandedTopology result_;
    const ExpansionLimits limits_;
    std::int64_t directed_links_ = 0;  // added by add_cables so far
    bool is_over_link_limit_ = false;
    std::unordered_map<std::string, std::uint32_t> device_index_;
    std::map<std::string, ResolvedLinkType, std::less<>> top_link_types_;
    std::vector<ResolvedTemplate> templates_;
    std::map<std::string, std::size_t, std::less<>> template_by_name_;
    std::vector<ResolvedInstance> instances_;
    std::map<std::string, std::size_t, std::less<>> instance_by_name_;
};

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
            next_host = std::max(next_host, device.host() + 1);
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
            const std::int32_t host = is_server ? next_host++ : -1;
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
    } catch (const std::invalid_argument& e) {
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

// Every GPU must reach every other GPU. First over cables regardless of direction (union-find),
// which names the groups that are cut off; then, when that holds, along link directions (BFS
// from GPU 0 forwards and backwards), which catches one-way links.
void Expander::check_gpus() {
    std::vector<std::uint32_t> gpus;
    for (std::uint32_t d = 0; d < result_.devices.size(); ++d) {
        if (result_.devices[d].kind == ::stepsim::NodeKind::kGpu) {
            gpus.push_back(d);
        }
    }
    if (gpus.size() < 2) {
        return;
    }
    std::vector<std::uint32_t> parent(result_.devices.size());
    std::iota(parent.begin(), parent.end(), 0U);
    const auto find = [&parent](std::uint32_t x) {
        while (parent[x] != x) {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        return x;
    };
    for (const ExpandedLink& link : result_.links) {
        parent[find(link.a)] = find(link.b);
    }
    const std::uint32_t reference = gpus.front();
    const std::string& reference_name = result_.devices[reference].name;
    std::map<std::uint32_t, std::pair<std::uint32_t, std::size_t>>
        cut_off;  // root -> first GPU, size
    for (const std::uint32_t g : gpus) {
        const std::uint32_t root = find(g);
        if (root == find(reference)) {
            continue;
        }
        auto [it, inserted] = cut_off.try_emplace(root, g, 0);
        ++it->second.second;
    }
    std::vector<std::pair<std::uint32_t, std::size_t>> groups;
    for (const auto& [root, group] : cut_off) {
        groups.push_back(group);
    }
    std::sort(groups.begin(), groups.end());
    for (const auto& [first, size] : groups) {
        const SpecOrigin& at = result_.origins[result_.devices[first].origin];
        diagnostics_.error(at.location, at.field_path,
                           "gpu " + quoted(result_.devices[first].name) + " cannot reach gpu " +
                               quoted(reference_name) + ": no chain of links connects them (" +
                               std::to_string(size) + (size == 1 ? " GPU is" : " GPUs are") +
                               " cut off this way)");
    }
    if (!groups.empty()) {
        return;
    }
    // Directed reachability from and to the reference GPU.
    const std::size_t n = result_.devices.size();
    std::vector<std::vector<std::uint32_t>> forward(n);
    std::vector<std::vector<std::uint32_t>> backward(n);
    for (const ExpandedLink& link : result_.links) {
        forward[link.a].push_back(link.b);
        backward[link.b].push_back(link.a);
        if (link.is_duplex) {
            forward[link.b].push_back(link.a);
            backward[link.a].push_back(link.b);
        }
    }
    const auto reach = [n, reference](const std::vector<std::vector<std::uint32_t>>& adjacency) {
        std::vector<bool> seen(n, false);
        std::vector<std::uint32_t> stack{reference};
        seen[reference] = true;
        while (!stack.empty()) {
            const std::uint32_t x = stack.back();
            stack.pop_back();
            for (const std::uint32_t y : adjacency[x]) {
                if (!seen[y]) {
                    seen[y] = true;
                    stack.push_back(y);
                }
            }
        }
        return seen;
    };
    const std::vector<bool> from_reference = reach(forward);
    const std::vector<bool> to_reference = reach(backward);
    for (const std::uint32_t g : gpus) {
        if (from_reference[g] && to_reference[g]) {
            continue;
        }
        const SpecOrigin& at = result_.origins[result_.devices[g].origin];
        const std::string& name = result_.devices[g].name;
        diagnostics_.error(
            at.location, at.field_path,
            !from_reference[g]
                ? "gpu " + quoted(name) + " cannot be reached from gpu " + quoted(reference_name) +
                      " along the links' directions "
                      "(some links on the way are one-way: duplex: false)"
                : "gpu " + quoted(name) + " cannot reach gpu " + quoted(reference_name) +
                      " along the links' directions "
                      "(some links on the way are one-way: duplex: false)");
        return;  // one is enough: the same one-way link usually cuts off many GPUs
    }
    // Routes never pass through a GPU (router.cc: a GPU is only a source or a destination), so
    // every GPU must reach every other one through links, NICs and switches alone. Checked
    // from every GPU while that stays cheap, otherwise from the reference GPU both ways.
    const auto is_gpu = [this](std::uint32_t d) {
        return result_.devices[d].kind == ::stepsim::NodeKind::kGpu;
    };
    const auto reach_without_gpu_transit =
        [n, &is_gpu](std::uint32_t source,
                     const std::vector<std::vector<std::uint32_t>>& adjacency) {
            std::vector<bool> seen(n, false);
            std::vector<std::uint32_t> stack{source};
            seen[source] = true;
            while (!stack.empty()) {
                const std::uint32_t x = stack.back();
                stack.pop_back();
                for (const std::uint32_t y : adjacency[x]) {
                    if (!seen[y]) {
                        seen[y] = true;
                        if (!is_gpu(y)) {
                            stack.push_back(y);
                        }
                    }
                }
            }
            return seen;
        };
    const auto no_transit_error = [&](std::uint32_t from, std::uint32_t to) {
        // Located at the GPU left out, usually the one wired wrongly.
        const SpecOrigin& at = result_.origins[result_.devices[to].origin];
        diagnostics_.error(at.location, at.field_path,
                           "gpu " + quoted(result_.devices[from].name) + " cannot reach gpu " +
                               quoted(result_.devices[to].name) +
                               " without passing through another GPU (routes do not pass "
                               "through GPUs; connect it to a NIC, switch or NVSwitch)");
    };
    constexpr double kMaxCheckSteps = 5e7;
    const double steps =
        static_cast<double>(gpus.size()) * static_cast<double>(n + 2 * result_.links.size());
    if (steps <= kMaxCheckSteps) {
        for (const std::uint32_t from : gpus) {
            const std::vector<bool> seen = reach_without_gpu_transit(from, forward);
            for (const std::uint32_t to : gpus) {
                if (!seen[to]) {
                    no_transit_error(from, to);
                    return;
                }
            }
        }
        return;
    }
    const std::vector<bool> from_ref = reach_without_gpu_transit(reference, forward);
    const std::vector<bool> to_ref = reach_without_gpu_transit(reference, backward);
    for (const std::uint32_t g : gpus) {
        if (!from_ref[g]) {
            no_transit_error(reference, g);
            return;
        }
        if (!to_ref[g]) {
            no_transit_error(g, reference);
            return;
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
    } else if (diagnostics_.empty()) {
        check_gpus();
    }
    return std::move(result_);
}

}  // namespace

std::string limit_hint(std::string_view name, std::int64_t value) {
    const std::string n(name);
    return " (limits." + n + " = " + std::to_string(value) + "; raise it with --set limits." + n +
           "=N or a limits { " + n + ": N } block in the spec)";
}

ExpandedTopology expand_topology(const Topology& spec,
                                 const SpecLocator& locator,
                                 Diagnostics& diagnostics) {
    return Expander(spec, locator, diagnostics).run();
}

::stepsim::Topology build_topology(const ExpandedTopology& expanded) {
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
    return topology;
}

}  // namespace stepsim::spec
