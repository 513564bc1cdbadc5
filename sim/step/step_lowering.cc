// SPDX-License-Identifier: Apache-2.0
// File: step_lowering.cc
// StepCosts + RankGroups + a PipelineSchedule -> TaskGraph (see step_lowering.h).
#include "step_lowering.h"

#include "stepsim/error.h"

#include "fsdp.h"
#include "moe_lowering.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>

namespace stepsim {

RankGroups RankGroups::single_pipeline(int stages) {
    RankGroups groups;
    for (int s = 0; s < stages; ++s) {
        const RankId rank(static_cast<std::uint32_t>(s));
        groups.stage_ranks.push_back({rank});
        groups.dp_groups.push_back({{rank}});
    }
    return groups;
}

namespace {

class Lowering {
public:
    Lowering(const StepCosts& costs, const RankGroups& groups, const PipelineSchedule& schedule)
        : costs_(costs)
        , groups_(groups)
        , schedule_(schedule)
        , shape_(costs.shape)
        , fsdp_(builder_, costs.fsdp_prefetch_layers) {
        const int p = shape_.stages;
        const int chunks_total = schedule.virtual_stage_count(shape_);
        if (static_cast<int>(costs.virtual_stages.size()) != chunks_total) {
            throw InternalError("step costs list " + std::to_string(costs.virtual_stages.size()) +
                                " model chunks, the schedule needs " +
                                std::to_string(chunks_total));
        }
        if (static_cast<int>(groups.stage_ranks.size()) != p ||
            static_cast<int>(groups.dp_groups.size()) != p) {
            throw InternalError("rank groups do not cover " + std::to_string(p) + " stages");
        }
        for (int s = 0; s < p; ++s) {
            const auto& tp_ranks = groups.stage_ranks[static_cast<std::size_t>(s)];
            const auto& dp = groups.dp_groups[static_cast<std::size_t>(s)];
            if (tp_ranks.empty() || dp.size() != tp_ranks.size() || dp[0].empty() ||
                dp[0][0] != tp_ranks[0]) {
                throw InternalError("rank groups of stage " + std::to_string(s) +
                                    " are inconsistent");
            }
        }
        if (static_cast<int>(costs.optimizer.size()) != p) {
            throw InternalError("step costs need one optimizer time per stage");
        }
        const std::size_t keys = static_cast<std::size_t>(chunks_total) * shape_.microbatches * 2;
        producer_.assign(keys, TaskId());
    }

    LoweredStep run() {
        const std::vector<std::vector<PipelineOp>> ops = schedule_.build(shape_);
        LoweredStep lowered;
        const int p = shape_.stages;
        lowered.ops.resize(static_cast<std::size_t>(p));
        for (int s = 0; s < p; ++s) {
            const RankId rank = representative(s);
            compute_stream_.push_back(builder_.add_stream(rank, StreamKind::kCompute));
            dp_stream_.push_back(builder_.add_stream(rank, StreamKind::kDataParallel));
            zero_stream_.push_back(builder_.add_stream(rank, StreamKind::kZero));
            tp_stream_.push_back(builder_.add_stream(rank, StreamKind::kTensorParallel));
            cp_stream_.push_back(builder_.add_stream(rank, StreamKind::kContextParallel));
        }
        lowered.compute_streams = compute_stream_;
        for (int s = 0; s < p; ++s) {
            lower_stage(s, ops[static_cast<std::size_t>(s)], lowered);
        }
        for (const auto& [task, key] : needs_) {
            const TaskId producer = producer_[key];
            STEPSIM_CHECK(producer.is_valid(), "pipeline op waits for data nobody sends");
            builder_.add_dependency(task, producer);
        }
        lowered.graph = std::move(builder_).build();
        return lowered;
    }

private:
    /// The attention blocks' share of a pass (forward or backward) of `cp`.
    static Time cp_time(const CpAttentionWork& cp, bool backward) {
        return cp.blocks * (backward ? cp.backward_block : cp.forward_block);
    }

    RankId representative(int stage) const {
        return groups_.stage_ranks[static_cast<std::size_t>(stage)][0];
    }

    int dp_size(int stage) const {
        return static_cast<int>(groups_.dp_groups[static_cast<std::size_t>(stage)][0].size());
    }

    /// Key of the message a virtual stage sends for a micro-batch: direction 0 forward.
    std::size_t message_key(int direction, int vs, int mb) const {
        return (static_cast<std::size_t>(vs) * shape_.microbatches + mb) * 2 + direction;
    }

    std::int32_t tp_request(int stage, const TpCollective& collective) {
        const auto key =
            std::make_tuple(stage, static_cast<int>(collective.op), collective.size_bytes);
        if (const auto it = tp_requests_.find(key); it != tp_requests_.end()) {
            return it->second;
        }
        CommRequest comm;
        comm.request.op = collective.op;
        comm.request.ranks = groups_.stage_ranks[static_cast<std::size_t>(stage)];
        comm.request.size_bytes = collective.size_bytes;
        const std::int32_t index = builder_.add_request(std::move(comm));
        tp_requests_.emplace(key, index);
        return index;
    }

