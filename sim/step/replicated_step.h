// SPDX-License-Identifier: Apache-2.0
// File: replicated_step.h
// The one-pipeline lowering copied once per simulated DP replica (ranks, TP groups and
// pipeline messages moved to that replica), with the DP and ZeRO collectives shared: one task
// per bucket that waits for the bucket's ready task in every replica. Used by the perturbed
// step of what-if studies, by `simulate_step()` when DP replicas are not all alike (symmetry
// check, docs/models/training-step.md) and by its exact mode (every replica simulated).
#pragma once

#include "stepsim/training_step.h"

#include "step_executor.h"
#include "step_lowering.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace stepsim {

struct ReplicatedStep {
    LoweredStep lowered;                ///< compute_streams/ops/optimizer: [replica·p + stage]
    std::vector<std::int32_t> replica;  ///< per task: index into the replica list
    std::vector<std::int32_t> stage;    ///< per task: pipeline stage, -1 for none
    std::vector<std::uint32_t> base;    ///< per task: index in the one-pipeline graph
};

/// Copies `base` (lowered for replica 0, TP rank 0) once per replica of `replicas` (distinct,
/// in [0, dp)); TP ranks 0 and `timed_tp_rank` swap places in every copy.
ReplicatedStep replicate_step(const LoweredStep& base,
                              const ParallelLayout& layout,
                              const std::vector<int>& replicas,
                              int timed_tp_rank);

/// Communication of a replicated step. With `is_network_shared` false, each replica's own
/// traffic (pipeline messages; every collective in full fidelity) runs on a network model of
/// its own, so replicas do not contend with each other, as in the folded step where only one
/// replica's traffic is simulated; the shared DP and ZeRO tasks run on the first replica's.
/// With `is_network_shared`, every replica's traffic is on one network model.
/// Uncontended collectives are timed by one memoizing timer (StepOptions::is_memoized_by_shape).
class ReplicaCommunicator final : public TaskCommunicator {
public:
    ReplicaCommunicator(Simulator& sim,
                        const Topology& topology,
                        Router& router,
                        const StepOptions& options,
                        std::size_t replicas,
                        const std::vector<std::int32_t>& replica_of_task,
                        bool is_network_shared);

    void start(const TaskGraph& graph, TaskId id, std::function<void()> on_done) override;

    /// As NetworkCommunicator::precompute_isolated(), for the whole replicated graph.
    void precompute_isolated(const TaskGraph& graph, int threads);

private:
    const std::vector<std::int32_t>& replica_of_task_;
    IsolatedCollectiveTimer isolated_;
    std::vector<std::unique_ptr<NetworkModel>> networks_;
    std::vector<std::unique_ptr<CollectiveExecutor>> executors_;
    std::vector<std::unique_ptr<NetworkCommunicator>> communicators_;
};

}  // namespace stepsim
