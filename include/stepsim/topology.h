// SPDX-License-Identifier: Apache-2.0
// File: topology.h
// The cluster as a directed graph of devices (GPUs, NVSwitches, NICs, IB switches, hosts) and
// links (NVLink, PCIe, InfiniBand, Ethernet), each link one direction with its own latency
// and bandwidth. `Topology` wraps a Boost.Graph adjacency list and never exposes it. `Router`
// finds shortest paths by latency, picks among equal-cost paths by a hash of the flow (ECMP),
// and caches routes. Topologies are built by the spec loader (spec.h) or by hand in tests.
#pragma once

#include "stepsim/ids.h"
#include "stepsim/time.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stepsim {

enum class NodeKind : std::uint8_t { kGpu, kNvSwitch, kNic, kSwitch, kHost, kPcieSwitch };
enum class LinkKind : std::uint8_t { kNvLink, kPcie, kInfiniBand, kEthernet };

/// "gpu", "nvswitch", "nic", "switch", "host", "pcie_switch"
std::string_view to_string(NodeKind kind);
/// "nvlink", "pcie", "infiniband", "ethernet"
std::string_view to_string(LinkKind kind);

struct Node {
    NodeId id;
    std::string name;
    NodeKind kind = NodeKind::kGpu;
    /// Index of the server this device sits in (0-based), or -1 for fabric devices.
    std::int32_t host = -1;
    /// Switch tier: 0 inside a server, 1 leaf, 2 spine, 3 core.
    std::int32_t tier = 0;
};

/// One direction of a physical link. A full-duplex cable is two Links.
struct Link {
    LinkId id;
    NodeId src;
    NodeId dst;
    LinkKind kind = LinkKind::kNvLink;
    Time latency{0};           ///< per-hop latency (alpha)
    double bandwidth_Bps = 0;  ///< bytes per second in this direction (1/beta)
    bool is_up = true;         ///< false: no route may use it (what-if studies)
};

class Topology {
public:
    Topology();
    ~Topology();
    Topology(Topology&&) noexcept;
    Topology& operator=(Topology&&) noexcept;

    /// A deep copy (a worker that edits links, as a what-if study does, needs its own).
    Topology clone() const;

    /// Adds a device. Names are non-empty and unique (UserError otherwise). GPUs get ranks in
    /// the order they are added.
    NodeId add_node(std::string name, NodeKind kind, std::int32_t host = -1, std::int32_t tier = 0);
    /// Adds one direction src -> dst. Latency >= 0 and bandwidth > 0 and finite, else
    /// UserError; an id out of range is an InternalError.
    LinkId add_link(NodeId src, NodeId dst, LinkKind kind, Time latency, double bandwidth_Bps);
    /// Adds both directions with the same latency and bandwidth; returns (a->b, b->a).
    std::pair<LinkId, LinkId> add_duplex_link(
        NodeId a, NodeId b, LinkKind kind, Time latency, double bandwidth_Bps);

    std::size_t node_count() const;
    std::size_t link_count() const;
    const Node& node(NodeId id) const;
    const Link& link(LinkId id) const;
    /// Links leaving `id`, in the order they were added.
    std::span<const LinkId> out_links(NodeId id) const;
    std::optional<NodeId> find_node(std::string_view name) const;

    /// GPUs in rank order.
    std::span<const NodeId> gpus() const;

    std::size_t gpu_count() const { return gpus().size(); }

    NodeId gpu(RankId rank) const;
    std::optional<RankId> rank_of(NodeId id) const;
    /// Number of servers (distinct `host` values among GPUs).
    std::size_t host_count() const;

    /// What-if edits. Invalidate any Router built on this topology afterwards.
    void set_link_bandwidth(LinkId id, double bandwidth_Bps);
    void set_link_up(LinkId id, bool is_up);

    /// Connected components of the devices, every link that is up taken as an undirected
    /// cable (boost::connected_components). Entry i is the component of NodeId(i); components
    /// are numbered 0, 1, ... in order of their lowest NodeId, so device 0 is in component 0.
    std::vector<std::uint32_t> connected_components() const;

    enum class Reach : std::uint8_t {
        kFrom,  ///< devices that `source` reaches: source -> device
        kTo,    ///< devices that reach `source`: device -> source
    };

    /// Which devices connect to `source` along the directions of the links that are up
    /// (boost::breadth_first_search); indexed by NodeId, `source` itself included. With
    /// `through_gpus` false a path passes through no GPU other than its two ends, the rule the
    /// Router's routes follow.
    std::vector<bool> reachable(NodeId source, Reach direction, bool through_gpus) const;

    /// Opaque access for the routing code (Boost.Graph lives behind it).
    struct Impl;

    const Impl& impl() const { return *impl_; }

private:
    std::unique_ptr<Impl> impl_;
};

/// An ordered path of links from one device to another.
struct Route {
    std::vector<LinkId> links;
    Time latency{0};            ///< sum of the links' latencies
    double bottleneck_Bps = 0;  ///< smallest link bandwidth on the path (+inf when empty)
};

/// What a route's walk gives, without the links.
struct RouteMetrics {
    Time latency{0};
    std::size_t hops = 0;
    double bottleneck_Bps = 0;  ///< +inf when src == dst
};

