// SPDX-License-Identifier: Apache-2.0
// File: network_communicator.cc
// Communication tasks on a real topology: the shared network (chunk level, contending) or a
// memoized isolated run of the same collective (see step_executor.h).
#include "stepsim/error.h"
#include "stepsim/parallel.h"

#include "step_executor.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace stepsim {

IsolatedCollectiveTimer::IsolatedCollectiveTimer(const Topology& topology,
                                                 Router& router,
                                                 NetworkKind network,
                                                 CollectiveOptions options,
                                                 bool is_memoized_by_shape,
                                                 bool is_pipeline_extrapolated)
    : topology_(topology)
    , router_(router)
    , network_(network)
    , options_(options)
    , is_memoized_by_shape_(is_memoized_by_shape)
    , is_pipeline_extrapolated_(is_pipeline_extrapolated) {
    std::map<std::int32_t, std::int64_t> next_in_server;
    for (const NodeId gpu : topology.gpus()) {
        gpu_index_in_server_.push_back(next_in_server[topology.node(gpu).host]++);
    }
}

std::size_t IsolatedCollectiveTimer::group_key(const std::vector<RankId>& ranks) {
    std::vector<std::uint32_t> exact;
    exact.reserve(ranks.size());
    for (const RankId rank : ranks) {
        exact.push_back(rank.value);
    }
    if (const auto it = group_keys_.find(exact); it != group_keys_.end()) {
        return it->second;
    }
    std::vector<std::int64_t> shape;
    if (!is_memoized_by_shape_) {
        shape.assign(exact.begin(), exact.end());
    } else {
        std::map<std::int32_t, std::int64_t> servers;
        shape.push_back(static_cast<std::int64_t>(ranks.size()));
        for (const RankId rank : ranks) {
            const std::int32_t host = topology_.node(topology_.gpu(rank)).host;
            const auto [it, inserted] =
                servers.emplace(host, static_cast<std::int64_t>(servers.size()));
            shape.push_back(it->second);
            shape.push_back(gpu_index_in_server_[rank.index()]);
        }
        // Destination-major, so that each member's distance table is built once even when
        // the group has more members than the router keeps tables.
        for (const RankId to : ranks) {
            for (const RankId from : ranks) {
                if (from == to) {
                    continue;
                }
                const RouteMetrics route =
                    router_.route_metrics(topology_.gpu(from), topology_.gpu(to));
                shape.push_back(route.latency.count());
                shape.push_back(static_cast<std::int64_t>(route.hops));
                shape.push_back(static_cast<std::int64_t>(std::llround(route.bottleneck_Bps)));
            }
        }
    }
    const auto [it, inserted] = shapes_.emplace(std::move(shape), shapes_.size());
    group_keys_.emplace(std::move(exact), it->second);
    return it->second;
}

IsolatedCollectiveTimer::Key IsolatedCollectiveTimer::key_of(const CollectiveRequest& request) {
    return Key{request.op,         request.size_bytes,       request.algorithm,
               request.root_index, group_key(request.ranks), request.pair_bytes};
}

Time IsolatedCollectiveTimer::time(const CollectiveRequest& request) {
    Key key = key_of(request);
    if (const auto it = cache_.find(key); it != cache_.end()) {
        return it->second;
    }
    const Time done = run_isolated(request, router_);
    cache_.emplace(std::move(key), done);
    return done;
}

Time IsolatedCollectiveTimer::run_isolated(const CollectiveRequest& request, Router& router) const {
    if (is_pipeline_extrapolated_ && request.op != CollectiveOp::kSendRecv) {
        if (const std::optional<Time> extrapolated = run_extrapolated(request, router)) {
            return *extrapolated;
        }
    }
    return run_once(request, router);
}

