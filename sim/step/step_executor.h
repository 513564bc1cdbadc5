// SPDX-License-Identifier: Apache-2.0
// File: step_executor.h
// Times a TaskGraph on a Simulator: a task starts the moment its last dependency finishes
// (stream order is a dependency), compute tasks take their duration, and communication tasks
// are handed to a `TaskCommunicator`, which decides how they are timed: not at all (free, for
// schedule tests), on the shared network through the CollectiveExecutor (chunk level, so TP,
// PP and DP traffic contend), or by a memoized uncontended run of the same collective.
#pragma once

#include "stepsim/collective.h"
#include "stepsim/network.h"
#include "stepsim/simulator.h"
#include "stepsim/topology.h"

#include "task_graph.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <tuple>
#include <vector>

namespace stepsim {

class TaskCommunicator {
public:
    virtual ~TaskCommunicator() = default;
    /// Starts communication task `id` at now(); `on_done` must fire through the event queue
    /// (never inside this call).
    virtual void start(const TaskGraph& graph, TaskId id, std::function<void()> on_done) = 0;
};

/// Every communication takes zero time (completes at now() through the event queue).
class FreeCommunicator final : public TaskCommunicator {
public:
    explicit FreeCommunicator(Simulator& sim)
        : sim_(sim) {}

    void start(const TaskGraph& graph, TaskId id, std::function<void()> on_done) override;

private:
    Simulator& sim_;
};

/// Uncontended time of one collective on a topology, by running it alone on a fresh
/// Simulator and network model (chunk level); results are memoized per (op, size, algorithm,
/// root, group), so a step with thousands of identical TP all-reduces runs each one once.
///
/// With `is_memoized_by_shape`, the group is keyed by its shape instead of its ranks: the
/// server pattern (servers renumbered by first appearance, each GPU's index inside its
/// server) and, for every ordered pair of members, the route's latency, hop count and
/// bottleneck. Groups of the same shape on a symmetric fabric (every pipeline stage's DP
/// group on a rail-optimized fat tree) then share one run; what the shape does not capture
/// is which links two of the collective's own flows share after ECMP hashing.
///
/// With `is_pipeline_extrapolated`, a pipelined collective (CollectiveAlgorithm::
/// pipeline_shape(): the double binary tree, a chunked ring, a chain) of P >=
/// kMinExtrapolatedPieces pieces is first run with P1 < P2 < P3 pieces of the same size
/// (kExtrapolationPieces, evenly spaced). When the two increments T(P2) - T(P1) and T(P3) -
/// T(P2) agree (within kPeriodTolerance, relative, plus kPeriodSlack_ps) the pipeline is taken
/// as periodic and T(P) = T(P3) + (P - P3) (T(P3) - T(P1)) / (P3 - P1): its fill plus one
/// period per piece (docs/models/training-step.md, "Pipelined collectives by fill and
/// period"). Otherwise, and always with it off, the collective runs whole.
class IsolatedCollectiveTimer {
public:
    /// Pieces of the two short runs, and the fewest pieces a collective must have for them.
    static constexpr std::int64_t kExtrapolationPieces[3] = {16, 32, 48};
    static constexpr std::int64_t kMinExtrapolatedPieces = 192;
    /// How far the two increments may differ to count as one period.
    static constexpr double kPeriodTolerance = 1e-6;
    static constexpr std::int64_t kPeriodSlack_ps = 16;

    IsolatedCollectiveTimer(const Topology& topology,
                            Router& router,
                            NetworkKind network,
                            CollectiveOptions options,
                            bool is_memoized_by_shape = false,
                            bool is_pipeline_extrapolated = false);
    Time time(const CollectiveRequest& request);

    /// Runs every request of `requests` not memoized yet, `threads` at a time (each thread
    /// with its own Router, Simulator and network model), and memoizes the results: time()
    /// then returns exactly what it would have computed by itself, whatever `threads` is.
    /// The first failing run's exception (in request order) is rethrown.
    void precompute(const std::vector<const CollectiveRequest*>& requests, int threads);

    std::size_t distinct_runs() const { return cache_.size(); }

    /// The extrapolated time of `request` (not memoized), or nullopt when it runs whole: not
    /// a pipeline of kMinExtrapolatedPieces pieces or more, or no period found (see above).
    /// Ignores is_pipeline_extrapolated; for tests of the method.
    std::optional<Time> extrapolated_time(const CollectiveRequest& request) {
        return run_extrapolated(request, router_);
    }

