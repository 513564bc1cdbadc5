// SPDX-License-Identifier: Apache-2.0
// File: test_topologies.h
// Small hand-built clusters for the collective tests (test helper).
//
//   star:      every GPU ── one switch          (per-GPU port of `bandwidth_Bps`)
//   servers:   GPUs ── NVSwitch of their server ── one top switch
//   full mesh: a link between every pair of GPUs
#pragma once

#include "stepsim/topology.h"

#include <string>

namespace stepsim::testing {

/// `gpus` GPUs on one switch; each GPU–switch link has `latency` and `bandwidth_Bps` each way,
/// so a GPU-to-GPU route has 2 hops: alpha = 2·latency, bottleneck = bandwidth_Bps.
inline Topology star_topology(std::size_t gpus, Time latency, double bandwidth_Bps) {
    Topology topology;
    const NodeId center = topology.add_node("switch", NodeKind::kSwitch, -1, 1);
    for (std::size_t g = 0; g < gpus; ++g) {
        const NodeId gpu = topology.add_node("gpu" + std::to_string(g), NodeKind::kGpu,
                                             static_cast<std::int32_t>(g));
        topology.add_duplex_link(gpu, center, LinkKind::kNvLink, latency, bandwidth_Bps);
    }
    return topology;
}

/// `servers` × `gpus_per_server` GPUs: intra links GPU–NVSwitch, uplinks NVSwitch–top switch.
inline Topology servers_topology(std::size_t servers,
                                 std::size_t gpus_per_server,
                                 Time intra_latency,
                                 double intra_Bps,
                                 Time inter_latency,
                                 double inter_Bps) {
    Topology topology;
    const NodeId top = topology.add_node("top", NodeKind::kSwitch, -1, 2);
    for (std::size_t s = 0; s < servers; ++s) {
        const NodeId nvswitch = topology.add_node(
            "nvswitch" + std::to_string(s), NodeKind::kNvSwitch, static_cast<std::int32_t>(s));
        topology.add_duplex_link(nvswitch, top, LinkKind::kInfiniBand, inter_latency, inter_Bps);
        for (std::size_t g = 0; g < gpus_per_server; ++g) {
            const NodeId gpu =
                topology.add_node("gpu" + std::to_string(s) + "_" + std::to_string(g),
                                  NodeKind::kGpu, static_cast<std::int32_t>(s));
            topology.add_duplex_link(gpu, nvswitch, LinkKind::kNvLink, intra_latency, intra_Bps);
        }
    }
    return topology;
}

/// Every pair of GPUs joined by its own duplex link (one hop).
inline Topology full_mesh_topology(std::size_t gpus, Time latency, double bandwidth_Bps) {
    Topology topology;
    std::vector<NodeId> nodes;
    for (std::size_t g = 0; g < gpus; ++g) {
        nodes.push_back(topology.add_node("gpu" + std::to_string(g), NodeKind::kGpu,
                                          static_cast<std::int32_t>(g)));
    }
    for (std::size_t a = 0; a < gpus; ++a) {
        for (std::size_t b = a + 1; b < gpus; ++b) {
            topology.add_duplex_link(nodes[a], nodes[b], LinkKind::kNvLink, latency, bandwidth_Bps);
        }
    }
    return topology;
}

inline std::vector<RankId> all_ranks(const Topology& topology) {
    std::vector<RankId> ranks;
    for (std::size_t r = 0; r < topology.gpu_count(); ++r) {
        ranks.emplace_back(static_cast<std::uint32_t>(r));
    }
    return ranks;
}

}  // namespace stepsim::testing
