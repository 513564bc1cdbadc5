// SPDX-License-Identifier: Apache-2.0
// File: topology_expander.h
// Turns a parsed topology spec into the explicit graph: templates are instantiated, edges and
// fabric builders become cables, names are resolved, quantities parsed, and the result is
// checked (limits, duplicates, dangling ends; GPU connectivity once built). Every problem goes
// to the Diagnostics; the graph is complete only when none was added.
#pragma once

#include "stepsim/topology.h"

#include "diagnostics.h"
#include "spec_locator.h"
#include "topologies/topology.pb.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stepsim::spec {

/// Refuse specs that expand beyond these sizes before allocating anything. These are the
/// defaults of the spec's `limits` block (topology.proto), which raises or lowers them:
/// `--set limits.max_devices=N`. 10^7 devices with 5·10^7 directed links take about 9 GB.
inline constexpr std::int64_t kMaxDevices = 10'000'000;
inline constexpr std::int64_t kMaxDirectedLinks = 50'000'000;
inline constexpr std::int64_t kMaxCount = 1'000'000;

/// The limits in force for one spec: its `limits` block over the defaults above.
struct ExpansionLimits {
    std::int64_t max_devices = kMaxDevices;
    std::int64_t max_directed_links = kMaxDirectedLinks;
    std::int64_t max_count = kMaxCount;
};

/// " (limits.NAME = VALUE; raise it with --set limits.NAME=N or a limits { NAME: N } block)"
std::string limit_hint(std::string_view name, std::int64_t value);

/// Where an expanded device or link came from, for messages.
struct SpecOrigin {
    SourceLocation location;
    std::string field_path;
};

struct ExpandedDevice {
    std::string name;
    ::stepsim::NodeKind kind = ::stepsim::NodeKind::kGpu;
    std::int32_t host = -1;
    std::int32_t tier = 0;
    std::uint32_t origin = 0;  ///< index into ExpandedTopology::origins
};

/// One cable; a duplex cable becomes two directed stepsim::Links.
struct ExpandedLink {
    std::uint32_t a = 0;  ///< device index
    std::uint32_t b = 0;
    ::stepsim::LinkKind kind = ::stepsim::LinkKind::kNvLink;
    Time latency{0};
    double bandwidth_Bps = 0;
    bool is_duplex = true;
    std::uint32_t origin = 0;
};

struct ExpandedTopology {
    std::vector<ExpandedDevice> devices;
    std::vector<ExpandedLink> links;
    std::vector<SpecOrigin> origins;

    std::size_t gpu_count() const;
};

/// Expands and validates `spec`; problems go to `diagnostics` (located through `locator`).
ExpandedTopology expand_topology(const Topology& spec,
                                 const SpecLocator& locator,
                                 Diagnostics& diagnostics);

/// The runtime graph of a valid expansion (devices in order, so GPU ranks follow it), then
/// the check that every GPU reaches every other one the way routes go (connected components
/// and reachability of sim/topology); problems go to `diagnostics`, located where the GPUs
/// were defined.
::stepsim::Topology build_topology(const ExpandedTopology& expanded, Diagnostics& diagnostics);

}  // namespace stepsim::spec
