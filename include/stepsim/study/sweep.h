// SPDX-License-Identifier: Apache-2.0
// File: sweep.h
// The sweep study: one point of a loaded SweepSpec from its axis values to a typed
// SweepPointRecord (skip filters, the command's outcome, its result columns read by path from
// the command's JSON), the points' predicted costs and their cost-balanced split over ranks.
// The command itself is injected (`SweepCommandRunner`): the CLI passes its in-process
// command table, a test a stub. No files and no threads here: tools/stepsim/sweep_runner.h
// runs the points on threads and MPI ranks and writes results.csv/.jsonl through
// sim/report/sweep_json.cc.
#pragma once

#include "stepsim/sweep.h"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace stepsim::study {

/// What a command run returned: its exit status (0 ok, 2 bad input, 1 internal error), its
/// standard output (the --json text) and its error message.
struct SweepCommandOutcome {
    int status = 0;
    std::string output;
    std::string error;
};

/// Runs `command` with `args` (the point's flags and --json) and returns its outcome.
using SweepCommandRunner = std::function<SweepCommandOutcome(std::string_view command,
                                                             const std::vector<std::string>& args)>;

/// Point `point` of `spec`: skipped when a skip filter holds (invalid when one cannot be
/// evaluated), otherwise the command run by `run`: ok with each result column's raw JSON value
/// (absent when the path is not in the output), invalid on exit status 2, failed otherwise,
/// with the command's message (final newlines trimmed) as the reason.
SweepPointRecord run_sweep_point(const SweepSpec& spec,
                                 std::int64_t point,
                                 const SweepCommandRunner& run);

/// The predicted cost of a point: 0 when a filter skips it (it never runs), else the cost
/// expression's value (1 without one; an expression that fails to evaluate counts 1).
double predicted_cost(const SweepSpec& spec, std::int64_t point);

/// The points of [first, count) that `rank` of `ranks` runs: each point in order goes to the
/// rank with the least predicted cost so far (the lowest rank on ties). Deterministic.
std::vector<std::int64_t> assign_points(const SweepSpec& spec,
                                        std::int64_t first,
                                        int rank,
                                        int ranks);

}  // namespace stepsim::study
