// SPDX-License-Identifier: Apache-2.0
// File: workload.cc
// The workload study: the job math of sim/workload and the closed forms of sim/analytic for
// one loaded job.
#include "stepsim/study/workload.h"

#include "stepsim/analytic.h"

namespace stepsim::study {

namespace {

TimedWork timed(const GpuSpec& gpu, const WorkAmount& work) {
    return TimedWork{work, compute_time_s(gpu, work)};
}

std::string rank_order_text(const ParallelLayout& layout) {
    std::string text;
    for (const ParallelDim dim : layout.order) {
        if (dim == ParallelDim::kCp && layout.cp == 1) {
            continue;  // without context parallelism the order reads as before (tp-dp-pp)
        }
        text += text.empty() ? "" : "-";
        text += to_string(dim);
    }
    return text;
}

double closed_form_bubble_rate(const TrainingJob& job, const LayerCosts& layer) {
    const std::int64_t p = job.layout.pp;
    const std::int64_t m = microbatches(job);
    switch (job.layout.schedule) {
        case PipelineScheduleKind::kGPipe:
        case PipelineScheduleKind::kOneFOneB:
            return analytic::one_f_one_b_bubble_rate(p, m);
        case PipelineScheduleKind::kInterleaved:
            return analytic::interleaved_bubble_rate(p, m, job.layout.virtual_stages);
        case PipelineScheduleKind::kZeroBubbleH1: {
            const double f = compute_time_s(job.gpu, layer.forward);
            const double b = compute_time_s(job.gpu, layer.backward_input);
            const double w = compute_time_s(job.gpu, layer.backward_weight);
            return analytic::zero_bubble_h1_bubble_rate(p, m, f, b, w);
        }
        case PipelineScheduleKind::kDualPipe:
        case PipelineScheduleKind::kDualPipeV: {
            // Per model chunk: a DualPipe rank's chunk is pp's share of the layers, a
            // DualPipeV rank's half of it (docs/models/dualpipe.md).
            const bool is_v = job.layout.schedule == PipelineScheduleKind::kDualPipeV;
            const double layers_per_chunk = static_cast<double>(job.model.layers) /
                                            static_cast<double>(model_chunk_count(job.layout));
            const double f = layers_per_chunk * compute_time_s(job.gpu, layer.forward);
            const double b = layers_per_chunk * compute_time_s(job.gpu, layer.backward_input);
            const double w = layers_per_chunk * compute_time_s(job.gpu, layer.backward_weight);
            return analytic::dual_pipe_bubble_rate(is_v ? 2 * p : p, is_v ? 2 * m : m, f, b, w);
        }
    }
    return 0.0;
}

}  // namespace

WorkloadStudyResult run_workload_study(const TrainingJob& job,
                                       const WorkloadStudyOptions& options) {
    if (options.gpus) {
        validate_job_against_cluster(job, *options.gpus, options.allows_oom, options.workload_file);
    }
    WorkloadStudyResult r;
    r.workload_file = options.workload_file;
    r.job = job;
    r.rank_order = rank_order_text(job.layout);
    r.parameters = parameter_count(job.model);
    r.microbatches = microbatches(job);
    r.tokens_per_step = tokens_per_step(job);
    r.microbatch_tokens_per_rank = microbatch_tokens_per_rank(job);
    r.model_flops_per_step = model_flops_per_step(job);
    r.hardware_flops_per_step = hardware_flops_per_step(job);
    r.six_n_d_flops =
        analytic::six_n_d_flops(static_cast<double>(active_parameter_count(job.model)),
                                static_cast<double>(r.tokens_per_step));
    const LayerCosts layer = layer_costs(job);
    r.layer.forward = timed(job.gpu, layer.forward);
    r.layer.backward_input = timed(job.gpu, layer.backward_input);
    r.layer.backward_weight = timed(job.gpu, layer.backward_weight);
    r.layer.recompute = timed(job.gpu, layer.recompute);
    r.layer.forward_collectives = layer.forward_collectives;
    r.layer.backward_collectives = layer.backward_collectives;
    r.layer.activation_bytes = layer_activation_bytes(job);
    const EdgeCosts edges = edge_costs(job);
    r.edges.embedding_forward = timed(job.gpu, edges.embedding_forward);
    r.edges.logits_forward = timed(job.gpu, edges.logits_forward);
    r.edges.logits_backward_input = timed(job.gpu, edges.logits_backward_input);
    r.edges.logits_backward_weight = timed(job.gpu, edges.logits_backward_weight);
    if (job.model.moe_layer_count() > 0) {
        const LayerCosts last = layer_costs(job, job.model.layers - 1);
        if (last.is_moe) {
            WorkloadMoe moe;
            moe.moe_layers = job.model.moe_layer_count();
            moe.active_parameters = active_parameter_count(job.model);
            moe.experts_forward = timed(job.gpu, last.moe.forward);
            moe.experts_backward_input = timed(job.gpu, last.moe.backward_input);
            moe.experts_backward_weight = timed(job.gpu, last.moe.backward_weight);
            moe.dispatch_bytes = last.moe.dispatch_bytes;
            moe.combine_bytes = last.moe.combine_bytes;
            moe.load_imbalance_factor = last.moe.load_imbalance_factor;
            moe.kept_fraction = last.moe.kept_fraction;
            r.moe = moe;
        }
    }
    r.pipeline_message_bytes = pipeline_message_bytes(job);
    r.bubble_rate_closed_form = closed_form_bubble_rate(job, layer);
    for (int stage = 0; stage < job.layout.pp; ++stage) {
        WorkloadStage s;
        s.layers = stage_layers(job.model, job.layout, stage);
        s.parameters_per_gpu = stage_parameter_count(job, stage);
        s.in_flight_chunk_microbatches = in_flight_chunk_microbatches(job, stage);
        s.memory_per_gpu = memory_per_gpu(job, stage);
        r.stages.push_back(s);
    }
    r.most_loaded_stage = most_loaded_stage(job);
    return r;
}

}  // namespace stepsim::study
