// SPDX-License-Identifier: Apache-2.0
// The summary's diameter from one Dijkstra per route class of GPUs (issue 14) against the
// all-pairs reference it replaced (one Dijkstra per GPU, every ordered GPU pair read), on the
// bundled topologies at small sizes, with two- and three-tier fat trees, partly filled pods,
// oversubscription, and links degraded or taken down (asymmetries that must split classes).
// Also: the Router's caches stay within their bounds and give the same routes, and the
// classes and summary are deterministic.
#include "stepsim/spec.h"
#include "stepsim/topology.h"

#include "unit/topology/small_topologies.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace stepsim {
namespace {

std::filesystem::path source_path(const std::string& relative) {
    return std::filesystem::path(STEPSIM_SOURCE_DIR) / relative;
}

/// The pre-issue-14 diameter: the largest hop count over all ordered GPU pairs; nullopt when
/// some GPU cannot reach another (summarize() throws then).
std::optional<std::size_t> reference_diameter(const Topology& topology) {
    Router router(topology);
    std::size_t diameter = 0;
    for (const NodeId dst : topology.gpus()) {
        for (const NodeId src : topology.gpus()) {
            if (!router.is_reachable(src, dst)) {
                return std::nullopt;
            }
            diameter = std::max(diameter, router.hop_count(src, dst));
        }
    }
    return diameter;
}

std::optional<std::size_t> class_diameter(const Topology& topology) {
    Router router(topology);
    try {
        return summarize(topology, router).diameter_hops;
    } catch (const std::runtime_error&) {
        return std::nullopt;
    }
}

struct Case {
    std::string file;
    std::vector<SpecOverride> overrides;
};

std::vector<Case> bundled_cases() {
    std::vector<Case> cases;
    for (const char* file :
         {"topologies/explicit-4gpu.textproto", "topologies/dgx-h100-16.textproto"}) {
        cases.push_back({file, {}});
    }
    for (const char* count : {"1", "2", "3", "5"}) {
        cases.push_back({"topologies/dgx-h100-1024.textproto", {{"instance[0].count", count}}});
        cases.push_back(
            {"topologies/dgx-h100-1024-oversubscribed.textproto", {{"instance[0].count", count}}});
        cases.push_back({"topologies/jean-zay-a100.textproto", {{"instance[0].count", count}}});
    }
    // Three tiers with small radices, so that pods (some partly filled) and cores are used.
    for (const char* radix : {"8", "16"}) {
        for (const char* count : {"3", "5", "9", "17"}) {
            if (std::string(radix) == "8" && std::string(count) == "17") {
                continue;  // does not fit a radix-8 three-tier tree
            }
            cases.push_back({"topologies/dgx-h100-1024.textproto",
                             {{"instance[0].count", count},
                              {"fabric[0].fat_tree.tiers", "3"},
                              {"fabric[0].fat_tree.radix", radix}}});
        }
    }
    cases.push_back({"topologies/dgx-a100-selene.textproto",
                     {{"instance[0].count", "6"}, {"fabric[0].fat_tree.radix", "8"}}});
    return cases;
}

std::string describe(const Case& c) {
    std::string text = c.file;
    for (const SpecOverride& o : c.overrides) {
        text += " --set " + o.field_path + "=" + o.value;
    }
    return text;
}

TEST_CASE("class diameter equals the all-pairs diameter on the bundled topologies",
          "[topology][summary][scale]") {
    for (const Case& c : bundled_cases()) {
        INFO(describe(c));
        const Topology topology = load_topology_file(source_path(c.file), c.overrides);
        const auto reference = reference_diameter(topology);
        REQUIRE(reference.has_value());
        CHECK(class_diameter(topology) == reference);
        Router router(topology);
        const TopologySummary summary = summarize(topology, router);
        CHECK(summary.route_classes >= 1);
        CHECK(summary.route_classes <= topology.gpu_count());
    }
}

TEST_CASE("class diameter equals the all-pairs diameter with degraded or failed links",
          "[topology][summary][scale]") {
    // Asymmetries: one link slower, one link down, several links down. Each must either give
    // the reference diameter or leave both methods reporting an unreachable pair.
    const std::vector<SpecOverride> overrides{{"instance[0].count", "5"},
                                              {"fabric[0].fat_tree.tiers", "3"},
                                              {"fabric[0].fat_tree.radix", "8"}};
    const Topology base =
        load_topology_file(source_path("topologies/dgx-h100-1024.textproto"), overrides);
    const std::uint32_t links = static_cast<std::uint32_t>(base.link_count());
    std::uint64_t state = 12345;
    const auto next = [&state, links] {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<std::uint32_t>((state >> 33) % links);
    };
    for (int trial = 0; trial < 12; ++trial) {
        Topology topology =
            load_topology_file(source_path("topologies/dgx-h100-1024.textproto"), overrides);
        const int edits = 1 + trial % 3;
        for (int e = 0; e < edits; ++e) {
            const LinkId id(next());
            if (trial % 2 == 0) {
                topology.set_link_up(id, false);
            } else {
                topology.set_link_bandwidth(id, topology.link(id).bandwidth_Bps / 2);
            }
        }
        INFO("trial " << trial);
        CHECK(class_diameter(topology) == reference_diameter(topology));
    }
}

TEST_CASE("route classes do not grow with the number of servers", "[topology][summary][scale]") {
    // Full pods of one template: the classes are the GPU's position in the server (and its
    // rail), however many servers there are.
    std::vector<std::size_t> classes;
    for (const char* count : {"8", "16", "32"}) {
        const Topology topology = load_topology_file(
            source_path("topologies/dgx-h100-1024.textproto"), {{{"instance[0].count", count}}});
        Router router(topology);
        classes.push_back(summarize(topology, router).route_classes);
    }
    CHECK(classes[0] == classes[1]);
    CHECK(classes[1] == classes[2]);
    CHECK(classes[0] <= 8);
}

TEST_CASE("route classes and the summary are deterministic", "[topology][summary][scale]") {
    const std::vector<SpecOverride> overrides{{"instance[0].count", "9"},
                                              {"fabric[0].fat_tree.tiers", "3"},
                                              {"fabric[0].fat_tree.radix", "16"}};
    const Topology a =
        load_topology_file(source_path("topologies/dgx-h100-1024.textproto"), overrides);
    const Topology b =
        load_topology_file(source_path("topologies/dgx-h100-1024.textproto"), overrides);
    CHECK(detail::route_colors(a) == detail::route_colors(b));
    CHECK(detail::route_colors(a) == detail::route_colors(a));
    CHECK(detail::gpu_route_classes(a) == detail::gpu_route_classes(b));
    Router ra(a);
    Router rb(b);
    const TopologySummary sa = summarize(a, ra);
    const TopologySummary sb = summarize(b, rb);
    CHECK(sa.diameter_hops == sb.diameter_hops);
    CHECK(sa.route_classes == sb.route_classes);
    CHECK(sa.injection_Bps_by_tier == sb.injection_Bps_by_tier);
}

TEST_CASE("router caches stay within their bounds and give the same routes",
          "[topology][router][scale]") {
    const Topology topology = load_topology_file(source_path("topologies/dgx-h100-1024.textproto"),
                                                 {{{"instance[0].count", "4"}}});
    Router::Limits limits;
    limits.max_routes = 16;
    // Room for three distance tables (20 bytes a device each), one per destination GPU.
    limits.max_table_bytes = 3 * 20 * topology.node_count();
    limits.is_table_shared_by_symmetry = false;
    Router bounded(topology, limits);
    Router unbounded(topology);
    const auto gpus = topology.gpus();
    for (int pass = 0; pass < 2; ++pass) {
        for (const NodeId src : gpus) {
            for (const NodeId dst : gpus) {
                for (std::uint64_t label = 0; label < 3; ++label) {
                    const Route expected = unbounded.route(src, dst, label);
                    const Route& got = bounded.route(src, dst, label);
                    REQUIRE(got.links == expected.links);
                    REQUIRE(got.latency == expected.latency);
                    REQUIRE(got.bottleneck_Bps == expected.bottleneck_Bps);
                    REQUIRE(bounded.cached_routes() <= limits.max_routes);
                    REQUIRE(bounded.cached_tables() <= 3);
                }
                REQUIRE(bounded.hop_count(src, dst) == unbounded.hop_count(src, dst));
                REQUIRE(bounded.latency(src, dst) == unbounded.latency(src, dst));
            }
        }
    }
    CHECK(bounded.cached_routes() >= 1);
    CHECK(unbounded.cached_routes() == gpus.size() * gpus.size() * 3);
    // The four servers hang off the same leaf switches: one table per GPU position.
    CHECK(unbounded.cached_tables() == 8);
}

TEST_CASE("a router with a one-route, one-table budget still routes", "[topology][router][scale]") {
    test::TwoServerCluster cluster;
    Router::Limits limits;
    limits.max_routes = 1;
    limits.max_table_bytes = 1;
    Router bounded(cluster.topology, limits);
    Router unbounded(cluster.topology);
    for (const NodeId src : cluster.topology.gpus()) {
        for (const NodeId dst : cluster.topology.gpus()) {
            CHECK(bounded.route(src, dst).links == unbounded.route(src, dst).links);
            CHECK(bounded.cached_routes() == 1);
            CHECK(bounded.cached_tables() <= 1);
        }
    }
}

}  // namespace
}  // namespace stepsim
