// SPDX-License-Identifier: Apache-2.0
// File: perturbed_step.cc
// simulate_perturbed_step(): the one-pipeline lowering of simulate_step(), copied once per
// simulated DP replica (ranks, TP groups and pipeline messages moved to that replica), with
// the DP and ZeRO collectives shared: one task per bucket that waits for the bucket's ready
// task in every replica, so the reduction starts when the slowest replica is ready, and every
// replica's optimizer waits for it. Each replica's pipeline traffic runs on a network model of
// its own (the symmetric step does not model other replicas' traffic either, so a perturbation
// of factor 1 gives the symmetric step exactly).
#include "stepsim/perturbed_step.h"

#include "stepsim/error.h"

#include "replicated_step.h"
#include "step_analysis.h"
#include "step_executor.h"
#include "step_inputs.h"
#include "step_lowering.h"

#include <algorithm>
#include <map>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>

namespace stepsim {

StepPerturbation StepPerturbation::symmetric(int dp) {
    StepPerturbation perturbation;
    perturbation.replicas = {0};
    perturbation.replica_weights = {dp};
    return perturbation;
}

void StepPerturbation::validate(int dp) const {
    if (replicas.empty() || replicas.size() != replica_weights.size()) {
        throw InternalError("a perturbation needs one weight per simulated replica");
    }
    std::vector<int> sorted = replicas;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end() || sorted.front() < 0 ||
        sorted.back() >= dp) {
        throw InternalError("simulated replicas must be distinct and in [0, " + std::to_string(dp) +
                            ")");
    }
    int total = 0;
    for (const int w : replica_weights) {
        if (w < 1) {
            throw InternalError("replica weights must be >= 1");
        }
        total += w;
    }
    if (total != dp) {
        throw InternalError("replica weights sum to " + std::to_string(total) +
                            ", the layout has " + std::to_string(dp) + " replicas");
    }
}

namespace {

void add_scaled(StepBreakdown& into, const StepBreakdown& b, double weight) {
    into.compute_s += weight * b.compute_s;
    into.recompute_s += weight * b.recompute_s;
    into.tp_s += weight * b.tp_s;
    into.pp_s += weight * b.pp_s;
    into.dp_s += weight * b.dp_s;
    into.zero_s += weight * b.zero_s;
    into.ep_s += weight * b.ep_s;
    into.cp_s += weight * b.cp_s;
    into.fsdp_s += weight * b.fsdp_s;
    into.bubble_s += weight * b.bubble_s;
    into.other_idle_s += weight * b.other_idle_s;
}

}  // namespace

