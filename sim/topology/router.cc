// SPDX-License-Identifier: Apache-2.0
// File: router.cc
// `Router`: for each destination, one Dijkstra over the links into each device (a flat
// snapshot of the reversed graph, binary heap) gives every device's (latency, hops) distance to it,
// ordered lexicographically so that latency ties go to fewer hops; the table is cached. A route
// then walks from the source, at each device taking an out-link on a shortest path, chosen among
// several by a hash of (src, dst, flow_label, device): equal-cost multi-path (ECMP) that is
// deterministic per flow. Routes are cached too.
//
// Tables are shared between servers that a swap maps onto each other: two servers with the same
// devices, the same links inside and the same links (by label) to the same outside devices are
// exchanged by an automorphism of the labelled graph that fixes everything else, so the table
// of a GPU in one is the table of the GPU at the same position in the other, read through the
// swap. On a fat tree every server under the same leaf switches shares one table per position.
// Each table also records, per device, the bottleneck shared by all its shortest paths when they
// all have the same one, so route_metrics() needs no route walk there.
#include "stepsim/error.h"
#include "stepsim/random.h"
#include "stepsim/topology.h"

#include "route_cache.h"
#include "topology_impl.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <queue>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace stepsim {

namespace {

constexpr std::int64_t kUnreachableLatency = std::numeric_limits<std::int64_t>::max();

/// Distance to the destination: latency first, then hop count.
struct Distance {
    std::int64_t latency_ps = 0;
    std::int32_t hops = 0;
};

constexpr Distance kUnreachable{kUnreachableLatency, std::numeric_limits<std::int32_t>::max()};

struct DistanceLess {
    bool operator()(const Distance& a, const Distance& b) const {
        return a.latency_ps < b.latency_ps || (a.latency_ps == b.latency_ps && a.hops < b.hops);
    }
};

struct DistanceCombine {
    Distance operator()(const Distance& a, const Distance& b) const {
        if (a.latency_ps == kUnreachableLatency || b.latency_ps == kUnreachableLatency) {
            return kUnreachable;
        }
        if (a.latency_ps > kUnreachableLatency - 1 - b.latency_ps) {
            throw ResourceLimitError("route latency exceeds the range of Time");
        }
        if (a.hops > std::numeric_limits<std::int32_t>::max() - 1 - b.hops) {
            throw ResourceLimitError("route hop count exceeds the range of int32");
        }
        return Distance{a.latency_ps + b.latency_ps, a.hops + b.hops};
    }
};

/// One out-link as the route walk sees it, stored contiguously per device (a snapshot of the
/// topology taken when the router first needs it, dropped by invalidate()).
struct Hop {
    std::int64_t latency_ps;
    double bandwidth_Bps;
    std::uint32_t link;
    std::uint32_t next;
    bool is_up;
    bool enters_gpu;
};

/// A link a route towards `destination` may take: it is up, and it does not enter a GPU
/// unless that GPU is the destination (GPUs do not forward traffic).
bool is_usable(const Hop& hop, std::uint32_t destination) {
    return hop.is_up && (!hop.enters_gpu || hop.next == destination);
}

/// Every device's shortest distance to one destination, stored compactly (20 bytes a device).
struct DestinationTable {
    std::vector<std::int64_t> latency_ps;  ///< kUnreachableLatency when dst is unreachable
    std::vector<std::int32_t> hops;
    /// The bottleneck every shortest path from the device has, NaN when they differ (or the
    /// device cannot reach dst).
    std::vector<double> bottleneck_Bps;
};

constexpr std::size_t kTableBytesPerDevice =
    sizeof(std::int64_t) + sizeof(std::int32_t) + sizeof(double);

}  // namespace