    std::int32_t p2p_request(int from_stage, int to_stage) {
        const auto key = std::make_pair(from_stage, to_stage);
        if (const auto it = p2p_requests_.find(key); it != p2p_requests_.end()) {
            return it->second;
        }
        const auto& from = groups_.stage_ranks[static_cast<std::size_t>(from_stage)];
        const auto& to = groups_.stage_ranks[static_cast<std::size_t>(to_stage)];
        CommRequest comm;
        for (std::size_t t = 0; t < from.size(); ++t) {
            CollectiveRequest request;
            request.op = CollectiveOp::kSendRecv;
            request.ranks = {from[t], to[std::min(t, to.size() - 1)]};
            request.size_bytes = costs_.pipeline_message_bytes;
            if (t == 0) {
                comm.request = std::move(request);
            } else {
                comm.mirrors.push_back(std::move(request));
            }
        }
        const std::int32_t index = builder_.add_request(std::move(comm));
        p2p_requests_.emplace(key, index);
        return index;
    }

    /// The context-parallel ring of TP rank `t` of `stage` (just the GPU without CP).
    const std::vector<RankId>& cp_ring(int stage, std::size_t t) const {
        static const std::vector<RankId> kNone;
        if (groups_.cp_rings.empty()) {
            return kNone;
        }
        return groups_.cp_rings[static_cast<std::size_t>(stage)][t];
    }

    /// A context-parallel exchange of `stage`: a ring step (kSendRecv: every CP rank of every
    /// TP rank sends `size_bytes` to the next, the simulated GPU's send timed, the others
    /// mirrored) or a collective over the CP group of each TP rank.
    std::int32_t cp_request(int stage, CollectiveOp op, std::int64_t size_bytes) {
        const auto key = std::make_tuple(stage, static_cast<int>(op), size_bytes);
        if (const auto it = cp_requests_.find(key); it != cp_requests_.end()) {
            return it->second;
        }
        const auto tps = groups_.stage_ranks[static_cast<std::size_t>(stage)].size();
        CommRequest comm;
        bool first = true;
        for (std::size_t t = 0; t < tps; ++t) {
            const std::vector<RankId>& ring = cp_ring(stage, t);
            STEPSIM_CHECK(ring.size() >= 2, "a context-parallel exchange needs a CP group");
            const std::size_t senders = op == CollectiveOp::kSendRecv ? ring.size() : 1;
            for (std::size_t c = 0; c < senders; ++c) {
                CollectiveRequest request;
                request.op = op;
                request.ranks = op == CollectiveOp::kSendRecv
                                    ? std::vector<RankId>{ring[c], ring[(c + 1) % ring.size()]}
                                    : ring;
                request.size_bytes = size_bytes;
                if (first) {
                    comm.request = std::move(request);
                    first = false;
                } else {
                    comm.mirrors.push_back(std::move(request));
                }
            }
        }
        const std::int32_t index = builder_.add_request(std::move(comm));
        cp_requests_.emplace(key, index);
        return index;
    }

    /// The requests of one context-parallel pass of `layer` (backward: K/V and dK/dV).
    CpPassRequests cp_pass_requests(int stage, const CpAttentionWork& cp, bool backward) {
        CpPassRequests requests;
        const auto ranks = static_cast<std::int64_t>(cp.blocks);
        if (cp.type == CpCommType::kP2p) {
            if (cp.blocks > 1) {
                requests.ring_step = cp_request(stage, CollectiveOp::kSendRecv,
                                                (backward ? 2 : 1) * cp.kv_chunk_bytes);
                if (backward) {
                    requests.ring_tail =
                        cp_request(stage, CollectiveOp::kSendRecv, cp.kv_chunk_bytes);
                }
            }
        } else {
            const auto size = cp_ring(stage, 0).size();
            STEPSIM_CHECK(ranks == 1 && size >= 2, "all-gather CP needs one block and a group");
            const std::int64_t whole = static_cast<std::int64_t>(size) * cp.kv_chunk_bytes;
            requests.gather = cp_request(stage, CollectiveOp::kAllGather, whole);
            if (backward) {
                requests.scatter = cp_request(stage, CollectiveOp::kReduceScatter, whole);
            }
        }
        return requests;
    }

    /// Adds a context-parallel pass after the op's tasks so far.
    void add_cp_pass(int stage,
                     const CpAttentionWork& cp,
                     ComputeKind kind,
                     bool backward,
                     const Task& context) {
        const CpPassRequests requests = cp_pass_requests(stage, cp, backward);
        if (!op_last_.is_valid()) {
            // The pass opens the op: a marker takes the op's incoming data dependency, so the
            // first transfer cannot leave before the op may start.
            add_compute(stage, kind, Time(0), context);
        }
        const CpLoweringTarget target{representative(stage),
                                      compute_stream_[static_cast<std::size_t>(stage)],
                                      cp_stream_[static_cast<std::size_t>(stage)]};
        const CpLoweredPass pass = lower_cp_pass(builder_, target, context, kind,
                                                 backward ? cp.backward_block : cp.forward_block,
                                                 cp.blocks, requests, op_last_);
        if (!op_first_.is_valid()) {
            op_first_ = pass.first;
        }
        op_last_ = pass.last;
    }

