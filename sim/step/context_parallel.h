// SPDX-License-Identifier: Apache-2.0
// File: context_parallel.h
// Context parallelism in the task graph: a layer's attention on one context-parallel rank as
// attention blocks on the compute stream and the exchange of keys and values with the other
// ranks. The ring (Megatron-Core / Transformer Engine "p2p"): cp blocks, block i on the K/V
// chunk received i steps ago, while the chunk for block i+1 travels on the context-parallel
// stream; the backward ring carries K/V and the dK/dV accumulated so far, and the dK/dV of the
// chunk returns to its owner after the last block. The all-gather variant (TE "all_gather",
// Llama 3): K/V all-gathered before one attention kernel, dK/dV reduce-scattered after its
// backward, both on the compute stream (not overlapped). docs/models/context-parallel.md.
#pragma once

#include "stepsim/time.h"
#include "stepsim/workload.h"

#include "task_graph.h"

#include <cstdint>

namespace stepsim {

/// A layer's context-parallel attention for one micro-batch on one GPU (blocks == 0: none).
struct CpAttentionWork {
    CpCommType type = CpCommType::kP2p;
    int blocks = 0;          ///< attention kernels per pass: cp (ring) or 1 (all-gather)
    Time forward_block{0};   ///< one block forward; blocks × it is part of LayerWork::forward
    Time backward_block{0};  ///< one block backward; part of LayerWork::backward_input
    std::int64_t kv_chunk_bytes = 0;  ///< K and V of one rank's share of the sequence
    bool is_recomputed = false;       ///< full recompute re-runs the forward attention
};

/// The requests one pass uses (indices into the graph's CommRequests; -1: none).
struct CpPassRequests {
    std::int32_t ring_step = -1;  ///< ring: one step's transfer to the next rank
    std::int32_t ring_tail = -1;  ///< ring backward: dK/dV back to its owner after the last block
    std::int32_t gather = -1;     ///< all-gather: K/V of the whole sequence, before the blocks
    std::int32_t scatter = -1;    ///< all-gather backward: dK/dV reduce-scattered after them
};

/// Where one pass goes.
struct CpLoweringTarget {
    RankId rank;
    std::int32_t compute_stream = -1;
    std::int32_t cp_stream = -1;
};

/// The compute-stream tasks a pass added, first and last.
struct CpLoweredPass {
    TaskId first;
    TaskId last;
};

/// Adds one pass (forward or recompute with `block` = forward_block, backward with
/// backward_block) of `blocks` attention blocks after `after` (the compute-stream task that
/// produced Q, K and V, or their gradients' consumer; may be invalid). Ring: transfer i waits
/// for transfer i−1 (it forwards what that one brought) and for block i−1 (the buffer it
/// overwrites); block i waits for transfer i−1. So with a block of a seconds and a transfer of
/// c seconds a pass takes a + (blocks−1)·max(a, c) (+ the tail transfer backward).
CpLoweredPass lower_cp_pass(TaskGraphBuilder& builder,
                            const CpLoweringTarget& target,
                            const Task& context,
                            ComputeKind kind,
                            Time block,
                            int blocks,
                            const CpPassRequests& requests,
                            TaskId after);

}  // namespace stepsim
