// SPDX-License-Identifier: Apache-2.0
// Tests of `Topology`: ids follow insertion order, GPUs get ranks in the order they are added,
// links are stored one direction each, bad values raise UserError and bad ids InternalError.
#include "stepsim/topology.h"

#include "stepsim/error.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <limits>
#include <stdexcept>

using namespace std::chrono_literals;

namespace stepsim {
namespace {

TEST_CASE("nodes get ids, names and GPU ranks in insertion order", "[topology]") {
    Topology topology;
    const NodeId switch0 = topology.add_node("nvswitch-0", NodeKind::kNvSwitch, 0);
    const NodeId gpu0 = topology.add_node("gpu-0", NodeKind::kGpu, 0);
    const NodeId nic0 = topology.add_node("nic-0", NodeKind::kNic, 0);
    const NodeId gpu1 = topology.add_node("gpu-1", NodeKind::kGpu, 1);
    const NodeId leaf = topology.add_node("leaf-0", NodeKind::kSwitch, -1, 1);

    REQUIRE(topology.node_count() == 5);
    CHECK(switch0 == NodeId(0));
    CHECK(leaf == NodeId(4));
    CHECK(topology.node(gpu1).name == "gpu-1");
    CHECK(topology.node(leaf).tier == 1);
    CHECK(topology.node(leaf).host == -1);
    CHECK(topology.node(nic0).kind == NodeKind::kNic);

    REQUIRE(topology.gpu_count() == 2);
    CHECK(topology.gpus()[0] == gpu0);
    CHECK(topology.gpu(RankId(1)) == gpu1);
    CHECK(topology.rank_of(gpu1) == RankId(1));
    CHECK_FALSE(topology.rank_of(nic0).has_value());
    CHECK(topology.host_count() == 2);

    CHECK(topology.find_node("nic-0") == nic0);
    CHECK_FALSE(topology.find_node("nic-9").has_value());
    CHECK_THROWS_AS(topology.add_node("gpu-0", NodeKind::kGpu, 0), UserError);
    CHECK_THROWS_AS(topology.add_node("", NodeKind::kGpu, 0), UserError);
    CHECK_THROWS_AS(topology.gpu(RankId(2)), InternalError);
    CHECK_THROWS_AS(topology.node(NodeId(5)), InternalError);
}

TEST_CASE("links are directed, kept in insertion order per source", "[topology]") {
    Topology topology;
    const NodeId a = topology.add_node("a", NodeKind::kGpu, 0);
    const NodeId b = topology.add_node("b", NodeKind::kNvSwitch, 0);
    const NodeId c = topology.add_node("c", NodeKind::kGpu, 0);
    const LinkId ab = topology.add_link(a, b, LinkKind::kNvLink, 100ns, 450e9);
    const auto [bc, cb] = topology.add_duplex_link(b, c, LinkKind::kNvLink, 200ns, 400e9);
    const LinkId ac = topology.add_link(a, c, LinkKind::kPcie, 1us, 32e9);

    REQUIRE(topology.link_count() == 4);
    CHECK(ab == LinkId(0));
    CHECK(bc == LinkId(1));
    CHECK(cb == LinkId(2));
    const Link& link = topology.link(cb);
    CHECK(link.src == c);
    CHECK(link.dst == b);
    CHECK(link.latency == 200ns);
    CHECK(link.bandwidth_Bps == 400e9);
    CHECK(link.is_up);

    const auto out_a = topology.out_links(a);
    REQUIRE(out_a.size() == 2);
    CHECK(out_a[0] == ab);
    CHECK(out_a[1] == ac);
    CHECK(topology.out_links(b).size() == 1);

    topology.set_link_bandwidth(ac, 64e9);
    topology.set_link_up(ab, false);
    CHECK(topology.link(ac).bandwidth_Bps == 64e9);
    CHECK_FALSE(topology.link(ab).is_up);
}

TEST_CASE("add_link rejects bad arguments", "[topology]") {
    Topology topology;
    const NodeId a = topology.add_node("a", NodeKind::kGpu, 0);
    const NodeId b = topology.add_node("b", NodeKind::kGpu, 0);
    const double inf = std::numeric_limits<double>::infinity();
    const double nan = std::numeric_limits<double>::quiet_NaN();

    CHECK_THROWS_AS(topology.add_link(a, NodeId(7), LinkKind::kNvLink, 1ns, 1e9), InternalError);
    CHECK_THROWS_AS(topology.add_link(NodeId(), b, LinkKind::kNvLink, 1ns, 1e9), InternalError);
    CHECK_THROWS_AS(topology.add_link(a, a, LinkKind::kNvLink, 1ns, 1e9), UserError);
    CHECK_THROWS_AS(topology.add_link(a, b, LinkKind::kNvLink, -Time(1), 1e9), UserError);
    CHECK_THROWS_AS(topology.add_link(a, b, LinkKind::kNvLink, 1ns, 0), UserError);
    CHECK_THROWS_AS(topology.add_link(a, b, LinkKind::kNvLink, 1ns, -5), UserError);
    CHECK_THROWS_AS(topology.add_link(a, b, LinkKind::kNvLink, 1ns, inf), UserError);
    CHECK_THROWS_AS(topology.add_link(a, b, LinkKind::kNvLink, 1ns, nan), UserError);
    CHECK_THROWS_AS(topology.add_duplex_link(a, b, LinkKind::kNvLink, 1ns, nan), UserError);
    CHECK(topology.link_count() == 0);  // a rejected duplex link adds neither direction

    const LinkId ab = topology.add_link(a, b, LinkKind::kNvLink, Time(0), 1e9);
    CHECK_THROWS_AS(topology.set_link_bandwidth(ab, 0), UserError);
    CHECK_THROWS_AS(topology.set_link_bandwidth(LinkId(3), 1e9), InternalError);
    CHECK_THROWS_AS(topology.set_link_up(LinkId(3), false), InternalError);
    CHECK(topology.link(ab).bandwidth_Bps == 1e9);
}

TEST_CASE("kind names", "[topology]") {
    CHECK(to_string(NodeKind::kGpu) == "gpu");
    CHECK(to_string(NodeKind::kNvSwitch) == "nvswitch");
    CHECK(to_string(NodeKind::kNic) == "nic");
    CHECK(to_string(NodeKind::kSwitch) == "switch");
    CHECK(to_string(NodeKind::kHost) == "host");
    CHECK(to_string(NodeKind::kPcieSwitch) == "pcie_switch");
    CHECK(to_string(LinkKind::kNvLink) == "nvlink");
    CHECK(to_string(LinkKind::kPcie) == "pcie");
    CHECK(to_string(LinkKind::kInfiniBand) == "infiniband");
    CHECK(to_string(LinkKind::kEthernet) == "ethernet");
}

TEST_CASE("a moved topology keeps its devices", "[topology]") {
    Topology original;
    original.add_node("gpu-0", NodeKind::kGpu, 0);
    Topology moved = std::move(original);
    CHECK(moved.node_count() == 1);
    CHECK(moved.find_node("gpu-0") == NodeId(0));
}

}  // namespace
}  // namespace stepsim
