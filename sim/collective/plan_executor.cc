// SPDX-License-Identifier: Apache-2.0
// File: plan_executor.cc
// PlanExecutor times a CommPlan on a NetworkModel: a transfer starts as a network transfer
// between the two ranks' GPUs once its dependencies have completed; a reducing transfer is
// then reduced on the receiving GPU before it completes, gamma seconds per byte when alone.
// Reductions that overlap on one GPU share it equally (egalitarian processor sharing, as the
// fair-share network shares a link): n in service each progress at 1/(n·gamma) bytes per
// second. CollectiveExecutor picks the algorithm (or `auto`), plans and executes. State per
// running plan: for a stored plan, a countdown of unfinished dependencies per transfer and the
// successor lists, built once when the plan starts; for a plan generated on demand (the ring),
// a record per transfer pending or in flight, the successors asked of the plan when a transfer
// completes. docs/models/collectives.md.
#include "stepsim/collective.h"
#include "stepsim/error.h"

#include "transfer_records.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <string>

namespace stepsim {

struct PlanExecutor::Impl {
    /// What every running plan keeps, whatever holds its transfers.
    struct Run {
        virtual ~Run() = default;

        std::vector<RankId> ranks;
        std::vector<NodeId> nodes;
        Time started_at{0};
        Time done_at{0};  // latest completion so far
        std::uint64_t remaining = 0;
        std::function<void()> on_done;
        std::uint64_t id = 0;
        Impl* owner = nullptr;

        /// Transfer `index`, completed, completes later, at `done`: its successors' ready
        /// times move (the started ones' through their StartGate).
        virtual void delay_successors(std::uint64_t index, Time done) = 0;
    };

    struct StoredRun;
    struct LazyRun;

    /// A reduction in service on a GPU.
    struct Job {
        double tag;  ///< virtual time at which it leaves, ps (see SharedEngine)
        Time end;    ///< its end as announced to its successors
        Run* run;
        std::uint64_t index;
    };

    /// One GPU's reductions while only one is in service at a time (the common case, read
    /// and written on every reduction, so kept to one cache line): the GPU is busy until
    /// `busy_until`; `lone` is the reduction in service, started at `lone_start`, unless
    /// `is_shared`, when the GPU's SharedEngine holds them.
    struct alignas(64) ReductionEngine {
        Time busy_until{0};
        Time lone_start{0};
        Job lone{0, Time{0}, nullptr, 0};
        bool is_shared = false;
    };

    /// One GPU's overlapping reductions, shared equally (egalitarian processor sharing) in
    /// virtual time: V advances by 1/n per picosecond while n reductions are in service, and
    /// a reduction that needs w picoseconds alone leaves when V reaches its tag (V at its
    /// arrival + w). Each reduction's end is computed when it arrives, as if no other one
    /// came; one arriving later only delays those in service, which the executor then
    /// postpones (their successors' starts move later through the network's StartGate).
    /// V restarts from 0 whenever the GPU falls idle, so it stays small.
    struct SharedEngine {
        std::vector<Job> jobs;  ///< in service at `last_update`, by tag (ties: arrival order)
        double virtual_ps = 0;  ///< V at `last_update`
        Time last_update{0};
    };

    Simulator& sim;
    const Topology& topology;
    NetworkModel& network;
    double gamma_s_per_byte;
    std::vector<ReductionEngine> engines;  // per GPU rank
    std::vector<SharedEngine> shared;      // per GPU rank
    /// Bumped on every postponement: the StartGate revision of all the transfers started.
    std::uint64_t postponements = 0;
    std::map<std::uint64_t, std::unique_ptr<Run>> runs;
    std::uint64_t next_run_id = 1;
    std::uint64_t transfers_started = 0;
    std::size_t live_transfers = 0;  // records of generated plans' transfers, all runs
    std::size_t peak_live_transfers = 0;

    Impl(Simulator& s, const Topology& t, NetworkModel& n, double gamma)
        : sim(s)
        , topology(t)
        , network(n)
        , gamma_s_per_byte(gamma)
        , engines(t.gpu_count())
        , shared(t.gpu_count()) {}

    /// Hands a transfer to the network: it starts at `ready` (now when past) unless its
    /// gate `*ready_at` moves later first.
    template <typename OnArrival>
    void hand_over(Run* run,
                   const PlanTransfer& transfer,
                   const Time* ready_at,
                   OnArrival&& on_arrival) {
        ++transfers_started;
        const Time ready = *ready_at;
        network.start_transfer_after(ready > sim.now() ? ready - sim.now() : Time{0},
                                     run->nodes[transfer.src], run->nodes[transfer.dst],
                                     transfer.size_bytes, std::forward<OnArrival>(on_arrival),
                                     transfer.channel, StartGate{&postponements, ready_at});
    }

