// SPDX-License-Identifier: Apache-2.0
// File: whatif.h
// The what-if study: a loaded job checked against the cluster, then the baseline step and a
// straggler scenario (run_whatif(), sim/stragglers/whatif.cc: slowdown, breakdowns,
// attribution, sweep curve, sensitivity). No argv, no JSON: `stepsim whatif` builds the
// scenario from its flags and prints; sim/report/whatif_json.cc serializes.
#pragma once

#include "stepsim/stragglers.h"
#include "stepsim/training_step.h"
#include "stepsim/workload.h"

#include <cstdint>
#include <string>

namespace stepsim {
class Topology;
}  // namespace stepsim

namespace stepsim::study {

struct WhatIfStudyOptions {
    StepOptions step;
    WhatIfOptions whatif;
    bool allows_oom = false;
    /// Where the specs came from: reported with the result, and the location of a job-vs-
    /// cluster error (the study reads no file).
    std::string topology_file;
    std::string workload_file;
};

struct WhatIfStudyResult {
    std::string topology_file;
    std::string workload_file;
    std::string description;  ///< the scenario's
    std::uint64_t seed = 0;   ///< the scenario's base seed
    WhatIfResult whatif;
};

/// scenario − baseline, per category (seconds).
StepBreakdown breakdown_delta(const StepBreakdown& baseline, const StepBreakdown& scenario);

/// Checks `job` against `topology` (SpecError located at options.workload_file), then runs
/// the what-if study. Edits `topology`'s links while a run needs them and restores them.
/// Throws what run_whatif() throws.
WhatIfStudyResult run_whatif_study(const TrainingJob& job,
                                   Topology& topology,
                                   const Scenario& scenario,
                                   const WhatIfStudyOptions& options);

}  // namespace stepsim::study