struct Router::Impl {
    const Topology& topology;
    Limits limits;
    /// The topology version the cached state was built for.
    std::uint64_t version = 0;
    /// tables[dst], built on first use.
    std::vector<std::unique_ptr<DestinationTable>> tables;
    std::size_t table_count = 0;
    /// Destinations whose tables are held, oldest first (the eviction order).
    std::deque<std::uint32_t> table_order;
    detail::RouteCache routes;
    /// hops[hop_begin[node] .. hop_begin[node + 1]) are the node's out-links in order.
    std::vector<std::uint32_t> hop_begin;
    std::vector<Hop> hops;
    /// The same hops indexed by LinkId.
    std::vector<Hop> hop_by_link;
    /// in_hops[in_begin[node] .. in_begin[node + 1]) are the links into the node (Dijkstra
    /// walks them backwards from the destination), in link order.
    std::vector<std::uint32_t> in_begin;
    std::vector<std::uint32_t> in_hops;  ///< link ids
    /// Dijkstra's heap of (distance, device), smallest first.
    using HeapEntry = std::pair<Distance, std::uint32_t>;

    struct HeapGreater {
        bool operator()(const HeapEntry& a, const HeapEntry& b) const {
            return DistanceLess{}(b.first, a.first) ||
                   (!DistanceLess{}(a.first, b.first) && b.second < a.second);
        }
    };

    std::vector<HeapEntry> heap;
    std::vector<std::uint32_t> candidates;
    std::vector<std::uint32_t> settled;  ///< Dijkstra's settle order (scratch)

    /// Server swaps (see the file comment), built with the hop snapshot: proxy[node] is the
    /// node whose table stands for node's (itself when none); node_host the dense server
    /// index of each node (-1 for fabric devices); host_nodes[host_begin[h] ..
    /// host_begin[h + 1]) the nodes of server h in id order, position[node] the node's index
    /// there.
    std::vector<std::uint32_t> proxy;
    std::vector<std::int32_t> node_host;
    std::vector<std::uint32_t> position;
    std::vector<std::uint32_t> host_begin;
    std::vector<std::uint32_t> host_nodes;

    /// A destination's table, read through the swap of servers host_a and host_b (none when
    /// host_a < 0): entry v of the destination is entry at(v) of `table`.
    struct View {
        const DestinationTable* table = nullptr;
        const Impl* impl = nullptr;
        std::int32_t host_a = -1;
        std::int32_t host_b = -1;

        std::uint32_t at(std::uint32_t v) const {
            if (host_a < 0) {
                return v;
            }
            const std::int32_t h = impl->node_host[v];
            if (h == host_a) {
                return impl->host_nodes[impl->host_begin[static_cast<std::size_t>(host_b)] +
                                        impl->position[v]];
            }
            if (h == host_b) {
                return impl->host_nodes[impl->host_begin[static_cast<std::size_t>(host_a)] +
                                        impl->position[v]];
            }
            return v;
        }

        std::int64_t latency_ps(std::uint32_t v) const { return table->latency_ps[at(v)]; }

        std::int32_t hops(std::uint32_t v) const { return table->hops[at(v)]; }

        double bottleneck_Bps(std::uint32_t v) const { return table->bottleneck_Bps[at(v)]; }
    };

    Impl(const Topology& t, Limits l)
        : topology(t)
        , limits(l)
        , version(t.impl().version) {}

    void clear() {
        tables.clear();
        table_count = 0;
        table_order.clear();
        routes.clear();
        hop_begin.clear();
        hops.clear();
        hop_by_link.clear();
        in_begin.clear();
        in_hops.clear();
        proxy.clear();
        node_host.clear();
        position.clear();
        host_begin.clear();
        host_nodes.clear();
    }

    void build_proxies();

    void build_hops() {
        const Topology::Impl& t = topology.impl();
        hop_begin.assign(1, 0);
        hops.clear();
        hops.reserve(t.links.size());
        for (const auto& out : t.out_links) {
            for (const LinkId id : out) {
                const Link& link = t.links[id.index()];
                hops.push_back(Hop{link.latency.count(), link.bandwidth_Bps, id.value,
                                   link.dst.value, link.is_up,
                                   t.nodes[link.dst.index()].kind == NodeKind::kGpu});
            }
            hop_begin.push_back(static_cast<std::uint32_t>(hops.size()));
        }
        hop_by_link.resize(hops.size());
        for (const Hop& hop : hops) {
            hop_by_link[hop.link] = hop;
        }
        in_begin.assign(t.nodes.size() + 1, 0);
        for (const Link& link : t.links) {
            ++in_begin[link.dst.index() + 1];
        }
        for (std::size_t i = 1; i < in_begin.size(); ++i) {
            in_begin[i] += in_begin[i - 1];
        }
        in_hops.assign(t.links.size(), 0);
        std::vector<std::uint32_t> next(in_begin.begin(), in_begin.end() - 1);
        for (const Link& link : t.links) {
            in_hops[next[link.dst.index()]++] = link.id.value;
        }
        build_proxies();
    }

