// SPDX-License-Identifier: Apache-2.0
// File: overrides_test.cc
// --set FIELD=VALUE: parsing, applying to any scalar type through reflection, and the errors
// (malformed, unknown field, index out of range, wrong type), all located at "<command line>".
#include "spec/overrides.h"

#include "stepsim/error.h"
#include "stepsim/spec.h"

#include "spec/diagnostics.h"
#include "topologies/topology.pb.h"

#include <catch2/catch.hpp>
#include <google/protobuf/text_format.h>

#include <string>
#include <vector>

using namespace stepsim;

namespace {

std::filesystem::path source_path(const std::string& relative) {
    return std::filesystem::path(STEPSIM_SOURCE_DIR) / relative;
}

spec::Topology parsed(const std::string& text) {
    spec::Topology message;
    REQUIRE(google::protobuf::TextFormat::ParseFromString(text, &message));
    return message;
}

// Applies one override; returns the diagnostic message, or "" when it applied.
std::string apply(spec::Topology& message, const std::string& path, const std::string& value) {
    spec::Diagnostics diagnostics;
    const std::vector<SpecOverride> overrides{{path, value}};
    spec::apply_overrides(message, overrides, diagnostics);
    if (diagnostics.empty()) {
        return "";
    }
    const auto all = diagnostics.sorted();
    REQUIRE(all.size() == 1);
    CHECK(all[0].location.to_string() == "<command line>");
    CHECK(all[0].field_path == path);
    return all[0].message;
}

const char* const kSpec = R"(
name: "t"
link { a: "x" b: "y" kind: NVLINK bandwidth: "1GBps" latency: "1us" }
instance { name: "node" device_template: "s" count: 4 }
fabric { name: "ib" fat_tree { instance: "node" tiers: 2 radix: 64 } }
)";

}  // namespace

TEST_CASE("parse_override splits at the first '='", "[spec][overrides]") {
    const SpecOverride o = parse_override("fabric[0].fat_tree.oversubscription=2");
    CHECK(o.field_path == "fabric[0].fat_tree.oversubscription");
    CHECK(o.value == "2");
    CHECK(parse_override("description=a=b").value == "a=b");
    CHECK(parse_override("name=").value.empty());
    try {
        parse_override("instance[0].count");
        FAIL("no '=' must throw");
    } catch (const SpecError& e) {
        REQUIRE(e.diagnostics().size() == 1);
        CHECK(e.diagnostics()[0].location.to_string() == "<command line>");
        CHECK(std::string(e.what()) ==
              "<command line>: error: --set \"instance[0].count\": expected FIELD=VALUE, e.g. "
              "\"instance[0].count=16\"");
    }
    CHECK_THROWS_AS(parse_override("instance[x].count=1"), SpecError);
    CHECK_THROWS_AS(parse_override("instance[0]..count=1"), SpecError);
    CHECK_THROWS_AS(parse_override("=1"), SpecError);
}

TEST_CASE("overrides set scalars of every kind by path", "[spec][overrides]") {
    spec::Topology m = parsed(kSpec);
    CHECK(apply(m, "name", "foo").empty());
    CHECK(m.name() == "foo");
    CHECK(apply(m, "instance[0].count", "16").empty());
    CHECK(m.instance(0).count() == 16);
    CHECK(apply(m, "fabric[0].fat_tree.oversubscription", "2.5").empty());
    CHECK(m.fabric(0).fat_tree().oversubscription() == 2.5);
    CHECK(apply(m, "fabric[0].fat_tree.link_kind", "ETHERNET").empty());
    CHECK(m.fabric(0).fat_tree().link_kind() == spec::ETHERNET);
    CHECK(apply(m, "link[0].duplex", "false").empty());
    CHECK(m.link(0).has_duplex());
    CHECK_FALSE(m.link(0).duplex());
    CHECK(apply(m, "fabric[0].fat_tree.instance[0]", "other").empty());
    CHECK(m.fabric(0).fat_tree().instance(0) == "other");
}

