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
        throw std::invalid_argument("a perturbation needs one weight per simulated replica");
    }
    std::vector<int> sorted = replicas;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end() || sorted.front() < 0 ||
        sorted.back() >= dp) {
        throw std::invalid_argument("simulated replicas must be distinct and in [0, " +
                                    std::to_string(dp) + ")");
    }
    int total = 0;
    for (const int w : replica_weights) {
        if (w < 1) {
            throw std::invalid_argument("replica weights must be >= 1");
        }
        total += w;
    }
    if (total != dp) {
        throw std::invalid_argument("replica weights sum to " + std::to_string(total) +
                                    ", the layout has " + std::to_string(dp) + " replicas");
    }
}

namespace {

bool is_shared(const Task& task) {
    return task.kind != TaskKind::kCompute &&
           (task.comm == CommKind::kDataParallel || task.comm == CommKind::kZero ||
            task.comm == CommKind::kFsdp);
}

struct ReplicatedStep {
    LoweredStep lowered;                ///< compute_streams/ops/optimizer: [replica·p + stage]
    std::vector<std::int32_t> replica;  ///< per task: index into the replica list
    std::vector<std::int32_t> stage;    ///< per task: pipeline stage, -1 for none
    std::vector<std::uint32_t> base;    ///< per task: index in the one-pipeline graph
};

class Replicator {
public:
    Replicator(const LoweredStep& base,
               const ParallelLayout& layout,
               std::vector<int> replicas,
               int timed_tp_rank)
        : base_(base)
        , layout_(layout)
        , replicas_(std::move(replicas))
        , timed_tp_rank_(timed_tp_rank) {
        const TaskGraph& graph = base.graph;
        const std::size_t p = base.compute_streams.size();
        for (std::size_t s = 0; s < p; ++s) {
            const Stream& stream =
                graph.streams()[static_cast<std::size_t>(base.compute_streams[s])];
            stage_of_rank_.emplace(stream.rank.value, static_cast<int>(s));
        }
    }

    ReplicatedStep run() {
        const TaskGraph& graph = base_.graph;
        const std::size_t n = graph.size();
        const std::size_t r_count = replicas_.size();
        std::vector<std::vector<TaskId>> map(r_count, std::vector<TaskId>(n));
        std::vector<std::vector<std::int32_t>> stream_map(r_count);
        ReplicatedStep out;
        for (std::size_t i = 0; i < r_count; ++i) {
            for (const Stream& stream : graph.streams()) {
                stream_map[i].push_back(builder_.add_stream(remap(stream.rank, i), stream.kind));
            }
        }
        // Tasks first (stream order is kept: tasks are added in their base order), then every
        // dependency once all tasks exist (a receive may depend on a later-added send).
        for (std::size_t i = 0; i < r_count; ++i) {
            for (std::size_t k = 0; k < n; ++k) {
                const Task& task = graph.tasks()[k];
                if (i > 0 && is_shared(task)) {
                    map[i][k] = map[0][k];
                    continue;
                }
                Task copy = task;
                copy.rank = remap(task.rank, i);
                if (task.stream >= 0) {
                    copy.stream = stream_map[i][static_cast<std::size_t>(task.stream)];
                }
                if (task.request >= 0) {
                    copy.request = is_shared(task) ? shared_request(task.request)
                                                   : local_request(task.request, i);
                }
                map[i][k] = builder_.add(copy);
                out.replica.push_back(static_cast<std::int32_t>(i));
                const auto it = stage_of_rank_.find(task.rank.value);
                out.stage.push_back(it == stage_of_rank_.end() ? -1 : it->second);
                out.base.push_back(static_cast<std::uint32_t>(k));
            }
        }
        for (std::size_t i = 0; i < r_count; ++i) {
            for (std::size_t k = 0; k < n; ++k) {
                const TaskId id(static_cast<std::uint32_t>(k));
                for (const TaskId dependency : graph.dependencies(id)) {
                    builder_.add_dependency(map[i][k], map[i][dependency.index()]);
                }
            }
        }
        LoweredStep& lowered = out.lowered;
        const std::size_t p = base_.compute_streams.size();
        for (std::size_t i = 0; i < r_count; ++i) {
            for (std::size_t s = 0; s < p; ++s) {
                lowered.compute_streams.push_back(
                    stream_map[i][static_cast<std::size_t>(base_.compute_streams[s])]);
                std::vector<LoweredOp> ops;
                for (const LoweredOp& op : base_.ops[s]) {
                    ops.push_back(
                        LoweredOp{op.op, map[i][op.first.index()], map[i][op.last.index()]});
                }
                lowered.ops.push_back(std::move(ops));
                lowered.optimizer_tasks.push_back(map[i][base_.optimizer_tasks[s].index()]);
            }
        }
        lowered.graph = std::move(builder_).build();
        return out;
    }

private:
    /// The rank at the same stage in replica `i` (`keeps_replica`: in its own replica), TP
    /// ranks 0 and timed_tp_rank swapped.
    RankId remap(RankId rank, std::size_t i, bool keeps_replica = false) const {
        RankCoordinates c = coordinates_of(layout_, static_cast<int>(rank.value));
        if (!keeps_replica) {
            c.dp = replicas_[i];
        }
        if (c.tp == 0) {
            c.tp = timed_tp_rank_;
        } else if (c.tp == timed_tp_rank_) {
            c.tp = 0;
        }
        return RankId(static_cast<std::uint32_t>(rank_of(layout_, c)));
    }

