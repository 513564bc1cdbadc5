// SPDX-License-Identifier: Apache-2.0
// File: topology_json.cc
// `stepsim topology --json`: a TopologySummary as JSON.
#include "stepsim/report.h"
#include "stepsim/results_json.h"
#include "stepsim/topology.h"

namespace stepsim {

std::string to_json(const TopologySummary& s, std::string_view topology_file) {
    JsonWriter json;
    json.begin_object();
    json.field("topology", topology_file);
    json.field("gpus", s.gpus);
    json.field("nodes", s.nodes);
    json.key("devices").begin_object();
    for (const auto& [kind, count] : s.devices_by_kind) {
        json.field(kind, count);
    }
    json.end_object();
    json.key("links").begin_object();
    for (const auto& [kind, links] : s.links_by_kind) {
        json.key(kind).begin_object();
        json.field("count", links.count);
        json.field("total_bandwidth_Bps", links.total_bandwidth_Bps);
        json.end_object();
    }
    json.end_object();
    json.field("diameter_hops", s.diameter_hops);
    json.key("injection_Bps_by_tier").begin_object();
    for (const auto& [tier, bandwidth] : s.injection_Bps_by_tier) {
        json.field(tier, bandwidth);
    }
    json.end_object();
    json.end_object();
    return json.str();
}

}  // namespace stepsim
