// SPDX-License-Identifier: Apache-2.0
// File: step_inputs.h
// The lowering inputs simulate_step() derives from a job, and its size check against the
// cluster (defined in training_step.cc), shared with the perturbed step of what-if studies
// (perturbed_step.cc) so that both check and lower the same task graph.
#pragma once

#include "stepsim/workload.h"

#include "step_lowering.h"

namespace stepsim {
class Topology;
}  // namespace stepsim

namespace stepsim::detail {

/// Throws JobClusterMismatch (located at parallelism.tp) when tp·cp·pp·dp is not the
/// topology's GPU count.
void check_world_size(const TrainingJob& job, const Topology& topology);

/// Per-layer durations, TP collectives, gradient and message sizes of one pipeline.
StepCosts step_costs_of(const TrainingJob& job);
/// Stage ranks (TP rank 0 of DP replica 0 simulated) and DP groups of the layout.
RankGroups rank_groups_of(const ParallelLayout& layout);

}  // namespace stepsim::detail