    std::int32_t dp_request(int stage, CollectiveOp op, std::int64_t size_bytes) {
        const auto& groups = groups_.dp_groups[static_cast<std::size_t>(stage)];
        CommRequest comm;
        for (std::size_t t = 0; t < groups.size(); ++t) {
            CollectiveRequest request;
            request.op = op;
            request.ranks = groups[t];
            request.size_bytes = size_bytes;
            if (t == 0) {
                comm.request = std::move(request);
            } else {
                comm.mirrors.push_back(std::move(request));
            }
        }
        return builder_.add_request(std::move(comm));
    }

    /// Adds a task on the stage's compute stream and tracks the op's first and last task.
    TaskId add_compute_stream_task(Task task, int stage, std::initializer_list<TaskId> deps = {}) {
        task.rank = representative(stage);
        task.stream = compute_stream_[static_cast<std::size_t>(stage)];
        const TaskId id = builder_.add(task, deps);
        if (!op_first_.is_valid()) {
            op_first_ = id;
        }
        op_last_ = id;
        return id;
    }

    TaskId add_compute(int stage,
                       ComputeKind kind,
                       Time duration,
                       const Task& context,
                       std::initializer_list<TaskId> deps = {}) {
        Task task = context;
        task.kind = TaskKind::kCompute;
        task.compute = kind;
        task.duration = duration;
        return add_compute_stream_task(task, stage, deps);
    }

    /// As add_compute, waiting for the valid ones of `deps`.
    TaskId add_compute_after(int stage,
                             ComputeKind kind,
                             Time duration,
                             const Task& context,
                             const std::vector<TaskId>& deps) {
        Task task = context;
        task.kind = TaskKind::kCompute;
        task.compute = kind;
        task.duration = duration;
        task.rank = representative(stage);
        task.stream = compute_stream_[static_cast<std::size_t>(stage)];
        std::vector<TaskId> valid;
        for (const TaskId d : deps) {
            if (d.is_valid()) {
                valid.push_back(d);
            }
        }
        const TaskId id = builder_.add(task, valid);
        if (!op_first_.is_valid()) {
            op_first_ = id;
        }
        op_last_ = id;
        return id;
    }

    void add_tp_collectives(int stage,
                            const std::vector<TpCollective>& collectives,
                            const Task& context) {
        for (const TpCollective& collective : collectives) {
            Task task = context;
            task.kind = TaskKind::kCollective;
            task.comm = CommKind::kTensorParallel;
            task.request = tp_request(stage, collective);
            add_compute_stream_task(task, stage);
        }
    }

    /// A TP collective on the stage's TP stream (tp_comm_overlap), after `deps`.
    TaskId add_tp_stream_collective(int stage,
                                    const TpCollective& collective,
                                    const Task& context,
                                    std::initializer_list<TaskId> deps) {
        Task task = context;
        task.kind = TaskKind::kCollective;
        task.comm = CommKind::kTensorParallel;
        task.rank = representative(stage);
        task.stream = tp_stream_[static_cast<std::size_t>(stage)];
        task.request = tp_request(stage, collective);
        std::vector<TaskId> valid;
        for (const TaskId d : deps) {
            if (d.is_valid()) {
                valid.push_back(d);
            }
        }
        return builder_.add(task, valid);
    }

    /// The compute of an op with its TP collectives. Without overlap: the compute, then each
    /// collective blocking the compute stream. With tp_comm_overlap: the compute that has no
    /// partner first, then per collective its partner GEMM split in tp chunks, pipelined with
    /// the collective's chunks on the TP stream (an all-gather chunk before the GEMM chunk it
    /// feeds; a reduce-scatter chunk after the GEMM chunk it reduces; a bulk collective beside
    /// the whole GEMM), the GEMM slowed by the SMs the communication takes.
    /// Returns the task after which the op's compute (not its collectives) is done: the main
    /// compute task without overlap, the last GEMM piece with it.
    TaskId add_compute_with_tp(int stage,
                               ComputeKind kind,
                               Time duration,
                               const std::vector<TpCollective>& collectives,
                               const std::vector<TpOverlap>& overlaps,
                               const Task& context,
                               const std::vector<TaskId>& deps) {
        const bool overlapped = !overlaps.empty() && overlaps.size() == collectives.size();
        Time partners{0};
        if (overlapped) {
            for (const TpOverlap& o : overlaps) {
                if (o.kind != TpOverlapKind::kNone) {
                    partners += o.gemm;
                }
            }
        }
        const TaskId main =
            add_compute_after(stage, kind, std::max(Time(0), duration - partners), context, deps);
        if (!overlapped) {
            add_tp_collectives(stage, collectives, context);
            return main;
        }
        const auto chunks =
            static_cast<int>(groups_.stage_ranks[static_cast<std::size_t>(stage)].size());
        for (std::size_t i = 0; i < collectives.size(); ++i) {
            const TpOverlap& o = overlaps[i];
            const TpCollective& whole = collectives[i];
            if (o.kind == TpOverlapKind::kNone || chunks < 2) {
                if (o.kind != TpOverlapKind::kNone) {
                    add_compute(stage, kind, o.gemm, context);
                }
                add_tp_collectives(stage, {whole}, context);
                continue;
            }
            const TpCollective piece{whole.op,
                                     std::max<std::int64_t>(1, whole.size_bytes / chunks)};
            const double slowdown = whole.op == CollectiveOp::kReduceScatter
                                        ? costs_.tp_overlap_rs_slowdown
                                        : costs_.tp_overlap_ag_slowdown;
            const Time gemm_piece = from_seconds(to_seconds(o.gemm) * slowdown / chunks);
            switch (o.kind) {
                case TpOverlapKind::kGatherBefore: {
                    TaskId comm = add_tp_stream_collective(stage, piece, context, {op_last_});
                    for (int j = 0; j < chunks; ++j) {
                        const TaskId before = op_last_;
                        add_compute(stage, kind, gemm_piece, context, {comm});
                        if (j + 1 < chunks) {
                            comm = add_tp_stream_collective(stage, piece, context, {before});
                        }
                    }
                    break;
                }
                case TpOverlapKind::kScatterAfter: {
                    TaskId comm;
                    for (int j = 0; j < chunks; ++j) {
                        const TaskId gemm = add_compute(stage, kind, gemm_piece, context);
                        comm = add_tp_stream_collective(stage, piece, context, {gemm});
                    }
                    add_compute(stage, kind, Time(0), context, {comm});
                    break;
                }
                case TpOverlapKind::kBulk: {
                    const TaskId comm = add_tp_stream_collective(stage, whole, context, {op_last_});
                    add_compute(stage, kind, from_seconds(to_seconds(o.gemm) * slowdown), context);
                    add_compute(stage, kind, Time(0), context, {comm});
                    break;
                }
                case TpOverlapKind::kNone:
                    break;
            }
        }
        return op_last_;
    }

