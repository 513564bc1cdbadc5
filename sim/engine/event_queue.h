// SPDX-License-Identifier: Apache-2.0
// File: event_queue.h
// The pending-event set: a 4-ary min-heap of small keys (time, priority<<56 | sequence, slot,
// generation) over a slot array that holds the callbacks. Cancelling frees the slot at once;
// the heap entry left behind is recognised as stale by its generation and skipped when popped.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace stepsim::detail {

class EventQueue {
public:
    using Callback = std::function<void()>;

    struct Popped {
        std::int64_t time;
        std::uint64_t order;  ///< priority << 56 | sequence
        std::uint64_t tag;
        Callback fn;
    };

    /// Returns the event's id: (generation << 32) | (slot + 1).
    std::uint64_t push(std::int64_t time, std::uint8_t priority, std::uint64_t tag, Callback fn);
    bool cancel(std::uint64_t id);
    /// Removes the earliest live event into `out`. Returns false when none is left.
    bool pop(Popped& out);
    /// Time of the earliest live event; INT64_MAX when none.
    std::int64_t peek_time();
    std::size_t live() const { return live_; }

private:
    struct Entry {
        std::int64_t time;
        std::uint64_t order;
        std::uint32_t slot;
        std::uint32_t generation;
    };

    struct Slot {
        Callback fn;
        std::uint64_t tag = 0;
        std::uint32_t generation = 0;
        bool is_live = false;
    };

    static bool before(const Entry& a, const Entry& b) {
        return a.time < b.time || (a.time == b.time && a.order < b.order);
    }

    bool is_stale(const Entry& e) const {
        const Slot& s = slots_[e.slot];
        return !s.is_live || s.generation != e.generation;
    }

    void sift_up(std::size_t index, Entry entry);
    void remove_top();
    void drop_stale_top();

    std::vector<Entry> heap_;
    std::vector<Slot> slots_;
    std::vector<std::uint32_t> free_slots_;
    std::uint64_t next_sequence_ = 0;
    std::size_t live_ = 0;
};

}  // namespace stepsim::detail
