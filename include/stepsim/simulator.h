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

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <string_view>
#include <type_traits>
#include <utility>

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

/// A type-erased `void()` callable: the engine's event callback, move-only. A callable that
/// is trivially copyable and at most 16 bytes (a lambda capturing `this` and an index, or a
/// few references) is stored inline, so scheduling it allocates nothing and the event queue
/// moves it with its time key; any other callable (one owning a std::function, a string...)
/// is moved to the heap and the callback holds the pointer. Calling an empty callback is an
/// error the engine refuses at schedule time.
class EventCallback {
public:
    static constexpr std::size_t kInlineBytes = 16;

    EventCallback() noexcept = default;

    template <class F>

    requires(!std::is_same_v<std::remove_cvref_t<F>, EventCallback> &&
             std::is_invocable_v<std::decay_t<F>&>)
        EventCallback(F&& fn) {  // NOLINT(google-explicit-constructor): lambdas convert implicitly
        using Fn = std::decay_t<F>;
        if constexpr (kIsInline<Fn>) {
            ::new (static_cast<void*>(storage_)) Fn(std::forward<F>(fn));
            ops_ = &kInlineOps<Fn>;
        } else {
            Fn* box = new Fn(std::forward<F>(fn));
            std::memcpy(storage_, &box, sizeof box);
            ops_ = &kHeapOps<Fn>;
        }
    }

    EventCallback(EventCallback&& other) noexcept
        : ops_(other.ops_) {
        std::memcpy(storage_, other.storage_, kInlineBytes);
        other.ops_ = nullptr;
    }

    EventCallback& operator=(EventCallback&& other) noexcept {
        if (this != &other) {
            reset();
            ops_ = other.ops_;
            std::memcpy(storage_, other.storage_, kInlineBytes);
            other.ops_ = nullptr;
        }
        return *this;
    }

    EventCallback(const EventCallback&) = delete;
    EventCallback& operator=(const EventCallback&) = delete;

    ~EventCallback() { reset(); }

    explicit operator bool() const noexcept { return ops_ != nullptr; }

    /// Calls the callable (precondition: not empty).
    void operator()() { ops_->invoke(storage_); }

private:
    friend class detail::EventQueue;
    template <class Duration>
    friend class BasicSimulator;

    // `destroy` is null for inline callables: trivially copyable means trivially destructible.
    struct Ops {
        void (*invoke)(void* storage);
        void (*destroy)(void* storage) noexcept;
    };

    // The callback as plain words, ownership with them (passed in registers, not memory).
    struct Released {
        const Ops* ops;
        std::uint64_t word0;
        std::uint64_t word1;
    };

    static_assert(kInlineBytes == 2 * sizeof(std::uint64_t));

    // Destroys the callable of a released callback (one that will not be called).
    static void destroy_released(const Ops* ops,
                                 std::uint64_t word0,
                                 std::uint64_t word1) noexcept {
        if (ops != nullptr && ops->destroy != nullptr) {
            unsigned char storage[kInlineBytes];
            std::memcpy(storage, &word0, sizeof word0);
            std::memcpy(storage + sizeof word0, &word1, sizeof word1);
            ops->destroy(storage);
        }
    }

    Released release() noexcept {
        Released released{ops_, 0, 0};
        std::memcpy(&released.word0, storage_, sizeof released.word0);
        std::memcpy(&released.word1, storage_ + sizeof released.word0, sizeof released.word1);
        ops_ = nullptr;
        return released;
    }

    template <class Fn>
    static constexpr bool kIsInline =
        sizeof(Fn) <= kInlineBytes &&
        alignof(Fn) <= alignof(void*) && std::is_trivially_copyable_v<Fn>;

    template <class Fn>
    static void invoke_inline(void* storage) {
        (*std::launder(static_cast<Fn*>(storage)))();
    }

    template <class Fn>
    static Fn* box_of(void* storage) noexcept {
        Fn* box;
        std::memcpy(&box, storage, sizeof box);
        return box;
    }

    template <class Fn>
    static void invoke_heap(void* storage) {
        (*box_of<Fn>(storage))();
    }

    template <class Fn>
    static void destroy_heap(void* storage) noexcept {
        delete box_of<Fn>(storage);
    }

    template <class Fn>
    static constexpr Ops kInlineOps{&invoke_inline<Fn>, nullptr};
    template <class Fn>
    static constexpr Ops kHeapOps{&invoke_heap<Fn>, &destroy_heap<Fn>};

    void reset() noexcept {
        if (ops_ != nullptr && ops_->destroy != nullptr) {
            ops_->destroy(storage_);
        }
        ops_ = nullptr;
    }

    const Ops* ops_ = nullptr;
    alignas(void*) unsigned char storage_[kInlineBytes]{};
};

template <class Duration>
class BasicSimulator {
public:
    /// Any `void()` callable converts to it (see EventCallback).
    using Callback = EventCallback;

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
                        std::uint64_t tag = 0) {
        const EventCallback::Released released = fn.release();
        return schedule_released_at(when, released.ops, released.word0, released.word1, tag,
                                    priority);
    }

    /// Schedules `fn` after `delay` (>= 0) from now().
    EventId schedule_in(Duration delay,
                        Callback fn,
                        Priority priority = Priority::kDefault,
                        std::uint64_t tag = 0) {
        const EventCallback::Released released = fn.release();
        return schedule_released_in(delay, released.ops, released.word0, released.word1, tag,
                                    priority);
    }

    /// Cancels a pending event and destroys its callback. Returns false if it already fired
    /// or was cancelled.
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
    // Take ownership of a released callback (destroyed if the time is refused). Scalar
    // arguments: the callback's words travel in registers.
    EventId schedule_released_at(Duration when,
                                 const EventCallback::Ops* ops,
                                 std::uint64_t word0,
                                 std::uint64_t word1,
                                 std::uint64_t tag,
                                 Priority priority);
    EventId schedule_released_in(Duration delay,
                                 const EventCallback::Ops* ops,
                                 std::uint64_t word0,
                                 std::uint64_t word1,
                                 std::uint64_t tag,
                                 Priority priority);

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
