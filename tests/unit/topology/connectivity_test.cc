// SPDX-License-Identifier: Apache-2.0
// Tests of `Topology::connected_components()` and `Topology::reachable()`.
//
//   a - s - b     (duplex cables; s a switch, a, b, c, d GPUs)
//   c -> d        (one one-way link)
//   e             (a switch alone)
//
// Components as cables: {a, s, b} = 0 (lowest id a), {c, d} = 1, {e} = 2. Along directions
// c reaches d but d does not reach c. Through a GPU: with a - b - x (x a NIC) the NIC reaches
// a only by passing through the GPU b.
#include "stepsim/topology.h"

#include <catch2/catch.hpp>

#include <chrono>

using namespace std::chrono_literals;

namespace stepsim {
namespace {

constexpr double kBandwidth_Bps = 100e9;

TEST_CASE("connected components take links as cables, numbered by lowest device", "[topology]") {
    Topology topology;
    const NodeId a = topology.add_node("a", NodeKind::kGpu);
    const NodeId c = topology.add_node("c", NodeKind::kGpu);
    const NodeId s = topology.add_node("s", NodeKind::kSwitch);
    const NodeId b = topology.add_node("b", NodeKind::kGpu);
    const NodeId d = topology.add_node("d", NodeKind::kGpu);
    const NodeId e = topology.add_node("e", NodeKind::kSwitch);
    topology.add_duplex_link(a, s, LinkKind::kInfiniBand, 1ns, kBandwidth_Bps);
    topology.add_duplex_link(s, b, LinkKind::kInfiniBand, 1ns, kBandwidth_Bps);
    topology.add_link(d, c, LinkKind::kNvLink, 1ns, kBandwidth_Bps);  // one-way, either way round

    const std::vector<std::uint32_t> component = topology.connected_components();
    REQUIRE(component.size() == topology.node_count());
    CHECK(component[a.index()] == 0);
    CHECK(component[s.index()] == 0);
    CHECK(component[b.index()] == 0);
    CHECK(component[c.index()] == 1);
    CHECK(component[d.index()] == 1);
    CHECK(component[e.index()] == 2);

    SECTION("a link that is down joins nothing") {
        topology.set_link_up(topology.out_links(d)[0], false);
        const std::vector<std::uint32_t> split = topology.connected_components();
        CHECK(split[c.index()] == 1);
        CHECK(split[d.index()] == 2);  // d's id is below e's, so e moves on to 3
        CHECK(split[e.index()] == 3);
    }
}

TEST_CASE("reachable follows link directions from or to the source", "[topology]") {
    Topology topology;
    const NodeId c = topology.add_node("c", NodeKind::kGpu);
    const NodeId n = topology.add_node("n", NodeKind::kNic);
    const NodeId d = topology.add_node("d", NodeKind::kGpu);
    topology.add_link(c, n, LinkKind::kPcie, 1ns, kBandwidth_Bps);
    topology.add_link(n, d, LinkKind::kPcie, 1ns, kBandwidth_Bps);

    const std::vector<bool> from_c = topology.reachable(c, Topology::Reach::kFrom, false);
    CHECK(from_c == std::vector<bool>{true, true, true});
    const std::vector<bool> from_d = topology.reachable(d, Topology::Reach::kFrom, false);
    CHECK(from_d == std::vector<bool>{false, false, true});
    const std::vector<bool> to_d = topology.reachable(d, Topology::Reach::kTo, false);
    CHECK(to_d == std::vector<bool>{true, true, true});
    const std::vector<bool> to_c = topology.reachable(c, Topology::Reach::kTo, true);
    CHECK(to_c == std::vector<bool>{true, false, false});
}

TEST_CASE("reachable passes through GPUs only when asked to, as routes never do", "[topology]") {
    Topology topology;
    const NodeId a = topology.add_node("a", NodeKind::kGpu);
    const NodeId b = topology.add_node("b", NodeKind::kGpu);
    const NodeId x = topology.add_node("x", NodeKind::kNic);
    topology.add_duplex_link(a, b, LinkKind::kNvLink, 1ns, kBandwidth_Bps);
    topology.add_duplex_link(b, x, LinkKind::kPcie, 1ns, kBandwidth_Bps);

    // From a: b is an end (reached), x lies beyond the GPU b.
    CHECK(topology.reachable(a, Topology::Reach::kFrom, false) ==
          std::vector<bool>{true, true, false});
    CHECK(topology.reachable(a, Topology::Reach::kFrom, true) ==
          std::vector<bool>{true, true, true});
    // To a: x reaches a only through b.
    CHECK(topology.reachable(a, Topology::Reach::kTo, false) ==
          std::vector<bool>{true, true, false});
    // The source itself may be left: from b both neighbours are reached.
    CHECK(topology.reachable(b, Topology::Reach::kFrom, false) ==
          std::vector<bool>{true, true, true});

    SECTION("links that are down are not followed") {
        topology.set_link_up(topology.out_links(b)[1], false);  // b -> x
        CHECK(topology.reachable(b, Topology::Reach::kFrom, true) ==
              std::vector<bool>{true, true, false});
        CHECK(topology.reachable(x, Topology::Reach::kTo, true) ==
              std::vector<bool>{false, false, true});
    }
}

TEST_CASE("reachable refuses a device that does not exist", "[topology]") {
    Topology topology;
    topology.add_node("a", NodeKind::kGpu);
    CHECK_THROWS(topology.reachable(NodeId(5), Topology::Reach::kFrom, true));
}

}  // namespace
}  // namespace stepsim