    /// overlap_param_gather: the stage's parameter all-gathers in buckets of the stage's
    /// layers in forward order (chunk by chunk), issued at the start of the step on the ZeRO
    /// stream; each layer's first forward waits for its bucket.
    void add_param_gathers(int s) {
        param_gather_of_layer_.clear();
        const auto& gather_bytes = costs_.zero_gather_bytes;
        if (!costs_.is_param_gather_overlapped ||
            (costs_.zero_stage != 1 && costs_.zero_stage != 2) || dp_size(s) <= 1 ||
            static_cast<std::size_t>(s) >= gather_bytes.size() ||
            gather_bytes[static_cast<std::size_t>(s)] <= 0) {
            return;
        }
        std::vector<const LayerWork*> order;
        std::int64_t layer_bytes = 0;
        for (int c = 0; c < shape_.chunks; ++c) {
            for (const LayerWork& layer : costs_.virtual_stages[static_cast<std::size_t>(
                     schedule_.virtual_stage_of(s, c, shape_))]) {
                order.push_back(&layer);
                layer_bytes += layer.weight_bytes;
            }
        }
        // What the layers do not hold (embedding, output layer, norms) goes with the first.
        std::int64_t pending =
            std::max<std::int64_t>(0, gather_bytes[static_cast<std::size_t>(s)] - layer_bytes);
        std::vector<int> members;
        Task task;
        task.kind = TaskKind::kCollective;
        task.comm = CommKind::kZero;
        task.rank = representative(s);
        task.stream = zero_stream_[static_cast<std::size_t>(s)];
        for (std::size_t i = 0; i < order.size(); ++i) {
            pending += order[i]->weight_bytes;
            members.push_back(order[i]->layer);
            const bool is_last = i + 1 == order.size();
            if (pending > 0 && (pending >= costs_.grad_bucket_bytes || is_last)) {
                task.request = dp_request(s, CollectiveOp::kAllGather, pending);
                const TaskId gather = builder_.add(task, std::vector<TaskId>{});
                for (const int layer : members) {
                    param_gather_of_layer_[layer] = gather;
                }
                members.clear();
                pending = 0;
            }
        }
    }

    /// ZeRO-3: the layer's weights are all-gathered across the gradient group before use
    /// (sim/step/fsdp.h); invalid when the layer has nothing to gather.
    TaskId add_zero3_gather(int stage, const LayerWork& layer, const Task& context) {
        if (costs_.zero_stage != 3 || dp_size(stage) <= 1 || layer.weight_bytes <= 0) {
            return TaskId();
        }
        return fsdp_.gather(context,
                            dp_request(stage, CollectiveOp::kAllGather, layer.weight_bytes));
    }

    /// ZeRO-3: the layer's gradient reduce-scattered right after `ready` produced it.
    void add_zero3_reduce_scatter(int stage,
                                  const Task& context,
                                  std::int64_t gradient_bytes,
                                  TaskId ready) {
        if (costs_.zero_stage != 3 || dp_size(stage) <= 1 || gradient_bytes <= 0) {
            return;
        }
        Task task = context;
        task.virtual_stage = context.virtual_stage;
        fsdp_.reduce_scatter(task, dp_request(stage, CollectiveOp::kReduceScatter, gradient_bytes),
                             ready);
    }

    /// One piece of an op's lowering: compute-stream work (`body`), or one EP all-to-all of
    /// a MoE layer (`exchange`). `slot` names the op it belongs to in a pair.
    struct OpStep {
        int slot = 0;
        const EpAllToAll* exchange = nullptr;
        std::function<void()> body;
        int layer = kNoLayer;  ///< the exchange's layer
        /// Adds no compute-stream task (ZeRO-3 bookkeeping): never waits for an exchange.
        bool is_bookkeeping = false;
    };