    /// Keys the group `ranks` now (what time() would do for a request over it), so that the
    /// routes its shape reads are built while the caller's other routes to the same GPUs
    /// are (see replica_classes()). Changes no result.
    void key_group(const std::vector<RankId>& ranks) { group_key(ranks); }

private:
    using Key = std::tuple<CollectiveOp,
                           std::int64_t,
                           std::string,
                           std::size_t,
                           std::size_t,
                           std::vector<std::int64_t>>;

    std::size_t group_key(const std::vector<RankId>& ranks);
    Key key_of(const CollectiveRequest& request);
    /// The uncontended completion time of `request`, routed by `router`: extrapolated when
    /// is_pipeline_extrapolated_ and run_extrapolated() applies, else run_once().
    Time run_isolated(const CollectiveRequest& request, Router& router) const;
    /// The whole plan on a fresh Simulator and network.
    Time run_once(const CollectiveRequest& request, Router& router) const;
    /// From two short runs, or nullopt when the plan is not a long enough pipeline.
    std::optional<Time> run_extrapolated(const CollectiveRequest& request, Router& router) const;

    const Topology& topology_;
    Router& router_;
    NetworkKind network_;
    CollectiveOptions options_;
    bool is_memoized_by_shape_;
    bool is_pipeline_extrapolated_;
    std::vector<std::int64_t> gpu_index_in_server_;                 ///< by rank
    std::map<std::vector<std::uint32_t>, std::size_t> group_keys_;  ///< ranks -> key
    std::map<std::vector<std::int64_t>, std::size_t> shapes_;       ///< shape -> key
    std::map<Key, Time> cache_;
};

/// Which communication kinds run on the shared network (chunk level, contending) and which
/// are timed by an isolated, memoized run.
struct CommunicationPolicy {
    bool is_tp_shared = false;
    bool is_pp_shared = true;
    bool is_dp_shared = false;
    bool is_zero_shared = false;  ///< ZeRO 1-2 gathers and ZeRO-3 (FSDP) collectives
    bool is_ep_shared = false;
    bool is_cp_shared = false;
    bool starts_mirrors = false;  ///< start CommRequest::mirrors on the shared network
};

/// Communication on a real topology: shared kinds go through the CollectiveExecutor on the
/// shared NetworkModel (send/recv through the network directly); the others take the
/// isolated timer's time. The references must outlive it.
class NetworkCommunicator final : public TaskCommunicator {
public:
    NetworkCommunicator(Simulator& sim,
                        const Topology& topology,
                        NetworkModel& network,
                        CollectiveExecutor& collectives,
                        IsolatedCollectiveTimer& isolated,
                        CommunicationPolicy policy);
    void start(const TaskGraph& graph, TaskId id, std::function<void()> on_done) override;

    /// Times every collective of `graph` that takes the isolated timer's time, on `threads`
    /// threads, before the graph runs (the results do not depend on `threads`).
    void precompute_isolated(const TaskGraph& graph, int threads);

private:
    bool is_shared(CommKind kind) const;
    void start_one(const CollectiveRequest& request, std::function<void()> on_done);

    Simulator& sim_;
    const Topology& topology_;
    NetworkModel& network_;
    CollectiveExecutor& collectives_;
    IsolatedCollectiveTimer& isolated_;
    CommunicationPolicy policy_;
};

/// When each task ran.
struct TaskTimeline {
    std::vector<Time> start;
    std::vector<Time> end;
};

/// The duration a compute task takes when it starts at `start` (what-if studies: stragglers,
/// jitter, slow episodes); `duration` is the task's own. Must return a duration >= 0.
using ComputeDurationHook = std::function<Time(TaskId id, Time start, Time duration)>;

/// Runs every task of `graph` on `sim` (which must be otherwise idle) and returns the
/// timeline. Compute tasks take `duration_hook`'s duration when one is given, their own
/// otherwise. InternalError if some task never finishes.
TaskTimeline execute_task_graph(Simulator& sim,
                                const TaskGraph& graph,
                                TaskCommunicator& communicator,
                                const ComputeDurationHook& duration_hook = {});

}  // namespace stepsim
