// SPDX-License-Identifier: Apache-2.0
// File: whatif_json.cc
// `stepsim whatif --json`: a WhatIfStudyResult as JSON.
#include "stepsim/report.h"
#include "stepsim/results_json.h"
#include "stepsim/study/whatif.h"

#include <cmath>

namespace stepsim {

namespace {

void write_summary(JsonWriter& json, const SampleSummary& s) {
    json.begin_object();
    json.field("count", s.count);
    json.field("mean_s", s.mean);
    json.field("p50_s", s.p50);
    json.field("p99_s", s.p99);
    json.field("min_s", s.min);
    json.field("max_s", s.max);
    json.end_object();
}

}  // namespace

std::string to_json(const study::WhatIfStudyResult& result) {
    const WhatIfResult& r = result.whatif;
    JsonWriter json;
    json.begin_object();
    json.field("topology", result.topology_file);
    json.field("workload", result.workload_file);
    json.field("description", result.description);
    json.field("seed", result.seed);
    json.field("baseline_step_time_s", r.baseline_step_time_s);
    json.field("scenario_step_time_s", r.scenario_step_time_s.mean);
    json.field("slowdown", r.slowdown);
    json.field("is_faster_than_baseline", r.is_faster_than_baseline);
    json.key("scenario_step_time_stats");
    write_summary(json, r.scenario_step_time_s);
    json.key("simulated_replicas").begin_array();
    for (const int d : r.simulated_replicas) {
        json.value(static_cast<std::int64_t>(d));
    }
    json.end_array();
    json.key("baseline_breakdown");
    write_json(json, r.baseline);
    json.key("scenario_breakdown");
    write_json(json, r.scenario);
    json.key("breakdown_delta");
    write_json(json, study::breakdown_delta(r.baseline, r.scenario));
    json.field("baseline_waiting_s", r.baseline_waiting_s);
    json.field("scenario_waiting_s", r.scenario_waiting_s);
    json.key("attribution").begin_array();
    for (const AttributionEntry& a : r.attribution) {
        json.begin_object();
        json.field("element", a.element);
        json.field("step_time_s", a.step_time_s);
        json.field("slowdown", a.slowdown);
        json.end_object();
    }
    json.end_array();
    json.key("sweep").begin_array();
    for (const SweepCurvePoint& p : r.sweep) {
        json.begin_object();
        json.field("value", p.value);
        json.field("mean_s", p.step_time_s.mean);
        json.field("p50_s", p.step_time_s.p50);
        json.field("p99_s", p.step_time_s.p99);
        json.field("slowdown", p.slowdown);
        json.end_object();
    }
    json.end_array();
    json.key("sensitivity").begin_array();
    for (const SensitivityEntry& s : r.sensitivity) {
        json.begin_object();
        json.field("element", s.element);
        json.field("critical_path_s_per_percent", s.critical_path_s_per_percent);
        if (std::isfinite(s.simulated_s_per_percent)) {
            json.field("simulated_s_per_percent", s.simulated_s_per_percent);
        }
        json.end_object();
    }
    json.end_array();
    json.key("critical_path").begin_array();
    for (const auto& [name, time_s] : r.critical_path) {
        json.begin_object();
        json.field("segment", name);
        json.field("time_s", time_s);
        json.end_object();
    }
    json.end_array();
    json.end_object();
    return json.str() + "\n";
}

}  // namespace stepsim