    /// Adopts a changed topology when nothing is cached; a stale cache is a caller bug.
    void check_version() {
        const std::uint64_t current = topology.impl().version;
        if (current == version) {
            return;
        }
        STEPSIM_CHECK(table_count == 0 && routes.empty(),
                      "topology edited after routes were cached: call Router::invalidate()");
        clear();  // drops a hop snapshot left by a Dijkstra that threw
        version = current;
    }

    /// The table built for `dst` itself (a Dijkstra when not held).
    const DestinationTable& own_table(NodeId dst);
    /// dst's table: its own, or its proxy's through the swap of their servers.
    View table(NodeId dst);
    View checked_table(NodeId src, NodeId dst);
    Route build_route(NodeId src, NodeId dst, std::uint64_t flow_label, const View& table);
};

void Router::Impl::build_proxies() {
    const Topology::Impl& t = topology.impl();
    const std::size_t n = t.nodes.size();
    proxy.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        proxy[i] = static_cast<std::uint32_t>(i);
    }
    node_host.assign(n, -1);
    position.assign(n, 0);
    if (!limits.is_table_shared_by_symmetry) {
        return;
    }
    std::map<std::int32_t, std::int32_t> dense;
    for (std::size_t i = 0; i < n; ++i) {
        if (t.nodes[i].host >= 0) {
            node_host[i] = dense.emplace(t.nodes[i].host, static_cast<std::int32_t>(dense.size()))
                               .first->second;
        }
    }
    const std::size_t hosts = dense.size();
    host_begin.assign(hosts + 1, 0);
    for (std::size_t i = 0; i < n; ++i) {
        if (node_host[i] >= 0) {
            ++host_begin[static_cast<std::size_t>(node_host[i]) + 1];
        }
    }
    for (std::size_t h = 1; h <= hosts; ++h) {
        host_begin[h] += host_begin[h - 1];
    }
    host_nodes.assign(host_begin.back(), 0);
    std::vector<std::uint32_t> fill(host_begin.begin(), host_begin.end() - 1);
    for (std::size_t i = 0; i < n; ++i) {
        if (node_host[i] >= 0) {
            const auto h = static_cast<std::size_t>(node_host[i]);
            position[i] = fill[h] - host_begin[h];
            host_nodes[fill[h]++] = static_cast<std::uint32_t>(i);
        }
    }
    // A server's signature: per device (in position order) its kind and tier, then the sorted
    // labels of its out-links with their ends (a position inside the server, or the id of a
    // device outside), then the sorted labels of the links into it from outside. Two servers
    // with equal signatures are swapped by an automorphism (links between the two make their
    // signatures differ, since each names the other's devices).
    std::map<std::tuple<int, std::int64_t, std::uint64_t, bool>, std::int64_t> label_ids;
    const auto label_of = [&](const Link& link) {
        const auto key =
            std::make_tuple(static_cast<int>(link.kind), link.latency.count(),
                            std::bit_cast<std::uint64_t>(link.bandwidth_Bps), link.is_up);
        return label_ids.emplace(key, static_cast<std::int64_t>(label_ids.size())).first->second;
    };
    std::vector<std::vector<std::uint32_t>> in_from_outside(n);
    for (const Link& link : t.links) {
        const std::int32_t h = node_host[link.dst.index()];
        if (h >= 0 && node_host[link.src.index()] != h) {
            in_from_outside[link.dst.index()].push_back(link.id.value);
        }
    }
    const auto big = static_cast<std::int64_t>(n);
    std::map<std::vector<std::int64_t>, std::int32_t> first_with;
    std::vector<std::int64_t> signature;
    std::vector<std::int64_t> entries;
    for (std::size_t h = 0; h < hosts; ++h) {
        signature.clear();
        for (std::uint32_t k = host_begin[h]; k < host_begin[h + 1]; ++k) {
            const std::uint32_t v = host_nodes[k];
            signature.push_back(static_cast<std::int64_t>(t.nodes[v].kind));
            signature.push_back(t.nodes[v].tier);
            entries.clear();
            for (const LinkId id : t.out_links[v]) {
                const Link& link = t.links[id.index()];
                const std::uint32_t to = link.dst.value;
                const std::int64_t end = node_host[to] == static_cast<std::int32_t>(h)
                                             ? static_cast<std::int64_t>(position[to])
                                             : big + to;
                entries.push_back(label_of(link) * 2 * big + end);
            }
            std::sort(entries.begin(), entries.end());
            signature.push_back(static_cast<std::int64_t>(entries.size()));
            signature.insert(signature.end(), entries.begin(), entries.end());
            entries.clear();
            for (const std::uint32_t id : in_from_outside[v]) {
                const Link& link = t.links[id];
                entries.push_back(label_of(link) * big + link.src.value);
            }
            std::sort(entries.begin(), entries.end());
            signature.push_back(static_cast<std::int64_t>(entries.size()));
            signature.insert(signature.end(), entries.begin(), entries.end());
        }
        const auto [it, inserted] = first_with.emplace(signature, static_cast<std::int32_t>(h));
        if (!inserted) {
            const auto f = static_cast<std::size_t>(it->second);
            for (std::uint32_t k = 0; k < host_begin[h + 1] - host_begin[h]; ++k) {
                proxy[host_nodes[host_begin[h] + k]] = host_nodes[host_begin[f] + k];
            }
        }
    }
}