/// Shortest paths by latency (ties broken by fewer hops), one of the equal-cost paths chosen
/// by a hash of (src, dst, flow_label) at each branching hop, so different flows between the
/// same pair may take different paths (ECMP) and the same flow always takes the same one.
/// Links that are down are never used. GPUs are endpoints: a route never passes through a GPU
/// other than its source and destination (a GPU does not forward traffic; relaying through a
/// peer GPU, as NCCL's PXN does, is a collective's choice of transfers, not a route).
/// `topology` must outlive the router. Not thread-safe (it fills caches on the fly).
/// Both caches are bounded (RouterLimits), so routing memory does not grow with GPU²: a route
/// or a distance table that was evicted is simply computed again, identically.
class Router {
public:
    /// Cache bounds. When the route cache holds max_routes routes it is emptied before the
    /// next insertion; distance tables (20 bytes per device each) are dropped oldest first so
    /// that they stay within max_table_bytes (at least one table is always kept).
    /// With is_table_shared_by_symmetry, servers that swapping maps onto each other (same
    /// devices and inside links, same labelled links to the same outside devices: servers
    /// under the same leaf switches) share their GPUs' distance tables, read through the swap;
    /// routes are the same either way (only the count of Dijkstras changes).
    struct Limits {
        std::size_t max_routes = std::size_t{1} << 18;
        std::size_t max_table_bytes = std::size_t{256} << 20;
        bool is_table_shared_by_symmetry = true;
    };

    explicit Router(const Topology& topology);
    Router(const Topology& topology, Limits limits);
    ~Router();

    /// The route; cached, the reference stays valid until the next call to route() or
    /// invalidate() (a later insertion may evict it). Throws
    /// UserError when dst cannot be reached from src over the links that are up. src == dst
    /// gives an empty route.
    /// Throws InternalError if the topology was edited since the last invalidate() while
    /// routes or distances were cached.
    const Route& route(NodeId src, NodeId dst, std::uint64_t flow_label = 0);
    bool is_reachable(NodeId src, NodeId dst);
    /// Links on a shortest route (all equal-cost routes have the same count); 0 when
    /// src == dst. Throws as route(), but builds no path.
    std::size_t hop_count(NodeId src, NodeId dst);
    /// Latency of a shortest route; throws as route(), but builds no path.
    Time latency(NodeId src, NodeId dst);
    /// route(src, dst, flow_label)'s latency, hop count and bottleneck; builds no path when
    /// every shortest path has the same bottleneck (then the flow label cannot matter).
    RouteMetrics route_metrics(NodeId src, NodeId dst, std::uint64_t flow_label = 0);
    /// Drops cached routes (after link changes in the topology).
    void invalidate();
    /// Routes and distance tables cached now (for tests of the bounds; a table shared by
    /// symmetry counts once).
    std::size_t cached_routes() const;
    std::size_t cached_tables() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// What `stepsim topology` prints.
struct TopologySummary {
    struct LinkClass {
        std::size_t count = 0;           ///< directed links
        double total_bandwidth_Bps = 0;  ///< sum over directed links
    };

    std::size_t gpus = 0;
    std::size_t nodes = 0;                               ///< servers
    std::map<std::string, std::size_t> devices_by_kind;  ///< key: to_string(NodeKind)
    std::map<std::string, LinkClass> links_by_kind;      ///< key: to_string(LinkKind)
    std::size_t diameter_hops = 0;                       ///< max over GPU pairs
    /// Per-GPU injection bandwidth by tier: "scale_up" (NVLink/PCIe out of the GPU) and
    /// "scale_out" (network links out of the GPU's NICs, divided among the GPUs sharing them).
    std::map<std::string, double> injection_Bps_by_tier;
    /// Route classes of GPUs the diameter was computed from (one Dijkstra each); not printed.
    std::size_t route_classes = 0;
};

/// Counts devices and links by kind (every link, up or down), GPUs and servers. The diameter
/// is the largest Router::hop_count() over ordered GPU pairs, i.e. the hops of the
/// latency-shortest routes the simulation uses, computed with one Dijkstra per route class of
/// destination GPUs (detail::gpu_route_classes()) rather than one per GPU. Injection bandwidth
/// counts links that are up and reports, per tier, the minimum over GPUs (the GPU that limits
/// a collective): "scale_up" sums the NVLink/PCIe links from the GPU to anything but a NIC;
/// "scale_out" sums, over the NICs the GPU links to directly, each NIC's InfiniBand/Ethernet
/// out-bandwidth divided by the number of GPUs linked to that NIC. A tier whose minimum is 0
/// is left out. Throws UserError (from the Router) when some GPU cannot reach another.
TopologySummary summarize(const Topology& topology, Router& router);

namespace detail {

/// Colour refinement (1-dimensional Weisfeiler-Leman) of the devices: start from (kind, tier),
/// then repeatedly split devices whose multisets of (link kind, latency, bandwidth, up,
/// neighbour colour) over their out-links or in-links differ, until no colour splits. Devices
/// that an automorphism of the labelled graph maps onto each other always share a colour, so
/// servers built from one template at the same fabric position do. The result is indexed by
/// NodeId; colours are numbered in order of first appearance.
std::vector<std::uint32_t> route_colors(const Topology& topology);

/// One GPU per route colour among GPUs (the lowest rank of each), in rank order.
std::vector<NodeId> gpu_route_classes(const Topology& topology);

}  // namespace detail

}  // namespace stepsim