    /// What the lowering of one op keeps while its steps run (two ops interleave in a pair).
    struct OpState {
        PipelineOp op;
        std::size_t index = 0;
        int vs = 0;
        Task context;
        TaskId first;
        TaskId last;
        TaskId waiting;      ///< pair mode: the exchange the op's next compute waits for
        TaskId fsdp_gather;  ///< ZeRO-3: the running forward layer's gather
        std::vector<std::pair<TaskId, std::int64_t>> gradients;
    };

    /// The EP stream of `lane` (0: the pair's forward, 1: its backward) on stage `s`, made on
    /// first use (only paired schedules have them).
    std::int32_t ep_stream(int s, int lane) {
        auto& streams = ep_streams_[s];
        if (streams.empty()) {
            streams.push_back(builder_.add_stream(representative(s), StreamKind::kExpertParallel));
            streams.push_back(builder_.add_stream(representative(s), StreamKind::kExpertParallel));
        }
        return streams[static_cast<std::size_t>(lane)];
    }

    /// The steps of `state.op` (slot `slot`) appended to `steps`, in execution order.
    void append_op_steps(int s, int slot, OpState& state, std::vector<OpStep>& steps) {
        const bool split = schedule_.splits_backward();
        const PipelineOp& op = state.op;
        const int vs = state.vs;
        const auto& layers = costs_.virtual_stages[static_cast<std::size_t>(vs)];
        const auto [route_first, route_last] = schedule_.route(op.microbatch, shape_);
        const auto compute = [&](std::function<void()> body) {
            steps.push_back(OpStep{slot, nullptr, std::move(body)});
        };
        const auto moe_steps = [&](const LayerWork& layer, PipelineOpKind kind) {
            for (const MoeTaskSpec& spec : moe_layer_tasks(layer.moe, kind, split)) {
                if (spec.is_exchange) {
                    steps.push_back(OpStep{slot, spec.exchange, {}, layer.layer});
                } else {
                    const int layer_index = layer.layer;
                    compute([this, s, &state, spec, layer_index] {
                        Task context = state.context;
                        context.layer = layer_index;
                        add_compute(s, spec.compute, spec.duration, context);
                    });
                }
            }
        };

        // Host work, then Megatron's scatter/gather: the message arrived split over the TP
        // ranks and is all-gathered before use.
        const bool receives = (op.kind == PipelineOpKind::kForward && vs > route_first) ||
                              (op.kind == PipelineOpKind::kBackward && vs < route_last);
        compute([this, s, &state, receives] {
            if (costs_.pipeline_op_overhead > Time(0) && state.op.kind != PipelineOpKind::kWeight) {
                add_compute(s, ComputeKind::kHostOverhead, costs_.pipeline_op_overhead,
                            state.context);
            }
            if (receives && !costs_.receive_collectives.empty()) {
                add_tp_collectives(s, costs_.receive_collectives, state.context);
            }
        });
        if (op.kind == PipelineOpKind::kForward) {
            const bool first_forward = !chunk_forward_seen_[static_cast<std::size_t>(op.chunk)];
            chunk_forward_seen_[static_cast<std::size_t>(op.chunk)] = true;
            for (const LayerWork& layer : layers) {
                compute([this, s, &state, &layer, first_forward] {
                    Task context = state.context;
                    context.layer = layer.layer;
                    const TaskId gather = add_zero3_gather(s, layer, context);
                    std::vector<TaskId> deps = {gather};
                    if (first_forward) {
                        if (const auto it = param_gather_of_layer_.find(layer.layer);
                            it != param_gather_of_layer_.end()) {
                            deps.push_back(it->second);
                        }
                    }
                    add_compute_with_tp(
                        s, ComputeKind::kForward, layer.forward - cp_time(layer.cp, false),
                        layer.forward_collectives, layer.forward_overlaps, context, deps);
                    if (layer.cp.blocks > 0) {
                        add_cp_pass(s, layer.cp, ComputeKind::kForward, false, context);
                    }
                    state.fsdp_gather = gather;
                });
                moe_steps(layer, PipelineOpKind::kForward);
                steps.push_back(OpStep{slot, nullptr,
                                       [this, &state] {
                                           // The layer (its MoE part included) is done with
                                           // its gathered weights.
                                           if (state.fsdp_gather.is_valid()) {
                                               fsdp_.used(op_last_);
                                           }
                                           state.fsdp_gather = TaskId();
                                       },
                                       kNoLayer, true});
            }
        } else if (op.kind == PipelineOpKind::kBackward) {
            for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
                const LayerWork& layer = *it;

                // What the layer's first step leaves for its last: the ZeRO-3 gather and
                // whether the backward compute still has to wait for it (no recompute ran).
                struct LayerStart {
                    TaskId gather;
                    bool is_gather_pending = true;
                };

                auto start = std::make_shared<LayerStart>();
                compute([this, s, &state, &layer, start] {
                    Task context = state.context;
                    context.layer = layer.layer;
                    start->gather = add_zero3_gather(s, layer, context);
                    start->is_gather_pending = true;
                    if (layer.recompute > Time(0) || !layer.recompute_collectives.empty()) {
                        const bool cp_again = layer.cp.blocks > 0 && layer.cp.is_recomputed;
                        add_compute_with_tp(
                            s, ComputeKind::kRecompute,
                            layer.recompute - (cp_again ? cp_time(layer.cp, false) : Time(0)),
                            layer.recompute_collectives, layer.recompute_overlaps, context,
                            {start->gather});
                        if (cp_again) {
                            add_cp_pass(s, layer.cp, ComputeKind::kRecompute, false, context);
                        }
                        start->is_gather_pending = false;  // the recompute waited for it
                    }
                });
                // The routed experts' backward comes first: they are the layer's end.
                moe_steps(layer, PipelineOpKind::kBackward);
                compute([this, s, &state, &layer, start, split] {
                    Task context = state.context;
                    context.layer = layer.layer;
                    const TaskId gather = start->gather;
                    std::vector<TaskId> deps;
                    if (start->is_gather_pending) {
                        deps.push_back(gather);
                    }
                    const Time duration =
                        split ? layer.backward_input : layer.backward_input + layer.backward_weight;
                    // The attention backward comes first in a layer's backward pass order
                    // here (its blocks, then the rest); the timing does not depend on the order.
                    if (layer.cp.blocks > 0) {
                        if (!deps.empty() && deps[0].is_valid()) {
                            add_compute_after(s, ComputeKind::kBackward, Time(0), context, deps);
                            deps.clear();
                        }
                        add_cp_pass(s, layer.cp, ComputeKind::kBackward, true, context);
                    }
                    // A split-off W leaves no weight-gradient GEMM for the bulk overlaps.
                    static const std::vector<TpOverlap> kNoOverlap;
                    const TaskId backward = add_compute_with_tp(
                        s, ComputeKind::kBackward, duration - cp_time(layer.cp, true),
                        layer.backward_collectives, split ? kNoOverlap : layer.backward_overlaps,
                        context, deps);
                    if (gather.is_valid()) {
                        fsdp_.used(op_last_);
                    }
                    if (!split) {
                        state.gradients.emplace_back(backward, layer.gradient_bytes);
                        add_zero3_reduce_scatter(s, context, layer.gradient_bytes, backward);
                    }
                });
            }
        } else {
            for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
                const LayerWork& layer = *it;
                moe_steps(layer, PipelineOpKind::kWeight);
                compute([this, s, &state, &layer] {
                    Task context = state.context;
                    context.layer = layer.layer;
                    const TaskId weight =
                        add_compute(s, ComputeKind::kWeight, layer.backward_weight, context);
                    state.gradients.emplace_back(weight, layer.gradient_bytes);
                    add_zero3_reduce_scatter(s, context, layer.gradient_bytes, weight);
                });
            }
        }
    }

