// SPDX-License-Identifier: Apache-2.0
// File: summary.cc
// `summarize()`: the counts, diameter and per-GPU injection bandwidth that `stepsim topology`
// prints. The diameter comes from the Router's per-destination distance tables (one Dijkstra
// per GPU), so it is the hop count of the routes the simulation uses, not a plain BFS.
#include "stepsim/topology.h"

#include <algorithm>
#include <cstdint>
#include <limits>
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

    // Diameter: one distance table per destination GPU, read for every source GPU.
    const auto gpus = topology.gpus();
    for (const NodeId dst : gpus) {
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
