// SPDX-License-Identifier: Apache-2.0
// File: routing_test.cc
// The 1024-GPU example loads, validates and routes every GPU pair class in well under a
// second (issue 2). Classes, from GPU r of server n (latencies from the spec: NVLink hop
// 250 ns, PCIe 500 ns, InfiniBand hop 1 us; GPUs do not forward traffic):
//   same server:             GPU-NVSwitch-GPU                     2 hops, 2 x 250 ns = 500 ns
//   same rail, same leaf:    GPU-NIC-leaf-NIC-GPU                 4 hops, 2 x 500 ns + 2 x 1 us
//   same rail, other leaf:   GPU-NIC-leaf-spine-leaf-NIC-GPU      6 hops, 2 x 500 ns + 4 x 1 us
//   other rail:              as above through a spine             6 hops, 2 x 500 ns + 4 x 1 us
// Servers 0-31 share the leaves of their rails (32 NICs per leaf), servers 32-63 the next, ...
#include "stepsim/spec.h"
#include "stepsim/topology.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>

using namespace stepsim;
using namespace std::chrono_literals;

TEST_CASE(
    "the 1024-GPU example loads, validates and routes every GPU pair class in well under "
    "a second",
    "[spec][topology][routing]") {
    const auto start = std::chrono::steady_clock::now();
    const Topology t = load_topology_file(std::filesystem::path(STEPSIM_SOURCE_DIR) /
                                          "topologies/dgx-h100-1024.textproto");
    Router router(t);
    // Every GPU to each GPU of servers 0 and 32 (one server per leaf block): all four classes,
    // 16 destinations (the router computes one shortest-path tree per destination).
    std::map<std::string, std::size_t> routes_by_class;
    for (const int dst_server : {0, 32}) {
        for (int dst_index = 0; dst_index < 8; ++dst_index) {
            const NodeId dst = t.gpu(RankId(dst_server * 8 + dst_index));
            for (int rank = 0; rank < 1024; ++rank) {
                const int server = rank / 8;
                const int index = rank % 8;
                const NodeId src = t.gpu(RankId(rank));
                if (src == dst) {
                    continue;
                }
                const bool same_server = server == dst_server;
                const bool same_leaf = index == dst_index && server / 32 == dst_server / 32;
                const char* name = same_server          ? "same server"
                                   : same_leaf          ? "same rail, same leaf"
                                   : index == dst_index ? "same rail, other leaf"
                                                        : "other rail";
                const std::size_t hops = same_server ? 2 : same_leaf ? 4 : 6;
                const Time latency = same_server ? 2 * 250ns
                                     : same_leaf ? 2 * 500ns + 2 * 1us
                                                 : 2 * 500ns + 4 * 1us;
                INFO(name << ": rank " << rank << " to server " << dst_server << " gpu "
                          << dst_index);
                const Route& route = router.route(src, dst, static_cast<std::uint64_t>(rank));
                REQUIRE(route.links.size() == hops);
                REQUIRE(route.latency == latency);
                REQUIRE(t.link(route.links.front()).src == src);
                REQUIRE(t.link(route.links.back()).dst == dst);
                ++routes_by_class[name];
            }
        }
    }
    // Per destination: 7 same-server sources, 31 same-leaf (servers 1-31), 96 same-rail-other-
    // leaf (servers 32-127), 127 * 7 = 889 other-rail; 1023 in all.
    CHECK(routes_by_class == std::map<std::string, std::size_t>{{"same server", 16 * 7},
                                                                {"same rail, same leaf", 16 * 31},
                                                                {"same rail, other leaf", 16 * 96},
                                                                {"other rail", 16 * 127 * 7}});
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    INFO("load + 16368 routes took " << elapsed.count() << " s");
    REQUIRE(elapsed.count() < 1.0);
}