    /// Runs one step with its op's state as the current op. `lane` >= 0: pair mode, the
    /// exchange goes to that lane's EP stream and the op's next compute waits for it.
    void run_step(int s, const OpStep& step, OpState& state, int lane) {
        op_first_ = state.first;
        op_last_ = state.last;
        if (step.exchange != nullptr) {
            Task task = state.context;
            task.layer = step.layer;
            task.kind = TaskKind::kCollective;
            task.comm = CommKind::kExpertParallel;
            task.request = builder_.add_request(ep_all_to_all_request(groups_, s, *step.exchange));
            if (lane < 0) {
                add_compute_stream_task(task, s);
            } else {
                task.rank = representative(s);
                task.stream = ep_stream(s, lane);
                std::vector<TaskId> deps;
                if (op_last_.is_valid()) {
                    deps.push_back(op_last_);
                }
                const TaskId id = builder_.add(task, deps);
                if (!op_first_.is_valid()) {
                    op_first_ = id;
                }
                op_last_ = id;
                state.waiting = id;
            }
        } else {
            if (lane >= 0 && state.waiting.is_valid() && !step.is_bookkeeping) {
                // The op's compute resumes when its exchange is done.
                const TaskId exchange = state.waiting;
                state.waiting = TaskId();
                add_compute(s, compute_kind_of(state.op.kind), Time(0), state.context, {exchange});
            }
            step.body();
        }
        state.first = op_first_;
        state.last = op_last_;
    }

    static ComputeKind compute_kind_of(PipelineOpKind kind) {
        switch (kind) {
            case PipelineOpKind::kForward:
                return ComputeKind::kForward;
            case PipelineOpKind::kBackward:
                return ComputeKind::kBackward;
            case PipelineOpKind::kWeight:
                return ComputeKind::kWeight;
        }
        return ComputeKind::kForward;
    }

