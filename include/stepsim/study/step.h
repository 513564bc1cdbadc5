// SPDX-License-Identifier: Apache-2.0
// File: step.h
// The step study: one training step of a loaded job on a loaded cluster, after the job is
// checked against the cluster (layout size, memory). No argv, no JSON: `stepsim step` and the
// Python module call it; sim/report/step_json.cc serializes its result.
#pragma once

#include "stepsim/training_step.h"
#include "stepsim/workload.h"

#include <cstdint>
#include <string>

namespace stepsim {
class Topology;
}  // namespace stepsim

namespace stepsim::study {

struct StepStudyOptions {
    StepOptions step;
    /// Simulate even when the most loaded stage does not fit in HBM.
    bool allows_oom = false;
    /// Where the specs came from: reported with the result, and the location of a job-vs-
    /// cluster error (the study reads no file).
    std::string topology_file;
    std::string workload_file;
};

struct StepStudyResult {
    std::string topology_file;
    std::string workload_file;
    std::int64_t hbm_bytes = 0;  ///< the GPU's memory, next to the memory per GPU
    StepResult step;
};

/// Checks `job` against `topology` (SpecError located at options.workload_file) and simulates
/// one step.
StepStudyResult run_step(const TrainingJob& job,
                         const Topology& topology,
                         const StepStudyOptions& options);

}  // namespace stepsim::study
