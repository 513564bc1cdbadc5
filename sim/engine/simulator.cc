// SPDX-License-Identifier: Apache-2.0
// File: simulator.cc
// BasicSimulator, instantiated for the picosecond (Time) and nanosecond (RunTime) clocks.
#include "stepsim/simulator.h"

#include "stepsim/error.h"

#include "event_queue.h"

#include <cstring>
#include <string>

namespace stepsim {

namespace {
// Mixes one 64-bit word into the fingerprint: xor, multiply by an odd constant, fold the high
// half down. Three multiplications per event (time, priority, tag) instead of FNV-1a's
// twenty-four byte steps; the fingerprint is a regression aid, not a cryptographic hash.
std::uint64_t mix(std::uint64_t hash, std::uint64_t word) {
    hash = (hash ^ word) * 0x9e3779b97f4a7c15ULL;
    return hash ^ (hash >> 32);
}
}  // namespace

template <class Duration>
BasicSimulator<Duration>::BasicSimulator(std::uint64_t seed)
    : queue_(std::make_unique<detail::EventQueue>())
    , streams_(seed) {}

template <class Duration>
BasicSimulator<Duration>::~BasicSimulator() = default;

// A failed STEPSIM_CHECK on a released callback: destroys it, then throws InternalError.
#define STEPSIM_CHECK_SCHEDULE(condition, message)                                      \
    do {                                                                                \
        if (!(condition)) [[unlikely]] {                                                \
            EventCallback::destroy_released(ops, word0, word1);                         \
            ::stepsim::detail::check_failed(#condition, __FILE__, __LINE__, (message)); \
        }                                                                               \
    } while (false)

template <class Duration>
EventId BasicSimulator<Duration>::schedule_released_at(Duration when,
                                                       const EventCallback::Ops* ops,
                                                       std::uint64_t word0,
                                                       std::uint64_t word1,
                                                       std::uint64_t tag,
                                                       Priority priority) {
    STEPSIM_CHECK_SCHEDULE(when >= now_, "event scheduled in the past: at " +
                                             std::to_string(when.count()) + " ticks, now " +
                                             std::to_string(now_.count()));
    return EventId{
        queue_->push(when.count(), static_cast<std::uint8_t>(priority), tag, ops, word0, word1)};
}

template <class Duration>
EventId BasicSimulator<Duration>::schedule_released_in(Duration delay,
                                                       const EventCallback::Ops* ops,
                                                       std::uint64_t word0,
                                                       std::uint64_t word1,
                                                       std::uint64_t tag,
                                                       Priority priority) {
    STEPSIM_CHECK_SCHEDULE(delay.count() >= 0, "negative delay " + std::to_string(delay.count()));
    STEPSIM_CHECK_SCHEDULE(delay <= Duration::max() - now_, "event time overflows the clock");
    return EventId{queue_->push((now_ + delay).count(), static_cast<std::uint8_t>(priority), tag,
                                ops, word0, word1)};
}

template <class Duration>
bool BasicSimulator<Duration>::cancel(EventId id) {
    return queue_->cancel(id.value);
}

template <class Duration>
bool BasicSimulator<Duration>::step() {
    detail::EventQueue::Popped event;
    if (!queue_->pop(event)) {
        return false;
    }
    now_ = Duration(event.time);
    fingerprint_ =
        mix(mix(mix(fingerprint_, static_cast<std::uint64_t>(event.time)), event.order >> 56),
            event.tag);
    ++events_executed_;
    if (event.ops->destroy == nullptr) [[likely]] {
        event.ops->invoke(event.storage);
        return true;
    }

    // A heap-held callable is destroyed after the call, also when the call throws.
    struct Destroy {
        detail::EventQueue::Popped& event;

        ~Destroy() { event.ops->destroy(event.storage); }
    } destroy{event};

    event.ops->invoke(event.storage);
    return true;
}

template <class Duration>
void BasicSimulator<Duration>::run() {
    stop_requested_ = false;
    while (!stop_requested_ && step()) {}
}

template <class Duration>
void BasicSimulator<Duration>::run_until(Duration limit) {
    stop_requested_ = false;
    while (!stop_requested_ && queue_->peek_time() <= limit.count()) {
        step();
    }
    if (!stop_requested_ && limit > now_) {
        now_ = limit;
    }
}

template <class Duration>
std::size_t BasicSimulator<Duration>::pending() const {
    return queue_->live();
}

template <class Duration>
Duration BasicSimulator<Duration>::next_event_time() const {
    return Duration(queue_->peek_time());
}

template class BasicSimulator<Time>;
template class BasicSimulator<RunTime>;

}  // namespace stepsim
