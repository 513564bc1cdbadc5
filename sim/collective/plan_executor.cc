// SPDX-License-Identifier: Apache-2.0
// File: plan_executor.cc
// PlanExecutor times a CommPlan on a NetworkModel: a transfer starts as a network transfer
// between the two ranks' GPUs once its dependencies have completed; a reducing transfer then
// waits for the receiving GPU's reduction engine (one reduction at a time per GPU, FIFO,
// gamma seconds per byte) before it completes. CollectiveExecutor picks the algorithm (or
// `auto`), plans and executes. State per running plan: a countdown of unfinished
// dependencies per transfer and the successor lists, built once when the plan starts.
#include "stepsim/collective.h"
#include "stepsim/error.h"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>

namespace stepsim {

struct PlanExecutor::Impl {
    struct Run {
        std::shared_ptr<const CommPlan> plan;
        std::vector<RankId> ranks;
        std::vector<NodeId> nodes;

        /// Per transfer, in one 16-byte record so that the completion of a transfer touches
        /// one cache line of each successor's state, not one per field.
        struct State {
            Time ready_at;             ///< latest completion among its dependencies so far
            std::uint32_t pending;     ///< unfinished dependencies
            std::uint32_t succ_begin;  ///< its successors: successors[succ_begin, next's)
        };

        std::vector<State> state;  // one more entry than transfers: the row end
        std::vector<std::uint32_t> successors;
        Time done_at{0};  // latest completion so far
        std::size_t remaining = 0;
        std::function<void()> on_done;
        std::uint64_t id = 0;
        Impl* owner = nullptr;
    };

    Simulator& sim;
    const Topology& topology;
    NetworkModel& network;
    double gamma_s_per_byte;
    std::vector<Time> reduction_free_at;  // per GPU rank
    std::map<std::uint64_t, std::unique_ptr<Run>> runs;
    std::uint64_t next_run_id = 1;
    std::uint64_t transfers_started = 0;

    Impl(Simulator& s, const Topology& t, NetworkModel& n, double gamma)
        : sim(s)
        , topology(t)
        , network(n)
        , gamma_s_per_byte(gamma)
        , reduction_free_at(t.gpu_count(), Time{0}) {}

    /// Starts transfer `index` when its dependencies are all done: now, or at the end of the
    /// last one's reduction (already known), through the network's delayed start.
    void start(Run* run, std::uint32_t index) {
        const PlanTransfer& transfer = run->plan->transfer(index);
        ++transfers_started;
        const Time ready = run->state[index].ready_at;
        // The successors' records are read when this transfer completes, thousands of events
        // later: ask for them now so that they wait in cache (large plans miss otherwise).
        const std::uint32_t end = run->state[index + 1].succ_begin;
        for (std::uint32_t s = run->state[index].succ_begin; s < end; ++s) {
            const std::uint32_t next = run->successors[s];
            __builtin_prefetch(&run->state[next]);
            __builtin_prefetch(&run->plan->transfer(next));
        }
        network.start_transfer_after(
            ready > sim.now() ? ready - sim.now() : Time{0}, run->nodes[transfer.src],
            run->nodes[transfer.dst], transfer.size_bytes,
            // Two words: fits std::function's small-object buffer (no allocation).
            [run, index] { run->owner->arrived(run, index); }, transfer.channel);
    }

    /// The data of `index` arrived. A reducing transfer then waits for the receiver's
    /// reduction engine (FIFO in arrival order), whose end is known now: the transfer counts
    /// as completed at that time without an event of its own.
    void arrived(Run* run, std::uint32_t index) {
        const PlanTransfer& transfer = run->plan->transfer(index);
        if (!transfer.is_reduce || gamma_s_per_byte <= 0 || transfer.size_bytes == 0) {
            completed(run, index, sim.now());
            return;
        }
        Time& free_at = reduction_free_at[run->ranks[transfer.dst].index()];
        const Time begin = std::max(sim.now(), free_at);
        free_at = checked_add(
            begin, from_seconds(gamma_s_per_byte * static_cast<double>(transfer.size_bytes)));
        completed(run, index, free_at);
    }

    /// Transfer `index` is complete at `done` (>= now).
    void completed(Run* run, std::uint32_t index, Time done) {
        run->done_at = std::max(run->done_at, done);
        const std::uint32_t end = run->state[index + 1].succ_begin;
        for (std::uint32_t s = run->state[index].succ_begin; s < end; ++s) {
            const std::uint32_t next = run->successors[s];
            Run::State& successor = run->state[next];
            successor.ready_at = std::max(successor.ready_at, done);
            if (--successor.pending == 0) {
                start(run, next);
            }
        }
        if (--run->remaining == 0) {
            if (run->done_at > sim.now()) {
                sim.schedule_at(run->done_at, [run] { run->owner->finish(run); });
            } else {
                finish(run);
            }
        }
    }