    CollectiveRequest remap(CollectiveRequest request, std::size_t i, bool keeps_replica) const {
        for (RankId& rank : request.ranks) {
            rank = remap(rank, i, keeps_replica);
        }
        return request;
    }

    std::int32_t local_request(std::int32_t index, std::size_t i) {
        const auto key = std::make_pair(index, i);
        if (const auto it = local_requests_.find(key); it != local_requests_.end()) {
            return it->second;
        }
        const CommRequest& original = base_.graph.request(index);
        CommRequest copy;
        copy.request = remap(original.request, i, false);
        for (const CollectiveRequest& mirror : original.mirrors) {
            copy.mirrors.push_back(remap(mirror, i, false));
        }
        const std::int32_t added = builder_.add_request(std::move(copy));
        local_requests_.emplace(key, added);
        return added;
    }

    std::int32_t shared_request(std::int32_t index) {
        if (const auto it = shared_requests_.find(index); it != shared_requests_.end()) {
            return it->second;
        }
        // DP groups span every replica: only the TP swap applies.
        const CommRequest& original = base_.graph.request(index);
        CommRequest copy;
        copy.request = remap(original.request, 0, true);
        for (const CollectiveRequest& mirror : original.mirrors) {
            copy.mirrors.push_back(remap(mirror, 0, true));
        }
        const std::int32_t added = builder_.add_request(std::move(copy));
        shared_requests_.emplace(index, added);
        return added;
    }

    const LoweredStep& base_;
    const ParallelLayout& layout_;
    std::vector<int> replicas_;
    int timed_tp_rank_ = 0;
    std::map<std::uint32_t, int> stage_of_rank_;
    TaskGraphBuilder builder_;
    std::map<std::pair<std::int32_t, std::size_t>, std::int32_t> local_requests_;
    std::map<std::int32_t, std::int32_t> shared_requests_;
};

/// One network model per replica; shared (DP, ZeRO) tasks run on the first replica's.
class ReplicaCommunicator final : public TaskCommunicator {
public:
    ReplicaCommunicator(Simulator& sim,
                        const Topology& topology,
                        Router& router,
                        const StepOptions& options,
                        std::size_t replicas,
                        const std::vector<std::int32_t>& replica_of_task)
        : replica_of_task_(replica_of_task)
        , isolated_(
              topology, router, options.network, options.collective, options.is_memoized_by_shape) {
        CommunicationPolicy policy;
        if (options.fidelity == StepFidelity::kFull) {
            policy = CommunicationPolicy{true, true, true, true, true};
        }
        for (std::size_t i = 0; i < replicas; ++i) {
            networks_.push_back(make_network_model(options.network, sim, topology, router));
            executors_.push_back(std::make_unique<CollectiveExecutor>(
                sim, topology, *networks_.back(), options.collective));
            communicators_.push_back(std::make_unique<NetworkCommunicator>(
                sim, topology, *networks_.back(), *executors_.back(), isolated_, policy));
        }
    }

    void start(const TaskGraph& graph, TaskId id, std::function<void()> on_done) override {
        const auto i = static_cast<std::size_t>(replica_of_task_[id.index()]);
        communicators_[i]->start(graph, id, std::move(on_done));
    }

private:
    const std::vector<std::int32_t>& replica_of_task_;
    IsolatedCollectiveTimer isolated_;
    std::vector<std::unique_ptr<NetworkModel>> networks_;
    std::vector<std::unique_ptr<CollectiveExecutor>> executors_;
    std::vector<std::unique_ptr<NetworkCommunicator>> communicators_;
};

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
    if (static_cast<std::size_t>(layout.world_size()) != topology.gpu_count()) {
        throw std::invalid_argument("tp·cp·pp·dp = " + std::to_string(layout.world_size()) +
                                    " GPUs, the topology has " +
                                    std::to_string(topology.gpu_count()));
    }
    if (layout.cp > 1) {
        // The replicas of a perturbed step are DP replicas of one CP rank; the CP peers'
        // perturbations are not modelled (docs/models/context-parallel.md, "Limits").
        throw SpecError(SourceLocation{}, "parallelism.cp",
                        "what-if studies do not support context parallelism (cp " +
                            std::to_string(layout.cp) + ") yet");
    }
    perturbation.validate(layout.dp);
    const StepCosts costs = detail::step_costs_of(job);
    const RankGroups groups = detail::rank_groups_of(layout);
    const std::unique_ptr<PipelineSchedule> schedule = make_pipeline_schedule(layout.schedule);
    const LoweredStep base = lower_step(costs, groups, *schedule);
    if (perturbation.timed_tp_rank < 0 || perturbation.timed_tp_rank >= layout.tp) {
        throw std::invalid_argument("timed TP rank outside 0.." + std::to_string(layout.tp - 1));
    }
    Replicator replicator(base, layout, perturbation.replicas, perturbation.timed_tp_rank);
    const ReplicatedStep step = replicator.run();
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
                                         perturbation.replicas.size(), step.replica);
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
