// SPDX-License-Identifier: Apache-2.0
// File: event_queue.h
// The pending-event set: a monotone radix heap with 256-way digits (levels 1 to 7 of 8 bits
// of the time). Each entry carries its whole event (time, order, tag, slot and the callback
// itself, 56 bytes), so moving entries down the levels is sequential memory traffic and a pop
// touches no per-event storage elsewhere but one 4-byte stamp, which it only writes. Times only
// grow, so an entry lives in the bucket of the highest byte in which its time differs from the
// base; emptying the lowest bucket moves its entries at least one level down, so an entry moves
// at most 7 times, in practice 1 or 2. Entries in the base's 256-tick window (byte 0) form the
// run: sorted by (time, order) with a counting sort on byte 0 when their bucket comes due, then
// read in sequence. Entries pushed into that window or before the base meanwhile wait in a small
// binary heap; a pop takes the earlier of the two. Cancelling changes the slot's stamp (and
// frees a heap-held callback at once); the entry left behind is dropped when it comes up, or by
// a purge once stale entries outnumber live ones.
// The hot paths (push, pop) are inline: simulator.cc is the only production includer.
#pragma once

#include "stepsim/error.h"
#include "stepsim/simulator.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

namespace stepsim::detail {

class EventQueue {
public:
    using Ops = EventCallback::Ops;

    /// A fired event. The receiver owns the callback: call `ops->invoke(storage)`, then
    /// `ops->destroy(storage)` if `destroy` is not null.
    struct Popped {
        std::int64_t time;
        std::uint64_t order;  ///< priority << 56 | sequence
        std::uint64_t tag;
        const Ops* ops;
        alignas(void*) unsigned char storage[EventCallback::kInlineBytes];
    };

    EventQueue();
    ~EventQueue();
    EventQueue(const EventQueue&) = delete;
    EventQueue& operator=(const EventQueue&) = delete;

    /// Returns the event's id: (stamp << 32) | (slot + 1). Any int64 time is accepted; a time
    /// below the base (possible after peek_time() looked ahead, or when the caller schedules
    /// before the last popped time) goes to a side heap and is still ordered. The queue takes
    /// ownership of the callback (`ops` and the storage words of a released EventCallback;
    /// `ops` not null).
    std::uint64_t push(std::int64_t time,
                       std::uint8_t priority,
                       std::uint64_t tag,
                       const Ops* ops,
                       std::uint64_t word0,
                       std::uint64_t word1);

    /// The same, taking the callback out of `fn` (not empty).
    std::uint64_t push(std::int64_t time,
                       std::uint8_t priority,
                       std::uint64_t tag,
                       EventCallback&& fn) {
        const EventCallback::Released released = fn.release();
        return push(time, priority, tag, released.ops, released.word0, released.word1);
    }

    /// Cancels a live event and destroys its callback. False if `id` is unknown, fired,
    /// cancelled, or of a reused slot.
    bool cancel(std::uint64_t id);
    /// Removes the earliest live event into `out`. Returns false when none is left.
    bool pop(Popped& out);
    /// Time of the earliest live event; INT64_MAX when none.
    std::int64_t peek_time();

    std::size_t live() const { return live_; }

    /// Entries of cancelled events still in the structure (bounded by the purge).
    std::size_t stale() const { return stale_; }

private:
    // A whole event. Trivially copyable: the callback's bytes move with it (EventCallback
    // keeps only trivially copyable callables inline; others are a pointer to a heap box).
    struct Entry {
        Entry() {}  // NOLINT(modernize-use-equals-default): left uninitialized on purpose

        std::int64_t time;
        std::uint64_t order;  ///< priority << 56 | sequence
        std::uint64_t tag;
        std::uint32_t slot;
        std::uint32_t stamp;  ///< the slot's stamp while this event is live
        const Ops* ops;
        alignas(void*) unsigned char storage[EventCallback::kInlineBytes];
    };

    // A heap-held callback of a live event, so that cancel() can destroy it at once.
    struct HeapCallback {
        const Ops* ops = nullptr;
        unsigned char storage[EventCallback::kInlineBytes];
    };

    // A slot's stamp: generation << 1 | (callback on the heap). It changes when the event
    // fires or is cancelled, so an entry is live iff its stamp equals its slot's.
    static constexpr std::uint32_t kHeapBit = 1;
    static constexpr std::uint32_t kGenerationStep = 2;