PerturbedStepResult simulate_perturbed_step(const TrainingJob& job,
                                            const Topology& topology,
                                            const StepOptions& options,
                                            const StepPerturbation& perturbation) {
    const ParallelLayout& layout = job.layout;
    detail::check_world_size(job, topology);
    perturbation.validate(layout.dp);
    const StepCosts costs = detail::step_costs_of(job);
    const RankGroups groups = detail::rank_groups_of(layout);
    const std::unique_ptr<PipelineSchedule> schedule = make_pipeline_schedule(layout.schedule);
    const LoweredStep base = lower_step(costs, groups, *schedule);
    if (perturbation.timed_tp_rank < 0 || perturbation.timed_tp_rank >= layout.tp) {
        throw UserError("timed TP rank outside 0.." + std::to_string(layout.tp - 1));
    }
    const ReplicatedStep step =
        replicate_step(base, layout, perturbation.replicas, perturbation.timed_tp_rank);
    const TaskGraph& graph = step.lowered.graph;

    ComputeDurationHook hook;
    if (perturbation.compute_duration) {
        hook = [&](TaskId id, Time start, Time duration) {
            ComputeTaskInfo info;
            info.replica =
                perturbation.replicas[static_cast<std::size_t>(step.replica[id.index()])];
            info.stage = std::max(0, step.stage[id.index()]);
            info.op_index = step.base[id.index()];
            return perturbation.compute_duration(info, start, duration);
        };
    }
    Simulator sim(0);
    TaskTimeline timeline;
    if (options.is_communication_free) {
        FreeCommunicator communicator(sim);
        timeline = execute_task_graph(sim, graph, communicator, hook);
    } else {
        Router router(topology);
        ReplicaCommunicator communicator(sim, topology, router, options,
                                         perturbation.replicas.size(), step.replica, false);
        timeline = execute_task_graph(sim, graph, communicator, hook);
    }
    const StepAnalysis analysis = analyze_step(step.lowered, timeline);

    PerturbedStepResult result;
    result.replicas = perturbation.replicas;
    result.replica_weights = perturbation.replica_weights;
    StepResult& r = result.step;
    const int p = layout.pp;
    const double step_s = to_seconds(analysis.step_time);
    r.step_time_s = step_s;
    r.gpus = layout.world_size();
    r.simulated_gpus = p * static_cast<int>(perturbation.replicas.size());
    r.stages_count = p;
    r.microbatches = costs.shape.microbatches;
    r.chunks = costs.shape.chunks;
    r.schedule = std::string(schedule->name());
    r.fidelity = options.fidelity;
    r.tasks = graph.size();
    r.events = sim.events_executed();
    r.fingerprint = sim.fingerprint();
    const std::size_t typical = static_cast<std::size_t>(
        std::max_element(perturbation.replica_weights.begin(), perturbation.replica_weights.end()) -
        perturbation.replica_weights.begin());
    const double gpu_groups = static_cast<double>(p) * layout.dp;
    for (std::size_t i = 0; i < perturbation.replicas.size(); ++i) {
        std::vector<StageResult> stages;
        for (int s = 0; s < p; ++s) {
            const StageAnalysis& stage =
                analysis.stages[i * static_cast<std::size_t>(p) + static_cast<std::size_t>(s)];
            StageResult stage_result;
            stage_result.stage = s;
            stage_result.rank = RankId(static_cast<std::uint32_t>(
                rank_of(layout, {perturbation.timed_tp_rank, perturbation.replicas[i], s})));
            stage_result.breakdown = to_step_breakdown(stage.breakdown);
            stage_result.bubble_fraction =
                step_s > 0 ? stage_result.breakdown.bubble_s / step_s : 0;
            stage_result.peak_in_flight_chunks = stage.peak_in_flight_chunks;
            add_scaled(r.cluster, stage_result.breakdown,
                       perturbation.replica_weights[i] / gpu_groups);
            stages.push_back(std::move(stage_result));
        }
        if (i == typical) {
            r.stages = stages;
        }
        result.replica_stages.push_back(std::move(stages));
    }
    r.bubble_fraction = step_s > 0 ? r.cluster.bubble_s / step_s : 0;
    r.model_flops_per_step = model_flops_per_step(job);
    r.hardware_flops_per_step = hardware_flops_per_step(job);
    r.parameters = parameter_count(job.model);
    if (step_s > 0) {
        const double capacity = step_s * r.gpus * job.gpu.peak_bf16_flops_per_s;
        r.mfu = capacity > 0 ? r.model_flops_per_step / capacity : 0;
        r.hfu = capacity > 0 ? r.hardware_flops_per_step / capacity : 0;
        r.tokens_per_s = static_cast<double>(tokens_per_step(job)) / step_s;
        r.useful_tokens_per_s = r.tokens_per_s * job.training.packing_utilization_fraction;
    }
    for (const CriticalPathSegment& segment : analysis.critical_path) {
        CriticalPathEntry entry;
        int replica = 0;
        if (segment.stage >= 0) {
            replica = segment.stage / p;
            entry.stage = segment.stage % p;
            entry.rank = RankId(static_cast<std::uint32_t>(rank_of(
                layout, {perturbation.timed_tp_rank,
                         perturbation.replicas[static_cast<std::size_t>(replica)], entry.stage})));
        } else {
            entry.stage = -1;
        }
        entry.kind = segment.kind;
        entry.time_s = to_seconds(segment.time);
        r.critical_path.push_back(std::move(entry));
        result.critical_path_replica.push_back(replica);
    }
    if (options.keeps_timeline) {
        for (std::size_t k = 0; k < graph.size(); ++k) {
            const Task& task = graph.tasks()[k];
            TimelineSlice slice;
            slice.rank = task.rank;
            slice.stage = std::max(0, step.stage[k]);
            slice.category = slice_category(task);
            slice.stream = task.stream >= 0
                               ? std::string(to_string(
                                     graph.streams()[static_cast<std::size_t>(task.stream)].kind))
                               : (task.kind == TaskKind::kSendRecv ? "pp" : "other");
            slice.name =
                task_name(task, task.request >= 0 ? &graph.request(task.request) : nullptr);
            slice.start_s = to_seconds(timeline.start[k]);
            slice.end_s = to_seconds(timeline.end[k]);
            r.timeline.push_back(std::move(slice));
        }
    }
    return result;
}

}  // namespace stepsim