    /// The op's data between stages, its gradients and its LoweredOp, after its steps ran.
    void finish_op(int s,
                   OpState& state,
                   std::vector<std::vector<std::pair<TaskId, std::int64_t>>>& gradient_tasks,
                   std::vector<int>& gradient_position,
                   LoweredStep& lowered) {
        const PipelineOp& op = state.op;
        const int vs = state.vs;
        op_first_ = state.first;
        op_last_ = state.last;
        STEPSIM_CHECK(op_first_.is_valid(), "pipeline op lowered to no tasks");
        const auto [route_first, route_last] = schedule_.route(op.microbatch, shape_);
        if (op.kind == PipelineOpKind::kForward && vs > route_first) {
            needs_.emplace_back(op_first_, message_key(0, vs - 1, op.microbatch));
        }
        if (op.kind == PipelineOpKind::kBackward && vs < route_last) {
            needs_.emplace_back(op_first_, message_key(1, vs + 1, op.microbatch));
        }
        const bool sends_forward = op.kind == PipelineOpKind::kForward && vs < route_last;
        const bool sends_backward = op.kind == PipelineOpKind::kBackward && vs > route_first;
        if (sends_forward || sends_backward) {
            const int to_vs = sends_forward ? vs + 1 : vs - 1;
            const int to_stage = schedule_.stage_of(to_vs, shape_);
            TaskId producer = op_last_;
            if (to_stage != s) {
                Task send = state.context;
                send.layer = kNoLayer;
                send.kind = TaskKind::kSendRecv;
                send.comm = CommKind::kPipeline;
                send.rank = representative(s);
                send.request = p2p_request(s, to_stage);
                if (!costs_.is_p2p_overlapped) {
                    // Batched blocking send/recv: the compute stream waits for it.
                    send.stream = compute_stream_[static_cast<std::size_t>(s)];
                }
                producer = builder_.add(send, {op_last_});
            }
            producer_[message_key(sends_forward ? 0 : 1, vs, op.microbatch)] = producer;
        }
        if (!state.gradients.empty()) {
            gradient_tasks[static_cast<std::size_t>(op.chunk)] = std::move(state.gradients);
            gradient_position[static_cast<std::size_t>(op.chunk)] = static_cast<int>(state.index);
        }
        lowered.ops[static_cast<std::size_t>(s)].push_back(LoweredOp{op, state.first, state.last});
    }

