// SPDX-License-Identifier: Apache-2.0
// File: step_lowering.h
// Lowers one training step of one representative pipeline into a TaskGraph: for each stage,
// its schedule's F/B/W ops become per-layer compute tasks and TP collectives on the stage's
// compute stream; activations and their gradients travel as send/recv tasks between stages;
// gradients are reduced across DP in buckets on a DP stream (after the last micro-batch's
// backward of the bucket's layers when overlapped, after the whole backward otherwise); the
// optimizer step follows; ZeRO adds parameter all-gathers. `StepCosts` is the seam: tests
// fill it by hand (uniform stages, equal F/B/W), the step simulation fills it from a job.
#pragma once

#include "stepsim/workload.h"

#include "pipeline_schedule.h"
#include "task_graph.h"

#include <cstdint>
#include <vector>

namespace stepsim {

/// One layer (or the embedding / the logits) of a model chunk, for one micro-batch on one GPU.
struct LayerWork {
    int layer = kNoLayer;  ///< global layer index, kEmbeddingLayer or kLogitsLayer
    Time forward{0};
    Time backward_input{0};
    Time backward_weight{0};
    Time recompute{0};
    std::vector<TpCollective> forward_collectives;
    std::vector<TpCollective> backward_collectives;
    std::vector<TpCollective> recompute_collectives;
    std::int64_t gradient_bytes = 0;  ///< this GPU's gradient of the layer's weights (DP)
    std::int64_t weight_bytes = 0;    ///< bytes a ZeRO-3 all-gather brings in before use
};

struct StepCosts {
    PipelineShape shape;
    /// p·v model chunks in forward order (virtual stage chunk·p + stage), layers in order.
    std::vector<std::vector<LayerWork>> virtual_stages;
    std::int64_t pipeline_message_bytes = 0;  ///< per micro-batch per TP rank, each direction
    CollectiveOp gradient_op = CollectiveOp::kAllReduce;
    int zero_stage = 0;
    std::int64_t grad_bucket_bytes = 25 * 1024 * 1024;
    bool is_grad_reduce_overlapped = true;
    std::vector<Time> optimizer;                  ///< per stage
    std::vector<std::int64_t> zero_gather_bytes;  ///< per stage, ZeRO 1-2 after the optimizer
    Time data_loader{0};                          ///< at the start of every stage
};

/// Who talks to whom. Stage s is simulated on `stage_ranks[s][0]` (TP rank 0 of DP replica
/// 0); the other TP ranks of the stage are symmetric and appear only as collective peers
/// and as the senders of mirrored traffic.
struct RankGroups {
    std::vector<std::vector<RankId>> stage_ranks;  ///< [stage][tp index], DP replica 0
    /// [stage][tp index]: the DP group of that GPU; [s][0] is the simulated one.
    std::vector<std::vector<std::vector<RankId>>> dp_groups;

    /// Ranks 0..p-1 as p one-GPU stages with no TP and no DP (tests without a topology).
    static RankGroups single_pipeline(int stages);
};

/// Where each pipeline op's tasks are, for the timeline analysis.
struct LoweredOp {
    PipelineOp op;
    TaskId first;  ///< first task on the compute stream
    TaskId last;   ///< last task on the compute stream
};

struct LoweredStep {
    TaskGraph graph;
    std::vector<std::int32_t> compute_streams;  ///< per stage
    std::vector<std::vector<LoweredOp>> ops;    ///< per stage, in execution order
    std::vector<TaskId> optimizer_tasks;        ///< per stage
};

/// Throws std::invalid_argument when the costs and groups do not match the schedule's shape.
LoweredStep lower_step(const StepCosts& costs,
                       const RankGroups& groups,
                       const PipelineSchedule& schedule);

}  // namespace stepsim