    /// The data of transfer `index` of `run` (`size_bytes` into GPU `gpu`) arrived now: when
    /// it completes. A reducing transfer is reduced on the receiver first; its end is computed
    /// now, as if no other reduction came, and the transfer counts as completed then without
    /// an event of its own; a later arrival on the same GPU that delays it postpones it
    /// (postpone()).
    Time completion(
        Run* run, std::uint64_t index, std::uint32_t gpu, std::int64_t size_bytes, bool is_reduce) {
        const Time now = sim.now();
        if (!is_reduce || gamma_s_per_byte <= 0 || size_bytes == 0) {
            return now;
        }
        const Time work = from_seconds(gamma_s_per_byte * static_cast<double>(size_bytes));
        if (work <= Time{0}) {
            return now;
        }
        ReductionEngine& engine = engines[gpu];
        if (now >= engine.busy_until) {
            // Idle GPU (the common case): alone, the reduction takes gamma·size.
            engine.busy_until = checked_add(now, work);
            engine.lone_start = now;
            engine.lone = Job{static_cast<double>(work.count()), engine.busy_until, run, index};
            engine.is_shared = false;
            return engine.busy_until;
        }
        return share(gpu, Job{0, now, run, index}, work, now);
    }

    /// Reduction `job` of `work` arrives at busy GPU `gpu` at `now`: brings V to now (the
    /// jobs that ended before have left), adds the job, recomputes every end in tag order and
    /// postpones the jobs whose end moved. Returns the new job's end.
    Time share(std::uint32_t gpu, Job job, Time work, Time now) {
        ReductionEngine& engine = engines[gpu];
        SharedEngine& state = shared[gpu];
        auto& jobs = state.jobs;
        if (!engine.is_shared) {
            // The lone reduction started at V = 0.
            jobs.assign(1, engine.lone);
            state.virtual_ps = 0;
            state.last_update = engine.lone_start;
            engine.is_shared = true;
        }
        std::size_t gone = 0;
        while (gone < jobs.size() && jobs[gone].end <= now) {
            state.virtual_ps = jobs[gone].tag;
            state.last_update = jobs[gone].end;
            ++gone;
        }
        jobs.erase(jobs.begin(), jobs.begin() + static_cast<std::ptrdiff_t>(gone));
        STEPSIM_CHECK(!jobs.empty(), "busy reduction engine without a reduction in service");
        state.virtual_ps += static_cast<double>((now - state.last_update).count()) /
                            static_cast<double>(jobs.size());
        state.last_update = now;
        job.tag = state.virtual_ps + static_cast<double>(work.count());
        const auto at =
            std::upper_bound(jobs.begin(), jobs.end(), job.tag,
                             [](double tag, const Job& other) { return tag < other.tag; });
        const auto position = static_cast<std::size_t>(at - jobs.begin());
        jobs.insert(at, job);
        // Ends in tag order: between two departures the k jobs left share the GPU, so V
        // gains (tag_i − tag_{i−1}) in k·(tag_i − tag_{i−1}) picoseconds.
        Time t = now;
        double v = state.virtual_ps;
        auto left = static_cast<double>(jobs.size());
        for (std::size_t j = 0; j < jobs.size(); ++j) {
            Job& in_service = jobs[j];
            t = checked_add(t, Time{std::llround((in_service.tag - v) * left)});
            v = in_service.tag;
            left -= 1;
            if (j == position) {
                in_service.end = t;
            } else if (t > in_service.end) {
                in_service.end = t;
                postpone(in_service.run, in_service.index, t);
            }
        }
        engine.busy_until = jobs.back().end;
        return jobs[position].end;
    }

    /// Transfer `index`, completed at an end now known to be later, completes at `done`:
    /// its successors' ready times move (the started ones' through their StartGate, whose
    /// revision is bumped) and so does the run's end.
    void postpone(Run* run, std::uint64_t index, Time done) {
        ++postponements;
        run->done_at = std::max(run->done_at, done);
        run->delay_successors(index, done);
    }

    /// One more transfer of `run` completed (its successors were handled).
    void count_completed(Run* run) {
        if (--run->remaining == 0) {
            finish_when_done(run);
        }
    }

    /// Finishes the run at its end, which a postponement may still move later.
    void finish_when_done(Run* run) {
        if (run->done_at > sim.now()) {
            sim.schedule_at(run->done_at, [run] { run->owner->finish_when_done(run); });
        } else {
            finish(run);
        }
    }

    void finish(Run* run) {
        std::function<void()> done = std::move(run->on_done);
        runs.erase(run->id);
        if (done) {
            done();
        }
    }