    void lower_stage(int s, const std::vector<PipelineOp>& ops, LoweredStep& lowered) {
        fsdp_.start_stage(representative(s), zero_stream_[static_cast<std::size_t>(s)],
                          dp_stream_[static_cast<std::size_t>(s)]);
        chunk_forward_seen_.assign(static_cast<std::size_t>(shape_.chunks), false);
        // Per local chunk: the tasks that finish each layer's gradient in the latest B/W op of
        // that chunk, and that op's position (buckets follow the order chunks finish).
        std::vector<std::vector<std::pair<TaskId, std::int64_t>>> gradient_tasks(
            static_cast<std::size_t>(shape_.chunks));
        std::vector<int> gradient_position(static_cast<std::size_t>(shape_.chunks), -1);

        if (costs_.data_loader > Time(0)) {
            Task task;
            add_compute(s, ComputeKind::kDataLoader, costs_.data_loader, task);
        }
        add_param_gathers(s);
        const auto make_state = [&](std::size_t index) {
            OpState state;
            state.op = ops[index];
            state.index = index;
            state.vs = schedule_.virtual_stage_of(s, state.op.chunk, shape_);
            state.context.microbatch = state.op.microbatch;
            state.context.virtual_stage = state.vs;
            state.context.pipeline_op = static_cast<std::int32_t>(index);
            return state;
        };
        TaskId backward_end;
        for (std::size_t index = 0; index < ops.size();) {
            const PipelineOp& op = ops[index];
            // A pair: this forward, the backward after it and, when it follows at once, that
            // backward's W.
            std::size_t count = 1;
            if (op.is_paired && index + 1 < ops.size() &&
                ops[index + 1].kind == PipelineOpKind::kBackward) {
                count = 2;
                if (index + 2 < ops.size() && ops[index + 2].kind == PipelineOpKind::kWeight &&
                    ops[index + 2].microbatch == ops[index + 1].microbatch &&
                    ops[index + 2].chunk == ops[index + 1].chunk) {
                    count = 3;
                }
            }
            std::vector<OpState> states;
            for (std::size_t k = 0; k < count; ++k) {
                states.push_back(make_state(index + k));
            }
            if (count == 1) {
                std::vector<OpStep> steps;
                append_op_steps(s, 0, states[0], steps);
                for (const OpStep& step : steps) {
                    run_step(s, step, states[0], -1);
                }
            } else {
                // Lane 0 runs the forward, lane 1 the backward (and its W); the compute stream
                // takes them in turn, switching after each EP exchange, so one op's compute
                // runs while the other's all-to-all is on the network.
                std::vector<OpStep> lanes[2];
                append_op_steps(s, 0, states[0], lanes[0]);
                for (std::size_t k = 1; k < count; ++k) {
                    append_op_steps(s, static_cast<int>(k), states[k], lanes[1]);
                }
                std::size_t next[2] = {0, 0};
                int lane = 0;
                while (next[0] < lanes[0].size() || next[1] < lanes[1].size()) {
                    if (next[lane] >= lanes[lane].size()) {
                        lane = 1 - lane;
                    }
                    // A turn runs the lane's compute up to and including the exchange after
                    // it (exchanges before any compute of the turn do not end it).
                    auto& list = lanes[lane];
                    bool has_computed = false;
                    while (next[lane] < list.size()) {
                        const OpStep& step = list[next[lane]++];
                        const std::size_t before = builder_.size();
                        run_step(s, step, states[static_cast<std::size_t>(step.slot)], lane);
                        if (step.exchange != nullptr && has_computed) {
                            break;
                        }
                        has_computed =
                            has_computed || (step.exchange == nullptr && builder_.size() > before);
                    }
                    lane = 1 - lane;
                }
            }
            for (OpState& state : states) {
                finish_op(s, state, gradient_tasks, gradient_position, lowered);
            }
            backward_end = states.back().last;
            index += count;
        }

        // DP gradient reduction in buckets, chunks in the order their last gradients finish
        // (ZeRO-3 reduce-scattered every layer's gradient already).
        if (dp_size(s) > 1 && costs_.zero_stage != 3) {
            std::vector<int> chunk_order(static_cast<std::size_t>(shape_.chunks));
            for (int c = 0; c < shape_.chunks; ++c) {
                chunk_order[static_cast<std::size_t>(c)] = c;
            }
            std::sort(chunk_order.begin(), chunk_order.end(), [&](int a, int b) {
                return gradient_position[static_cast<std::size_t>(a)] <
                       gradient_position[static_cast<std::size_t>(b)];
            });
            Task context;
            context.kind = TaskKind::kCollective;
            context.comm = CommKind::kDataParallel;
            context.rank = representative(s);
            context.stream = dp_stream_[static_cast<std::size_t>(s)];
            for (const int c : chunk_order) {
                context.virtual_stage = schedule_.virtual_stage_of(s, c, shape_);
                std::int64_t bucket_bytes = 0;
                TaskId ready;
                const auto& list = gradient_tasks[static_cast<std::size_t>(c)];
                for (std::size_t i = 0; i < list.size(); ++i) {
                    bucket_bytes += list[i].second;
                    ready = list[i].first;
                    const bool is_last = i + 1 == list.size();
                    if (bucket_bytes > 0 && (bucket_bytes >= costs_.grad_bucket_bytes || is_last)) {
                        context.request = dp_request(s, costs_.gradient_op, bucket_bytes);
                        builder_.add(context,
                                     {costs_.is_grad_reduce_overlapped ? ready : backward_end});
                        bucket_bytes = 0;
                    }
                }
            }
        }
        Task optimizer;
        const TaskId last_dp = builder_.last_on_stream(dp_stream_[static_cast<std::size_t>(s)]);
        const TaskId optimizer_task =
            last_dp.is_valid()
                ? add_compute(s, ComputeKind::kOptimizer,
                              costs_.optimizer[static_cast<std::size_t>(s)], optimizer, {last_dp})
                : add_compute(s, ComputeKind::kOptimizer,
                              costs_.optimizer[static_cast<std::size_t>(s)], optimizer);
        lowered.optimizer_tasks.push_back(optimizer_task);
        if ((costs_.zero_stage == 1 || costs_.zero_stage == 2) && dp_size(s) > 1 &&
            !costs_.is_param_gather_overlapped &&
            static_cast<std::size_t>(s) < costs_.zero_gather_bytes.size() &&
            costs_.zero_gather_bytes[static_cast<std::size_t>(s)] > 0) {
            Task gather;
            gather.kind = TaskKind::kCollective;
            gather.comm = CommKind::kZero;
            gather.rank = representative(s);
            gather.stream = zero_stream_[static_cast<std::size_t>(s)];
            gather.request = dp_request(s, CollectiveOp::kAllGather,
                                        costs_.zero_gather_bytes[static_cast<std::size_t>(s)]);
            builder_.add(gather, {optimizer_task});
        }
    }

    const StepCosts& costs_;
    const RankGroups& groups_;
    const PipelineSchedule& schedule_;
    PipelineShape shape_;
    TaskGraphBuilder builder_;
    std::vector<std::int32_t> compute_stream_;
    std::vector<std::int32_t> dp_stream_;
    std::vector<std::int32_t> zero_stream_;
    std::vector<std::int32_t> tp_stream_;
    std::vector<std::int32_t> cp_stream_;
    /// overlap_param_gather: per global layer index (embedding and logits by their ids), the
    /// all-gather its first forward waits for, for the stage being lowered.
    std::map<int, TaskId> param_gather_of_layer_;
    std::vector<bool> chunk_forward_seen_;
    std::map<int, std::vector<std::int32_t>> ep_streams_;  ///< per stage, made on first use
    std::vector<TaskId> producer_;                         ///< by message_key
    std::vector<std::pair<TaskId, std::size_t>> needs_;    ///< (task, message_key)
    std::map<std::tuple<int, int, std::int64_t>, std::int32_t> tp_requests_;
    std::map<std::pair<int, int>, std::int32_t> p2p_requests_;
    std::map<std::tuple<int, int, std::int64_t>, std::int32_t> cp_requests_;
    FsdpLowering fsdp_;  ///< ZeRO-3 gathers and reduce-scatters of the stage being lowered
    TaskId op_first_;
    TaskId op_last_;
};

}  // namespace

LoweredStep lower_step(const StepCosts& costs,
                       const RankGroups& groups,
                       const PipelineSchedule& schedule) {
    Lowering lowering(costs, groups, schedule);
    return lowering.run();
}

}  // namespace stepsim
