// SPDX-License-Identifier: Apache-2.0
// File: step_symmetry.h
// Which DP replicas of a job the step simulation may fold into one (docs/models/training-step.md,
// "Symmetry"). Replicas are alike when every GPU of one has the same route colour (colour
// refinement of the cluster, detail::route_colors()) as the GPU at the same (TP, stage) position
// of the other, and their pipeline messages (TP rank 0, the ones simulated) take routes with the
// same latency, hop count and per-hop link bandwidth, latency and kind. Replicas that differ are
// simulated each (one per class of alike replicas). Not compared: which links two messages of
// one replica share after ECMP hashing, and the TP groups' pairwise routes beyond what the
// colours capture; `--exact` simulates every replica and is the check of both.
#pragma once

#include "stepsim/topology.h"
#include "stepsim/workload.h"

#include "step_executor.h"

#include <vector>

namespace stepsim {

struct ReplicaClasses {
    /// The lowest replica of each class, ascending; class 0 holds replica 0.
    std::vector<int> representatives;
    /// weights[i]: how many replicas representatives[i] stands for (sum = dp).
    std::vector<int> weights;
};

/// Classes of alike DP replicas. Routes come from `router`; before the messages into stage s
/// are routed, `isolated` keys stage s's DP group (TP rank 0), so that the shape key and the
/// routes read the same destination tables while they are cached (one Dijkstra per
/// destination GPU, not two).
ReplicaClasses replica_classes(const ParallelLayout& layout,
                               const Topology& topology,
                               Router& router,
                               IsolatedCollectiveTimer& isolated);

}  // namespace stepsim
