// SPDX-License-Identifier: Apache-2.0
// File: event_queue.h
// The pending-event set: a monotone radix heap with 256-way digits (8 levels of 8 bits of the
// time) over a slot array that holds the callbacks. Times only grow, so a key lives in the
// bucket of the highest byte in which its time differs from the base (the time of the events
// firing now); emptying the lowest bucket moves its keys at least one level down, so a key
// moves at most 8 times, in practice 2 or 3. Keys at the base time wait in a small binary
// heap ordered by (priority, sequence). Cancelling marks the slot; the key left behind is
// dropped when it comes up, or by a purge once stale keys outnumber live ones.
// The hot paths (push, pop) are inline: simulator.cc is the only production includer.
#pragma once

#include "stepsim/error.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
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

    EventQueue();
    ~EventQueue();
    EventQueue(const EventQueue&) = delete;
    EventQueue& operator=(const EventQueue&) = delete;

    /// Returns the event's id: (generation << 32) | (slot + 1). Any int64 time is accepted;
    /// a time below the base (possible after peek_time() looked ahead, or when the caller
    /// schedules before the last popped time) goes to a side heap and is still ordered.
    std::uint64_t push(std::int64_t time, std::uint8_t priority, std::uint64_t tag, Callback&& fn);
    /// Cancels a live event. False if `id` is unknown, fired, cancelled, or of a reused slot.
    bool cancel(std::uint64_t id);
    /// Removes the earliest live event into `out`. Returns false when none is left.
    bool pop(Popped& out);
    /// Time of the earliest live event; INT64_MAX when none.
    std::int64_t peek_time();

    std::size_t live() const { return live_; }

    /// Keys of cancelled events still in the structure (bounded by the purge).
    std::size_t stale() const { return stale_; }

private:
    struct Key {
        std::int64_t time;
        std::uint64_t order;  ///< priority << 56 | sequence
        std::uint32_t slot;
    };

    enum class SlotState : std::uint8_t { kFree, kLive, kCancelled };

    // One cache line: the callback, its fingerprint tag and the id check.
    struct alignas(64) Slot {
        Callback fn;
        std::uint64_t tag = 0;
        std::uint32_t generation = 0;
        SlotState state = SlotState::kFree;
    };

    static constexpr int kDigitBits = 8;
    static constexpr int kDigits = 1 << kDigitBits;
    static constexpr int kLevels = 64 / kDigitBits;
    static constexpr std::uint32_t kChunkKeys = 64;
    static constexpr std::uint64_t kSequenceBits = 56;
    static constexpr std::uint64_t kSequenceMask = (std::uint64_t{1} << kSequenceBits) - 1;

    struct Chunk {
        Key keys[kChunkKeys];
        Chunk* next;
    };

    // A chain of chunks; every chunk but the tail is full. Used for levels 1 and up.
    struct Bucket {
        Chunk* head = nullptr;
        Chunk* tail = nullptr;
        std::uint32_t tail_count = 0;
    };

    struct OrderAfter {
        bool operator()(const Key& a, const Key& b) const { return a.order > b.order; }
    };

    struct TimeOrderAfter {
        bool operator()(const Key& a, const Key& b) const {
            return a.time > b.time || (a.time == b.time && a.order > b.order);
        }
    };

    void place(const Key& key);
    void append(int level, int digit, const Key& key);
    Chunk* take_chunk();
    int first_digit(int level) const;
    void set_bucket_bit(int level, int digit);
    void clear_bucket_bit(int level, int digit);
    void release_chain(Bucket& bucket);
    // Moves the lowest bucket's keys down; fills now_heap_. False when the radix part is empty.
    bool refill();
    // Pops the earliest key (live or stale). False when none is left.
    bool pop_key(Key& out);
    void free_slot(std::uint32_t slot);
    void purge();

    // Radix part: base_ is the time of the keys in now_heap_. A key with a later time sits at
    // level L = the highest byte in which it differs from base_, in bucket digit = that byte.
    // Level 0 holds single times; its buckets are vectors swapped into now_heap_ when due.
    std::uint64_t base_ = 0;
    std::uint32_t level_mask_ = 0;
    std::array<std::array<std::uint64_t, kDigits / 64>, kLevels> digit_masks_{};
    std::array<std::vector<Key>, kDigits> level0_;
    std::array<Bucket, kLevels * kDigits> buckets_{};  // index level * kDigits + digit, level >= 1
    // Keys with time == base_, a min-heap by order.
    std::vector<Key> now_heap_;
    // Keys with time < base_, a min-heap by (time, order). Nonempty only until the clock
    // catches up with base_ (after peek_time() looked ahead).
    std::vector<Key> early_heap_;

    std::vector<std::unique_ptr<Chunk>> chunks_;
    Chunk* free_chunks_ = nullptr;

    std::vector<Slot> slots_;
    std::vector<std::uint32_t> free_slots_;
    std::uint64_t next_sequence_ = 0;
    std::size_t live_ = 0;
    std::size_t stale_ = 0;
};

