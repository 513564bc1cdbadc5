// SPDX-License-Identifier: Apache-2.0
// File: collective_json.cc
// `stepsim collective --json`: a CollectiveStudyResult as JSON, one object per size.
#include "stepsim/report.h"
#include "stepsim/results_json.h"
#include "stepsim/study/collective.h"

namespace stepsim {

std::string to_json(const study::CollectiveStudyResult& result) {
    JsonWriter json;
    json.begin_object();
    json.field("topology", result.topology_file);
    json.field("op", to_string(result.op));
    json.field("ranks", static_cast<std::uint64_t>(result.ranks));
    json.field("network", to_string(result.network));
    json.field("channels", result.channels);
    json.key("rows").begin_array();
    for (const study::CollectiveRow& row : result.rows) {
        json.begin_object();
        json.field("bytes", row.size_bytes);
        json.field("time_s", row.time_s);
        json.field("algbw_Bps", row.algbw_Bps);
        json.field("busbw_Bps", row.busbw_Bps);
        json.field("analytic_time_s", row.analytic_time_s);
        json.field("algorithm", row.algorithm);
        json.end_object();
    }
    json.end_array();
    json.end_object();
    return json.str() + "\n";
}

}  // namespace stepsim
