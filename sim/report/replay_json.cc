// SPDX-License-Identifier: Apache-2.0
// File: replay_json.cc
// `stepsim whatif --replay --json`: a trace replay's ReplayResult as JSON.
#include "stepsim/report.h"
#include "stepsim/results_json.h"
#include "stepsim/trace.h"

namespace stepsim {

namespace {

void write_attribution(JsonWriter& json, const std::vector<ReplayAttribution>& list) {
    json.begin_array();
    for (const ReplayAttribution& a : list) {
        json.begin_object();
        json.field("group", a.group);
        json.field("step_time_s", a.step_time_s);
        json.field("slowdown", a.slowdown);
        json.field("explained_fraction", a.explained_fraction);
        json.end_object();
    }
    json.end_array();
}

}  // namespace

std::string to_json(const ReplayResult& r,
                    std::string_view trace_file,
                    std::int64_t clamped_durations) {
    JsonWriter json;
    json.begin_object();
    json.field("trace", trace_file);
    json.field("format", r.format);
    json.field("workers", static_cast<std::int64_t>(r.workers));
    json.field("stages", static_cast<std::int64_t>(r.stages));
    json.field("ops", r.ops);
    json.field("steps", static_cast<std::int64_t>(r.steps.size()));
    json.field("slowdown", r.slowdown);
    json.field("recorded_step_time_s", r.recorded_step_time_s);
    json.field("replayed_step_time_s", r.replayed_step_time_s);
    json.field("ideal_step_time_s", r.ideal_step_time_s);
    json.field("replay_error", r.replay_error);
    json.field("max_replay_error", r.max_replay_error);
    json.field("stage_ideal_step_time_s", r.stage_ideal_step_time_s);
    json.field("m_s", r.m_s);
    json.field("m_w", r.m_w);
    json.field("m_w_worker", r.m_w_worker);
    json.field("clamped_durations", clamped_durations);
    json.key("attribution").begin_object();
    json.key("by_op_type");
    write_attribution(json, r.by_op_type);
    json.key("by_stage");
    write_attribution(json, r.by_stage);
    json.key("by_worker");
    write_attribution(json, r.by_worker);
    json.end_object();
    json.key("compute_variation").begin_array();
    for (const ComputeVariation& v : r.compute_variation) {
        json.begin_object();
        json.field("op_type", v.op_type);
        json.field("stage", static_cast<std::int64_t>(v.stage));
        json.field("ops", v.ops);
        json.field("mean_s", v.mean_s);
        json.field("cv", v.cv);
        json.field("between_worker_fraction", v.between_worker_fraction);
        json.end_object();
    }
    json.end_array();
    json.key("per_step").begin_array();
    for (const ReplayStep& s : r.steps) {
        json.begin_object();
        json.field("step", s.step);
        json.field("recorded_step_time_s", s.recorded_step_time_s);
        json.field("replayed_step_time_s", s.replayed_step_time_s);
        json.field("ideal_step_time_s", s.ideal_step_time_s);
        json.field("replay_error", s.replay_error);
        json.end_object();
    }
    json.end_array();
    json.end_object();
    return json.str() + "\n";
}

}  // namespace stepsim