Router::Impl::View Router::Impl::table(NodeId dst) {
    topology.impl().node_at(dst);
    if (hop_begin.empty()) {
        build_hops();
    }
    const std::uint32_t stand_in = proxy[dst.index()];
    if (stand_in == dst.value) {
        return View{&own_table(dst), this, -1, -1};
    }
    return View{&own_table(NodeId(stand_in)), this, node_host[stand_in], node_host[dst.index()]};
}

const DestinationTable& Router::Impl::own_table(NodeId dst) {
    const Topology::Impl& t = topology.impl();
    if (tables.size() != t.nodes.size()) {
        tables.resize(t.nodes.size());
    }
    auto& slot = tables[dst.index()];
    if (slot) {
        return *slot;
    }
    if (hop_begin.empty()) {
        build_hops();
    }
    // Dijkstra from dst over the reversed links that a route to dst may take: a link is
    // usable when it is up and does not enter a GPU other than dst (GPUs do not forward).
    // Distances are (latency, hops) ordered lexicographically, so they do not depend on the
    // order in which ties are settled.
    auto built = std::make_unique<DestinationTable>();
    built->latency_ps.assign(t.nodes.size(), kUnreachableLatency);
    built->hops.assign(t.nodes.size(), kUnreachable.hops);
    std::vector<std::int64_t>& latency = built->latency_ps;
    std::vector<std::int32_t>& hop_count = built->hops;
    latency[dst.index()] = 0;
    hop_count[dst.index()] = 0;
    heap.clear();
    settled.clear();
    heap.emplace_back(Distance{0, 0}, dst.value);
    const DistanceCombine combine;
    const DistanceLess less;
    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), HeapGreater{});
        const auto [distance, u] = heap.back();
        heap.pop_back();
        if (distance.latency_ps != latency[u] || distance.hops != hop_count[u]) {
            continue;  // a stale entry: u was settled closer
        }
        settled.push_back(u);
        if (u != dst.value && t.nodes[u].kind == NodeKind::kGpu) {
            continue;  // no usable link enters a GPU other than dst
        }
        for (std::uint32_t k = in_begin[u]; k < in_begin[u + 1]; ++k) {
            const Hop& hop = hop_by_link[in_hops[k]];
            if (!hop.is_up) {
                continue;
            }
            const std::uint32_t v = t.links[hop.link].src.value;
            const Distance through = combine(distance, Distance{hop.latency_ps, 1});
            if (less(through, Distance{latency[v], hop_count[v]})) {
                latency[v] = through.latency_ps;
                hop_count[v] = through.hops;
                heap.emplace_back(through, v);
                std::push_heap(heap.begin(), heap.end(), HeapGreater{});
            }
        }
    }
    // Bottlenecks in settle order: a route's next device is strictly closer, so it is settled
    // first. A device's shortest paths share a bottleneck when every link a route walk may
    // take from it (build_route's candidates) gives the same min(link, rest of the path).
    std::vector<double>& bottleneck = built->bottleneck_Bps;
    bottleneck.assign(t.nodes.size(), std::numeric_limits<double>::quiet_NaN());
    for (const std::uint32_t u : settled) {
        if (u == dst.value) {
            bottleneck[u] = std::numeric_limits<double>::infinity();
            continue;
        }
        double shared = std::numeric_limits<double>::quiet_NaN();
        bool is_uniform = true;
        for (std::uint32_t i = hop_begin[u]; i < hop_begin[u + 1] && is_uniform; ++i) {
            const Hop& hop = hops[i];
            if (!is_usable(hop, dst.value) || latency[hop.next] == kUnreachableLatency ||
                latency[u] - hop.latency_ps != latency[hop.next] ||
                hop_count[u] - 1 != hop_count[hop.next]) {
                continue;
            }
            const double rest = bottleneck[hop.next];
            const double through = std::isnan(rest) ? rest : std::min(hop.bandwidth_Bps, rest);
            if (std::isnan(through) || (!std::isnan(shared) && through != shared)) {
                is_uniform = false;
            }
            shared = through;
        }
        bottleneck[u] = is_uniform ? shared : std::numeric_limits<double>::quiet_NaN();
    }
    // Keep the tables within their byte budget: drop the oldest ones (never the one being
    // built, which a caller is about to read).
    const std::size_t table_bytes = std::max<std::size_t>(1, t.nodes.size() * kTableBytesPerDevice);
    const std::size_t max_tables = std::max<std::size_t>(1, limits.max_table_bytes / table_bytes);
    while (table_count >= max_tables && !table_order.empty()) {
        tables[table_order.front()].reset();
        table_order.pop_front();
        --table_count;
    }
    slot = std::move(built);
    ++table_count;
    table_order.push_back(dst.value);
    return *slot;
}