std::optional<Time> IsolatedCollectiveTimer::run_extrapolated(const CollectiveRequest& request,
                                                              Router& router) const {
    validate_collective_request(request, topology_);
    std::string name = request.algorithm;
    if (name == "auto") {
        const GroupCosts costs = group_costs(request, topology_, router, options_);
        name = choose_collective_algorithm(request, topology_, costs, options_).algorithm;
    }
    const CollectiveAlgorithm* algorithm = find_collective_algorithm(name);
    if (algorithm == nullptr || !algorithm->unsupported_reason(request, topology_).empty()) {
        return std::nullopt;  // the full run reports it
    }
    const CollectiveAlgorithm::PipelineShape shape = algorithm->pipeline_shape(request, options_);
    if (shape.streams <= 0 || shape.pieces < kMinExtrapolatedPieces) {
        return std::nullopt;
    }
    // Three runs of the same plan with fewer pieces of the same size (the full run's pieces
    // differ from it by at most one byte), P1 < P2 < P3 evenly spaced. The pipeline is taken
    // as periodic, and extrapolated, only when the two increments agree; otherwise (a plan
    // whose flows run ahead of one another and re-share links in changing patterns, as a
    // double binary tree under fair sharing does) it runs whole.
    const std::int64_t piece_bytes = request.size_bytes / (shape.streams * shape.pieces);
    CollectiveRequest shorter = request;
    shorter.algorithm = name;
    Time done[3];
    for (int i = 0; i < 3; ++i) {
        shorter.size_bytes = shape.streams * kExtrapolationPieces[i] * piece_bytes;
        const CollectiveAlgorithm::PipelineShape short_shape =
            algorithm->pipeline_shape(shorter, options_);
        if (short_shape.streams != shape.streams || short_shape.pieces != kExtrapolationPieces[i]) {
            return std::nullopt;
        }
        done[i] = run_once(shorter, router);
    }
    const std::int64_t first_ps = (done[1] - done[0]).count();
    const std::int64_t second_ps = (done[2] - done[1]).count();
    const auto tolerance_ps = static_cast<std::int64_t>(
        kPeriodTolerance * static_cast<double>(std::max(first_ps, second_ps)));
    if (first_ps <= 0 || std::abs(second_ps - first_ps) > tolerance_ps + kPeriodSlack_ps) {
        return std::nullopt;
    }
    // T(P) = T(P3) + (P - P3) (T(P3) - T(P1)) / (P3 - P1), rounded to the tick.
    const long double slope_ps =
        static_cast<long double>((done[2] - done[0]).count()) /
        static_cast<long double>(kExtrapolationPieces[2] - kExtrapolationPieces[0]);
    const long double extra_ps =
        slope_ps * static_cast<long double>(shape.pieces - kExtrapolationPieces[2]);
    return done[2] + Time(std::llround(extra_ps));
}

Time IsolatedCollectiveTimer::run_once(const CollectiveRequest& request, Router& router) const {
    Simulator sim(0);
    std::unique_ptr<NetworkModel> network = make_network_model(network_, sim, topology_, router);
    Time done = kNever;
    const auto finished = [&] {
        done = sim.now();
    };
    std::unique_ptr<CollectiveExecutor> executor;
    if (request.op == CollectiveOp::kSendRecv) {
        STEPSIM_CHECK(request.ranks.size() == 2, "send/recv needs exactly two ranks");
        network->start_transfer(topology_.gpu(request.ranks[0]), topology_.gpu(request.ranks[1]),
                                request.size_bytes, finished);
    } else {
        // `auto` is resolved here, through `router`, as the executor would through a Router
        // of its own (same routes, same choice), so that its distance tables are not built
        // again for every run.
        CollectiveRequest resolved = request;
        if (resolved.algorithm == "auto") {
            validate_collective_request(request, topology_);
            const GroupCosts costs = group_costs(request, topology_, router, options_);
            resolved.algorithm =
                choose_collective_algorithm(request, topology_, costs, options_).algorithm;
        }
        executor = std::make_unique<CollectiveExecutor>(sim, topology_, *network, options_);
        executor->start(resolved, finished);
    }
    sim.run();
    STEPSIM_CHECK(done != kNever, "isolated collective never finished");
    return done;
}

