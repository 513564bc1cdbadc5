// SPDX-License-Identifier: Apache-2.0
// File: topology.cc
// `Topology`: devices and directed links stored by id, with a Boost.Graph adjacency list kept
// in step for the routing code. Bad arguments raise std::invalid_argument.
#include "stepsim/topology.h"

#include "stepsim/error.h"

#include "topology_impl.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace stepsim {

std::string_view to_string(NodeKind kind) {
    switch (kind) {
        case NodeKind::kGpu:
            return "gpu";
        case NodeKind::kNvSwitch:
            return "nvswitch";
        case NodeKind::kNic:
            return "nic";
        case NodeKind::kSwitch:
            return "switch";
        case NodeKind::kHost:
            return "host";
        case NodeKind::kPcieSwitch:
            return "pcie_switch";
    }
    throw std::invalid_argument("unknown NodeKind " + std::to_string(static_cast<int>(kind)));
}

std::string_view to_string(LinkKind kind) {
    switch (kind) {
        case LinkKind::kNvLink:
            return "nvlink";
        case LinkKind::kPcie:
            return "pcie";
        case LinkKind::kInfiniBand:
            return "infiniband";
        case LinkKind::kEthernet:
            return "ethernet";
    }
    throw std::invalid_argument("unknown LinkKind " + std::to_string(static_cast<int>(kind)));
}

namespace {

void check_bandwidth(double bandwidth_Bps, const char* what) {
    if (!std::isfinite(bandwidth_Bps) || !(bandwidth_Bps > 0)) {
        throw std::invalid_argument(std::string(what) +
                                    ": bandwidth must be positive and finite, got " +
                                    std::to_string(bandwidth_Bps) + " B/s");
    }
}

}  // namespace

const Node& Topology::Impl::node_at(NodeId id) const {
    if (!id.is_valid() || id.index() >= nodes.size()) {
        throw std::invalid_argument("node id " + std::to_string(id.value) + " out of range (" +
                                    std::to_string(nodes.size()) + " nodes)");
    }
    return nodes[id.index()];
}

const Link& Topology::Impl::link_at(LinkId id) const {
    if (!id.is_valid() || id.index() >= links.size()) {
        throw std::invalid_argument("link id " + std::to_string(id.value) + " out of range (" +
                                    std::to_string(links.size()) + " links)");
    }
    return links[id.index()];
}

Topology::Topology()
    : impl_(std::make_unique<Impl>()) {}

Topology::~Topology() = default;
Topology::Topology(Topology&&) noexcept = default;
Topology& Topology::operator=(Topology&&) noexcept = default;

NodeId Topology::add_node(std::string name, NodeKind kind, std::int32_t host, std::int32_t tier) {
    if (name.empty()) {
        throw std::invalid_argument("add_node: device name must not be empty");
    }
    if (impl_->node_by_name.contains(name)) {
        throw std::invalid_argument("add_node: duplicate device name \"" + name + "\"");
    }
    if (impl_->nodes.size() >= std::numeric_limits<std::uint32_t>::max() - 1) {
        throw std::invalid_argument("add_node: too many devices");
    }
    const NodeId id(static_cast<std::uint32_t>(impl_->nodes.size()));
    const auto vertex = boost::add_vertex(impl_->graph);
    const auto reversed_vertex = boost::add_vertex(impl_->reversed);
    STEPSIM_CHECK(vertex == id.index() && reversed_vertex == id.index(),
                  "graph vertex out of step with node ids");
    RankId rank;
    if (kind == NodeKind::kGpu) {
        rank = RankId(static_cast<std::uint32_t>(impl_->gpus.size()));
        impl_->gpus.push_back(id);
        if (host >= 0) {
            impl_->gpu_hosts.insert(host);
        }
    }
    impl_->rank_by_node.push_back(rank);
    impl_->out_links.emplace_back();
    impl_->node_by_name.emplace(name, id);
    impl_->nodes.push_back(Node{id, std::move(name), kind, host, tier});
    ++impl_->version;
    return id;
}

