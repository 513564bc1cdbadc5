// SPDX-License-Identifier: Apache-2.0
// File: perturbed_step.h
// One training step whose ranks are not all alike (what-if studies: stragglers, jitter, slow
// episodes). simulate_step() folds symmetric ranks into one pipeline; a perturbed step
// simulates several DP replicas' pipelines explicitly, each with its own ranks, its own TP
// groups and its own pipeline traffic, joined by the DP (and ZeRO) collectives, which start
// only when every replica's bucket is ready. Compute tasks take the duration the
// perturbation's hook gives them when they start. Model: docs/models/stragglers.md.
#pragma once

#include "stepsim/topology.h"
#include "stepsim/training_step.h"
#include "stepsim/workload.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace stepsim {

/// One compute task of a perturbed step, as its duration hook sees it.
struct ComputeTaskInfo {
    int replica = 0;  ///< DP replica index, 0 .. dp−1
    int stage = 0;    ///< pipeline stage
    /// Index of the task in the one-pipeline lowering: the same op has the same index in
    /// every replica and in every scenario of the same job (common random numbers).
    std::uint32_t op_index = 0;
};

/// How a step differs from the symmetric one.
struct StepPerturbation {
    /// DP replicas simulated explicitly, distinct, in [0, dp). Replicas not listed behave
    /// like the one they are folded into (see replica_weights).
    std::vector<int> replicas;
    /// replica_weights[i]: how many DP replicas replicas[i] stands for (>= 1; sum = dp).
    std::vector<int> replica_weights;
    /// Duration of a compute task of the whole TP group of (replica, stage) starting at
    /// `start`, given the task's undisturbed `duration`; empty: undisturbed. The TP ranks of a
    /// stage synchronise at every TP collective, so the hook returns the slowest of them.
    std::function<Time(const ComputeTaskInfo& task, Time start, Time duration)> compute_duration;
    /// The TP rank whose GPUs are timed (fast fidelity times each stage's pipeline messages
    /// and DP collectives for one TP rank and mirrors the others): TP ranks t and 0 swap
    /// places, so a slow link on TP rank t's GPUs is on the timed path.
    int timed_tp_rank = 0;

    /// One replica standing for all of them, undisturbed (the symmetric step).
    static StepPerturbation symmetric(int dp);
    /// Throws InternalError when replicas and weights do not cover `dp` replicas.
    void validate(int dp) const;
};

struct PerturbedStepResult {
    /// step_time_s, cluster (mean over all GPUs, each simulated replica weighted by the
    /// replicas it stands for), stages (of the replica standing for the most replicas; the
    /// first on ties), critical_path (stage = the stage; rank = its GPU in the replica),
    /// bubble_fraction, mfu, hfu, tokens_per_s, counts, fingerprint, timeline.
    StepResult step;
    std::vector<int> replicas;  ///< as simulated
    std::vector<int> replica_weights;
    /// [i][stage]: stage breakdowns of replicas[i].
    std::vector<std::vector<StageResult>> replica_stages;
    /// The replica (index into `replicas`) of each critical-path entry of step.
    std::vector<int> critical_path_replica;
};

/// Simulates one step with `perturbation`. With StepPerturbation::symmetric() the step time,
/// breakdown and critical path equal simulate_step()'s. Throws as simulate_step() does, and
/// InternalError when the perturbation is invalid.
PerturbedStepResult simulate_perturbed_step(const TrainingJob& job,
                                            const Topology& topology,
                                            const StepOptions& options,
                                            const StepPerturbation& perturbation);

}  // namespace stepsim
