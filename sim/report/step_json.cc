// SPDX-License-Identifier: Apache-2.0
// File: step_json.cc
// A simulated step as JSON: the breakdown shape every step-based result shares.
#include "stepsim/report.h"
#include "stepsim/results_json.h"
#include "stepsim/training_step.h"

namespace stepsim {

void write_json(JsonWriter& json, const StepBreakdown& b) {
    json.begin_object();
    json.field("compute_s", b.compute_s);
    json.field("recompute_s", b.recompute_s);
    json.field("tp_s", b.tp_s);
    json.field("pp_s", b.pp_s);
    json.field("dp_s", b.dp_s);
    json.field("zero_s", b.zero_s);
    json.field("ep_s", b.ep_s);
    json.field("cp_s", b.cp_s);
    json.field("fsdp_s", b.fsdp_s);
    json.field("bubble_s", b.bubble_s);
    json.field("other_idle_s", b.other_idle_s);
    json.end_object();
}

}  // namespace stepsim
