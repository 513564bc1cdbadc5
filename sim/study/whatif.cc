// SPDX-License-Identifier: Apache-2.0
// File: whatif.cc
// The what-if study: job against cluster, then run_whatif().
#include "stepsim/study/whatif.h"

#include "stepsim/topology.h"

namespace stepsim::study {

StepBreakdown breakdown_delta(const StepBreakdown& a, const StepBreakdown& b) {
    StepBreakdown d;
    d.compute_s = b.compute_s - a.compute_s;
    d.recompute_s = b.recompute_s - a.recompute_s;
    d.tp_s = b.tp_s - a.tp_s;
    d.pp_s = b.pp_s - a.pp_s;
    d.dp_s = b.dp_s - a.dp_s;
    d.zero_s = b.zero_s - a.zero_s;
    d.ep_s = b.ep_s - a.ep_s;
    d.cp_s = b.cp_s - a.cp_s;
    d.fsdp_s = b.fsdp_s - a.fsdp_s;
    d.bubble_s = b.bubble_s - a.bubble_s;
    d.other_idle_s = b.other_idle_s - a.other_idle_s;
    return d;
}

WhatIfStudyResult run_whatif_study(const TrainingJob& job,
                                   Topology& topology,
                                   const Scenario& scenario,
                                   const WhatIfStudyOptions& options) {
    validate_job_against_cluster(job, static_cast<int>(topology.gpu_count()), options.allows_oom,
                                 options.workload_file, options.topology_file);
    WhatIfStudyResult result;
    result.topology_file = options.topology_file;
    result.workload_file = options.workload_file;
    result.description = scenario.description;
    result.seed = scenario.seed;
    result.whatif = run_whatif(job, topology, scenario, options.step, options.whatif);
    return result;
}

}  // namespace stepsim::study
