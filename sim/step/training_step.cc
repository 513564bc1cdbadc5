// SPDX-License-Identifier: Apache-2.0
// File: training_step.cc
// simulate_step(): TrainingJob -> StepCosts and RankGroups -> TaskGraph -> timeline on a
// Simulator -> StepResult, with the closed-form estimates beside the simulated figures.
#include "stepsim/training_step.h"

#include "stepsim/analytic.h"
#include "stepsim/error.h"

#include "moe_lowering.h"
#include "pipeline_schedule.h"
#include "replicated_step.h"
#include "step_analysis.h"
#include "step_executor.h"
#include "step_inputs.h"
#include "step_lowering.h"
#include "step_symmetry.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>

namespace stepsim {

std::string_view to_string(StepFidelity fidelity) {
    return fidelity == StepFidelity::kFull ? "full" : "fast";
}

namespace {

Time duration_of(const GpuSpec& gpu, const WorkAmount& work) {
    return from_seconds(compute_time_s(gpu, work));
}

int chunks_of(const TrainingJob& job) {
    switch (job.layout.schedule) {
        case PipelineScheduleKind::kInterleaved:
            return std::max(1, job.layout.virtual_stages);
        case PipelineScheduleKind::kDualPipe:
        case PipelineScheduleKind::kDualPipeV:
            return 2;
        default:
            return 1;
    }
}

/// The model chunk (index into chunk_layers()) of virtual stage `vs`: DualPipe's second copy
/// repeats the first's chunks.
int model_chunk_of(const TrainingJob& job, int vs) {
    return job.layout.schedule == PipelineScheduleKind::kDualPipe ? vs % job.layout.pp : vs;
}

/// Micro-batches of the step that run through virtual stage `vs`.
int visits_of(const PipelineSchedule& schedule, const PipelineShape& shape, int vs) {
    int visits = 0;
    for (int mb = 0; mb < shape.microbatches; ++mb) {
        const auto [first, last] = schedule.route(mb, shape);
        visits += vs >= first && vs <= last ? 1 : 0;
    }
    return visits;
}

/// Bytes per gradient element in the DP reduction.
std::int64_t gradient_element_bytes(const TrainingJob& job) {
    return job.training.gradient_precision == GradientPrecision::kFp32 ? 4 : 2;
}

/// Time of the GEMMs called `name` in `work` (their launch overheads included).
Time gemm_time(const GpuSpec& gpu, const WorkAmount& work, std::string_view name) {
    WorkAmount part;
    for (const Kernel& kernel : work.kernels) {
        if (kernel.kind == KernelKind::kGemm && kernel.name == name) {
            part.add(kernel);
        }
    }
    return part.kernels.empty() ? Time(0) : duration_of(gpu, part);
}

struct TpOverlapPlan {
    bool active = false;
    std::vector<TpOverlap> forward;
    std::vector<TpOverlap> backward;
    std::vector<TpOverlap> recompute;
};

/// tp_comm_overlap with sequence parallelism (Transformer Engine's defaults, reference in
/// docs/models/training-step.md): forward, the all-gathers feed QKV and fc1 (ring exchange)
/// and the reduce-scatters follow the projection and fc2 (pipelined); backward, the
/// all-gathers feed the fc2 and projection input-gradient GEMMs and the reduce-scatters run
/// in bulk beside the fc1 and QKV weight-gradient GEMMs.
TpOverlapPlan tp_overlap_plan(const TrainingJob& job, const LayerCosts& layer) {
    TpOverlapPlan plan;
    const ParallelLayout& l = job.layout;
    if (!l.is_tp_comm_overlapped || !l.is_sequence_parallel || l.tp < 2 ||
        layer.forward_collectives.size() != 4 || layer.backward_collectives.size() != 4) {
        return plan;
    }
    plan.active = true;
    const GpuSpec& gpu = job.gpu;
    using K = TpOverlapKind;
    plan.forward = {{K::kGatherBefore, gemm_time(gpu, layer.forward, "qkv")},
                    {K::kScatterAfter, gemm_time(gpu, layer.forward, "proj")},
                    {K::kGatherBefore, gemm_time(gpu, layer.forward, "fc1")},
                    {K::kScatterAfter, gemm_time(gpu, layer.forward, "fc2")}};
    plan.backward = {{K::kGatherBefore, gemm_time(gpu, layer.backward_input, "fc2")},
                     {K::kBulk, gemm_time(gpu, layer.backward_weight, "fc1")},
                     {K::kGatherBefore, gemm_time(gpu, layer.backward_input, "proj")},
                     {K::kBulk, gemm_time(gpu, layer.backward_weight, "qkv")}};
    if (layer.recompute_collectives.size() == 4) {
        plan.recompute = plan.forward;
    }
    return plan;
}

/// One block of context parallelism's attention: the time of one launch of the layer's
/// attention kernel in `work` (0 when it has none).
Time attention_block_time(const GpuSpec& gpu, const WorkAmount& work) {
    for (const Kernel& kernel : work.kernels) {
        if (kernel.kind == KernelKind::kAttention) {
            Kernel one = kernel;
            one.repeat = 1.0;
            WorkAmount block;
            block.add(one);
            return duration_of(gpu, block);
        }
    }
    return Time(0);
}

/// Context parallelism of every layer (blocks 0 without it).
CpAttentionWork cp_attention_work(const TrainingJob& job, const LayerCosts& layer) {
    CpAttentionWork cp;
    if (layer.cp.ranks <= 1) {
        return cp;
    }
    cp.type = layer.cp.type;
    cp.blocks = layer.cp.blocks;
    cp.forward_block = attention_block_time(job.gpu, layer.forward);
    cp.backward_block = attention_block_time(job.gpu, layer.backward_input);
    cp.kv_chunk_bytes = layer.cp.kv_chunk_bytes;
    cp.is_recomputed = job.training.recompute == Recompute::kFull;
    return cp;
}

StepCosts build_step_costs(const TrainingJob& job) {
    const ParallelLayout& layout = job.layout;
    const int p = layout.pp;
    const int v = chunks_of(job);
    StepCosts costs;
    costs.shape = PipelineShape{p, static_cast<int>(microbatches(job)), v};
    ParallelLayout chunk_layout = layout;
    chunk_layout.virtual_stages = v;
    const std::vector<int> layers_per_chunk = chunk_layers(job.model, chunk_layout);
    STEPSIM_CHECK(static_cast<int>(layers_per_chunk.size()) == model_chunk_count(chunk_layout),
                  "chunk_layers returned the wrong number of chunks");
    const std::unique_ptr<PipelineSchedule> schedule = make_pipeline_schedule(layout.schedule);
    const int virtual_stage_count = schedule->virtual_stage_count(costs.shape);
    std::vector<int> first_layer(layers_per_chunk.size() + 1, 0);
    for (std::size_t c = 0; c < layers_per_chunk.size(); ++c) {
        first_layer[c + 1] = first_layer[c] + layers_per_chunk[c];
    }
    const EdgeCosts edge = edge_costs(job);
    const GpuSpec& gpu = job.gpu;
    // ep_comm_sms: the compute runs on the SMs the EP all-to-all kernels leave.
    const double sm_slowdown =
        layout.ep_comm_sms > 0 && gpu.sm_count > layout.ep_comm_sms
            ? static_cast<double>(gpu.sm_count) / (gpu.sm_count - layout.ep_comm_sms)
            : 1.0;
    const auto compute_duration = [&](const WorkAmount& work) {
        const Time time = duration_of(gpu, work);
        return sm_slowdown == 1.0 ? time : from_seconds(to_seconds(time) * sm_slowdown);
    };
    // Per kind of layer (dense, MoE): its costs as LayerWork (without index and bytes).
    const auto layer_work_of = [&](int index) {
        const LayerCosts layer = layer_costs(job, index);
        const TpOverlapPlan overlaps = tp_overlap_plan(job, layer);
        LayerWork work;
        work.forward = compute_duration(layer.forward);
        work.backward_input = compute_duration(layer.backward_input);
        work.backward_weight = compute_duration(layer.backward_weight);
        work.recompute = compute_duration(layer.recompute);
        work.forward_collectives = layer.forward_collectives;
        work.backward_collectives = layer.backward_collectives;
        work.recompute_collectives = layer.recompute_collectives;
        work.forward_overlaps = overlaps.forward;
        work.backward_overlaps = overlaps.backward;
        work.recompute_overlaps = overlaps.recompute;
        work.cp = cp_attention_work(job, layer);
        if (layer.is_moe) {
            const MoeCosts& moe = layer.moe;
            work.moe.is_moe = true;
            work.moe.forward = compute_duration(moe.forward);
            work.moe.backward_input = compute_duration(moe.backward_input);
            work.moe.backward_weight = compute_duration(moe.backward_weight);
            if (layout.ep > 1) {
                work.moe.dispatch = {moe.dispatch_bytes, moe.dispatch_pairs};
                work.moe.combine = {moe.combine_bytes, moe.combine_pairs};
                work.moe.backward_dispatch = {moe.backward_dispatch_bytes,
                                              moe.backward_dispatch_pairs};
                work.moe.backward_combine = {moe.backward_combine_bytes,
                                             moe.backward_combine_pairs};
            }
        }
        return work;
    };
    const LayerWork dense_work = layer_work_of(0);
    const LayerWork moe_work =
        job.model.moe_layer_count() > 0 ? layer_work_of(job.model.layers - 1) : dense_work;
    const std::int64_t layer_params_per_gpu =
        layer_parameter_count(job.model) / std::max(1, layout.tp);

    // Gradient bytes per layer: the stage's gradient bytes shared by parameter count; what the
    // layers do not account for (embedding, logits, final norm) goes to the edge work.
    std::vector<std::int64_t> stage_layer_gradient(static_cast<std::size_t>(p));
    std::vector<std::int64_t> stage_remainder(static_cast<std::size_t>(p));
    for (int s = 0; s < p; ++s) {
        const std::int64_t total = stage_gradient_bytes(job, s);
        const std::int64_t params = std::max<std::int64_t>(1, stage_parameter_count(job, s));
        const int layers = stage_layers(job.model, chunk_layout, s);
        const auto per_layer = static_cast<std::int64_t>(static_cast<double>(total) *
                                                         static_cast<double>(layer_params_per_gpu) /
                                                         static_cast<double>(params));
        const std::int64_t layer_bytes = std::min(per_layer, layers > 0 ? total / layers : 0);
        stage_layer_gradient[static_cast<std::size_t>(s)] = layer_bytes;
        stage_remainder[static_cast<std::size_t>(s)] = total - layer_bytes * layers;
    }

    const int last_chunk = static_cast<int>(layers_per_chunk.size()) - 1;
    for (int vs = 0; vs < virtual_stage_count; ++vs) {
        const int stage = schedule->stage_of(vs, costs.shape);
        const int chunk = model_chunk_of(job, vs);
        int next_layer = first_layer[static_cast<std::size_t>(chunk)];
        std::vector<LayerWork> works;
        if (chunk == 0) {
            LayerWork embedding;
            embedding.layer = kEmbeddingLayer;
            embedding.forward = compute_duration(edge.embedding_forward);
            embedding.backward_weight = compute_duration(edge.embedding_backward);
            works.push_back(embedding);
        }
        for (int i = 0; i < layers_per_chunk[static_cast<std::size_t>(chunk)]; ++i) {
            const bool is_moe = job.model.is_moe_layer(next_layer);
            LayerWork work = is_moe ? moe_work : dense_work;
            work.layer = next_layer++;
            work.gradient_bytes = stage_layer_gradient[static_cast<std::size_t>(stage)];
            work.weight_bytes = layer_params_per_gpu * 2;
            works.push_back(std::move(work));
        }
        if (chunk == last_chunk) {
            LayerWork logits;
            logits.layer = kLogitsLayer;
            logits.forward = compute_duration(edge.logits_forward);
            logits.backward_input = compute_duration(edge.logits_backward_input);
            logits.backward_weight = compute_duration(edge.logits_backward_weight);
            works.push_back(logits);
        }
        costs.virtual_stages.push_back(std::move(works));
    }
    // The remainder of each stage's gradient rides with its first chunk's first work item
    // (the embedding on stage 0, the logits come last in forward order on stage p-1).
    for (int s = 0; s < p; ++s) {
        std::vector<LayerWork>& works = costs.virtual_stages[static_cast<std::size_t>(s)];
        LayerWork& target = (s == p - 1 && s > 0 && v == 1) ? works.back() : works.front();
        target.gradient_bytes += stage_remainder[static_cast<std::size_t>(s)];
    }

    costs.pipeline_message_bytes = pipeline_message_bytes(job);
    costs.is_p2p_overlapped = layout.is_p2p_overlapped;
    if (layout.pp > 1) {
        costs.pipeline_op_overhead = from_seconds(job.training.pipeline_op_overhead_s);
    }
    if (layout.tp > 1 && !layout.is_sequence_parallel && layout.is_p2p_scatter_gather) {
        // Each TP rank sends 1/tp of the activation; the receivers all-gather it (NVLink).
        costs.pipeline_message_bytes = pipeline_message_bytes(job) / layout.tp;
        costs.receive_collectives = {{CollectiveOp::kAllGather, pipeline_message_bytes(job)}};
    }
    costs.is_param_gather_overlapped = layout.is_param_gather_overlapped;
    if (tp_overlap_plan(job, layer_costs(job)).active && gpu.sm_count > 0) {
        const auto slowdown = [&](int sms) {
            return sms < gpu.sm_count ? static_cast<double>(gpu.sm_count) / (gpu.sm_count - sms)
                                      : 1.0;
        };
        costs.tp_overlap_ag_slowdown = slowdown(layout.tp_comm_overlap_ag_sms);
        costs.tp_overlap_rs_slowdown = slowdown(layout.tp_comm_overlap_rs_sms);
    }
    costs.gradient_op =
        layout.zero_stage >= 2 ? CollectiveOp::kReduceScatter : CollectiveOp::kAllReduce;
    costs.zero_stage = layout.zero_stage;
    costs.fsdp_prefetch_layers = layout.fsdp_prefetch_layers;
    costs.grad_bucket_bytes = std::max<std::int64_t>(1, layout.grad_bucket_bytes);
    costs.is_grad_reduce_overlapped = layout.is_grad_reduce_overlapped;
    costs.data_loader = from_seconds(job.training.data_loader_s);
    for (int s = 0; s < p; ++s) {
        // Adam on this GPU's shard: read and write fp32 master weights and two moments
        // (24 bytes), read the gradient, write the bf16 weights (2 bytes); memory-bound.
        const std::int64_t params = stage_parameter_count(job, s);
        const std::int64_t shard =
            layout.zero_stage >= 1 ? params / layout.gradient_group_size() : params;
        WorkAmount adam;
        Kernel step;
        step.kind = KernelKind::kMemory;
        step.name = "optimizer";
        step.bytes =
            static_cast<double>(shard) * static_cast<double>(24 + gradient_element_bytes(job) + 2);
        adam.add(step);
        costs.optimizer.push_back(compute_duration(adam));
        costs.zero_gather_bytes.push_back(params * 2);
    }
    return costs;
}

/// Per stage, the kernels one of its GPUs runs in a step: every micro-batch's forward,
/// backward (B and W) and recompute of its chunks' layers, the embedding and the logits where
/// they are, and the optimizer step.
std::vector<KernelTiming> stage_kernel_timings(const TrainingJob& job, const StepCosts& costs) {
    const int p = job.layout.pp;
    const int v = costs.shape.chunks;
    ParallelLayout chunk_layout = job.layout;
    chunk_layout.virtual_stages = v;
    const std::vector<int> layers_per_chunk = chunk_layers(job.model, chunk_layout);
    const EdgeCosts edge = edge_costs(job);
    const GpuSpec& gpu = job.gpu;
    const auto timing_of = [&](int index) {
        const LayerCosts layer = layer_costs(job, index);
        KernelTiming timing = time_work(gpu, layer.forward) + time_work(gpu, layer.backward_input) +
                              time_work(gpu, layer.backward_weight) +
                              time_work(gpu, layer.recompute);
        if (layer.is_moe) {
            timing += time_work(gpu, layer.moe.forward) + time_work(gpu, layer.moe.backward_input) +
                      time_work(gpu, layer.moe.backward_weight);
        }
        return timing;
    };
    const KernelTiming dense_layer = timing_of(0);
    const KernelTiming moe_layer =
        job.model.moe_layer_count() > 0 ? timing_of(job.model.layers - 1) : dense_layer;
    std::vector<KernelTiming> stages(static_cast<std::size_t>(p));
    const std::unique_ptr<PipelineSchedule> schedule = make_pipeline_schedule(job.layout.schedule);
    std::vector<int> first_layer(layers_per_chunk.size() + 1, 0);
    for (std::size_t c = 0; c < layers_per_chunk.size(); ++c) {
        first_layer[c + 1] = first_layer[c] + layers_per_chunk[c];
    }
    const int last_chunk = static_cast<int>(layers_per_chunk.size()) - 1;
    for (int vs = 0; vs < schedule->virtual_stage_count(costs.shape); ++vs) {
        KernelTiming& t = stages[static_cast<std::size_t>(schedule->stage_of(vs, costs.shape))];
        const int chunk = model_chunk_of(job, vs);
        // This virtual stage's share of the step's micro-batches (DualPipe: half each copy).
        const double m = visits_of(*schedule, costs.shape, vs);
        int next_layer = first_layer[static_cast<std::size_t>(chunk)];
        int dense_count = 0;
        int moe_count = 0;
        for (int i = 0; i < layers_per_chunk[static_cast<std::size_t>(chunk)]; ++i) {
            ++(job.model.is_moe_layer(next_layer++) ? moe_count : dense_count);
        }
        if (dense_count > 0) {
            t += (m * dense_count) * dense_layer;
        }
        if (moe_count > 0) {
            t += (m * moe_count) * moe_layer;
        }
        if (chunk == 0) {
            t += m *
                 (time_work(gpu, edge.embedding_forward) + time_work(gpu, edge.embedding_backward));
        }
        if (chunk == last_chunk) {
            t += m *
                 (time_work(gpu, edge.logits_forward) + time_work(gpu, edge.logits_backward_input) +
                  time_work(gpu, edge.logits_backward_weight));
        }
    }
    for (int s = 0; s < p; ++s) {
        const std::int64_t params = stage_parameter_count(job, s);
        const std::int64_t shard =
            job.layout.zero_stage >= 1 ? params / job.layout.gradient_group_size() : params;
        WorkAmount adam;
        Kernel step;
        step.kind = KernelKind::kMemory;
        step.name = "optimizer";
        step.bytes =
            static_cast<double>(shard) * static_cast<double>(24 + gradient_element_bytes(job) + 2);
        adam.add(step);
        stages[static_cast<std::size_t>(s)] += time_work(gpu, adam);
    }
    return stages;
}

RankGroups build_rank_groups(const ParallelLayout& layout) {
    RankGroups groups;
    const auto rank = [&](int t, int d, int s, int c) {
        return RankId(static_cast<std::uint32_t>(rank_of(layout, {t, d, s, c})));
    };
    for (int s = 0; s < layout.pp; ++s) {
        std::vector<RankId> stage_ranks;
        std::vector<std::vector<RankId>> dp_groups;
        std::vector<std::vector<RankId>> cp_rings;
        std::vector<std::vector<RankId>> ep_groups;
        for (int t = 0; t < layout.tp; ++t) {
            stage_ranks.push_back(rank(t, 0, s, 0));
            // The gradient group: every DP replica's every CP rank, in global rank order
            // (DP replica 0, CP rank 0 first: the simulated GPU).
            std::vector<RankId> dp_group;
            for (int d = 0; d < layout.dp; ++d) {
                for (int c = 0; c < layout.cp; ++c) {
                    dp_group.push_back(rank(t, d, s, c));
                }
            }
            std::sort(dp_group.begin() + 1, dp_group.end());
            if (layout.ep > 1) {
                // DP replica 0's EP group: the first ep DP indices (CP rank 0).
                std::vector<RankId> ep_group;
                for (int d = 0; d < layout.ep; ++d) {
                    ep_group.push_back(rank(t, d, s, 0));
                }
                ep_groups.push_back(std::move(ep_group));
            }
            dp_groups.push_back(std::move(dp_group));
            std::vector<RankId> ring;
            for (int c = 0; c < layout.cp; ++c) {
                ring.push_back(rank(t, 0, s, c));
            }
            cp_rings.push_back(std::move(ring));
        }
        groups.stage_ranks.push_back(std::move(stage_ranks));
        groups.dp_groups.push_back(std::move(dp_groups));
        if (layout.cp > 1) {
            groups.cp_rings.push_back(std::move(cp_rings));
        }
        groups.ep_groups.push_back(std::move(ep_groups));
    }
    return groups;
}

/// α–β closed form of one collective on the topology: α = the slowest route latency between
/// ring neighbours, β = 1 / the narrowest bottleneck among them, γ from the options or the
/// GPU's HBM (3 bytes of traffic per byte reduced).
class ClosedForms {
public:
    ClosedForms(const Topology& topology, const GpuSpec& gpu, const CollectiveOptions& options)
        : topology_(topology)
        , router_(topology) {
        gamma_s_per_byte_ = options.gamma_s_per_byte >= 0 ? options.gamma_s_per_byte
                            : gpu.hbm_Bps > 0             ? 3.0 / gpu.hbm_Bps
                                                          : 0.0;
    }