TEST_CASE("bad overrides say what was expected", "[spec][overrides]") {
    spec::Topology m = parsed(kSpec);
    CHECK(apply(m, "instance[0].cnt", "1") ==
          "--set instance[0].cnt=1: unknown field \"cnt\" in Instance (expected one of: name, "
          "device_template, count)");
    CHECK(apply(m, "instance[3].count", "1") ==
          "--set instance[3].count=1: index 3 is out of range: \"instance\" has 1 element");
    CHECK(apply(m, "instance.count", "1") ==
          "--set instance.count=1: \"instance\" is repeated; select an element with "
          "\"instance[i]\"");
    CHECK(apply(m, "name[0]", "x") == "--set name[0]=x: \"name\" is not repeated; remove \"[0]\"");
    CHECK(apply(m, "instance[0].count", "many") ==
          "--set instance[0].count=many: expected int64 for \"count\", got \"many\"");
    CHECK(apply(m, "fabric[0].fat_tree.radix", "1e99") ==
          "--set fabric[0].fat_tree.radix=1e99: expected int64 for \"radix\", got \"1e99\"");
    CHECK(apply(m, "link[0].duplex", "yes") ==
          "--set link[0].duplex=yes: expected true or false for \"duplex\", got \"yes\"");
    CHECK(apply(m, "fabric[0].fat_tree.link_kind", "IB")
              .find("unknown LinkKind value \"IB\" for \"link_kind\" (expected one of: "
                    "LINK_KIND_UNSPECIFIED, NVLINK, PCIE, INFINIBAND, ETHERNET)") !=
          std::string::npos);
    CHECK(apply(m, "fabric[0].fat_tree", "x").find("\"fat_tree\" is a message") !=
          std::string::npos);
    CHECK(apply(m, "name.x", "1") ==
          "--set name.x=1: \"name\" is a string, not a message; nothing to select after it");
}

TEST_CASE("overrides reshape a loaded topology", "[spec][overrides]") {
    // 16 servers instead of 128: 128 GPUs. With 16 servers per rail, d = 32 NICs per leaf,
    // one leaf per rail (8 leaves of 16 NICs), u = 16 uplinks, S = ceil(8 * 16 / 64) = 2.
    const std::vector<SpecOverride> smaller{{"instance[0].count", "16"}};
    const Topology t =
        load_topology_file(source_path("topologies/dgx-h100-1024.textproto"), smaller);
    CHECK(t.gpu_count() == 128);
    CHECK(t.host_count() == 16);
    std::size_t switches = 0;
    for (std::uint32_t i = 0; i < t.node_count(); ++i) {
        switches += t.node(NodeId(i)).kind == NodeKind::kSwitch;
    }
    CHECK(switches == 8 + 2);

    // Ethernet instead of InfiniBand, via an enum override.
    const std::vector<SpecOverride> ethernet{{"instance[0].count", "2"},
                                             {"fabric[0].fat_tree.link_kind", "ETHERNET"}};
    const Topology e =
        load_topology_file(source_path("topologies/dgx-h100-1024.textproto"), ethernet);
    std::size_t ethernet_links = 0;
    for (std::uint32_t i = 0; i < e.link_count(); ++i) {
        ethernet_links += e.link(LinkId(i)).kind == LinkKind::kEthernet;
    }
    CHECK(ethernet_links == 2 * (16 + 8 * 2));  // NIC-leaf cables + leaf-spine cables (u = 2)
}

TEST_CASE("field paths are told apart by the spec they name", "[spec][overrides]") {
    CHECK(is_topology_field_path("instance[0].count"));
    CHECK(is_topology_field_path("fabric[0].fat_tree.tiers"));
    CHECK_FALSE(is_workload_field_path("instance[0].count"));
    CHECK(is_workload_field_path("training.global_batch"));
    CHECK(is_workload_field_path("parallelism.tp"));
    CHECK_FALSE(is_topology_field_path("training.global_batch"));
    // [i] exactly after repeated fields, a scalar at the end, well-formed.
    CHECK_FALSE(is_topology_field_path("instance.count"));
    CHECK_FALSE(is_topology_field_path("instance[0]"));
    CHECK_FALSE(is_topology_field_path("instance[0].count[1]"));
    CHECK_FALSE(is_topology_field_path("instance[x].count"));
    CHECK_FALSE(is_topology_field_path(""));
    CHECK_FALSE(is_workload_field_path("no_such_field"));
    CHECK_FALSE(is_topology_field_path("no_such_field"));
}