    /// Registers `run` (ranks, owner, id) and returns it.
    template <typename R>
    R* add_run(std::unique_ptr<R> run, std::vector<RankId> ranks, std::function<void()> on_done) {
        R* r = run.get();
        r->id = next_run_id++;
        r->owner = this;
        r->ranks = std::move(ranks);
        r->nodes.reserve(r->ranks.size());
        for (const RankId rank : r->ranks) {
            r->nodes.push_back(topology.gpu(rank));
        }
        r->started_at = sim.now();
        r->on_done = std::move(on_done);
        runs.emplace(r->id, std::move(run));
        return r;
    }
};

/// A stored plan: the state of every transfer, and the successor lists, built once when the
/// plan starts.
struct PlanExecutor::Impl::StoredRun final : Run {
    std::shared_ptr<const CommPlan> plan;

    /// Per transfer, in one 16-byte record so that the completion of a transfer touches
    /// one cache line of each successor's state, not one per field.
    struct State {
        Time ready_at;             ///< latest completion among its dependencies so far
        std::uint32_t pending;     ///< unfinished dependencies
        std::uint32_t succ_begin;  ///< its successors: successors[succ_begin, next's)
    };

    std::vector<State> state;  // one more entry than transfers: the row end
    std::vector<std::uint32_t> successors;

    /// Starts transfer `index` when its dependencies are all done: now, or at the end of the
    /// last one's reduction (already known), through the network's delayed start. Its
    /// `ready_at` stays the gate of that start: a postponed reduction moves it later.
    void start(std::uint32_t index) {
        const PlanTransfer& transfer = plan->transfer(index);
        // The successors' records are read when this transfer completes, thousands of events
        // later: ask for them now so that they wait in cache (large plans miss otherwise).
        const std::uint32_t end = state[index + 1].succ_begin;
        for (std::uint32_t s = state[index].succ_begin; s < end; ++s) {
            const std::uint32_t next = successors[s];
            __builtin_prefetch(&state[next]);
            __builtin_prefetch(&plan->transfer(next));
        }
        // Two words: fits std::function's small-object buffer (no allocation).
        owner->hand_over(this, transfer, &state[index].ready_at, [this, index] { arrived(index); });
    }

    void arrived(std::uint32_t index) {
        const PlanTransfer& transfer = plan->transfer(index);
        const std::uint32_t gpu = transfer.is_reduce ? ranks[transfer.dst].index() : 0;
        completed(index,
                  owner->completion(this, index, gpu, transfer.size_bytes, transfer.is_reduce));
    }

    /// Transfer `index` is complete at `done` (>= now).
    void completed(std::uint32_t index, Time done) {
        done_at = std::max(done_at, done);
        const std::uint32_t end = state[index + 1].succ_begin;
        for (std::uint32_t s = state[index].succ_begin; s < end; ++s) {
            const std::uint32_t next = successors[s];
            State& successor = state[next];
            successor.ready_at = std::max(successor.ready_at, done);
            if (--successor.pending == 0) {
                start(next);
            }
        }
        owner->count_completed(this);
    }

    void delay_successors(std::uint64_t index, Time done) override {
        const std::uint32_t end = state[index + 1].succ_begin;
        for (std::uint32_t s = state[index].succ_begin; s < end; ++s) {
            State& successor = state[successors[s]];
            successor.ready_at = std::max(successor.ready_at, done);
        }
    }
};

/// A plan generated on demand: a record for each transfer from the completion of its first
/// dependency (or the run's start, for a source) until its data arrives; the successors are
/// asked of the plan when a transfer completes.
struct PlanExecutor::Impl::LazyRun final : Run {
    std::shared_ptr<const LazyPlan> plan;

    /// 32 bytes, aligned: two per cache line, never across two.
    struct alignas(32) Record {
        Time ready_at;            ///< latest completion among its dependencies so far
        std::uint64_t index;      ///< the transfer
        std::int64_t size_bytes;  ///< set when started
        std::uint32_t pending;    ///< unfinished dependencies
        std::uint32_t gpu;        ///< receiving GPU rank when it reduces, else kCopy (started)
    };

    static constexpr std::uint32_t kCopy = ~std::uint32_t{0};

    collective::TransferRecords<Record> records;
    std::vector<std::uint64_t> next;  // successors of the transfer completing (scratch)

    /// The record of `index`, created (no dependency completed yet) when missing.
    Record& record_of(std::uint64_t index) {
        bool is_new = false;
        Record& record = records.find_or_insert(index, is_new);
        if (is_new) {
            record.ready_at = started_at;
            record.index = index;
            record.pending = plan->dependency_count(index);
            owner->peak_live_transfers =
                std::max(owner->peak_live_transfers, ++owner->live_transfers);
        }
        return record;
    }

