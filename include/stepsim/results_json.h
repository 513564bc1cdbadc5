// SPDX-License-Identifier: Apache-2.0
// File: results_json.h
// One JSON serializer per result type (sim/report/*_json.cc): the only code that turns a
// study's typed result into the JSON the CLI prints with --json, the sweep runner stores and
// the Python module's to_json()/to_dict() return. Field names carry their units.
#pragma once

#include <cstddef>
#include <string>

namespace stepsim {

class JsonWriter;
struct StepBreakdown;

namespace study {
struct CheckpointStudyResult;
struct ValidationResult;
struct SearchResult;
struct StepStudyResult;
struct WhatIfStudyResult;
}  // namespace study

/// A step breakdown as an object (compute_s, recompute_s, tp_s, pp_s, dp_s, zero_s, bubble_s,
/// other_idle_s): the shape step, whatif and validate share.
void write_json(JsonWriter& json, const StepBreakdown& breakdown);

/// `stepsim step --json`: step time, rates, the cluster and per-stage breakdowns, memory,
/// kernels, critical path, closed-form estimates and simulation counts. Ends with a newline.
std::string to_json(const study::StepStudyResult& result);

/// `stepsim whatif --json`: baseline and scenario step times, slowdown, breakdowns and their
/// delta, attribution, sweep curve, sensitivity and critical path. Ends with a newline.
std::string to_json(const study::WhatIfStudyResult& result);

/// `stepsim checkpoint --json`: the run spec, then per failure rate the best interval and its
/// band, Young's and Daly's intervals as simulated, the refined optimum, the caveats and the
/// grid's points. Ends with a newline.
std::string to_json(const study::CheckpointStudyResult& result);

/// `stepsim validate --json`: the rows (listed, or with their results), per-table error
/// statistics and the targets over the rows held to them. Ends with a newline.
std::string to_json(const study::ValidationResult& result);

/// `stepsim search --json`: the counts and the best `top` layouts (0: every simulated one),
/// with the objective's fields. Ends with a newline.
std::string to_json(const study::SearchResult& result, std::size_t top);

}  // namespace stepsim
