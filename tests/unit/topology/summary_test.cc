// SPDX-License-Identifier: Apache-2.0
// Tests of `summarize()`. For the two-server cluster (see small_topologies.h):
//   devices: 4 gpu, 2 nvswitch, 4 nic, 1 switch; 4 GPUs on 2 servers
//   links (directed): 8 nvlink, 8 pcie, 8 infiniband; totals = count * per-link bandwidth
//   diameter: gpu -> nic -> ib-switch -> nic -> gpu = 4 hops
//   scale_up  = NVLink out of a GPU (its PCIe link goes to a NIC, so it is not counted)
//   scale_out = the NIC's one InfiniBand uplink / 1 GPU per NIC
#include "stepsim/topology.h"

#include "unit/topology/small_topologies.h"

#include <catch2/catch.hpp>

#include <chrono>

using namespace std::chrono_literals;

namespace stepsim {
namespace {

using test::TwoServerCluster;

TEST_CASE("summary of the two-server cluster", "[topology][summary]") {
    TwoServerCluster cluster;
    Router router(cluster.topology);
    const TopologySummary summary = summarize(cluster.topology, router);

    CHECK(summary.gpus == 4);
    CHECK(summary.nodes == 2);
    REQUIRE(summary.devices_by_kind.size() == 4);
    CHECK(summary.devices_by_kind.at("gpu") == 4);
    CHECK(summary.devices_by_kind.at("nvswitch") == 2);
    CHECK(summary.devices_by_kind.at("nic") == 4);
    CHECK(summary.devices_by_kind.at("switch") == 1);

    REQUIRE(summary.links_by_kind.size() == 3);
    CHECK(summary.links_by_kind.at("nvlink").count == 8);
    CHECK(summary.links_by_kind.at("nvlink").total_bandwidth_Bps ==
          Approx(8 * TwoServerCluster::kNvLinkBandwidth_Bps));
    CHECK(summary.links_by_kind.at("pcie").count == 8);
    CHECK(summary.links_by_kind.at("pcie").total_bandwidth_Bps ==
          Approx(8 * TwoServerCluster::kPcieBandwidth_Bps));
    CHECK(summary.links_by_kind.at("infiniband").count == 8);
    CHECK(summary.links_by_kind.at("infiniband").total_bandwidth_Bps ==
          Approx(8 * TwoServerCluster::kInfiniBandBandwidth_Bps));

    CHECK(summary.diameter_hops == 4);
    REQUIRE(summary.injection_Bps_by_tier.size() == 2);
    CHECK(summary.injection_Bps_by_tier.at("scale_up") == TwoServerCluster::kNvLinkBandwidth_Bps);
    CHECK(summary.injection_Bps_by_tier.at("scale_out") ==
          TwoServerCluster::kInfiniBandBandwidth_Bps);
}

TEST_CASE("scale-out injection divides a shared NIC among its GPUs", "[topology][summary]") {
    // Two GPUs share one NIC with two 25 GB/s uplinks: each GPU gets (2 * 25) / 2 = 25 GB/s.
    // Each GPU has two NVLinks of 100 GB/s to the NVSwitch pair: scale_up = 200 GB/s.
    Topology topology;
    const NodeId gpu0 = topology.add_node("gpu-0", NodeKind::kGpu, 0);
    const NodeId gpu1 = topology.add_node("gpu-1", NodeKind::kGpu, 0);
    const NodeId nvswitch0 = topology.add_node("nvswitch-0", NodeKind::kNvSwitch, 0);
    const NodeId nvswitch1 = topology.add_node("nvswitch-1", NodeKind::kNvSwitch, 0);
    const NodeId nic = topology.add_node("nic-0", NodeKind::kNic, 0);
    const NodeId leaf0 = topology.add_node("leaf-0", NodeKind::kSwitch, -1, 1);
    const NodeId leaf1 = topology.add_node("leaf-1", NodeKind::kSwitch, -1, 1);
    for (const NodeId gpu : {gpu0, gpu1}) {
        topology.add_duplex_link(gpu, nvswitch0, LinkKind::kNvLink, 100ns, 100e9);
        topology.add_duplex_link(gpu, nvswitch1, LinkKind::kNvLink, 100ns, 100e9);
        topology.add_duplex_link(gpu, nic, LinkKind::kPcie, 500ns, 64e9);
    }
    topology.add_duplex_link(nic, leaf0, LinkKind::kEthernet, 1us, 25e9);
    const LinkId nic_to_leaf1 =
        topology.add_duplex_link(nic, leaf1, LinkKind::kEthernet, 1us, 25e9).first;

    Router router(topology);
    TopologySummary summary = summarize(topology, router);
    CHECK(summary.gpus == 2);
    CHECK(summary.nodes == 1);
    CHECK(summary.diameter_hops == 2);
    CHECK(summary.injection_Bps_by_tier.at("scale_up") == 200e9);
    CHECK(summary.injection_Bps_by_tier.at("scale_out") == 25e9);

    // A down uplink halves the NIC's capacity: 25 GB/s / 2 GPUs = 12.5 GB/s each.
    topology.set_link_up(nic_to_leaf1, false);
    router.invalidate();
    summary = summarize(topology, router);
    CHECK(summary.injection_Bps_by_tier.at("scale_out") == 12.5e9);
    CHECK(summary.links_by_kind.at("ethernet").count == 4);  // down links are still counted
}

TEST_CASE("a tier some GPU lacks is left out", "[topology][summary]") {
    // gpu-1 has no NIC, so the minimum scale-out over GPUs is 0 and the tier is omitted.
    Topology topology;
    const NodeId gpu0 = topology.add_node("gpu-0", NodeKind::kGpu, 0);
    const NodeId gpu1 = topology.add_node("gpu-1", NodeKind::kGpu, 0);
    const NodeId nic = topology.add_node("nic-0", NodeKind::kNic, 0);
    const NodeId leaf = topology.add_node("leaf-0", NodeKind::kSwitch, -1, 1);
    topology.add_duplex_link(gpu0, gpu1, LinkKind::kNvLink, 100ns, 300e9);
    topology.add_duplex_link(gpu0, nic, LinkKind::kPcie, 500ns, 64e9);
    topology.add_duplex_link(nic, leaf, LinkKind::kInfiniBand, 1us, 50e9);
    Router router(topology);
    const TopologySummary summary = summarize(topology, router);
    CHECK(summary.diameter_hops == 1);
    CHECK(summary.injection_Bps_by_tier.size() == 1);
    CHECK(summary.injection_Bps_by_tier.at("scale_up") == 300e9);
}

TEST_CASE("a partitioned cluster cannot be summarized", "[topology][summary]") {
    Topology topology;
    topology.add_node("gpu-0", NodeKind::kGpu, 0);
    topology.add_node("gpu-1", NodeKind::kGpu, 1);
    Router router(topology);
    CHECK_THROWS_AS(summarize(topology, router), std::runtime_error);
}

}  // namespace
}  // namespace stepsim
