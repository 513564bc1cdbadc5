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

#include "context_parallel.h"
#include "pipeline_schedule.h"
#include "task_graph.h"

#include <cstdint>
#include <vector>

namespace stepsim {

/// How an overlapped TP collective (tp_comm_overlap) runs beside the GEMM it is paired with.
enum class TpOverlapKind : std::uint8_t {
    kNone,          ///< not overlapped: the collective blocks the compute stream
    kGatherBefore,  ///< all-gather feeding a GEMM: chunk j of the GEMM waits for chunk j
    kScatterAfter,  ///< reduce-scatter of a GEMM's output: chunk j follows GEMM chunk j
    kBulk,          ///< runs whole beside an independent GEMM (TE's bulk overlap)
};

/// The GEMM a TP collective is paired with and how (one per collective, same order).
struct TpOverlap {
    TpOverlapKind kind = TpOverlapKind::kNone;
    Time gemm{0};  ///< the partner GEMM's time, part of the op's compute time
};

/// One all-to-all of a MoE layer over the EP group: bytes each member sends in total (own
/// share included) and, for skewed routing, the ep×ep per-pair bytes.
struct EpAllToAll {
    std::int64_t size_bytes = 0;
    std::vector<std::int64_t> pair_bytes;  ///< empty: the even split
};

/// The routed-expert part of a MoE layer (moe_lowering.h): on the compute stream, forward
/// runs dispatch → experts → combine after the layer's own forward; backward runs the
/// gradients' dispatch → experts' B (and W unless split off) → combine before the layer's
/// own backward.
struct MoeWork {
    bool is_moe = false;
    Time forward{0};
    Time backward_input{0};
    Time backward_weight{0};
    EpAllToAll dispatch;
    EpAllToAll combine;
    EpAllToAll backward_dispatch;
    EpAllToAll backward_combine;
};

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
    /// With tp_comm_overlap: one entry per collective above (empty: none overlapped).
    std::vector<TpOverlap> forward_overlaps;
    std::vector<TpOverlap> backward_overlaps;
    std::vector<TpOverlap> recompute_overlaps;
    std::int64_t gradient_bytes = 0;  ///< this GPU's gradient of the layer's weights (DP)
    std::int64_t weight_bytes = 0;    ///< bytes a ZeRO-3 all-gather brings in before use
    /// Context parallelism: the attention blocks (their time is part of forward,
    /// backward_input and recompute above) and the K/V exchange; blocks == 0: none.
    CpAttentionWork cp;
    MoeWork moe;  ///< MoE layers only
};

struct StepCosts {
    PipelineShape shape;
    /// p·v model chunks in forward order (virtual stage chunk·p + stage), layers in order.
    std::vector<std::vector<LayerWork>> virtual_stages;
    std::int64_t pipeline_message_bytes = 0;  ///< per micro-batch per TP rank, each direction
    CollectiveOp gradient_op = CollectiveOp::kAllReduce;
    /// 0-2: gradients reduced in buckets after the last micro-batch's backward (below); 3:
    /// per-layer parameter gathers before every use and per-layer gradient reduce-scatters
    /// after every backward (sim/step/fsdp.h).
    int zero_stage = 0;
    int fsdp_prefetch_layers = 1;  ///< ZeRO-3: gathers allowed ahead of the running layer
    std::int64_t grad_bucket_bytes = 25 * 1024 * 1024;
    bool is_grad_reduce_overlapped = true;
    std::vector<Time> optimizer;                  ///< per stage
    std::vector<std::int64_t> zero_gather_bytes;  ///< per stage, ZeRO 1-2 after the optimizer
    Time data_loader{0};                          ///< at the start of every stage
    /// Pipeline sends run beside compute (overlap_p2p_comm); otherwise each send occupies the
    /// sender's compute stream until it has arrived.
    bool is_p2p_overlapped = true;
    /// Host-side work of the framework's pipeline engine per F or B op, on the compute stream
    /// before the op (0: none).
    Time pipeline_op_overhead{0};
    /// Run on the receiver's compute stream before an op that received a pipeline message
    /// (the all-gather of Megatron's scatter/gather optimization).
    std::vector<TpCollective> receive_collectives;
    /// ZeRO 1-2 (distributed optimizer): the parameter all-gather runs bucket by bucket at the
    /// start of the step, each bucket before its first layer's first forward
    /// (overlap_param_gather), instead of after the optimizer.
    bool is_param_gather_overlapped = false;
    /// GEMM pieces overlapped with a TP all-gather / reduce-scatter run this much slower (the
    /// SMs the communication takes: sm_count / (sm_count − comm SMs)).
    double tp_overlap_ag_slowdown = 1.0;
    double tp_overlap_rs_slowdown = 1.0;
};

/// Who talks to whom. Stage s is simulated on `stage_ranks[s][0]` (TP rank 0 of DP replica
/// 0); the other TP ranks of the stage are symmetric and appear only as collective peers
/// and as the senders of mirrored traffic.
struct RankGroups {
    std::vector<std::vector<RankId>> stage_ranks;  ///< [stage][tp index], DP replica 0, CP rank 0
    /// [stage][tp index]: the gradient group of that GPU (its DP replicas times its CP ranks,
    /// Megatron's data-parallel group with context parallelism); [s][0] is the simulated one.
    std::vector<std::vector<std::vector<RankId>>> dp_groups;
    /// [stage][tp index]: the context-parallel ring of that GPU in ring order, starting with
    /// the GPU itself (one entry without context parallelism). Empty: no CP anywhere.
    std::vector<std::vector<std::vector<RankId>>> cp_rings;
    /// [stage][tp index]: the expert-parallel group of that GPU (ep consecutive DP indices,
    /// the simulated GPU's first); empty without expert parallelism.
    std::vector<std::vector<std::vector<RankId>>> ep_groups;

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

/// Throws InternalError when the costs and groups do not match the schedule's shape.
LoweredStep lower_step(const StepCosts& costs,
                       const RankGroups& groups,
                       const PipelineSchedule& schedule);

}  // namespace stepsim
