// SPDX-License-Identifier: Apache-2.0
// File: sweep_json.cc
// `stepsim sweep --json`: a finished run's SweepSummary as JSON.
#include "stepsim/report.h"
#include "stepsim/results_json.h"
#include "stepsim/sweep.h"

namespace stepsim {

std::string to_json(const SweepSummary& s) {
    JsonWriter json;
    json.begin_object();
    json.field("spec", s.spec_file);
    json.field("command", s.command);
    json.field("points", s.points);
    json.field("ok", s.ok);
    json.field("skipped", s.skipped);
    json.field("invalid", s.invalid);
    json.field("failed", s.failed);
    json.field("resumed", s.resumed);
    json.field("ranks", s.ranks);
    json.field("jobs", s.jobs);
    json.field("csv", s.csv_path);
    json.field("jsonl", s.jsonl_path);
    json.end_object();
    return json.str() + "\n";
}

}  // namespace stepsim
