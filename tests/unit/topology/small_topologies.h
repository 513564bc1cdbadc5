// SPDX-License-Identifier: Apache-2.0
// File: small_topologies.h
// Hand-built topologies shared by the topology tests, small enough to route by hand.
#pragma once

#include "stepsim/topology.h"

#include <chrono>
#include <cstdint>
#include <string>

namespace stepsim::test {

/// Two servers, each with 2 GPUs on one NVSwitch and one NIC per GPU; the four NICs hang off
/// one InfiniBand switch. Every cable is a duplex link:
///
///   server 0:  g0.0  g0.1          server 1:  g1.0  g1.1
///               \   /                          \   /
///             nvswitch-0  (NVLink)           nvswitch-1
///   g0.0 - nic0.0, g0.1 - nic0.1 (PCIe)      g1.0 - nic1.0, g1.1 - nic1.1
///              nic0.0 nic0.1 nic1.0 nic1.1 - ib-switch (InfiniBand)
struct TwoServerCluster {
    static constexpr Time kNvLinkLatency = std::chrono::nanoseconds(150);
    static constexpr Time kPcieLatency = std::chrono::nanoseconds(500);
    static constexpr Time kInfiniBandLatency = std::chrono::nanoseconds(600);
    static constexpr double kNvLinkBandwidth_Bps = 450e9;
    static constexpr double kPcieBandwidth_Bps = 64e9;
    static constexpr double kInfiniBandBandwidth_Bps = 50e9;

    Topology topology;
    NodeId gpu[2][2];
    NodeId nvswitch[2];
    NodeId nic[2][2];
    NodeId ib_switch;
    LinkId gpu_to_nic[2][2];

    TwoServerCluster() {
        for (int server = 0; server < 2; ++server) {
            const std::string suffix = std::to_string(server);
            for (int local = 0; local < 2; ++local) {
                gpu[server][local] = topology.add_node(
                    "gpu-" + suffix + "." + std::to_string(local), NodeKind::kGpu, server);
            }
            nvswitch[server] = topology.add_node("nvswitch-" + suffix, NodeKind::kNvSwitch, server);
            for (int local = 0; local < 2; ++local) {
                nic[server][local] = topology.add_node(
                    "nic-" + suffix + "." + std::to_string(local), NodeKind::kNic, server);
            }
        }
        ib_switch = topology.add_node("ib-switch", NodeKind::kSwitch, -1, 1);
        for (int server = 0; server < 2; ++server) {
            for (int local = 0; local < 2; ++local) {
                topology.add_duplex_link(gpu[server][local], nvswitch[server], LinkKind::kNvLink,
                                         kNvLinkLatency, kNvLinkBandwidth_Bps);
                gpu_to_nic[server][local] =
                    topology
                        .add_duplex_link(gpu[server][local], nic[server][local], LinkKind::kPcie,
                                         kPcieLatency, kPcieBandwidth_Bps)
                        .first;
                topology.add_duplex_link(nic[server][local], ib_switch, LinkKind::kInfiniBand,
                                         kInfiniBandLatency, kInfiniBandBandwidth_Bps);
            }
        }
    }
};

}  // namespace stepsim::test