    /// As StoredRun::start(); the record's `ready_at` is the gate.
    void start(Record& record) {
        const PlanTransfer transfer = plan->transfer(record.index);
        record.size_bytes = transfer.size_bytes;
        record.gpu = transfer.is_reduce ? ranks[transfer.dst].index() : kCopy;
        // Two words: fits std::function's small-object buffer (no allocation).
        owner->hand_over(this, transfer, &record.ready_at, [this, &record] { arrived(record); });
    }

    void arrived(Record& record) {
        const std::uint64_t index = record.index;
        const Time done =
            owner->completion(this, index, record.gpu, record.size_bytes, record.gpu != kCopy);
        records.erase(index);
        --owner->live_transfers;
        completed(index, done);
    }

    /// Transfer `index` is complete at `done` (>= now).
    void completed(std::uint64_t index, Time done) {
        done_at = std::max(done_at, done);
        plan->successors(index, next);
        for (const std::uint64_t successor_index : next) {
            Record& successor = record_of(successor_index);
            successor.ready_at = std::max(successor.ready_at, done);
            if (--successor.pending == 0) {
                start(successor);
            }
        }
        owner->count_completed(this);
    }

    /// The successors of a postponed transfer still hold records: they start after its old
    /// end, which is still ahead.
    void delay_successors(std::uint64_t index, Time done) override {
        plan->successors(index, next);
        for (const std::uint64_t successor_index : next) {
            Record* successor = records.find(successor_index);
            STEPSIM_CHECK(successor != nullptr, "postponed transfer's successor has no record");
            successor->ready_at = std::max(successor->ready_at, done);
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
        throw InternalError("execute: no plan");
    }
    if (ranks.size() != plan->group_size()) {
        throw InternalError("execute: the plan is for " + std::to_string(plan->group_size()) +
                            " ranks, got " + std::to_string(ranks.size()));
    }
    auto run = std::make_unique<Impl::StoredRun>();
    run->plan = std::move(plan);
    Impl::StoredRun* r = impl_->add_run(std::move(run), std::move(ranks), std::move(on_done));
    const CommPlan& p = *r->plan;
    const auto count = static_cast<std::uint32_t>(p.transfer_count());
    r->state.assign(std::size_t{count} + 1, Impl::StoredRun::State{r->started_at, 0, 0});
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
    if (count == 0) {
        impl_->sim.schedule_in(Time{0}, [impl = impl_.get(), r] { impl->finish(r); });
        return;
    }
    for (std::uint32_t t = 0; t < count; ++t) {
        if (r->state[t].pending == 0) {
            r->start(t);
        }
    }
}

void PlanExecutor::execute(std::shared_ptr<const LazyPlan> plan,
                           std::vector<RankId> ranks,
                           std::function<void()> on_done) {
    if (!plan) {
        throw InternalError("execute: no plan");
    }
    if (ranks.size() != plan->group_size()) {
        throw InternalError("execute: the plan is for " + std::to_string(plan->group_size()) +
                            " ranks, got " + std::to_string(ranks.size()));
    }
    auto run = std::make_unique<Impl::LazyRun>();
    run->plan = std::move(plan);
    Impl::LazyRun* r = impl_->add_run(std::move(run), std::move(ranks), std::move(on_done));
    r->remaining = r->plan->transfer_count();
    if (r->remaining == 0) {
        impl_->sim.schedule_in(Time{0}, [impl = impl_.get(), r] { impl->finish(r); });
        return;
    }
    std::vector<std::uint64_t> sources;
    r->plan->sources(sources);
    // Every source gets its record before any starts (as a stored plan's state exists).
    for (const std::uint64_t index : sources) {
        const Impl::LazyRun::Record& record = r->record_of(index);
        STEPSIM_CHECK(record.pending == 0, "a source transfer with dependencies");
    }
    for (const std::uint64_t index : sources) {
        r->start(*r->records.find(index));
    }
}

std::uint64_t PlanExecutor::transfers_started() const {
    return impl_->transfers_started;
}

std::size_t PlanExecutor::active_plans() const {
    return impl_->runs.size();
}

std::size_t PlanExecutor::peak_live_transfers() const {
    return impl_->peak_live_transfers;
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
        throw UserError("unknown collective algorithm \"" + name + "\" (known: " + known +
                        ", auto)");
    }
    // plan() and lazy_plan() throw UserError with unsupported_reason() when the algorithm
    // cannot run it.
    if (algorithm->has_lazy_plan()) {
        std::shared_ptr<const LazyPlan> lazy =
            algorithm->lazy_plan(request, impl_->topology, impl_->options);
        impl_->executor.execute(std::move(lazy), request.ranks, std::move(on_done));
        return name;
    }
    auto plan =
        std::make_shared<const CommPlan>(algorithm->plan(request, impl_->topology, impl_->options));
    impl_->executor.execute(std::move(plan), request.ranks, std::move(on_done));
    return name;
}

}  // namespace stepsim
