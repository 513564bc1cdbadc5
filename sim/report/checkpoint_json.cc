// SPDX-License-Identifier: Apache-2.0
// File: checkpoint_json.cc
// `stepsim checkpoint --json`: a CheckpointStudyResult as JSON.
#include "stepsim/report.h"
#include "stepsim/results_json.h"
#include "stepsim/study/checkpoint.h"

namespace stepsim {

namespace {

void write_point(JsonWriter& json, const SweepPoint& p, double step_s) {
    const RunSummary& s = p.summary;
    json.begin_object();
    json.field("interval_s", static_cast<double>(p.interval_steps) * step_s);
    json.field("interval_steps", p.interval_steps);
    json.field("goodput", s.goodput.mean);
    json.field("goodput_ci95", s.goodput.ci95);
    json.field("wall_time_s", s.wall_time_s.mean);
    json.field("wall_time_ci95_s", s.wall_time_s.ci95);
    json.field("rework_s", s.rework_s);
    json.field("checkpoint_s", s.checkpoint_s);
    json.field("validation_s", s.validation_s);
    json.field("restart_s", s.restart_s);
    json.field("failures", s.failures);
    json.field("unfinished_runs", s.unfinished_runs);
    json.end_object();
}

void write_rate(JsonWriter& json,
                const RateStudy& rate,
                const study::RefinedOptimum& refined,
                double step_s) {
    const SweepPoint& best = rate.grid[rate.best];
    json.begin_object();
    json.field("mtbf_s", rate.mtbf_s);
    json.field("best_interval_s", static_cast<double>(best.interval_steps) * step_s);
    json.field("best_goodput", best.summary.goodput.mean);
    json.field("best_goodput_ci95", best.summary.goodput.ci95);
    json.field("band_low_s", rate.band_low_s);
    json.field("band_high_s", rate.band_high_s);
    json.field("young_interval_s", rate.young_interval_s);
    json.field("young_simulated_interval_s",
               static_cast<double>(rate.young.interval_steps) * step_s);
    json.field("young_goodput", rate.young.summary.goodput.mean);
    json.field("young_goodput_ci95", rate.young.summary.goodput.ci95);
    json.field("young_disagrees", rate.young_disagrees);
    json.field("daly_interval_s", rate.daly_interval_s);
    json.field("daly_simulated_interval_s", static_cast<double>(rate.daly.interval_steps) * step_s);
    json.field("daly_goodput", rate.daly.summary.goodput.mean);
    json.field("daly_goodput_ci95", rate.daly.summary.goodput.ci95);
    json.field("daly_disagrees", rate.daly_disagrees);
    json.field("refined_interval_s", static_cast<double>(refined.point.interval_steps) * step_s);
    json.field("refined_goodput", refined.point.summary.goodput.mean);
    json.field("refined_goodput_ci95", refined.point.summary.goodput.ci95);
    json.field("refined_band_low_s", refined.band_low_s);
    json.field("refined_band_high_s", refined.band_high_s);
    json.field("refined_evaluations", refined.evaluations);
    json.key("caveats").begin_array();
    for (const std::string& caveat : rate.caveats) {
        json.value(caveat);
    }
    json.end_array();
    json.key("points").begin_array();
    for (const SweepPoint& p : rate.grid) {
        write_point(json, p, step_s);
    }
    json.end_array();
    json.end_object();
}

}  // namespace

std::string to_json(const study::CheckpointStudyResult& result) {
    const RunSpec& base = result.spec.base;
    const double step_s = to_seconds(base.step_time);
    JsonWriter json;
    json.begin_object();
    json.field("step_time_s", step_s);
    json.field("steps", base.steps);
    json.field("useful_work_s", to_seconds(base.useful_time()));
    json.field("checkpoint_cost_s", to_seconds(base.checkpoint.save_cost));
    json.field("is_async", base.checkpoint.is_async);
    json.field("background_write_s", to_seconds(base.checkpoint.background_write));
    json.field("restart_cost_s", to_seconds(base.restart.total()));
    json.field("seeds", result.spec.seeds);
    json.field("base_seed", result.spec.base_seed);
    json.key("results").begin_array();
    for (std::size_t r = 0; r < result.rates.size(); ++r) {
        write_rate(json, result.rates[r], result.refined.at(r), step_s);
    }
    json.end_array();
    json.end_object();
    return json.str() + "\n";
}

}  // namespace stepsim
