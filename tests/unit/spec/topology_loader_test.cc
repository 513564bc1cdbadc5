// SPDX-License-Identifier: Apache-2.0
// File: topology_loader_test.cc
// Loading topology specs: the compact form expands to the counts its parameters imply, the two
// ways of writing the same server give the same graph, every bundled example loads, and
// semantic errors are all reported, each at the line and column of the field at fault.
//
// dgx-h100-1024: 128 servers x (8 GPUs, 4 NVSwitches, 8 NICs), fat tree radix k = 64:
//   NVLink cables 128*8*4, PCIe cables 128*8, NIC-leaf cables 1024, leaf-spine cables L*u
//   with d = floor(k*o/(1+o)), leaves per rail ceil(128/d), u = ceil(32/o), S = ceil(L*u/k).
#include "stepsim/error.h"
#include "stepsim/spec.h"
#include "stepsim/topology.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

using namespace stepsim;

namespace {

std::filesystem::path source_path(const std::string& relative) {
    return std::filesystem::path(STEPSIM_SOURCE_DIR) / relative;
}

std::map<std::string, std::size_t> nodes_by_kind(const Topology& t) {
    std::map<std::string, std::size_t> counts;
    for (std::uint32_t i = 0; i < t.node_count(); ++i) {
        ++counts[std::string(to_string(t.node(NodeId(i)).kind))];
    }
    return counts;
}

std::map<std::string, std::size_t> links_by_kind(const Topology& t) {
    std::map<std::string, std::size_t> counts;
    for (std::uint32_t i = 0; i < t.link_count(); ++i) {
        ++counts[std::string(to_string(t.link(LinkId(i)).kind))];
    }
    return counts;
}

std::vector<Diagnostic> diagnostics_of(std::string_view text,
                                       std::span<const SpecOverride> overrides = {}) {
    try {
        load_topology_text(text, "test.textproto", overrides);
    } catch (const SpecError& e) {
        return e.diagnostics();
    }
    return {};
}

// Two servers of two GPUs, explicit form; `link_extra` is spliced into the first link.
std::string small_explicit(const std::string& first_link_fields) {
    return "device { name: \"gpu0\" kind: GPU host: 0 }\n"  // 1
           "device { name: \"gpu1\" kind: GPU host: 0 }\n"  // 2
           "link { a: \"gpu0\" b: \"gpu1\" kind: NVLINK " +
           first_link_fields + " }\n";  // 3
}

}  // namespace

TEST_CASE("the 1024-GPU example expands to the counts its parameters imply", "[spec][topology]") {
    for (const double o : {1.0, 2.0}) {
        const std::string file = o == 1.0 ? "topologies/dgx-h100-1024.textproto"
                                          : "topologies/dgx-h100-1024-oversubscribed.textproto";
        INFO(file);
        const Topology t = load_topology_file(source_path(file));
        const std::int64_t servers = 128;
        const std::int64_t rails = 8;
        const std::int64_t k = 64;
        const auto d = static_cast<std::int64_t>(std::floor(static_cast<double>(k) * o / (1 + o)));
        const std::int64_t leaves_per_rail = (servers + d - 1) / d;
        const std::int64_t leaves = rails * leaves_per_rail;
        const auto u = static_cast<std::int64_t>(
            std::ceil(static_cast<double>((servers + leaves_per_rail - 1) / leaves_per_rail) / o));
        const std::int64_t spines = (leaves * u + k - 1) / k;

        CHECK(t.gpu_count() == 1024);
        CHECK(t.host_count() == 128);
        const auto kinds = nodes_by_kind(t);
        CHECK(kinds.at("gpu") == 1024);
        CHECK(kinds.at("nvswitch") == 128);  // one logical crossbar per server
        CHECK(kinds.at("nic") == 1024);
        CHECK(kinds.at("switch") == static_cast<std::size_t>(leaves + spines));
        std::int64_t tier1 = 0;
        std::int64_t tier2 = 0;
        for (std::uint32_t i = 0; i < t.node_count(); ++i) {
            const Node& n = t.node(NodeId(i));
            if (n.kind == NodeKind::kSwitch) {
                CHECK(n.host == -1);
                tier1 += n.tier == 1;
                tier2 += n.tier == 2;
            }
        }
        CHECK(tier1 == leaves);
        CHECK(tier2 == spines);

        const auto links = links_by_kind(t);
        CHECK(links.at("nvlink") == 2 * 128 * 8);  // GPU <-> one logical crossbar, both ways
        CHECK(links.at("pcie") == 2 * 128 * 8);
        CHECK(links.at("infiniband") == static_cast<std::size_t>(2 * (1024 + leaves * u)));

        // Names, hosts and per-GPU NVLink bandwidth: 4 links of 112.5 GB/s = 450 GB/s.
        const NodeId gpu = *t.find_node("node[5].gpu[3]");
        CHECK(t.node(gpu).host == 5);
        CHECK(t.rank_of(gpu) == RankId(5 * 8 + 3));
        double nvlink_Bps = 0;
        for (const LinkId l : t.out_links(gpu)) {
            if (t.link(l).kind == LinkKind::kNvLink) {
                nvlink_Bps += t.link(l).bandwidth_Bps;
            }
        }
        CHECK(nvlink_Bps == Approx(450e9));
        CHECK(t.node(*t.find_node("node[5].nvswitch[0]")).tier == 0);

        // Rail-optimized: every leaf serves NICs of one index only.
        std::map<std::uint32_t, std::set<std::string>> leaf_rails;
        for (std::uint32_t i = 0; i < t.node_count(); ++i) {
            const Node& n = t.node(NodeId(i));
            if (n.kind != NodeKind::kNic) {
                continue;
            }
            const std::string rail = n.name.substr(n.name.find(".nic["));
            for (const LinkId l : t.out_links(n.id)) {
                if (t.node(t.link(l).dst).kind == NodeKind::kSwitch) {
                    leaf_rails[t.link(l).dst.value].insert(rail);
                    CHECK(t.link(l).bandwidth_Bps == Approx(50e9));  // 400 Gb/s
                }
            }
        }
        CHECK(leaf_rails.size() == static_cast<std::size_t>(leaves));
        for (const auto& [leaf, names] : leaf_rails) {
            CHECK(names.size() == 1);
        }
    }
}