Router::Impl::View Router::Impl::checked_table(NodeId src, NodeId dst) {
    check_version();
    const Topology::Impl& t = topology.impl();
    t.node_at(src);
    const View found = table(dst);
    if (found.latency_ps(src.value) == kUnreachableLatency) {
        // Loaded topologies are checked connected, so this is a topology built in code or one
        // whose links a scenario took down: the input's doing, not a bug.
        throw UserError("no route from \"" + t.nodes[src.index()].name + "\" to \"" +
                        t.nodes[dst.index()].name + "\" over the links that are up");
    }
    return found;
}

Route Router::Impl::build_route(NodeId src,
                                NodeId dst,
                                std::uint64_t flow_label,
                                const View& table) {
    const Topology::Impl& t = topology.impl();
    Route route;
    route.bottleneck_Bps = std::numeric_limits<double>::infinity();
    route.links.reserve(static_cast<std::size_t>(table.hops(src.value)));
    const std::uint64_t flow_hash =
        splitmix64(splitmix64((std::uint64_t{src.value} << 32) | dst.value) ^ flow_label);
    if (hop_begin.empty()) {
        build_hops();
    }
    const std::uint32_t destination = dst.value;
    std::uint32_t at = src.value;
    while (at != destination) {
        const std::int64_t remaining_ps = table.latency_ps(at);
        const std::int32_t remaining_hops = table.hops(at);
        candidates.clear();
        for (std::uint32_t i = hop_begin[at]; i < hop_begin[at + 1]; ++i) {
            const Hop& hop = hops[i];
            if (!is_usable(hop, destination)) {
                continue;
            }
            const std::int64_t next_ps = table.latency_ps(hop.next);
            if (next_ps != kUnreachableLatency && remaining_ps - hop.latency_ps == next_ps &&
                remaining_hops - 1 == table.hops(hop.next)) {
                candidates.push_back(hop.link);
            }
        }
        STEPSIM_CHECK(!candidates.empty(), "no shortest-path link out of \"" + t.nodes[at].name +
                                               "\" towards \"" + t.nodes[destination].name + "\"");
        const LinkId chosen(candidates.size() == 1
                                ? candidates.front()
                                : candidates[splitmix64(flow_hash ^ at) % candidates.size()]);
        const Link& link = t.links[chosen.index()];
        route.links.push_back(chosen);
        route.latency += link.latency;
        route.bottleneck_Bps = std::min(route.bottleneck_Bps, link.bandwidth_Bps);
        at = link.dst.value;
    }
    STEPSIM_CHECK(route.latency.count() == table.latency_ps(src.value),
                  "route latency differs from its shortest-path distance");
    return route;
}

