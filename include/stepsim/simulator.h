// SPDX-License-Identifier: Apache-2.0
// File: simulator.h
// The discrete-event engine. A `Simulator` owns the clock, the event queue and the random
// streams of one simulation; nothing is global, so any number can live in one process.
// Events fire in a total order: (time, priority, insertion sequence). The engine knows
// nothing of GPUs or networks: models schedule callbacks.
//
//   stepsim::Simulator sim(/*seed=*/42);
//   sim.schedule_in(5us, [&] { ... });
//   sim.run();
//
// `Simulator` runs on picosecond `Time`; `RunSimulator` on nanosecond `RunTime` for the
// months-long run-level failure simulation.
#pragma once

#include "stepsim/random.h"
#include "stepsim/time.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

namespace stepsim {

/// Tie-breaker among events at the same time: lower fires first.
enum class Priority : std::uint8_t {
    kFirst = 0,
    kHigh = 64,
    kDefault = 128,
    kLow = 192,
    kLast = 255,
};

/// Handle of a scheduled event, for cancel(). Default-constructed: refers to nothing.
struct EventId {
    std::uint64_t value = 0;

    bool is_valid() const { return value != 0; }
};

namespace detail {
class EventQueue;
}

template <class Duration>
class BasicSimulator {
public:
    using Callback = std::function<void()>;

    /// `seed` seeds every random stream of this simulation (see random.h).
    explicit BasicSimulator(std::uint64_t seed = 0);
    ~BasicSimulator();
    BasicSimulator(const BasicSimulator&) = delete;
    BasicSimulator& operator=(const BasicSimulator&) = delete;

    Duration now() const { return now_; }

    /// Schedules `fn` at absolute time `when` (>= now(), else InternalError). `tag` is an
    /// event kind or target id mixed into the fingerprint; it does not affect the order.
    EventId schedule_at(Duration when,
                        Callback fn,
                        Priority priority = Priority::kDefault,
                        std::uint64_t tag = 0);
    /// Schedules `fn` after `delay` (>= 0) from now().
    EventId schedule_in(Duration delay,
                        Callback fn,
                        Priority priority = Priority::kDefault,
                        std::uint64_t tag = 0);
    /// Cancels a pending event. Returns false if it already fired or was cancelled.
    bool cancel(EventId id);

    /// Runs until the queue is empty or stop() is called.
    void run();
    /// Runs every event with time <= limit, then advances the clock to `limit` (if it is
    /// later than the last event run and stop() was not called).
    void run_until(Duration limit);
    /// Runs the next event, if any. Returns false when the queue was empty.
    bool step();

    /// Makes run() / run_until() return after the event being executed.
    void stop() { stop_requested_ = true; }

    /// Events waiting to fire (cancelled ones excluded).
    std::size_t pending() const;

    /// Events fired so far.
    std::uint64_t events_executed() const { return events_executed_; }

    /// Time of the next pending event, or Duration::max() when none.
    Duration next_event_time() const;

    /// The random stream of a component (see random.h).
    RandomStream& rng(std::string_view component) { return streams_.get(component); }

    std::uint64_t seed() const { return streams_.run_seed(); }

    /// Hash of the (time, priority, tag) sequence of fired events: equal runs give equal
    /// fingerprints, for crude regression and determinism tests.
    std::uint64_t fingerprint() const { return fingerprint_; }

private:
    Duration now_{0};
    std::unique_ptr<detail::EventQueue> queue_;
    RandomStreams streams_;
    std::uint64_t events_executed_ = 0;
    std::uint64_t fingerprint_ = 0xcbf29ce484222325ULL;
    bool stop_requested_ = false;
};

extern template class BasicSimulator<Time>;
extern template class BasicSimulator<RunTime>;

/// The step-level engine (picosecond clock).
using Simulator = BasicSimulator<Time>;
/// The run-level engine (nanosecond clock, for year-long failure simulations).
using RunSimulator = BasicSimulator<RunTime>;

}  // namespace stepsim
