// SPDX-License-Identifier: Apache-2.0
// File: chakra_replay_json.cc
// `stepsim replay --chakra --json`: a Chakra replay's ReplayResult as JSON.
#include "stepsim/chakra.h"
#include "stepsim/report.h"
#include "stepsim/results_json.h"

namespace stepsim {

std::string to_json(const chakra::ReplayResult& r,
                    std::string_view topology_file,
                    std::string_view chakra_prefix) {
    JsonWriter json;
    json.begin_object();
    json.field("topology", topology_file);
    json.field("chakra", chakra_prefix);
    json.field("total_time_s", r.total_s);
    json.key("ranks").begin_array();
    for (const chakra::RankReplay& rank : r.ranks) {
        json.begin_object();
        json.field("npu", rank.npu);
        json.field("nodes", static_cast<std::uint64_t>(rank.nodes));
        json.field("total_time_s", rank.total_s);
        json.field("compute_s", rank.compute_s);
        json.field("exposed_communication_s", rank.exposed_communication_s);
        json.end_object();
    }
    json.end_array();
    json.key("critical_path").begin_array();
    for (const chakra::CriticalPathStep& step : r.critical_path) {
        json.begin_object();
        json.field("npu", step.npu);
        json.field("id", step.id);
        json.field("name", step.name);
        json.field("type", chakra::to_string(step.type));
        json.field("start_s", step.start_s);
        json.field("end_s", step.end_s);
        json.end_object();
    }
    json.end_array();
    json.field("events", r.events);
    json.end_object();
    return json.str() + "\n";
}

}  // namespace stepsim
