// SPDX-License-Identifier: Apache-2.0
// File: replicated_step.cc
// One pipeline copied per simulated DP replica, DP and ZeRO collectives shared (see
// replicated_step.h), and the communicator that times such a graph.
#include "replicated_step.h"

#include "stepsim/error.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

namespace stepsim {

namespace {

bool is_shared(const Task& task) {
    return task.kind != TaskKind::kCompute &&
           (task.comm == CommKind::kDataParallel || task.comm == CommKind::kZero ||
            task.comm == CommKind::kFsdp);
}

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
        if (request.op == CollectiveOp::kAllToAll && !keeps_replica && layout_.ep > 1) {
            // An EP group spans ep DP indices: replica i's is the block of ep that holds it,
            // member k at that block's k-th DP index (TP ranks swapped as above).
            const int block = replicas_[i] - replicas_[i] % layout_.ep;
            for (RankId& rank : request.ranks) {
                RankCoordinates c = coordinates_of(layout_, static_cast<int>(rank.value));
                c.dp = block + c.dp % layout_.ep;
                rank = remap(RankId(static_cast<std::uint32_t>(rank_of(layout_, c))), i, true);
            }
            return request;
        }
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

}  // namespace

ReplicatedStep replicate_step(const LoweredStep& base,
                              const ParallelLayout& layout,
                              const std::vector<int>& replicas,
                              int timed_tp_rank) {
    return Replicator(base, layout, replicas, timed_tp_rank).run();
}

ReplicaCommunicator::ReplicaCommunicator(Simulator& sim,
                                         const Topology& topology,
                                         Router& router,
                                         const StepOptions& options,
                                         std::size_t replicas,
                                         const std::vector<std::int32_t>& replica_of_task,
                                         bool is_network_shared)
    : replica_of_task_(replica_of_task)
    , isolated_(topology,
                router,
                options.network,
                options.collective,
                options.is_memoized_by_shape,
                options.is_pipeline_extrapolated && !options.is_exact) {
    CommunicationPolicy policy;
    if (options.fidelity == StepFidelity::kFull) {
        policy = CommunicationPolicy{true, true, true, true, true};
    }
    const std::size_t networks = is_network_shared ? 1 : replicas;
    for (std::size_t i = 0; i < networks; ++i) {
        networks_.push_back(make_network_model(options.network, sim, topology, router));
        executors_.push_back(std::make_unique<CollectiveExecutor>(sim, topology, *networks_.back(),
                                                                  options.collective));
        communicators_.push_back(std::make_unique<NetworkCommunicator>(
            sim, topology, *networks_.back(), *executors_.back(), isolated_, policy));
    }
}

void ReplicaCommunicator::start(const TaskGraph& graph, TaskId id, std::function<void()> on_done) {
    const auto i = static_cast<std::size_t>(replica_of_task_[id.index()]);
    communicators_[std::min(i, communicators_.size() - 1)]->start(graph, id, std::move(on_done));
}

void ReplicaCommunicator::precompute_isolated(const TaskGraph& graph, int threads) {
    communicators_.front()->precompute_isolated(graph, threads);
}

}  // namespace stepsim