    static constexpr int kDigitBits = 8;
    static constexpr int kDigits = 1 << kDigitBits;
    static constexpr int kLevels = 64 / kDigitBits;
    static constexpr std::uint32_t kChunkEntries = 32;
    static constexpr std::uint64_t kSequenceBits = 56;
    static constexpr std::uint64_t kSequenceMask = (std::uint64_t{1} << kSequenceBits) - 1;
    static constexpr std::size_t kMaxSlots = std::numeric_limits<std::uint32_t>::max() - 1;
    // A pop prefetches the stamp of the run entry this far ahead (it writes the stamp).
    static constexpr std::size_t kPrefetchAhead = 12;

    // `next` first: it is read together with the first entries.
    struct Chunk {
        Chunk* next;
        Entry entries[kChunkEntries];
    };

    static constexpr std::size_t kCacheLine = 64;
    static constexpr std::uint32_t kChunkLines = (sizeof(Chunk) + kCacheLine - 1) / kCacheLine;
    static_assert(kChunkLines <= kChunkEntries);

    // A chain of chunks linked by `next` up to the tail (whose `next` is not kept null);
    // every chunk but the tail is full. The minimum time of its entries is kept on append, so
    // that emptying it takes one pass.
    struct Bucket {
        Chunk* head = nullptr;
        Chunk* tail = nullptr;
        std::uint32_t tail_count = 0;
        std::uint32_t size = 0;
        std::uint64_t min_time = 0;
    };

    static bool is_before(const Entry& a, const Entry& b) {
        return a.time < b.time || (a.time == b.time && a.order < b.order);
    }

    struct TimeOrderAfter {
        bool operator()(const Entry& a, const Entry& b) const { return is_before(b, a); }
    };

    bool is_live(const Entry& entry) const { return stamps_[entry.slot] == entry.stamp; }

    Entry& append(int level, int digit, std::uint64_t time);
    // Appends an entry with time ^ base_ >= 256 (and time > base_) to its bucket.
    void place(const Entry& entry);
    Chunk* take_chunk();
    int first_digit(int level) const;
    void set_bucket_bit(int level, int digit);
    void clear_bucket_bit(int level, int digit);
    void release_chain(Bucket& bucket);
    // Empties the lowest bucket: base_ becomes its minimum, the entries in base_'s window
    // become the run, the others move down. Precondition: run and near heap empty. False when
    // the radix part is empty.
    bool refill();
    // Sorts run_ (one 256-tick window) by (time, order); prefetches; sets run_size_.
    void sort_run();
    void counting_sort_run();
    static void insertion_sort(std::vector<Entry>::iterator first,
                               std::vector<Entry>::iterator last);

    bool has_run() const { return run_next_ < run_size_; }

    // Pops the earliest entry (live or stale). False when none is left.
    bool pop_entry(Entry& out);

    static std::uint64_t free_slot(std::uint32_t slot, std::uint32_t stamp) {
        return (std::uint64_t{stamp} << 32) | slot;
    }

    // A free slot and its current stamp.
    std::uint32_t take_slot(std::uint32_t& stamp);
    // Cold parts of push(), out of line.
    [[gnu::noinline]] void hold_heap_callback(std::uint32_t slot,
                                              const Ops* ops,
                                              std::uint64_t word0,
                                              std::uint64_t word1);
    [[gnu::noinline]] void sift_up_near_heap();
    // Destroys a callback that push() cannot take, then throws InternalError.
    [[noreturn]] void refuse(const Ops* ops, std::uint64_t word0, std::uint64_t word1) const;
    // Frees the slot of a stale entry (its callback was destroyed by cancel()).
    void drop_stale(const Entry& entry);
    void purge();
    // Calls `visit(entry)` on every entry in the structure.
    template <class Visit>
    void for_each_entry(Visit visit);

