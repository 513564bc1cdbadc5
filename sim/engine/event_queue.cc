// SPDX-License-Identifier: Apache-2.0
// File: event_queue.cc
// A 4-ary heap: shallower than a binary heap (log4 n levels), and a node's four children share
// one or two cache lines. Removal moves the hole to a leaf along the smallest children, then
// sifts the last entry up from there (Floyd's bottom-up variant: fewer comparisons).
#include "event_queue.h"

#include <limits>

#include "stepsim/error.h"

namespace stepsim::detail {

namespace {
constexpr std::size_t kArity = 4;
constexpr std::uint64_t kSequenceBits = 56;
constexpr std::uint64_t kSequenceMask = (std::uint64_t{1} << kSequenceBits) - 1;
}  // namespace

std::uint64_t EventQueue::push(std::int64_t time, std::uint8_t priority, std::uint64_t tag,
                               Callback fn) {
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
    s.is_live = true;
    STEPSIM_CHECK(next_sequence_ <= kSequenceMask, "event sequence number overflow");
    const std::uint64_t order = (std::uint64_t{priority} << kSequenceBits) | next_sequence_++;
    heap_.push_back(Entry{});
    sift_up(heap_.size() - 1, Entry{time, order, slot, s.generation});
    ++live_;
    return (std::uint64_t{s.generation} << 32) | (std::uint64_t{slot} + 1);
}

bool EventQueue::cancel(std::uint64_t id) {
    const std::uint64_t slot_plus_one = id & 0xffffffffULL;
    if (slot_plus_one == 0 || slot_plus_one > slots_.size()) {
        return false;
    }
    const auto slot = static_cast<std::uint32_t>(slot_plus_one - 1);
    Slot& s = slots_[slot];
    if (!s.is_live || s.generation != static_cast<std::uint32_t>(id >> 32)) {
        return false;
    }
    s.is_live = false;
    s.fn = nullptr;
    ++s.generation;
    free_slots_.push_back(slot);
    --live_;
    return true;
}

void EventQueue::sift_up(std::size_t index, Entry entry) {
    while (index > 0) {
        const std::size_t parent = (index - 1) / kArity;
        if (!before(entry, heap_[parent])) {
            break;
        }
        heap_[index] = heap_[parent];
        index = parent;
    }
    heap_[index] = entry;
}

void EventQueue::remove_top() {
    const Entry last = heap_.back();
    heap_.pop_back();
    const std::size_t n = heap_.size();
    if (n == 0) {
        return;
    }
    // Move the hole from the root down to a leaf, always through the smallest child.
    std::size_t hole = 0;
    for (;;) {
        const std::size_t first = hole * kArity + 1;
        if (first >= n) {
            break;
        }
        std::size_t best = first;
        const std::size_t end = first + kArity < n ? first + kArity : n;
        for (std::size_t c = first + 1; c < end; ++c) {
            if (before(heap_[c], heap_[best])) {
                best = c;
            }
        }
        heap_[hole] = heap_[best];
        hole = best;
    }
    sift_up(hole, last);
}

void EventQueue::drop_stale_top() {
    while (!heap_.empty() && is_stale(heap_.front())) {
        remove_top();
    }
}

bool EventQueue::pop(Popped& out) {
    drop_stale_top();
    if (heap_.empty()) {
        return false;
    }
    const Entry top = heap_.front();
    remove_top();
    Slot& s = slots_[top.slot];
    out.time = top.time;
    out.order = top.order;
    out.tag = s.tag;
    out.fn = std::move(s.fn);
    s.fn = nullptr;
    s.is_live = false;
    ++s.generation;
    free_slots_.push_back(top.slot);
    --live_;
    return true;
}

std::int64_t EventQueue::peek_time() {
    drop_stale_top();
    return heap_.empty() ? std::numeric_limits<std::int64_t>::max() : heap_.front().time;
}

}  // namespace stepsim::detail
