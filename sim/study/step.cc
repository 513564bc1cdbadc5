// SPDX-License-Identifier: Apache-2.0
// File: step.cc
// The step study: job against cluster, then one simulated step.
#include "stepsim/study/step.h"

#include "stepsim/topology.h"

namespace stepsim::study {

StepStudyResult run_step(const TrainingJob& job,
                         const Topology& topology,
                         const StepStudyOptions& options) {
    validate_job_against_cluster(job, static_cast<int>(topology.gpu_count()), options.allows_oom,
                                 options.workload_file, options.topology_file);
    StepStudyResult result;
    result.topology_file = options.topology_file;
    result.workload_file = options.workload_file;
    result.hbm_bytes = job.gpu.hbm_bytes;
    result.step = simulate_step(job, topology, options.step);
    return result;
}

}  // namespace stepsim::study