    double time_s(const CollectiveRequest& request) {
        const std::size_t n = request.ranks.size();
        if (n < 2) {
            return 0.0;
        }
        analytic::CollectiveCost cost;
        double bottleneck_Bps = 0;
        for (std::size_t i = 0; i < n; ++i) {
            if (request.op == CollectiveOp::kSendRecv && i > 0) {
                break;
            }
            const Route& route = router_.route(topology_.gpu(request.ranks[i]),
                                               topology_.gpu(request.ranks[(i + 1) % n]));
            cost.alpha_s = std::max(cost.alpha_s, to_seconds(route.latency));
            if (bottleneck_Bps == 0 || route.bottleneck_Bps < bottleneck_Bps) {
                bottleneck_Bps = route.bottleneck_Bps;
            }
        }
        cost.beta_s_per_byte =
            bottleneck_Bps > 0 && std::isfinite(bottleneck_Bps) ? 1.0 / bottleneck_Bps : 0.0;
        cost.gamma_s_per_byte = gamma_s_per_byte_;
        const auto size = static_cast<double>(request.size_bytes);
        const auto ranks = static_cast<std::int64_t>(n);
        switch (request.op) {
            case CollectiveOp::kAllReduce:
                return analytic::ring_all_reduce_time_s(ranks, size, cost);
            case CollectiveOp::kReduceScatter:
                return analytic::ring_reduce_scatter_time_s(ranks, size, cost);
            case CollectiveOp::kAllGather:
                return analytic::ring_all_gather_time_s(ranks, size, cost);
            case CollectiveOp::kSendRecv:
                return analytic::send_recv_time_s(size, cost);
            default:
                return analytic::ring_all_reduce_time_s(ranks, size, cost);
        }
    }

