// SPDX-License-Identifier: Apache-2.0
// File: summary.cc
// `summarize()`: the counts, diameter and per-GPU injection bandwidth that `stepsim topology`
// prints. The diameter comes from the Router's per-destination distance tables, so it is the
// hop count of the routes the simulation uses, not a plain BFS; but only one table is built per
// route class of GPUs (see gpu_route_classes()), not one per GPU, so the summary costs
// O(classes * (devices + links)) instead of O(GPUs * (devices + links)) time and memory.
#include "stepsim/topology.h"

#include "topology_impl.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <map>
#include <tuple>
#include <vector>

namespace stepsim {

namespace {

bool is_scale_up(LinkKind kind) {
    return kind == LinkKind::kNvLink || kind == LinkKind::kPcie;
}

bool is_network(LinkKind kind) {
    return kind == LinkKind::kInfiniBand || kind == LinkKind::kEthernet;
}

/// Smallest value over GPUs, or 0 when there are none.
double minimum(const std::vector<double>& per_gpu) {
    if (per_gpu.empty()) {
        return 0;
    }
    return *std::min_element(per_gpu.begin(), per_gpu.end());
}

}  // namespace

namespace detail {

std::vector<std::uint32_t> route_colors(const Topology& topology) {
    const Topology::Impl& t = topology.impl();
    const std::size_t n = t.nodes.size();
    // Link labels: everything a route's choice or cost can depend on.
    std::map<std::tuple<int, std::int64_t, std::uint64_t, bool>, std::uint32_t> label_ids;
    std::vector<std::uint32_t> label(t.links.size());
    for (std::size_t i = 0; i < t.links.size(); ++i) {
        const Link& link = t.links[i];
        const auto key =
            std::make_tuple(static_cast<int>(link.kind), link.latency.count(),
                            std::bit_cast<std::uint64_t>(link.bandwidth_Bps), link.is_up);
        label[i] =
            label_ids.emplace(key, static_cast<std::uint32_t>(label_ids.size())).first->second;
    }
    std::vector<std::vector<LinkId>> in_links(n);
    for (const Link& link : t.links) {
        in_links[link.dst.index()].push_back(link.id);
    }
    // Initial colors: device kind and switch tier (never the name or the server index).
    std::vector<std::uint32_t> color(n);
    {
        std::map<std::pair<int, std::int32_t>, std::uint32_t> ids;
        for (std::size_t i = 0; i < n; ++i) {
            const auto key = std::make_pair(static_cast<int>(t.nodes[i].kind), t.nodes[i].tier);
            color[i] = ids.emplace(key, static_cast<std::uint32_t>(ids.size())).first->second;
        }
    }
    std::size_t color_count = 0;
    for (const std::uint32_t c : color) {
        color_count = std::max<std::size_t>(color_count, c + 1);
    }
    // Refinement rounds until the number of colors stops growing. New ids are assigned in
    // order of first appearance by node id, so the result is deterministic.
    std::vector<std::uint64_t> signature;
    std::vector<std::uint64_t> neighbours;
    for (;;) {
        std::map<std::vector<std::uint64_t>, std::uint32_t> ids;
        std::vector<std::uint32_t> next(n);
        for (std::size_t i = 0; i < n; ++i) {
            signature.assign(1, color[i]);
            for (const bool outgoing : {true, false}) {
                neighbours.clear();
                for (const LinkId id : outgoing ? t.out_links[i] : in_links[i]) {
                    const Link& link = t.links[id.index()];
                    const NodeId other = outgoing ? link.dst : link.src;
                    neighbours.push_back((std::uint64_t{label[id.index()]} << 32) |
                                         color[other.index()]);
                }
                std::sort(neighbours.begin(), neighbours.end());
                signature.push_back(neighbours.size());
                signature.insert(signature.end(), neighbours.begin(), neighbours.end());
            }
            next[i] = ids.emplace(signature, static_cast<std::uint32_t>(ids.size())).first->second;
        }
        color.swap(next);
        if (ids.size() == color_count) {
            return color;
        }
        color_count = ids.size();
    }
}

std::vector<NodeId> gpu_route_classes(const Topology& topology) {
    const std::vector<std::uint32_t> color = route_colors(topology);
    std::vector<NodeId> representatives;
    std::vector<bool> seen(topology.node_count(), false);
    for (const NodeId gpu : topology.gpus()) {
        if (!seen[color[gpu.index()]]) {
            seen[color[gpu.index()]] = true;
            representatives.push_back(gpu);
        }
    }
    return representatives;
}

}  // namespace detail

TopologySummary summarize(const Topology& topology, Router& router) {
    TopologySummary summary;
    summary.gpus = topology.gpu_count();
    summary.nodes = topology.host_count();
    const std::size_t node_count = topology.node_count();
    for (std::uint32_t i = 0; i < node_count; ++i) {
        ++summary.devices_by_kind[std::string(to_string(topology.node(NodeId(i)).kind))];
    }
    for (std::uint32_t i = 0; i < topology.link_count(); ++i) {
        const Link& link = topology.link(LinkId(i));
        auto& link_class = summary.links_by_kind[std::string(to_string(link.kind))];
        ++link_class.count;
        link_class.total_bandwidth_Bps += link.bandwidth_Bps;
    }

    // Diameter: one distance table per route class of destination GPUs, read for every source
    // GPU. GPUs of one class look the same from every GPU of the cluster up to relabelling, so
    // the farthest source is as far from each of them as from the representative.
    const auto gpus = topology.gpus();
    const std::vector<NodeId> representatives = detail::gpu_route_classes(topology);
    summary.route_classes = representatives.size();
    for (const NodeId dst : representatives) {
        for (const NodeId src : gpus) {
            summary.diameter_hops = std::max(summary.diameter_hops, router.hop_count(src, dst));
        }
    }

    // Scale-out capacity of each NIC (network links that are up) and how many GPUs feed it.
    std::vector<double> nic_network_Bps(node_count, 0.0);
    std::vector<std::uint32_t> gpus_on_nic(node_count, 0);
    for (std::uint32_t i = 0; i < node_count; ++i) {
        const NodeId id(i);
        const NodeKind kind = topology.node(id).kind;
        if (kind == NodeKind::kNic) {
            for (const LinkId link_id : topology.out_links(id)) {
                const Link& link = topology.link(link_id);
                if (link.is_up && is_network(link.kind)) {
                    nic_network_Bps[i] += link.bandwidth_Bps;
                }
            }
        } else if (kind == NodeKind::kGpu) {
            std::vector<std::uint32_t> nics;
            for (const LinkId link_id : topology.out_links(id)) {
                const Link& link = topology.link(link_id);
                if (link.is_up && topology.node(link.dst).kind == NodeKind::kNic) {
                    nics.push_back(link.dst.value);
                }
            }
            std::sort(nics.begin(), nics.end());
            nics.erase(std::unique(nics.begin(), nics.end()), nics.end());
            for (const std::uint32_t nic : nics) {
                ++gpus_on_nic[nic];
            }
        }
    }

    std::vector<double> scale_up_Bps;
    std::vector<double> scale_out_Bps;
    scale_up_Bps.reserve(gpus.size());
    scale_out_Bps.reserve(gpus.size());
    for (const NodeId gpu : gpus) {
        double up_Bps = 0;
        double out_Bps = 0;
        std::vector<std::uint32_t> nics;
        for (const LinkId link_id : topology.out_links(gpu)) {
            const Link& link = topology.link(link_id);
            if (!link.is_up) {
                continue;
            }
            if (topology.node(link.dst).kind == NodeKind::kNic) {
                nics.push_back(link.dst.value);
            } else if (is_scale_up(link.kind)) {
                up_Bps += link.bandwidth_Bps;
            }
        }
        std::sort(nics.begin(), nics.end());
        nics.erase(std::unique(nics.begin(), nics.end()), nics.end());
        for (const std::uint32_t nic : nics) {
            out_Bps += nic_network_Bps[nic] / gpus_on_nic[nic];
        }
        scale_up_Bps.push_back(up_Bps);
        scale_out_Bps.push_back(out_Bps);
    }
    if (const double bandwidth_Bps = minimum(scale_up_Bps); bandwidth_Bps > 0) {
        summary.injection_Bps_by_tier["scale_up"] = bandwidth_Bps;
    }
    if (const double bandwidth_Bps = minimum(scale_out_Bps); bandwidth_Bps > 0) {
        summary.injection_Bps_by_tier["scale_out"] = bandwidth_Bps;
    }
    return summary;
}

}  // namespace stepsim
