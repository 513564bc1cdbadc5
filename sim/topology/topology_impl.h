// SPDX-License-Identifier: Apache-2.0
// File: topology_impl.h
// The private state behind `Topology`: devices and directed links in vectors indexed by id, a
// Boost.Graph adjacency list kept in step with them (one edge per link, edge property = LinkId),
// the name index and the GPU rank order. Only sim/topology/ includes this header.
#pragma once

#include "stepsim/ids.h"
#include "stepsim/topology.h"

#include <boost/graph/adjacency_list.hpp>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace stepsim {

struct Topology::Impl {
    /// Vertex i is NodeId(i); every edge carries the LinkId of the directed link it stands for.
    using Graph = boost::
        adjacency_list<boost::vecS, boost::vecS, boost::directedS, boost::no_property, LinkId>;

    std::vector<Node> nodes;
    std::vector<Link> links;
    /// out_links[node] lists the links leaving `node` in the order they were added.
    std::vector<std::vector<LinkId>> out_links;
    Graph graph;
    /// The same links with every edge turned around (dst -> src), for the Router's Dijkstra
    /// towards one destination. Kept as a second directed graph rather than a bidirectionalS
    /// one, because a directed graph's in-edges are not enough for boost::reverse_graph.
    Graph reversed;
    std::map<std::string, NodeId, std::less<>> node_by_name;
    /// GPUs in rank order (insertion order).
    std::vector<NodeId> gpus;
    /// rank_by_node[node] is the GPU's rank, or an invalid RankId for other devices.
    std::vector<RankId> rank_by_node;
    /// Distinct non-negative `host` values among GPUs.
    std::set<std::int32_t> gpu_hosts;
    /// Links whose is_up is false (connectivity skips its per-edge check when there are none).
    std::size_t down_link_count = 0;
    /// Bumped by every edit (devices, links, bandwidth, up/down), so that a Router can tell
    /// that its tables were built for an older topology.
    std::uint64_t version = 0;

    const Node& node_at(NodeId id) const;
    const Link& link_at(LinkId id) const;
};

}  // namespace stepsim