Router::Router(const Topology& topology)
    : Router(topology, Limits{}) {}

Router::Router(const Topology& topology, Limits limits)
    : impl_(std::make_unique<Impl>(topology, limits)) {}

Router::~Router() = default;

const Route& Router::route(NodeId src, NodeId dst, std::uint64_t flow_label) {
    impl_->check_version();
    const detail::RouteCache::Key key{src.value, dst.value, flow_label};
    if (Route* cached = impl_->routes.find(key)) {
        return *cached;
    }
    if (impl_->routes.size() >= std::max<std::size_t>(1, impl_->limits.max_routes)) {
        impl_->routes.clear();  // a flush: cheap, and routes do not depend on the cache
    }
    if (src == dst) {
        impl_->topology.impl().node_at(src);
        Route empty;
        empty.bottleneck_Bps = std::numeric_limits<double>::infinity();
        return impl_->routes.insert(key, std::move(empty));
    }
    const Impl::View table = impl_->checked_table(src, dst);
    return impl_->routes.insert(key, impl_->build_route(src, dst, flow_label, table));
}

RouteMetrics Router::route_metrics(NodeId src, NodeId dst, std::uint64_t flow_label) {
    if (src == dst) {
        impl_->topology.impl().node_at(src);
        return RouteMetrics{Time::zero(), 0, std::numeric_limits<double>::infinity()};
    }
    const Impl::View table = impl_->checked_table(src, dst);
    const double bottleneck_Bps = table.bottleneck_Bps(src.value);
    if (!std::isnan(bottleneck_Bps)) {
        return RouteMetrics{Time(table.latency_ps(src.value)),
                            static_cast<std::size_t>(table.hops(src.value)), bottleneck_Bps};
    }
    const Route& found = route(src, dst, flow_label);
    return RouteMetrics{found.latency, found.links.size(), found.bottleneck_Bps};
}

bool Router::is_reachable(NodeId src, NodeId dst) {
    impl_->check_version();
    impl_->topology.impl().node_at(src);
    if (src == dst) {
        impl_->topology.impl().node_at(dst);
        return true;
    }
    return impl_->table(dst).latency_ps(src.value) != kUnreachableLatency;
}

std::size_t Router::hop_count(NodeId src, NodeId dst) {
    if (src == dst) {
        impl_->topology.impl().node_at(src);
        return 0;
    }
    return static_cast<std::size_t>(impl_->checked_table(src, dst).hops(src.value));
}

Time Router::latency(NodeId src, NodeId dst) {
    if (src == dst) {
        impl_->topology.impl().node_at(src);
        return Time::zero();
    }
    return Time(impl_->checked_table(src, dst).latency_ps(src.value));
}

void Router::invalidate() {
    impl_->clear();
    impl_->version = impl_->topology.impl().version;
}

std::size_t Router::cached_routes() const {
    return impl_->routes.size();
}

std::size_t Router::cached_tables() const {
    return impl_->table_count;
}

}  // namespace stepsim
