// SPDX-License-Identifier: Apache-2.0
// File: event_queue.cc
// The radix heap of Ahuja, Mehlhorn, Orlin and Tarjan (1990), with 256-way digits instead of
// single bits so that an entry moves down at most 8 times. The slow paths live here: moving a
// bucket down (refill), chunk allocation, cancellation and the purge of cancelled entries.
#include "event_queue.h"

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

namespace stepsim::detail {

namespace {
// Stale entries are purged once they exceed both this floor and the live count, so the purge
// costs O(1) amortized per cancel and memory stays within twice the live events.
constexpr std::size_t kPurgeFloor = 4096;
// Runs up to this size are sorted by insertion, larger ones by counting on byte 0 first.
constexpr std::size_t kInsertionSortRun = 24;
// The run's vectors are freed when a refill finds them larger than this and the live count:
// memory stays bounded by the live entries.
constexpr std::size_t kKeepRunCapacity = 4096;
}  // namespace

EventQueue::EventQueue() = default;

template <class Visit>
void EventQueue::for_each_entry(Visit visit) {
    // Entries before run_next_ have been popped.
    for (std::size_t i = run_next_; i < run_.size(); ++i) {
        visit(run_[i]);
    }
    for (Entry& entry : near_heap_) {
        visit(entry);
    }
    for (Bucket& bucket : buckets_) {
        for (Chunk* chunk = bucket.head; chunk != nullptr;
             chunk = chunk == bucket.tail ? nullptr : chunk->next) {
            const std::uint32_t n = chunk == bucket.tail ? bucket.tail_count : kChunkEntries;
            for (std::uint32_t i = 0; i < n; ++i) {
                visit(chunk->entries[i]);
            }
        }
    }
}

EventQueue::~EventQueue() {
    // Live entries own their callbacks; stale ones' were destroyed by cancel().
    for_each_entry([this](Entry& entry) {
        if (is_live(entry) && entry.ops->destroy != nullptr) {
            entry.ops->destroy(entry.storage);
        }
    });
}

void EventQueue::refuse(const Ops* ops, std::uint64_t word0, std::uint64_t word1) const {
    EventCallback::destroy_released(ops, word0, word1);
    STEPSIM_CHECK(ops != nullptr, "empty event callback");
    STEPSIM_CHECK(next_sequence_ <= kSequenceMask, "event sequence number overflow");
    STEPSIM_CHECK(false, "more than 2^32 - 2 pending events");
}

void EventQueue::hold_heap_callback(std::uint32_t slot,
                                    const Ops* ops,
                                    std::uint64_t word0,
                                    std::uint64_t word1) {
    if (heap_callbacks_.size() <= slot) {
        heap_callbacks_.resize(stamps_.size());
    }
    HeapCallback& held = heap_callbacks_[slot];
    held.ops = ops;
    std::memcpy(held.storage, &word0, sizeof word0);
    std::memcpy(held.storage + sizeof word0, &word1, sizeof word1);
}

void EventQueue::sift_up_near_heap() {
    std::push_heap(near_heap_.begin(), near_heap_.end(), TimeOrderAfter{});
}

EventQueue::Chunk* EventQueue::take_chunk() {
    Chunk* chunk;
    if (!free_chunks_.empty()) [[likely]] {
        // The most recently freed chunk: often still in cache.
        chunk = free_chunks_.back();
        free_chunks_.pop_back();
    } else {
        chunks_.push_back(std::make_unique<Chunk>());
        chunk = chunks_.back().get();
    }
    return chunk;
}

void EventQueue::release_chain(Bucket& bucket) {
    for (Chunk* chunk = bucket.head; chunk != nullptr;) {
        Chunk* next = chunk == bucket.tail ? nullptr : chunk->next;
        free_chunks_.push_back(chunk);
        chunk = next;
    }
    bucket = Bucket{};
}

bool EventQueue::refill() {
    if (level_mask_ == 0) {
        return false;
    }
    const int level = std::countr_zero(level_mask_);
    const int digit = first_digit(level);
    clear_bucket_bit(level, digit);
    Bucket& slot = buckets_[static_cast<std::size_t>(level * kDigits + digit)];
    const Bucket bucket = slot;
    slot = Bucket{};
    // Every entry shares the bytes above `level` with the minimum: each lands lower, in the
    // run if in the minimum's window.
    base_ = bucket.min_time;
    if (run_.capacity() > kKeepRunCapacity && run_.capacity() > 2 * live_) {
        run_ = std::vector<Entry>();
        sort_scratch_ = std::vector<Entry>();
    }
    run_.clear();
    run_next_ = 0;
    if (bucket.size == 1) {
        // A lone entry (common in sparse queues) is the minimum itself: the run at once.
        run_.push_back(bucket.head->entries[0]);
        free_chunks_.push_back(bucket.head);
        __builtin_prefetch(&stamps_[run_[0].slot], 1);
        run_size_ = 1;
        return true;
    }
    run_size_ = 0;
    if (level == 1 && bucket.size > kInsertionSortRun) {
        // All in the minimum's window: counted, then scattered from the chunks into the run.
        std::array<std::uint32_t, kDigits> offsets{};
        for (const Chunk* chunk = bucket.head; chunk != nullptr;
             chunk = chunk == bucket.tail ? nullptr : chunk->next) {
            const std::uint32_t n = chunk == bucket.tail ? bucket.tail_count : kChunkEntries;
            for (std::uint32_t i = 0; i < n; ++i) {
                ++offsets[static_cast<std::size_t>(chunk->entries[i].time) & (kDigits - 1)];
            }
        }
        std::uint32_t sum = 0;
        for (std::uint32_t& offset : offsets) {
            const std::uint32_t count = offset;
            offset = sum;
            sum += count;
        }
        run_.resize(bucket.size);
        for (Chunk* chunk = bucket.head; chunk != nullptr;) {
            Chunk* const next = chunk == bucket.tail ? nullptr : chunk->next;
            const std::uint32_t n = chunk == bucket.tail ? bucket.tail_count : kChunkEntries;
            for (std::uint32_t i = 0; i < n; ++i) {
                const Entry& entry = chunk->entries[i];
                run_[offsets[static_cast<std::size_t>(entry.time) & (kDigits - 1)]++] = entry;
            }
            free_chunks_.push_back(chunk);
            chunk = next;
        }
        sort_run();  // sorted by time: orders equal times
        return true;
    }
    // One pass, chunk by chunk; a chunk is free for reuse (while still in cache) once read.
    // An entry of a level-2 bucket outside the window goes to level 1 (the common case
    // spelled out); from higher levels, to the level of its highest differing byte.
    const auto distribute = [this, &bucket](auto is_level2) {
        Chunk* chunk = bucket.head;
        while (chunk != nullptr) {
            Chunk* const next = chunk == bucket.tail ? nullptr : chunk->next;
            // While reading this chunk, fetch the next one a line per entry (a chunk has fewer
            // lines than entries; prefetching past its end is harmless): the chain is
            // scattered, so the hardware prefetcher would stop at each chunk's end.
            const std::uintptr_t ahead =
                reinterpret_cast<std::uintptr_t>(next != nullptr ? next : chunk);
            const std::uint32_t n = chunk == bucket.tail ? bucket.tail_count : kChunkEntries;
            for (std::uint32_t i = 0; i < n; ++i) {
                __builtin_prefetch(reinterpret_cast<const void*>(ahead + i * kCacheLine));
                const Entry& entry = chunk->entries[i];
                const auto time = static_cast<std::uint64_t>(entry.time);
                if ((time ^ base_) < kDigits) {
                    run_.push_back(entry);
                } else if constexpr (decltype(is_level2)::value) {
                    append(1, static_cast<int>((time >> kDigitBits) & (kDigits - 1)), time) = entry;
                } else {
                    place(entry);
                }
            }
            free_chunks_.push_back(chunk);
            chunk = next;
        }
    };
    if (level == 2) {
        distribute(std::true_type{});
    } else {
        distribute(std::false_type{});
    }
    sort_run();
    return true;
}

void EventQueue::insertion_sort(std::vector<Entry>::iterator first,
                                std::vector<Entry>::iterator last) {
    for (auto it = first + (first != last ? 1 : 0); it != last; ++it) {
        if (!is_before(*it, *(it - 1))) {
            continue;
        }
        const Entry moving = *it;
        auto hole = it;
        do {
            *hole = *(hole - 1);
            --hole;
        } while (hole != first && is_before(moving, *(hole - 1)));
        *hole = moving;
    }
}

void EventQueue::sort_run() {
    // One pass that finds inversions; usually there are none (entries are appended in time
    // and sequence order) or only between equal times.
    const std::size_t n = run_.size();
    bool is_time_sorted = false;
    std::size_t i = 1;
    while (i < n) {
        if (!is_before(run_[i], run_[i - 1])) {
            ++i;
            continue;
        }
        if (n <= kInsertionSortRun) {
            insertion_sort(run_.begin(), run_.end());
            break;
        }
        if (run_[i].time != run_[i - 1].time) {
            // Times out of order: counting sort on byte 0 (the run shares the bytes above
            // it), then only equal times can be out of order. Once: it sorts by time.
            STEPSIM_CHECK(!is_time_sorted, "run not sorted by time after the counting sort");
            counting_sort_run();
            is_time_sorted = true;
            i = 1;
            continue;
        }
        // Order the group of equal times around i by `order`: by insertion when small, else
        // by std::sort (so a large group costs n log n).
        auto first = run_.begin() + static_cast<std::ptrdiff_t>(i - 1);
        while (first != run_.begin() && (first - 1)->time == first->time) {
            --first;
        }
        auto last = run_.begin() + static_cast<std::ptrdiff_t>(i + 1);
        while (last != run_.end() && last->time == first->time) {
            ++last;
        }
        if (last - first > static_cast<std::ptrdiff_t>(kInsertionSortRun)) {
            std::sort(first, last,
                      [](const Entry& a, const Entry& b) { return a.order < b.order; });
        } else {
            insertion_sort(first, last);
        }
        i = static_cast<std::size_t>(last - run_.begin());  // checks last against the group
    }
    for (std::size_t k = 0; k < n && k < kPrefetchAhead; ++k) {
        __builtin_prefetch(&stamps_[run_[k].slot], 1);
    }
    run_size_ = n;
}

void EventQueue::counting_sort_run() {
    // Stable: equal times keep their relative order.
    std::array<std::uint32_t, kDigits> offsets{};
    for (const Entry& entry : run_) {
        ++offsets[static_cast<std::size_t>(entry.time) & (kDigits - 1)];
    }
    std::uint32_t sum = 0;
    for (std::uint32_t& offset : offsets) {
        const std::uint32_t count = offset;
        offset = sum;
        sum += count;
    }
    sort_scratch_.resize(run_.size());
    for (const Entry& entry : run_) {
        sort_scratch_[offsets[static_cast<std::size_t>(entry.time) & (kDigits - 1)]++] = entry;
    }
    run_.swap(sort_scratch_);
}

bool EventQueue::cancel(std::uint64_t id) {
    const std::uint64_t slot_plus_one = id & 0xffffffffULL;
    if (slot_plus_one == 0 || slot_plus_one > stamps_.size()) {
        return false;
    }
    const auto slot = static_cast<std::uint32_t>(slot_plus_one - 1);
    std::uint32_t& stamp = stamps_[slot];
    if (stamp != static_cast<std::uint32_t>(id >> 32)) {
        return false;
    }
    // The entry stays in place until it comes up or a purge removes it, the slot with it.
    // A heap-held callback is destroyed now; an inline one has nothing to destroy.
    if ((stamp & kHeapBit) != 0) {
        HeapCallback& held = heap_callbacks_[slot];
        held.ops->destroy(held.storage);
        held.ops = nullptr;
    }
    stamp = (stamp & ~kHeapBit) + kGenerationStep;
    --live_;
    ++stale_;
    if (stale_ > kPurgeFloor && stale_ > live_) {
        purge();
    }
    return true;
}

std::int64_t EventQueue::peek_time() {
    for (;;) {
        while (has_run() && !is_live(run_[run_next_])) {
            drop_stale(run_[run_next_]);
            ++run_next_;
        }
        while (!near_heap_.empty() && !is_live(near_heap_.front())) {
            drop_stale(near_heap_.front());
            std::pop_heap(near_heap_.begin(), near_heap_.end(), TimeOrderAfter{});
            near_heap_.pop_back();
        }
        if (has_run() || !near_heap_.empty()) {
            if (!has_run()) {
                return near_heap_.front().time;
            }
            if (near_heap_.empty()) {
                return run_[run_next_].time;
            }
            return std::min(run_[run_next_].time, near_heap_.front().time);
        }
        if (!refill()) {
            return std::numeric_limits<std::int64_t>::max();
        }
    }
}

void EventQueue::purge() {
    const auto is_stale = [this](const Entry& entry) {
        if (is_live(entry)) {
            return false;
        }
        drop_stale(entry);
        return true;
    };
    // The run's popped prefix goes; the rest keeps its order.
    run_.erase(run_.begin(), run_.begin() + static_cast<std::ptrdiff_t>(run_next_));
    run_next_ = 0;
    std::erase_if(run_, is_stale);
    run_size_ = run_.size();
    std::erase_if(near_heap_, is_stale);
    std::make_heap(near_heap_.begin(), near_heap_.end(), TimeOrderAfter{});
    for (int level = 1; level < kLevels; ++level) {
        for (int digit = 0; digit < kDigits; ++digit) {
            Bucket& bucket = buckets_[static_cast<std::size_t>(level * kDigits + digit)];
            if (bucket.head == nullptr) {
                continue;
            }
            // Compact the chain in place: `write` trails `read`. The minimum is recomputed
            // over the survivors.
            Chunk* write = bucket.head;
            std::uint32_t write_count = 0;
            std::uint64_t min_time = std::numeric_limits<std::uint64_t>::max();
            std::uint32_t kept = 0;
            for (Chunk* read = bucket.head; read != nullptr;
                 read = read == bucket.tail ? nullptr : read->next) {
                const std::uint32_t n = read == bucket.tail ? bucket.tail_count : kChunkEntries;
                for (std::uint32_t i = 0; i < n; ++i) {
                    const Entry entry = read->entries[i];
                    if (is_stale(entry)) {
                        continue;
                    }
                    if (write_count == kChunkEntries) {
                        write = write->next;
                        write_count = 0;
                    }
                    write->entries[write_count++] = entry;
                    min_time = std::min(min_time, static_cast<std::uint64_t>(entry.time));
                    ++kept;
                }
            }
            if (write == bucket.head && write_count == 0) {
                release_chain(bucket);
                clear_bucket_bit(level, digit);
                continue;
            }
            for (Chunk* spare = write == bucket.tail ? nullptr : write->next; spare != nullptr;) {
                Chunk* next = spare == bucket.tail ? nullptr : spare->next;
                free_chunks_.push_back(spare);
                spare = next;
            }
            bucket.tail = write;
            bucket.tail_count = write_count;
            bucket.size = kept;
            bucket.min_time = min_time;
        }
    }
    STEPSIM_CHECK(stale_ == 0, "purge left " + std::to_string(stale_) + " stale entries");
}

}  // namespace stepsim::detail