TEST_CASE("crossbar builder and template edges give the same graph", "[spec][topology]") {
    // dgx-h100-16 writes the NVLink crossbar with nvswitch_crossbar; dgx-h100-1024 with a
    // MANY_TO_MANY template edge. With two servers, both must be the same set of cables.
    const std::vector<SpecOverride> two_servers{{"instance[0].count", "2"}};
    const Topology a = load_topology_file(source_path("topologies/dgx-h100-16.textproto"));
    const Topology b =
        load_topology_file(source_path("topologies/dgx-h100-1024.textproto"), two_servers);
    const auto cables = [](const Topology& t) {
        std::vector<std::tuple<std::string, std::string, int, double, std::int64_t>> result;
        for (std::uint32_t i = 0; i < t.link_count(); ++i) {
            const Link& l = t.link(LinkId(i));
            result.emplace_back(t.node(l.src).name, t.node(l.dst).name, static_cast<int>(l.kind),
                                l.bandwidth_Bps, l.latency.count());
        }
        std::sort(result.begin(), result.end());
        return result;
    };
    CHECK(a.gpu_count() == 16);
    CHECK(a.host_count() == 2);
    CHECK(a.node_count() == b.node_count());
    CHECK(cables(a) == cables(b));
}

TEST_CASE("the explicit example keeps file order, hosts and kinds", "[spec][topology]") {
    const Topology t = load_topology_file(source_path("topologies/explicit-4gpu.textproto"));
    CHECK(t.gpu_count() == 4);
    CHECK(t.host_count() == 2);
    CHECK(t.node_count() == 9);
    CHECK(t.link_count() == 2 * 10);
    for (std::uint32_t r = 0; r < 4; ++r) {
        CHECK(t.node(t.gpu(RankId(r))).name == "gpu" + std::to_string(r));
    }
    CHECK(t.node(*t.find_node("ib-switch")).tier == 1);
    CHECK(t.node(*t.find_node("gpu3")).host == 1);
}

TEST_CASE("every bundled example loads", "[spec][topology]") {
    std::size_t examples = 0;
    for (const auto& entry : std::filesystem::directory_iterator(source_path("topologies"))) {
        if (entry.path().extension() != ".textproto") {
            continue;
        }
        INFO(entry.path());
        Topology t;
        REQUIRE_NOTHROW(t = load_topology_file(entry.path()));
        CHECK(t.gpu_count() > 0);
        ++examples;
    }
    CHECK(examples >= 4);
}

TEST_CASE("a three-tier fat tree through the spec", "[spec][topology]") {
    // 16 servers x 8 NICs = 128 NICs on radix 8: the k = 8 fat tree, k^2/2 = 32 leaves,
    // 32 pod spines, k^2/4 = 16 cores.
    const std::string text = R"(
device_template {
  name: "s"
  component { name: "gpu" kind: GPU count: 8 }
  component { name: "nic" kind: NIC count: 8 }
  link { name: "pcie" kind: PCIE bandwidth: "63GBps" latency: "500ns" }
  edge { ep1: "gpu" ep2: "nic" link: "pcie" }
}
instance { name: "node" device_template: "s" count: 16 }
fabric { name: "ib" fat_tree { instance: "node" tiers: 3 radix: 8 bandwidth: "400Gbps" latency: "1us" } }
)";
    const Topology t = load_topology_text(text, "three-tier");
    std::map<std::int32_t, std::size_t> by_tier;
    for (std::uint32_t i = 0; i < t.node_count(); ++i) {
        if (t.node(NodeId(i)).kind == NodeKind::kSwitch) {
            ++by_tier[t.node(NodeId(i)).tier];
        }
    }
    CHECK(by_tier == std::map<std::int32_t, std::size_t>{{1, 32}, {2, 32}, {3, 16}});
    CHECK(t.find_node("ib.pod[7].spine[3]").has_value());
    CHECK(t.find_node("ib.core[15]").has_value());
}