[[gnu::always_inline]] inline void EventQueue::set_bucket_bit(int level, int digit) {
    digit_masks_[static_cast<std::size_t>(level)][static_cast<std::size_t>(digit >> 6)] |=
        std::uint64_t{1} << (digit & 63);
    level_mask_ |= std::uint32_t{1} << level;
}

[[gnu::always_inline]] inline void EventQueue::append(int level, int digit, const Key& key) {
    Bucket& bucket = buckets_[static_cast<std::size_t>(level * kDigits + digit)];
    if (bucket.tail == nullptr) {
        Chunk* chunk = take_chunk();
        bucket.head = chunk;
        bucket.tail = chunk;
        bucket.tail_count = 0;
        set_bucket_bit(level, digit);
    } else if (bucket.tail_count == kChunkKeys) {
        Chunk* chunk = take_chunk();
        bucket.tail->next = chunk;
        bucket.tail = chunk;
        bucket.tail_count = 0;
    }
    bucket.tail->keys[bucket.tail_count++] = key;
}

[[gnu::always_inline]] inline void EventQueue::place(const Key& key) {
    // Precondition: key.time > base_ (both non-negative here).
    const auto time = static_cast<std::uint64_t>(key.time);
    const std::uint64_t differing = time ^ base_;
    if (differing < kDigits) {
        std::vector<Key>& bucket = level0_[time & (kDigits - 1)];
        if (bucket.empty()) {
            set_bucket_bit(0, static_cast<int>(time & (kDigits - 1)));
        }
        bucket.push_back(key);
        // It fires within the next 256 ticks' worth of events: start loading its callback.
        __builtin_prefetch(&slots_[key.slot]);
        return;
    }
    const int level = (63 - std::countl_zero(differing)) / kDigitBits;
    append(level, static_cast<int>((time >> (level * kDigitBits)) & (kDigits - 1)), key);
}

[[gnu::always_inline]] inline std::uint64_t EventQueue::push(std::int64_t time,
                                                             std::uint8_t priority,
                                                             std::uint64_t tag,
                                                             Callback&& fn) {
    std::uint32_t slot;
    if (!free_slots_.empty()) {
        slot = free_slots_.back();
        free_slots_.pop_back();
    } else {
        STEPSIM_CHECK(slots_.size() < std::numeric_limits<std::uint32_t>::max() - 1,
                      "more than 2^32 pending events");
        slot = static_cast<std::uint32_t>(slots_.size());
        slots_.emplace_back();
    }
    Slot& s = slots_[slot];
    s.fn = std::move(fn);
    s.tag = tag;
    s.state = SlotState::kLive;
    STEPSIM_CHECK(next_sequence_ <= kSequenceMask, "event sequence number overflow");
    const Key key{time, (std::uint64_t{priority} << kSequenceBits) | next_sequence_++, slot};
    const auto base = static_cast<std::int64_t>(base_);
    if (time > base) {
        place(key);
    } else if (time == base) {
        now_heap_.push_back(key);
        std::push_heap(now_heap_.begin(), now_heap_.end(), OrderAfter{});
    } else {
        early_heap_.push_back(key);
        std::push_heap(early_heap_.begin(), early_heap_.end(), TimeOrderAfter{});
    }
    ++live_;
    return (std::uint64_t{s.generation} << 32) | (std::uint64_t{slot} + 1);
}

[[gnu::always_inline]] inline void EventQueue::free_slot(std::uint32_t slot) {
    Slot& s = slots_[slot];
    stale_ -= s.state == SlotState::kCancelled ? 1 : 0;
    s.state = SlotState::kFree;
    ++s.generation;
    free_slots_.push_back(slot);
}

[[gnu::always_inline]] inline bool EventQueue::pop_key(Key& out) {
    if (!early_heap_.empty()) [[unlikely]] {
        out = early_heap_.front();
        std::pop_heap(early_heap_.begin(), early_heap_.end(), TimeOrderAfter{});
        early_heap_.pop_back();
        return true;
    }
    if (now_heap_.empty() && !refill()) {
        return false;
    }
    out = now_heap_.front();
    if (now_heap_.size() > 1) {
        std::pop_heap(now_heap_.begin(), now_heap_.end(), OrderAfter{});
    }
    now_heap_.pop_back();
    return true;
}

[[gnu::always_inline]] inline bool EventQueue::pop(Popped& out) {
    Key key;
    while (pop_key(key)) {
        Slot& s = slots_[key.slot];
        if (s.state == SlotState::kLive) [[likely]] {
            out.time = key.time;
            out.order = key.order;
            out.tag = s.tag;
            out.fn = std::move(s.fn);
            s.fn = nullptr;
            free_slot(key.slot);
            --live_;
            return true;
        }
        free_slot(key.slot);
    }
    return false;
}

}  // namespace stepsim::detail
