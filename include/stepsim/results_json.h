// SPDX-License-Identifier: Apache-2.0
// File: results_json.h
// One JSON serializer per result type (sim/report/*_json.cc): the only code that turns a
// study's typed result into the JSON the CLI prints with --json, the sweep runner stores and
// the Python module's to_json()/to_dict() return. Field names carry their units.
#pragma once

#include <string>

namespace stepsim {

class JsonWriter;
struct StepBreakdown;

namespace study {
struct ValidationResult;
}  // namespace study

/// A step breakdown as an object (compute_s, recompute_s, tp_s, pp_s, dp_s, zero_s, bubble_s,
/// other_idle_s): the shape step, whatif and validate share.
void write_json(JsonWriter& json, const StepBreakdown& breakdown);

/// `stepsim validate --json`: the rows (listed, or with their results), per-table error
/// statistics and the targets over the rows held to them. Ends with a newline.
std::string to_json(const study::ValidationResult& result);

}  // namespace stepsim