    // Radix part: every pending time is >= base_ except those in near_heap_. An entry outside
    // base_'s 256-tick window sits at level L >= 1 = the highest byte in which it differs from
    // base_, in bucket digit = that byte.
    std::uint64_t base_ = 0;
    std::uint32_t level_mask_ = 0;
    std::array<std::array<std::uint64_t, kDigits / 64>, kLevels> digit_masks_{};
    std::array<Bucket, kLevels * kDigits> buckets_{};  // index level * kDigits + digit, level >= 1
    // The run: entries of base_'s window that came down the radix part, sorted by (time,
    // order), read from run_next_ on.
    std::vector<Entry> run_;
    std::size_t run_next_ = 0;
    std::size_t run_size_ = 0;  // run_.size(), kept to spare a division by sizeof(Entry)
    std::vector<Entry> sort_scratch_;
    // Entries pushed into base_'s window, or before base_ (after peek_time() looked ahead),
    // while the run lasts: a min-heap by (time, order).
    std::vector<Entry> near_heap_;

    std::vector<std::unique_ptr<Chunk>> chunks_;
    std::vector<Chunk*> free_chunks_;

    // Per slot: the stamp (4 bytes: the only per-event memory a pop touches outside the
    // entry), and the heap-held callback of a live event whose stamp has kHeapBit.
    std::vector<std::uint32_t> stamps_;
    std::vector<HeapCallback> heap_callbacks_;
    // Free slots as stamp << 32 | slot: one 8-byte word, written by a pop and read back by
    // the next push (two 4-byte stores read as one 8-byte load would stall the forwarding).
    std::vector<std::uint64_t> free_slots_;
    std::uint64_t next_sequence_ = 0;
    std::size_t live_ = 0;
    std::size_t stale_ = 0;
};

[[gnu::always_inline]] inline void EventQueue::set_bucket_bit(int level, int digit) {
    digit_masks_[static_cast<std::size_t>(level)][static_cast<std::size_t>(digit >> 6)] |=
        std::uint64_t{1} << (digit & 63);
    level_mask_ |= std::uint32_t{1} << level;
}

[[gnu::always_inline]] inline int EventQueue::first_digit(int level) const {
    const auto& masks = digit_masks_[static_cast<std::size_t>(level)];
    for (std::size_t word = 0; word < masks.size(); ++word) {
        if (masks[word] != 0) {
            return static_cast<int>(word * 64) + std::countr_zero(masks[word]);
        }
    }
    return -1;
}

[[gnu::always_inline]] inline void EventQueue::clear_bucket_bit(int level, int digit) {
    auto& masks = digit_masks_[static_cast<std::size_t>(level)];
    masks[static_cast<std::size_t>(digit >> 6)] &= ~(std::uint64_t{1} << (digit & 63));
    if ((masks[0] | masks[1] | masks[2] | masks[3]) == 0) {
        level_mask_ &= ~(std::uint32_t{1} << level);
    }
}

[[gnu::always_inline]] inline EventQueue::Entry& EventQueue::append(int level,
                                                                    int digit,
                                                                    std::uint64_t time) {
    Bucket& bucket = buckets_[static_cast<std::size_t>(level * kDigits + digit)];
    if (bucket.tail == nullptr) {
        Chunk* chunk = take_chunk();
        bucket.head = chunk;
        bucket.tail = chunk;
        bucket.tail_count = 0;
        bucket.min_time = time;
        set_bucket_bit(level, digit);
    } else if (bucket.tail_count == kChunkEntries) {
        Chunk* chunk = take_chunk();
        bucket.tail->next = chunk;
        bucket.tail = chunk;
        bucket.tail_count = 0;
    }
    bucket.min_time = std::min(bucket.min_time, time);
    ++bucket.size;
    return bucket.tail->entries[bucket.tail_count++];
}

[[gnu::always_inline]] inline void EventQueue::place(const Entry& entry) {
    const auto time = static_cast<std::uint64_t>(entry.time);
    const int level = (63 - std::countl_zero(time ^ base_)) / kDigitBits;
    append(level, static_cast<int>((time >> (level * kDigitBits)) & (kDigits - 1)), time) = entry;
}

[[gnu::always_inline]] inline std::uint32_t EventQueue::take_slot(std::uint32_t& stamp) {
    if (!free_slots_.empty()) [[likely]] {
        const std::uint64_t free = free_slots_.back();
        free_slots_.pop_back();
        stamp = static_cast<std::uint32_t>(free >> 32);
        return static_cast<std::uint32_t>(free);
    }
    stamps_.push_back(0);
    stamp = 0;
    return static_cast<std::uint32_t>(stamps_.size() - 1);
}

[[gnu::always_inline]] inline std::uint64_t EventQueue::push(std::int64_t time,
                                                             std::uint8_t priority,
                                                             std::uint64_t tag,
                                                             const Ops* ops,
                                                             std::uint64_t word0,
                                                             std::uint64_t word1) {
    if (ops == nullptr || next_sequence_ > kSequenceMask ||
        (free_slots_.empty() && stamps_.size() >= kMaxSlots)) [[unlikely]] {
        refuse(ops, word0, word1);
    }
    std::uint32_t stamp;
    const std::uint32_t slot = take_slot(stamp);
    const bool is_heap = ops->destroy != nullptr;
    stamp |= is_heap ? kHeapBit : 0;
    stamps_[slot] = stamp;  // written, not read: the free list knew it
    if (is_heap) [[unlikely]] {
        hold_heap_callback(slot, ops, word0, word1);
    }
    const std::uint64_t order = (std::uint64_t{priority} << kSequenceBits) | next_sequence_++;
    // The fields are written where the entry goes: a whole Entry built on the stack and
    // copied would be reloaded in wider pieces than it was stored (a store-forwarding stall).
    const auto fill = [&](Entry& entry) {
        entry.time = time;
        entry.order = order;
        entry.tag = tag;
        entry.slot = slot;
        entry.stamp = stamp;
        entry.ops = ops;
        std::memcpy(entry.storage, &word0, sizeof word0);
        std::memcpy(entry.storage + sizeof word0, &word1, sizeof word1);
    };
    const auto utime = static_cast<std::uint64_t>(time);
    const std::uint64_t differing = utime ^ base_;
    if (time >= static_cast<std::int64_t>(base_) && differing >= kDigits) [[likely]] {
        const int level = (63 - std::countl_zero(differing)) / kDigitBits;
        fill(append(level, static_cast<int>((utime >> (level * kDigitBits)) & (kDigits - 1)),
                    utime));
    } else {
        fill(near_heap_.emplace_back());
        sift_up_near_heap();
    }
    ++live_;
    return (std::uint64_t{stamp} << 32) | (std::uint64_t{slot} + 1);
}

[[gnu::always_inline]] inline void EventQueue::drop_stale(const Entry& entry) {
    --stale_;
    // cancel() moved the stamp on to the next generation.
    free_slots_.push_back(free_slot(entry.slot, (entry.stamp & ~kHeapBit) + kGenerationStep));
}

[[gnu::always_inline]] inline bool EventQueue::pop_entry(Entry& out) {
    if (!has_run() && near_heap_.empty() && !refill()) {
        return false;
    }
    if (has_run() && (near_heap_.empty() || is_before(run_[run_next_], near_heap_.front())))
        [[likely]] {
        if (run_next_ + kPrefetchAhead < run_size_) {
            const Entry& ahead = run_[run_next_ + kPrefetchAhead];
            __builtin_prefetch(&stamps_[ahead.slot], 1);
            if (ahead.ops->destroy != nullptr) {
                void* box;
                std::memcpy(&box, ahead.storage, sizeof box);
                __builtin_prefetch(box);
            }
        }
        out = run_[run_next_++];
        return true;
    }
    out = near_heap_.front();
    std::pop_heap(near_heap_.begin(), near_heap_.end(), TimeOrderAfter{});
    near_heap_.pop_back();
    return true;
}

[[gnu::always_inline]] inline bool EventQueue::pop(Popped& out) {
    Entry entry;
    while (pop_entry(entry)) {
        // With no cancelled entry anywhere, this one is live: the stamp is only written (a
        // store does not wait for its cache line), not read.
        if (stale_ == 0 || is_live(entry)) [[likely]] {
            // Next generation, heap bit clear: the id no longer matches.
            const std::uint32_t next_stamp = (entry.stamp & ~kHeapBit) + kGenerationStep;
            stamps_[entry.slot] = next_stamp;
            free_slots_.push_back(free_slot(entry.slot, next_stamp));
            --live_;
            out.time = entry.time;
            out.order = entry.order;
            out.tag = entry.tag;
            out.ops = entry.ops;
            std::memcpy(out.storage, entry.storage, sizeof out.storage);
            return true;
        }
        drop_stale(entry);
    }
    return false;
}

}  // namespace stepsim::detail
