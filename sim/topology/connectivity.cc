// SPDX-License-Identifier: Apache-2.0
// File: connectivity.cc
// `Topology::connected_components()` and `Topology::reachable()`: which devices the links join,
// as cables (undirected) or along their directions, with or without passing through GPUs. The
// spec loader uses them to tell a cut-off, one-way or GPU-transit wiring mistake apart.
#include "stepsim/error.h"
#include "stepsim/topology.h"

#include "topology_impl.h"

#include <boost/graph/breadth_first_search.hpp>
#include <boost/graph/connected_components.hpp>
#include <boost/graph/filtered_graph.hpp>

#include <algorithm>
#include <utility>

namespace stepsim {

std::vector<std::uint32_t> Topology::connected_components() const {
    // One undirected edge per pair of devices joined by a link that is up (a duplex cable's two
    // directions become one edge): the graph is an adjacency list of its own, because
    // boost::connected_components needs an undirected one.
    std::vector<std::pair<std::uint32_t, std::uint32_t>> cables;
    cables.reserve(impl_->links.size());
    for (const Link& link : impl_->links) {
        if (link.is_up) {
            cables.emplace_back(std::min(link.src.value, link.dst.value),
                                std::max(link.src.value, link.dst.value));
        }
    }
    std::sort(cables.begin(), cables.end());
    cables.erase(std::unique(cables.begin(), cables.end()), cables.end());
    using Undirected =
        boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS, boost::no_property,
                              boost::no_property, boost::no_property, boost::vecS>;
    const Undirected graph(cables.begin(), cables.end(), impl_->nodes.size());
    std::vector<std::uint32_t> component(impl_->nodes.size());
    // Depth-first over the vertices in index order: numbering follows the lowest NodeId.
    boost::connected_components(graph, component.data());
    return component;
}

namespace {

// Keeps the links that are up (used only when some link is down).
struct UpLinks {
    const std::vector<Link>* links = nullptr;
    const Topology::Impl::Graph* graph = nullptr;  // Impl::graph or Impl::reversed

    bool operator()(const Topology::Impl::Graph::edge_descriptor& edge) const {
        return (*links)[(*graph)[edge].index()].is_up;
    }
};

// Records every device the search touches: the ones it discovers, and the GPUs it may not pass
// through, which start black so that the search reaches them (black_target) but never leaves
// them.
struct Recorder : boost::default_bfs_visitor {
    std::vector<bool>* seen = nullptr;

    template <class Vertex, class Graph>
    void discover_vertex(Vertex v, const Graph&) const {
        (*seen)[v] = true;
    }

    template <class Edge, class Graph>
    void black_target(Edge e, const Graph& g) const {
        (*seen)[boost::target(e, g)] = true;
    }
};

template <class Graph>
std::vector<bool> search(const Graph& graph,
                         const Topology::Impl& impl,
                         NodeId source,
                         bool through_gpus) {
    const std::size_t n = impl.nodes.size();
    std::vector<boost::default_color_type> color(n, boost::white_color);
    if (!through_gpus) {
        for (const NodeId gpu : impl.gpus) {
            if (gpu != source) {
                color[gpu.index()] = boost::black_color;
            }
        }
    }
    std::vector<bool> seen(n, false);
    Recorder recorder;
    recorder.seen = &seen;
    boost::queue<std::size_t> queue;
    boost::breadth_first_visit(
        graph, source.index(), queue, recorder,
        boost::make_iterator_property_map(color.begin(), boost::get(boost::vertex_index, graph)));
    return seen;
}

}  // namespace

std::vector<bool> Topology::reachable(NodeId source, Reach direction, bool through_gpus) const {
    impl_->node_at(source);
    const Impl::Graph& graph = direction == Reach::kFrom ? impl_->graph : impl_->reversed;
    std::vector<bool> seen;
    if (impl_->down_link_count == 0) {
        seen = search(graph, *impl_, source, through_gpus);
    } else {
        // Both graphs carry the LinkId on each edge, so the filter reads the link either way.
        const boost::filtered_graph<Impl::Graph, UpLinks> up(graph, UpLinks{&impl_->links, &graph});
        seen = search(up, *impl_, source, through_gpus);
    }
    STEPSIM_CHECK(seen[source.index()], "breadth-first search did not discover its source");
    return seen;
}

}  // namespace stepsim
