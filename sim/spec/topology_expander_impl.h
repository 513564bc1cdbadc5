// SPDX-License-Identifier: Apache-2.0
// File: topology_expander_impl.h
// Private to the topology expander, whose work is split over three files:
// topology_expander.cc (limits, link types, templates, instances, devices, links, edges, the
// GPU connectivity check), topology_selectors.cc (endpoint selectors: NAME[a:b] parsing and
// resolution against templates and instances) and topology_fabrics.cc (the nvswitch_crossbar
// and fat_tree builders). Only these three files include it.
#pragma once

#include "topology_expander.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace stepsim::spec::detail {

namespace gp = google::protobuf;

inline std::string quoted(std::string_view s) {
    return "\"" + std::string(s) + "\"";
}

inline std::int64_t saturating_mul(std::int64_t a, std::int64_t b) {
    if (a != 0 && b > std::numeric_limits<std::int64_t>::max() / a) {
        return std::numeric_limits<std::int64_t>::max();
    }
    return a * b;
}

inline std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
    return a > std::numeric_limits<std::int64_t>::max() - b
               ? std::numeric_limits<std::int64_t>::max()
               : a + b;
}

inline bool is_simple_name(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
}

std::optional<::stepsim::NodeKind> to_node_kind(DeviceKind kind);
std::optional<::stepsim::LinkKind> to_link_kind(LinkKind kind);

inline constexpr std::string_view kDeviceKinds = "GPU, NVSWITCH, NIC, SWITCH, HOST or PCIE_SWITCH";
inline constexpr std::string_view kLinkKinds = "NVLINK, PCIE, INFINIBAND or ETHERNET";

// --- selectors (topology_selectors.cc) -------------------------------------------------------

// A selector after a name: none or [*] (all), [i], [a:b] (a <= i < b).
struct Selector {
    std::string name;
    bool is_all = true;
    std::int64_t begin = 0;
    std::int64_t end = 0;
};

std::optional<Selector> parse_selector(std::string_view text);

// Range check of a selector against `count` items; returns an error message or "".
std::string resolve_range(Selector& selector, std::int64_t count, std::string_view what);

inline constexpr std::string_view kSelectorHelp =
    "(expected NAME, NAME[i], NAME[a:b] or NAME[*], names made of letters, digits, '_', '-')";

// --- the expansion ---------------------------------------------------------------------------

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
                                         std::string_view owner);
    std::optional<double> bandwidth(const gp::Message& m,
                                    std::string_view field,
                                    const std::string& text,
                                    std::string_view owner);
    std::optional<Time> latency(const gp::Message& m,
                                std::string_view field,
                                const std::string& text,
                                std::string_view owner);
    ResolvedLinkType resolve_link_type(const LinkType& type, std::string_view owner);
    // Adds a device, checking that its name is new. Returns false on a duplicate.
    bool add_device(std::string name,
                    ::stepsim::NodeKind kind,
                    std::int32_t host,
                    std::int32_t tier,
                    std::uint32_t origin_index);
    void add_cables(std::uint32_t a,
                    std::uint32_t b,
                    const ResolvedLinkType& type,
                    std::int64_t count,
                    bool is_duplex,
                    std::uint32_t origin_index);
    /// The spec's limits block over the defaults; a limit below 1 is an error (default kept).
    ExpansionLimits resolve_limits();

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

}  // namespace stepsim::spec::detail