    void finish(Run* run) {
        std::function<void()> done = std::move(run->on_done);
        runs.erase(run->id);
        if (done) {
            done();
        }
    }
};

PlanExecutor::PlanExecutor(Simulator& sim,
                           const Topology& topology,
                           NetworkModel& network,
                           double gamma_s_per_byte)
    : impl_(std::make_unique<Impl>(sim, topology, network, gamma_s_per_byte)) {}

PlanExecutor::~PlanExecutor() = default;

void PlanExecutor::execute(std::shared_ptr<const CommPlan> plan,
                           std::vector<RankId> ranks,
                           std::function<void()> on_done) {
    if (!plan) {
        throw std::invalid_argument("execute: no plan");
    }
    if (ranks.size() != plan->group_size()) {
        throw std::invalid_argument("execute: the plan is for " +
                                    std::to_string(plan->group_size()) + " ranks, got " +
                                    std::to_string(ranks.size()));
    }
    auto run = std::make_unique<Impl::Run>();
    Impl::Run* r = run.get();
    r->id = impl_->next_run_id++;
    r->owner = impl_.get();
    r->plan = std::move(plan);
    r->ranks = std::move(ranks);
    r->nodes.reserve(r->ranks.size());
    for (const RankId rank : r->ranks) {
        r->nodes.push_back(impl_->topology.gpu(rank));
    }
    const CommPlan& p = *r->plan;
    const auto count = static_cast<std::uint32_t>(p.transfer_count());
    r->state.assign(std::size_t{count} + 1, Impl::Run::State{impl_->sim.now(), 0, 0});
    for (std::uint32_t t = 0; t < count; ++t) {
        const auto deps = p.dependencies(t);
        r->state[t].pending = static_cast<std::uint32_t>(deps.size());
        for (const std::uint32_t d : deps) {
            ++r->state[d + 1].succ_begin;
        }
    }
    for (std::uint32_t t = 0; t < count; ++t) {
        r->state[t + 1].succ_begin += r->state[t].succ_begin;
    }
    r->successors.resize(p.dependency_count());
    std::vector<std::uint32_t> fill(count);
    for (std::uint32_t t = 0; t < count; ++t) {
        fill[t] = r->state[t].succ_begin;
    }
    for (std::uint32_t t = 0; t < count; ++t) {
        for (const std::uint32_t d : p.dependencies(t)) {
            r->successors[fill[d]++] = t;
        }
    }
    r->remaining = count;
    r->on_done = std::move(on_done);
    impl_->runs.emplace(r->id, std::move(run));
    if (count == 0) {
        impl_->sim.schedule_in(Time{0}, [impl = impl_.get(), r] { impl->finish(r); });
        return;
    }
    for (std::uint32_t t = 0; t < count; ++t) {
        if (r->state[t].pending == 0) {
            impl_->start(r, t);
        }
    }
}

std::uint64_t PlanExecutor::transfers_started() const {
    return impl_->transfers_started;
}

std::size_t PlanExecutor::active_plans() const {
    return impl_->runs.size();
}

// ---------------------------------------------------------------------------------------------

struct CollectiveExecutor::Impl {
    const Topology& topology;
    CollectiveOptions options;
    Router router;
    PlanExecutor executor;

    Impl(Simulator& sim, const Topology& t, NetworkModel& network, CollectiveOptions o)
        : topology(t)
        , options(o)
        , router(t)
        , executor(sim, t, network, reduction_gamma_s_per_byte(o)) {}
};

CollectiveExecutor::CollectiveExecutor(Simulator& sim,
                                       const Topology& topology,
                                       NetworkModel& network,
                                       CollectiveOptions options)
    : impl_(std::make_unique<Impl>(sim, topology, network, options)) {}

CollectiveExecutor::~CollectiveExecutor() = default;

std::string CollectiveExecutor::choose_algorithm(const CollectiveRequest& request) const {
    validate_collective_request(request, impl_->topology);
    const GroupCosts costs = group_costs(request, impl_->topology, impl_->router, impl_->options);
    return choose_collective_algorithm(request, impl_->topology, costs, impl_->options).algorithm;
}

std::string CollectiveExecutor::start(const CollectiveRequest& request,
                                      std::function<void()> on_done) {
    validate_collective_request(request, impl_->topology);
    std::string name = request.algorithm;
    if (name == "auto") {
        name = choose_algorithm(request);
    }
    const CollectiveAlgorithm* algorithm = find_collective_algorithm(name);
    if (algorithm == nullptr) {
        std::string known;
        for (const std::string_view n : collective_algorithm_names()) {
            known += (known.empty() ? "" : ", ") + std::string(n);
        }
        throw std::invalid_argument("unknown collective algorithm \"" + name +
                                    "\" (known: " + known + ", auto)");
    }
    if (const std::string why = algorithm->unsupported_reason(request, impl_->topology);
        !why.empty()) {
        throw std::invalid_argument(why);
    }
    auto plan =
        std::make_shared<const CommPlan>(algorithm->plan(request, impl_->topology, impl_->options));
    impl_->executor.execute(std::move(plan), request.ranks, std::move(on_done));
    return name;
}

}  // namespace stepsim