LinkId Topology::add_link(
    NodeId src, NodeId dst, LinkKind kind, Time latency, double bandwidth_Bps) {
    const Node& from = impl_->node_at(src);
    const Node& to = impl_->node_at(dst);
    if (src == dst) {
        throw std::invalid_argument("add_link: self-loop on \"" + from.name + "\"");
    }
    if (latency < Time::zero()) {
        throw std::invalid_argument("add_link " + from.name + " -> " + to.name +
                                    ": latency must be >= 0, got " +
                                    std::to_string(latency.count()) + " ps");
    }
    const std::string what = "add_link " + from.name + " -> " + to.name;
    check_bandwidth(bandwidth_Bps, what.c_str());
    if (impl_->links.size() >= std::numeric_limits<std::uint32_t>::max() - 1) {
        throw std::invalid_argument("add_link: too many links");
    }
    const LinkId id(static_cast<std::uint32_t>(impl_->links.size()));
    boost::add_edge(src.index(), dst.index(), id, impl_->graph);
    boost::add_edge(dst.index(), src.index(), id, impl_->reversed);
    impl_->links.push_back(Link{id, src, dst, kind, latency, bandwidth_Bps, true});
    impl_->out_links[src.index()].push_back(id);
    ++impl_->version;
    return id;
}

std::pair<LinkId, LinkId> Topology::add_duplex_link(
    NodeId a, NodeId b, LinkKind kind, Time latency, double bandwidth_Bps) {
    // Validate both directions before adding either, so a bad call leaves no half cable.
    impl_->node_at(a);
    impl_->node_at(b);
    if (a == b) {
        throw std::invalid_argument("add_duplex_link: self-loop on \"" + impl_->node_at(a).name +
                                    "\"");
    }
    if (latency < Time::zero()) {
        throw std::invalid_argument("add_duplex_link: latency must be >= 0, got " +
                                    std::to_string(latency.count()) + " ps");
    }
    check_bandwidth(bandwidth_Bps, "add_duplex_link");
    const LinkId forward = add_link(a, b, kind, latency, bandwidth_Bps);
    const LinkId backward = add_link(b, a, kind, latency, bandwidth_Bps);
    return {forward, backward};
}

std::size_t Topology::node_count() const {
    return impl_->nodes.size();
}

std::size_t Topology::link_count() const {
    return impl_->links.size();
}

const Node& Topology::node(NodeId id) const {
    return impl_->node_at(id);
}

const Link& Topology::link(LinkId id) const {
    return impl_->link_at(id);
}

std::span<const LinkId> Topology::out_links(NodeId id) const {
    impl_->node_at(id);
    return impl_->out_links[id.index()];
}

std::optional<NodeId> Topology::find_node(std::string_view name) const {
    const auto it = impl_->node_by_name.find(name);
    if (it == impl_->node_by_name.end()) {
        return std::nullopt;
    }
    return it->second;
}

std::span<const NodeId> Topology::gpus() const {
    return impl_->gpus;
}

NodeId Topology::gpu(RankId rank) const {
    if (!rank.is_valid() || rank.index() >= impl_->gpus.size()) {
        throw std::invalid_argument("rank " + std::to_string(rank.value) + " out of range (" +
                                    std::to_string(impl_->gpus.size()) + " GPUs)");
    }
    return impl_->gpus[rank.index()];
}

std::optional<RankId> Topology::rank_of(NodeId id) const {
    impl_->node_at(id);
    const RankId rank = impl_->rank_by_node[id.index()];
    if (!rank.is_valid()) {
        return std::nullopt;
    }
    return rank;
}

std::size_t Topology::host_count() const {
    return impl_->gpu_hosts.size();
}

void Topology::set_link_bandwidth(LinkId id, double bandwidth_Bps) {
    impl_->link_at(id);
    check_bandwidth(bandwidth_Bps, "set_link_bandwidth");
    impl_->links[id.index()].bandwidth_Bps = bandwidth_Bps;
    ++impl_->version;
}

void Topology::set_link_up(LinkId id, bool is_up) {
    impl_->link_at(id);
    Link& link = impl_->links[id.index()];
    if (link.is_up && !is_up) {
        ++impl_->down_link_count;
    } else if (!link.is_up && is_up) {
        --impl_->down_link_count;
    }
    link.is_up = is_up;
    ++impl_->version;
}

}  // namespace stepsim