TEST_CASE("explicit devices and compact instances mix through top-level edges",
          "[spec][topology]") {
    const std::string text = R"(
device { name: "eth-switch" kind: SWITCH }
link_type { name: "eth" kind: ETHERNET bandwidth: "100Gbps" latency: "2us" }
device_template {
  name: "s"
  component { name: "gpu" kind: GPU count: 2 }
  component { name: "nic" kind: NIC }
  link { name: "pcie" kind: PCIE bandwidth: "32GBps" latency: "500ns" }
  edge { ep1: "gpu[*]" ep2: "nic[0]" link: "pcie" scheme: MANY_TO_MANY }
}
instance { name: "node" device_template: "s" count: 3 }
edge { ep1: "node[0:3].nic[0]" ep2: "eth-switch" link: "eth" scheme: MANY_TO_MANY }
)";
    const Topology t = load_topology_text(text, "mixed");
    CHECK(t.gpu_count() == 6);
    CHECK(t.host_count() == 3);
    CHECK(links_by_kind(t) == std::map<std::string, std::size_t>{{"ethernet", 6}, {"pcie", 12}});
    CHECK(t.node(*t.find_node("eth-switch")).tier == 1);
    CHECK(t.node(*t.find_node("node[2].nic[0]")).host == 2);
}

TEST_CASE("every error in a file is reported, each at its field", "[spec][topology]") {
    // tests/specs/bad/two-errors.textproto: an unknown unit on line 5 and a dangling link end
    // on line 6. The CLI check matches one message; here both must be present.
    const std::filesystem::path file = source_path("tests/specs/bad/two-errors.textproto");
    std::vector<Diagnostic> found;
    try {
        load_topology_file(file);
    } catch (const SpecError& e) {
        found = e.diagnostics();
    }
    REQUIRE(found.size() == 2);
    CHECK(found[0].location.file == file.string());
    CHECK(found[0].location.line == 5);
    CHECK(found[0].location.column == 41);
    CHECK(found[0].field_path == "link[0].bandwidth");
    CHECK(found[0].message ==
          "unknown unit \"GB\" in bandwidth \"450GB\" (did you mean \"GBps\" or \"Gbps\"?)");
    CHECK(found[1].location.line == 6);
    CHECK(found[1].location.column == 31);
    CHECK(found[1].field_path == "link[1].b");
    CHECK(found[1].message == "link \"ib-3\" references unknown device \"leaf-17\"");
}

TEST_CASE("semantic errors name what was expected and what was found", "[spec][topology]") {
    const auto message_of = [](const std::string& text) {
        const auto found = diagnostics_of(text);
        REQUIRE(found.size() == 1);
        return found[0].to_string();
    };
    CHECK(message_of(small_explicit("bandwidth: \"450GBps\" latency: \"0ns\"")) ==
          "test.textproto:3:62: error: latency \"0ns\" must be positive (a hop takes time; "
          "write e.g. \"1ps\" for an idealized link)");
    CHECK(message_of(small_explicit("latency: \"1us\"")) ==
          "test.textproto:3:1: error: link[0] has no bandwidth (expected a rate per direction "
          "such as \"400Gbps\" or \"450GBps\")");
    CHECK(message_of(small_explicit("bandwidth: \"1GBps\" latency: \"1us\" count: 0")) ==
          "test.textproto:3:75: error: link[0]: count must be at least 1, got 0");

    const std::string templ =
        "device_template {\n"
        "  name: \"s\"\n"
        "  component { name: \"gpu\" kind: GPU count: 2 }\n"
        "  link { name: \"nv\" kind: NVLINK bandwidth: \"1GBps\" latency: "
        "\"1us\" }\n";
    const std::string inst = "instance { name: \"n\" device_template: \"s\" }\n";
    CHECK(message_of(templ + "  edge { ep1: \"gpu[0]\" ep2: \"gpu[1]\" link: \"nvlink\" }\n}\n" +
                     inst) ==
          "test.textproto:5:38: error: device template \"s\": edge references unknown link type "
          "\"nvlink\" (define it in the template's or the top-level link list)");
    CHECK(
        message_of(templ + "  edge { ep1: \"gpu[0]\" ep2: \"gpu[2]\" link: \"nv\" }\n}\n" + inst) ==
        "test.textproto:5:24: error: device template \"s\": component \"gpu\" has 2 elements, "
        "index 2 is out of range");
    CHECK(message_of(templ + "  edge { ep1: \"gpu[0:2]\" ep2: \"gpu[1]\" link: \"nv\" }\n}\n" +
                     inst) ==
          "test.textproto:5:3: error: device template \"s\": a ONE_TO_ONE edge needs endpoint "
          "sets of the same size, got 2 (\"gpu[0:2]\") and 1 (\"gpu[1]\")");
    CHECK(message_of(templ + "}\ndevice_template { name: \"s\" }\n" + inst) ==
          "test.textproto:6:19: error: duplicate device template name \"s\"");
    // A fabric builder must find the instance and component it names.
    CHECK(message_of(templ + "}\n" + inst +
                     "fabric { name: \"nv\" nvswitch_crossbar { instance: \"n\" "
                     "bandwidth_per_gpu: \"450GBps\" latency: \"250ns\" } }\n") ==
          "test.textproto:7:21: error: nvswitch_crossbar: device template \"s\" of instance "
          "\"n\" has no component \"nvswitch\"");
}