    /// The predicted time of the algorithm `auto` picks (all-to-all: direct, pairwise or
    /// hierarchical_alltoall by their closed forms).
    double auto_time_s(const CollectiveRequest& request) {
        if (request.ranks.size() < 2) {
            return 0.0;
        }
        CollectiveOptions options;
        options.gamma_s_per_byte = gamma_s_per_byte_;
        const GroupCosts costs = group_costs(request, topology_, router_, options);
        return choose_collective_algorithm(request, topology_, costs, options).predicted_time_s;
    }

private:
    const Topology& topology_;
    Router router_;
    double gamma_s_per_byte_ = 0;
};

double seconds(Time t) {
    return to_seconds(t);
}

std::string stream_name(const Task& task, const TaskGraph& graph) {
    if (task.stream >= 0) {
        return std::string(to_string(graph.streams()[static_cast<std::size_t>(task.stream)].kind));
    }
    return task.kind == TaskKind::kSendRecv ? "pp" : "other";
}

StepEstimate make_estimate(std::string name,
                           double simulated_s,
                           double closed_form_s,
                           std::string formula,
                           std::string explanation) {
    StepEstimate e;
    e.name = std::move(name);
    e.simulated_s = simulated_s;
    e.closed_form_s = closed_form_s;
    e.difference_s = simulated_s - closed_form_s;
    e.closed_form = std::move(formula);
    e.explanation = std::move(explanation);
    return e;
}

}  // namespace

StepResult simulate_step(const TrainingJob& job,
                         const Topology& topology,
                         const StepOptions& options) {
    const ParallelLayout& layout = job.layout;
    detail::check_world_size(job, topology);
    const StepCosts costs = build_step_costs(job);
    const RankGroups groups = build_rank_groups(layout);
    const std::unique_ptr<PipelineSchedule> schedule = make_pipeline_schedule(layout.schedule);
    const LoweredStep lowered = lower_step(costs, groups, *schedule);

    // Which DP replicas are simulated: one standing for all (folded) when they are alike,
    // one per class of alike replicas otherwise, every one with is_exact.
    StepOptions run_options = options;
    std::vector<int> replicas{0};
    std::vector<int> weights{layout.dp};
    Simulator sim(0);
    Router router(topology);
    IsolatedCollectiveTimer isolated(topology, router, options.network, options.collective,
                                     options.is_memoized_by_shape && !options.is_exact,
                                     options.is_pipeline_extrapolated && !options.is_exact);
    if (options.is_exact) {
        run_options.is_memoized_by_shape = false;
        replicas.resize(static_cast<std::size_t>(layout.dp));
        std::iota(replicas.begin(), replicas.end(), 0);
        weights.assign(replicas.size(), 1);
    } else if (!options.is_communication_free && layout.ep == 1 && layout.cp == 1) {
        // (With ep > 1 the replicas of an EP group exchange tokens: they are folded unchecked.
        // With context parallelism too: the replicated step does not remap CP rings;
        // docs/models/context-parallel.md, "Limits".)
        ReplicaClasses classes = replica_classes(layout, topology, router, isolated);
        replicas = std::move(classes.representatives);
        weights = std::move(classes.weights);
    }
    const bool is_folded = replicas.size() == 1;
    ReplicatedStep replicated;
    if (!is_folded) {
        replicated = replicate_step(lowered, layout, replicas, 0);
    }
    const LoweredStep& simulated = is_folded ? lowered : replicated.lowered;
    TaskTimeline timeline;
    if (options.is_communication_free) {
        FreeCommunicator communicator(sim);
        timeline = execute_task_graph(sim, simulated.graph, communicator);
    } else if (is_folded) {
        std::unique_ptr<NetworkModel> network =
            make_network_model(options.network, sim, topology, router);
        CollectiveExecutor collectives(sim, topology, *network, options.collective);
        CommunicationPolicy policy;
        if (options.fidelity == StepFidelity::kFull) {
            policy = CommunicationPolicy{true, true, true, true, true, true, true};
        }
        NetworkCommunicator communicator(sim, topology, *network, collectives, isolated, policy);
        communicator.precompute_isolated(lowered.graph, options.threads);
        timeline = execute_task_graph(sim, lowered.graph, communicator);
    } else {
        ReplicaCommunicator communicator(
            sim, topology, router, run_options, replicas.size(), replicated.replica,
            options.is_exact && options.fidelity == StepFidelity::kFull);
        communicator.precompute_isolated(simulated.graph, options.threads);
        timeline = execute_task_graph(sim, simulated.graph, communicator);
    }
    const StepAnalysis analysis = analyze_step(simulated, timeline);
    // The replica whose stages are reported: the one standing for the most (the first on ties).
    const std::size_t typical = static_cast<std::size_t>(
        std::max_element(weights.begin(), weights.end()) - weights.begin());
    const auto replica_rank = [&](std::size_t replica, int stage) {
        return RankId(static_cast<std::uint32_t>(rank_of(layout, {0, replicas[replica], stage})));
    };

    StepResult result;
    const int p = layout.pp;
    const int v = costs.shape.chunks;
    const int m = costs.shape.microbatches;
    const double step_s = seconds(analysis.step_time);
    result.step_time_s = step_s;
    result.gpus = layout.world_size();
    result.simulated_gpus = p * static_cast<int>(replicas.size());
    result.stages_count = p;
    result.microbatches = m;
    result.chunks = v;
    result.schedule = std::string(schedule->name());
    result.fidelity = options.fidelity;
    result.tasks = simulated.graph.size();
    result.events = sim.events_executed();
    result.fingerprint = sim.fingerprint();

    const std::vector<KernelTiming> kernels = stage_kernel_timings(job, costs);
    result.compute_model = std::string(to_string(job.gpu.compute_model));
    result.stack = std::string(to_string(job.stack));
    result.attention_kernel = job.training.is_flash_attention
                                  ? std::string(to_string(job.training.attention_kernel))
                                  : "unfused";
    result.kernel_profile = job.gpu.kernel_profile ? job.gpu.kernel_profile->file : "";
    std::int64_t best_memory = -1;
    const auto stage_index = [&](std::size_t replica, int stage) {
        return replica * static_cast<std::size_t>(p) + static_cast<std::size_t>(stage);
    };
    for (int s = 0; s < p; ++s) {
        const StageAnalysis& stage = analysis.stages[stage_index(typical, s)];
        StageResult stage_result;
        stage_result.stage = s;
        stage_result.rank = replica_rank(typical, s);
        stage_result.breakdown = to_step_breakdown(stage.breakdown);
        stage_result.bubble_fraction = step_s > 0 ? stage_result.breakdown.bubble_s / step_s : 0;
        // Memory: the replica holding the most micro-batches at this stage.
        int in_flight = 0;
        for (std::size_t i = 0; i < replicas.size(); ++i) {
            in_flight =
                std::max(in_flight, analysis.stages[stage_index(i, s)].peak_in_flight_chunks);
        }
        stage_result.peak_in_flight_chunks = in_flight;
        stage_result.memory = memory_per_gpu(job, s, in_flight);
        stage_result.kernels = kernels[static_cast<std::size_t>(s)];
        if (stage_result.memory.total_bytes() > best_memory) {
            best_memory = stage_result.memory.total_bytes();
            result.memory_per_gpu = stage_result.memory;
            result.memory_stage = s;
        }
        // Every stage stands for tp·dp GPUs, so the cluster mean is the mean over stages (of
        // the replica means, each simulated replica weighted by the replicas it stands for).
        StepBreakdown b = stage_result.breakdown;
        if (!is_folded) {
            b = StepBreakdown{};
            for (std::size_t i = 0; i < replicas.size(); ++i) {
                const StepBreakdown r =
                    to_step_breakdown(analysis.stages[stage_index(i, s)].breakdown);
                const double w = static_cast<double>(weights[i]) / layout.dp;
                b.compute_s += w * r.compute_s;
                b.recompute_s += w * r.recompute_s;
                b.tp_s += w * r.tp_s;
                b.pp_s += w * r.pp_s;
                b.dp_s += w * r.dp_s;
                b.zero_s += w * r.zero_s;
                b.ep_s += w * r.ep_s;
                b.bubble_s += w * r.bubble_s;
                b.other_idle_s += w * r.other_idle_s;
            }
        }
        result.cluster.compute_s += b.compute_s / p;
        result.cluster.recompute_s += b.recompute_s / p;
        result.cluster.tp_s += b.tp_s / p;
        result.cluster.pp_s += b.pp_s / p;
        result.cluster.dp_s += b.dp_s / p;
        result.cluster.zero_s += b.zero_s / p;
        result.cluster.ep_s += b.ep_s / p;
        result.cluster.cp_s += b.cp_s / p;
        result.cluster.fsdp_s += b.fsdp_s / p;
        result.cluster.bubble_s += b.bubble_s / p;
        result.cluster.other_idle_s += b.other_idle_s / p;
        result.stages.push_back(std::move(stage_result));
    }
    result.bubble_fraction = step_s > 0 ? result.cluster.bubble_s / step_s : 0;

    const double peak = job.gpu.peak_bf16_flops_per_s;
    result.model_flops_per_step = model_flops_per_step(job);
    result.hardware_flops_per_step = hardware_flops_per_step(job);
    result.parameters = parameter_count(job.model);
    // N: the active parameters (all of them for a dense model; MoE: the routed top_k).
    result.six_n_tokens_flops =
        analytic::six_n_d_flops(static_cast<double>(active_parameter_count(job.model)),
                                static_cast<double>(tokens_per_step(job)));
    if (step_s > 0) {
        const double capacity = step_s * result.gpus * peak;
        result.mfu = capacity > 0 ? result.model_flops_per_step / capacity : 0;
        result.hfu = capacity > 0 ? result.hardware_flops_per_step / capacity : 0;
        result.tokens_per_s = static_cast<double>(tokens_per_step(job)) / step_s;
        result.useful_tokens_per_s =
            result.tokens_per_s * job.training.packing_utilization_fraction;
    }

    for (const CriticalPathSegment& segment : analysis.critical_path) {
        CriticalPathEntry entry;
        entry.stage = segment.stage;
        if (segment.stage >= 0) {
            entry.stage = segment.stage % p;
            entry.rank = replica_rank(static_cast<std::size_t>(segment.stage / p), entry.stage);
        }
        entry.kind = segment.kind;
        entry.time_s = seconds(segment.time);
        result.critical_path.push_back(std::move(entry));
    }

    // ---- Closed forms beside the simulated figures (slowest stage per micro-batch).
    ClosedForms closed(topology, job.gpu, options.collective);
    const auto tp_time = [&](int stage, const std::vector<TpCollective>& list) {
        double total = 0;
        for (const TpCollective& c : list) {
            CollectiveRequest request;
            request.op = c.op;
            request.ranks = groups.stage_ranks[static_cast<std::size_t>(stage)];
            request.size_bytes = c.size_bytes;
            total += options.is_communication_free ? 0.0 : closed.time_s(request);
        }
        return total;
    };
    const auto ep_time = [&](int stage, const EpAllToAll& exchange) {
        if (options.is_communication_free || exchange.size_bytes <= 0) {
            return 0.0;
        }
        const CommRequest comm = ep_all_to_all_request(groups, stage, exchange);
        return closed.auto_time_s(comm.request);
    };
    double worst_f = 0, worst_b = 0, worst_w = 0, worst_tp = 0, worst_compute = 0, worst_ep = 0;
    int worst_stage = 0;
    for (int s = 0; s < p; ++s) {
        double f = 0, b = 0, w = 0, tp = 0, ep = 0;
        for (int c = 0; c < v; ++c) {
            const int vs = schedule->virtual_stage_of(s, c, costs.shape);
            // Per micro-batch of the step: DualPipe runs half of them through each copy.
            const double share = static_cast<double>(visits_of(*schedule, costs.shape, vs)) / m;
            for (const LayerWork& work : costs.virtual_stages[static_cast<std::size_t>(vs)]) {
                f += share * seconds(work.forward + work.moe.forward);
                b +=
                    share * seconds(work.backward_input + work.recompute + work.moe.backward_input);
                w += share * seconds(work.backward_weight + work.moe.backward_weight);
                tp += share * (tp_time(s, work.forward_collectives) +
                               tp_time(s, work.backward_collectives) +
                               tp_time(s, work.recompute_collectives));
                ep += share * (ep_time(s, work.moe.dispatch) + ep_time(s, work.moe.combine) +
                               ep_time(s, work.moe.backward_dispatch) +
                               ep_time(s, work.moe.backward_combine));
            }
        }
        // EP all-to-alls block the compute stream like TP collectives: part of the op.
        tp += ep;
        if (f + b + w + tp > worst_f + worst_b + worst_w + worst_tp) {
            worst_f = f;
            worst_b = b;
            worst_w = w;
            worst_tp = tp;
            worst_ep = ep;
            worst_stage = s;
        }
        worst_compute = std::max(
            worst_compute, m * (f + b + w) + seconds(costs.optimizer[static_cast<std::size_t>(s)]));
    }
    const double per_microbatch = worst_f + worst_b + worst_w + worst_tp;
    const bool zb = schedule->splits_backward();
    const bool dual = layout.schedule == PipelineScheduleKind::kDualPipe ||
                      layout.schedule == PipelineScheduleKind::kDualPipeV;
    // DualPipe and DualPipeV (DeepSeek-V3 Table 2): (PP/2 − 1)(F&B + B − 3W) per chunk, PP the
    // stages of one copy (pp; DualPipeV 2·pp), F&B read as F + B with nothing to overlap and
    // B as the full backward B + W: (PP/2 − 1)(F + 2B − 2W); a chunk is the whole per-micro-
    // batch work of a DualPipe rank and half of a DualPipeV rank's.
    const double dual_chunk = layout.schedule == PipelineScheduleKind::kDualPipeV ? 0.5 : 1.0;
    const double dual_stages = layout.schedule == PipelineScheduleKind::kDualPipeV ? 2.0 * p : p;
    const double bubble_time =
        dual ? (dual_stages / 2 - 1) *
                   std::max(0.0, dual_chunk * (worst_f + 2 * worst_b - 2 * worst_w + worst_tp))
        : zb ? (p - 1) * std::max(0.0, worst_f + worst_b - worst_w + worst_tp)
             : (p - 1) * per_microbatch / v;
    // DualPipe's pairs overlap a chunk's all-to-alls with the other chunk's compute: at best a
    // micro-batch costs the longer of its work and its all-to-alls.
    const double ideal =
        dual ? m * std::max(per_microbatch - worst_ep, worst_ep) : m * per_microbatch;
    result.bubble_ratio = ideal > 0 ? bubble_time / ideal : 0;

    double message_s = 0;
    double dp_exposed_s = 0;
    if (!options.is_communication_free && p > 1) {
        CollectiveRequest message;
        message.op = CollectiveOp::kSendRecv;
        message.ranks = {groups.stage_ranks[0][0], groups.stage_ranks[1 % p][0]};
        message.size_bytes = costs.pipeline_message_bytes;
        message_s = closed.time_s(message);
    }
    if (!options.is_communication_free && layout.dp > 1) {
        // Buckets of the worst stage: all exposed without overlap, the last one with it.
        const auto& dp_group = groups.dp_groups[static_cast<std::size_t>(worst_stage)][0];
        const std::int64_t total = stage_gradient_bytes(job, worst_stage);
        const std::int64_t bucket = std::min(total, costs.grad_bucket_bytes);
        CollectiveRequest request;
        request.op = costs.gradient_op;
        request.ranks = dp_group;
        request.size_bytes = bucket;
        const double bucket_s = closed.time_s(request);
        const double buckets = bucket > 0 ? std::ceil(static_cast<double>(total) / bucket) : 0;
        dp_exposed_s = costs.is_grad_reduce_overlapped ? bucket_s : buckets * bucket_s;
    }
    const double optimizer_s = seconds(costs.optimizer[static_cast<std::size_t>(worst_stage)]);
    const double step_closed = ideal + bubble_time + 2.0 * (p - 1) * message_s + dp_exposed_s +
                               optimizer_s + seconds(costs.data_loader);
    const StageResult& worst = result.stages[static_cast<std::size_t>(worst_stage)];
    result.estimates.push_back(make_estimate(
        "step_time", step_s, step_closed,
        dual ? "m·max(t_mb, t_ep) + bubble + 2(p−1)·t_msg + exposed DP + optimizer + data loader "
               "(slowest stage)"
             : "m·t_mb + bubble + 2(p−1)·t_msg + exposed DP + optimizer + data loader (slowest "
               "stage)",
        "the formula sums the slowest stage's work and a uniform-stage bubble; the simulation "
        "times every op's real dependencies, message contention and DP overlap"));
    result.estimates.push_back(
        make_estimate("compute", worst.breakdown.compute_s + worst.breakdown.recompute_s,
                      worst_compute, "m·Σ work/(peak·efficiency) + optimizer, slowest stage",
                      "kernels are not contended: only picosecond rounding differs"));
    if (job.model.is_moe() && layout.ep > 1) {
        result.estimates.push_back(make_estimate(
            "ep", worst.breakdown.ep_s, m * worst_ep,
            "m·Σ all-to-all closed form per MoE layer (4 per layer: dispatch, combine, and both "
            "backward)",
            dual ? "an upper bound: DualPipe's pairs run a chunk's all-to-alls beside the other "
                   "chunk's compute and only what they cannot hide is exposed"
                 : "the all-to-alls block the compute stream; the simulation times each on the "
                   "real routes of the EP group (uncontended, memoized, with fast fidelity)"));
    }
    result.estimates.push_back(make_estimate(
        "tp", worst.breakdown.tp_s, m * (worst_tp - worst_ep),
        "m·Σ ring α–β per TP collective (α slowest neighbour route, β narrowest link)",
        "the simulated collective is pipelined in chunks over the real per-hop routes; with "
        "full fidelity it also shares links with PP and DP traffic"));
    result.estimates.push_back(make_estimate(
        "bubble", worst.breakdown.bubble_s, bubble_time,
        dual ? "(PP/2−1)(F&B + B − 3W), F&B = F + B, B full"
        : zb ? "(p−1)(T_F + T_B − T_W)"
             : "(p−1)(t_f + t_b)/v",
        "stages are not uniform (embedding on the first, logits on the last) and the formula "
        "assumes free messages; the simulation measures idle time on each compute stream"));
    result.estimates.push_back(make_estimate(
        "pp", worst.breakdown.pp_s, 2.0 * (p - 1) * message_s,
        "2(p−1)·(α + S/B) (fill and drain chains)",
        "messages sent while the receiver is still busy are hidden; contended ones take longer"));
    result.estimates.push_back(make_estimate(
        "dp", worst.breakdown.dp_s, dp_exposed_s,
        costs.is_grad_reduce_overlapped ? "last bucket's ring α–β" : "Σ buckets' ring α–β",
        "buckets that finish under the remaining backward are hidden; the rest wait in line on "
        "the DP stream and share links with pipeline traffic"));

    if (layout.cp > 1) {
        // Context parallelism, per layer per micro-batch on the slowest stage: the ring hides
        // each transfer behind the block before it, (cp−1)·max(0, c − a) forward and
        // (cp−1)·max(0, c₂ − b) + c backward (c₂: K/V + dK/dV, the last c: dK/dV home); the
        // all-gather variant exposes its all-gathers (forward, backward) and the reduce-scatter.
        const auto& ring = groups.cp_rings[static_cast<std::size_t>(worst_stage)][0];
        const auto comm_s = [&](CollectiveOp op, std::int64_t bytes) {
            if (options.is_communication_free) {
                return 0.0;
            }
            CollectiveRequest request;
            request.op = op;
            request.ranks =
                op == CollectiveOp::kSendRecv ? std::vector<RankId>{ring[0], ring[1]} : ring;
            request.size_bytes = bytes;
            return closed.time_s(request);
        };
        double exposed = 0;
        for (int c = 0; c < v; ++c) {
            for (const LayerWork& work : costs.virtual_stages[static_cast<std::size_t>(
                     schedule->virtual_stage_of(worst_stage, c, costs.shape))]) {
                const CpAttentionWork& cp = work.cp;
                if (cp.blocks == 0) {
                    continue;
                }
                double forward = 0, backward = 0;
                if (cp.type == CpCommType::kP2p) {
                    const double steps = cp.blocks - 1;
                    forward =
                        steps * std::max(0.0, comm_s(CollectiveOp::kSendRecv, cp.kv_chunk_bytes) -
                                                  seconds(cp.forward_block));
                    backward = steps * std::max(0.0, comm_s(CollectiveOp::kSendRecv,
                                                            2 * cp.kv_chunk_bytes) -
                                                         seconds(cp.backward_block)) +
                               comm_s(CollectiveOp::kSendRecv, cp.kv_chunk_bytes);
                } else {
                    const auto whole = static_cast<std::int64_t>(ring.size()) * cp.kv_chunk_bytes;
                    forward = comm_s(CollectiveOp::kAllGather, whole);
                    backward = forward + comm_s(CollectiveOp::kReduceScatter, whole);
                }
                exposed += forward * (cp.is_recomputed ? 2.0 : 1.0) + backward;
            }
        }
        result.estimates.push_back(make_estimate(
            "cp", worst.breakdown.cp_s, m * exposed,
            layout.cp_comm == CpCommType::kP2p
                ? "m·Σ layers [(cp−1)·max(0, t_kv − t_fwd block) + (cp−1)·max(0, t_2kv − "
                  "t_bwd block) + t_kv]"
                : "m·Σ layers [2·t_allgather + t_reducescatter]",
            "the closed form times each transfer alone (α + S/B of the slowest hop); the "
            "simulation runs it on the network, blocks and transfers in dependency order"));
    }

    if (options.keeps_timeline) {
        const TaskGraph& graph = simulated.graph;
        std::map<std::uint32_t, int> stage_of_rank;
        for (std::size_t i = 0; i < replicas.size(); ++i) {
            for (int s = 0; s < p; ++s) {
                stage_of_rank.emplace(replica_rank(i, s).value, s);
            }
        }
        for (std::size_t i = 0; i < graph.size(); ++i) {
            const Task& task = graph.tasks()[i];
            TimelineSlice slice;
            slice.rank = task.rank;
            slice.stage = stage_of_rank.count(task.rank.value) ? stage_of_rank[task.rank.value] : 0;
            slice.category = slice_category(task);
            slice.stream = stream_name(task, graph);
            slice.name =
                task_name(task, task.request >= 0 ? &graph.request(task.request) : nullptr);
            slice.start_s = seconds(timeline.start[i]);
            slice.end_s = seconds(timeline.end[i]);
            slice.task = static_cast<std::int64_t>(i);
            for (const TaskId dependency :
                 graph.dependencies(TaskId(static_cast<std::uint32_t>(i)))) {
                slice.dependencies.push_back(dependency.value);
            }
            if (task.kind == TaskKind::kCompute) {
                slice.op = "compute";
                slice.duration_ps = task.duration.count();
            } else {
                const CollectiveRequest& request = graph.request(task.request).request;
                slice.op = std::string(to_string(request.op));
                slice.size_bytes = request.size_bytes;
                slice.group = request.ranks;
            }
            result.timeline.push_back(std::move(slice));
        }
        for (std::size_t k = 0; k < analysis.stages.size(); ++k) {
            const std::size_t i = k / static_cast<std::size_t>(p);
            const int s = static_cast<int>(k % static_cast<std::size_t>(p));
            for (const IdleGap& gap : analysis.stages[k].gaps) {
                TimelineSlice slice;
                slice.rank = replica_rank(i, s);
                slice.stage = s;
                slice.category = std::string(to_string(gap.category));
                slice.stream = "compute";
                slice.name = gap.category == TimeCategory::kBubble
                                 ? "bubble"
                                 : "wait " + std::string(to_string(gap.category));
                slice.start_s = seconds(gap.start);
                slice.end_s = seconds(gap.end);
                result.timeline.push_back(std::move(slice));
            }
        }
    }
    return result;
}

namespace detail {

void check_world_size(const TrainingJob& job, const Topology& topology) {
    const ParallelLayout& layout = job.layout;
    if (static_cast<std::size_t>(layout.world_size()) != topology.gpu_count()) {
        throw JobClusterMismatch(job.source.locate("parallelism.tp"), "parallelism.tp",
                                 "tp·cp·pp·dp = " + std::to_string(layout.world_size()) +
                                     " GPUs, the topology has " +
                                     std::to_string(topology.gpu_count()));
    }
}

StepCosts step_costs_of(const TrainingJob& job) {
    return build_step_costs(job);
}

RankGroups rank_groups_of(const ParallelLayout& layout) {
    return build_rank_groups(layout);
}

}  // namespace detail

}  // namespace stepsim