void IsolatedCollectiveTimer::precompute(const std::vector<const CollectiveRequest*>& requests,
                                         int threads) {
    // Keys on this thread (they use the shared router); one run per key not memoized yet.
    std::vector<std::pair<Key, const CollectiveRequest*>> todo;
    std::set<Key> queued;
    for (const CollectiveRequest* request : requests) {
        Key key = key_of(*request);
        if (cache_.count(key) == 0 && queued.insert(key).second) {
            todo.emplace_back(std::move(key), request);
        }
    }
    const std::size_t workers =
        std::min(todo.size(), static_cast<std::size_t>(std::max(threads, 1)));
    if (workers <= 1) {
        for (auto& [key, request] : todo) {
            cache_.emplace(std::move(key), run_isolated(*request, router_));
        }
        return;
    }
    // parallel_for workers, each with its own Router, take the next run; results land in
    // per-run slots, so what is memoized (and which error is rethrown: the lowest run's) does
    // not depend on the interleaving.
    std::vector<Time> done(todo.size(), kNever);
    std::vector<std::optional<Router>> routers(workers);
    parallel_for(todo.size(), static_cast<int>(workers), [&](std::size_t i, std::size_t worker) {
        if (!routers[worker]) {
            routers[worker].emplace(topology_);
        }
        done[i] = run_isolated(*todo[i].second, *routers[worker]);
    });
    for (std::size_t i = 0; i < todo.size(); ++i) {
        cache_.emplace(std::move(todo[i].first), done[i]);
    }
}

NetworkCommunicator::NetworkCommunicator(Simulator& sim,
                                         const Topology& topology,
                                         NetworkModel& network,
                                         CollectiveExecutor& collectives,
                                         IsolatedCollectiveTimer& isolated,
                                         CommunicationPolicy policy)
    : sim_(sim)
    , topology_(topology)
    , network_(network)
    , collectives_(collectives)
    , isolated_(isolated)
    , policy_(policy) {}

bool NetworkCommunicator::is_shared(CommKind kind) const {
    switch (kind) {
        case CommKind::kTensorParallel:
            return policy_.is_tp_shared;
        case CommKind::kPipeline:
            return policy_.is_pp_shared;
        case CommKind::kDataParallel:
            return policy_.is_dp_shared;
        case CommKind::kZero:
        case CommKind::kFsdp:
            return policy_.is_zero_shared;
        case CommKind::kExpertParallel:
            return policy_.is_ep_shared;
        case CommKind::kContextParallel:
            return policy_.is_cp_shared;
    }
    return true;
}

void NetworkCommunicator::start_one(const CollectiveRequest& request,
                                    std::function<void()> on_done) {
    if (request.op == CollectiveOp::kSendRecv) {
        STEPSIM_CHECK(request.ranks.size() == 2, "send/recv needs exactly two ranks");
        network_.start_transfer(topology_.gpu(request.ranks[0]), topology_.gpu(request.ranks[1]),
                                request.size_bytes, std::move(on_done));
    } else {
        collectives_.start(request, std::move(on_done));
    }
}

void NetworkCommunicator::precompute_isolated(const TaskGraph& graph, int threads) {
    std::vector<const CollectiveRequest*> requests;
    for (std::size_t i = 0; i < graph.size(); ++i) {
        const Task& task = graph.task(TaskId(static_cast<std::uint32_t>(i)));
        if (task.kind != TaskKind::kCompute && !is_shared(task.comm)) {
            requests.push_back(&graph.request(task.request).request);
        }
    }
    isolated_.precompute(requests, threads);
}

void NetworkCommunicator::start(const TaskGraph& graph, TaskId id, std::function<void()> on_done) {
    const Task& task = graph.task(id);
    const CommRequest& comm = graph.request(task.request);
    if (!is_shared(task.comm)) {
        sim_.schedule_in(isolated_.time(comm.request), std::move(on_done));
        return;
    }
    const std::size_t parts = 1 + (policy_.starts_mirrors ? comm.mirrors.size() : 0);
    auto remaining = std::make_shared<std::size_t>(parts);
    auto done = std::make_shared<std::function<void()>>(std::move(on_done));
    const auto part_done = [remaining, done] {
        if (--*remaining == 0) {
            (*done)();
        }
    };
    start_one(comm.request, part_done);
    if (policy_.starts_mirrors) {
        for (const CollectiveRequest& mirror : comm.mirrors) {
            start_one(mirror, part_done);
        }
    }
}

}  // namespace stepsim