TEST_CASE("errors in overridden fields point at the command line", "[spec][topology]") {
    const std::vector<SpecOverride> overrides{{"link[0].bandwidth", "0GBps"}};
    const auto found =
        diagnostics_of(small_explicit("bandwidth: \"450GBps\" latency: \"1us\""), overrides);
    REQUIRE(found.size() == 1);
    CHECK(found[0].location.to_string() == "<command line>");
    CHECK(found[0].field_path == "link[0].bandwidth");
    CHECK(found[0].message == "bandwidth \"0GBps\" must be positive");
}

TEST_CASE("the no-transit check: one switch core passes at once; other wirings are searched",
          "[spec][topology]") {
    // Routes never pass through a GPU. Wiring (a): every GPU on one switch (a component of
    // non-GPU devices that every GPU links to and from) passes the O(devices + links) test.
    // (b): two GPUs cabled only to each other pass through the per-GPU search. (c): like
    // (a) with gpu3 on gpu2 only, and (d): like (a) with gpu3's only cable one-way out of the
    // switch, are refused by the per-GPU search with its usual messages.
    const std::string devices =
        "device { name: \"gpu0\" kind: GPU host: 0 }\n"    // 1
        "device { name: \"gpu1\" kind: GPU host: 0 }\n"    // 2
        "device { name: \"gpu2\" kind: GPU host: 1 }\n"    // 3
        "device { name: \"gpu3\" kind: GPU host: 1 }\n"    // 4
        "device { name: \"sw\" kind: SWITCH tier: 1 }\n";  // 5
    const auto cable = [](const std::string& a, const std::string& b, bool is_duplex = true) {
        return "link { a: \"" + a + "\" b: \"" + b +
               "\" kind: INFINIBAND bandwidth: \"400Gbps\" latency: \"1us\"" +
               (is_duplex ? "" : " duplex: false") + " }\n";
    };
    const std::string star =
        cable("gpu0", "sw") + cable("gpu1", "sw") + cable("gpu2", "sw") + cable("gpu3", "sw");
    CHECK(diagnostics_of(devices + star).empty());
    CHECK(diagnostics_of(std::string("device { name: \"gpu0\" kind: GPU host: 0 }\n"
                                     "device { name: \"gpu1\" kind: GPU host: 1 }\n") +
                         cable("gpu0", "gpu1"))
              .empty());
    const auto found = diagnostics_of(devices + cable("gpu0", "sw") + cable("gpu1", "sw") +
                                      cable("gpu2", "sw") + cable("gpu2", "gpu3"));
    REQUIRE(found.size() == 1);
    CHECK(found[0].to_string() ==
          "test.textproto:4:1: error: gpu \"gpu0\" cannot reach gpu \"gpu3\" without passing "
          "through another GPU (routes do not pass through GPUs; connect it to a NIC, switch or "
          "NVSwitch)");
    const auto one_way =
        diagnostics_of(devices + cable("gpu0", "sw") + cable("gpu1", "sw") + cable("gpu2", "sw") +
                       cable("sw", "gpu3", false) + cable("gpu3", "gpu2"));
    REQUIRE(one_way.size() == 1);
    CHECK(one_way[0].to_string() ==
          "test.textproto:1:1: error: gpu \"gpu3\" cannot reach gpu \"gpu0\" without passing "
          "through another GPU (routes do not pass through GPUs; connect it to a NIC, switch or "
          "NVSwitch)");
}
