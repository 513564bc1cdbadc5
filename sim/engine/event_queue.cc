// SPDX-License-Identifier: Apache-2.0
// File: event_queue.cc
// The radix heap of Ahuja, Mehlhorn, Orlin and Tarjan (1990), with 256-way digits instead of
// single bits so that a key moves down at most 8 times. The slow paths live here: moving a
// bucket down (refill), chunk allocation, cancellation and the purge of cancelled keys.
#include "event_queue.h"

#include <string>

namespace stepsim::detail {

namespace {
// Stale keys are purged once they exceed both this floor and the live count, so the purge
// costs O(1) amortized per cancel and memory stays within twice the live events.
constexpr std::size_t kPurgeFloor = 4096;
// A level-0 vector whose capacity exceeds this is freed when emptied: memory stays bounded
// by the live keys plus 257 small vectors.
constexpr std::size_t kKeepCapacity = 256;
}  // namespace

EventQueue::EventQueue() = default;

EventQueue::~EventQueue() = default;

EventQueue::Chunk* EventQueue::take_chunk() {
    Chunk* chunk = free_chunks_;
    if (chunk != nullptr) [[likely]] {
        free_chunks_ = chunk->next;
    } else {
        chunks_.push_back(std::make_unique<Chunk>());
        chunk = chunks_.back().get();
    }
    chunk->next = nullptr;
    return chunk;
}

int EventQueue::first_digit(int level) const {
    const auto& masks = digit_masks_[static_cast<std::size_t>(level)];
    for (std::size_t word = 0; word < masks.size(); ++word) {
        if (masks[word] != 0) {
            return static_cast<int>(word * 64) + std::countr_zero(masks[word]);
        }
    }
    return -1;
}

void EventQueue::clear_bucket_bit(int level, int digit) {
    auto& masks = digit_masks_[static_cast<std::size_t>(level)];
    masks[static_cast<std::size_t>(digit >> 6)] &= ~(std::uint64_t{1} << (digit & 63));
    if ((masks[0] | masks[1] | masks[2] | masks[3]) == 0) {
        level_mask_ &= ~(std::uint32_t{1} << level);
    }
}

void EventQueue::release_chain(Bucket& bucket) {
    bucket.tail->next = free_chunks_;
    free_chunks_ = bucket.head;
    bucket = Bucket{};
}

bool EventQueue::refill() {
    if (level_mask_ == 0) {
        return false;
    }
    const int level = std::countr_zero(level_mask_);
    const int digit = first_digit(level);
    clear_bucket_bit(level, digit);
    if (level == 0) {
        // One time: base_ with its low byte replaced. The bucket becomes now_heap_.
        base_ = (base_ & ~std::uint64_t{kDigits - 1}) | static_cast<std::uint64_t>(digit);
        std::vector<Key>& bucket = level0_[static_cast<std::size_t>(digit)];
        now_heap_.swap(bucket);
        if (bucket.capacity() > kKeepCapacity) {
            bucket = std::vector<Key>();
        }
    } else {
        Bucket& bucket = buckets_[static_cast<std::size_t>(level * kDigits + digit)];
        if (bucket.head == bucket.tail && bucket.tail_count == 1) {
            // A lone key (common in sparse queues) is the minimum itself.
            const Key& key = bucket.head->keys[0];
            base_ = static_cast<std::uint64_t>(key.time);
            now_heap_.push_back(key);
            release_chain(bucket);
            return true;
        }
        std::uint64_t min_time = std::numeric_limits<std::uint64_t>::max();
        for (const Chunk* chunk = bucket.head; chunk != nullptr; chunk = chunk->next) {
            const std::uint32_t n = chunk == bucket.tail ? bucket.tail_count : kChunkKeys;
            for (std::uint32_t i = 0; i < n; ++i) {
                min_time = std::min(min_time, static_cast<std::uint64_t>(chunk->keys[i].time));
            }
        }
        // Every key shares the bytes above `level` with min_time: each lands lower.
        base_ = min_time;
        for (const Chunk* chunk = bucket.head; chunk != nullptr; chunk = chunk->next) {
            __builtin_prefetch(chunk->next);
            const std::uint32_t n = chunk == bucket.tail ? bucket.tail_count : kChunkKeys;
            for (std::uint32_t i = 0; i < n; ++i) {
                const Key& key = chunk->keys[i];
                if (static_cast<std::uint64_t>(key.time) == min_time) {
                    now_heap_.push_back(key);
                } else {
                    place(key);
                }
            }
        }
        release_chain(bucket);
    }
    if (now_heap_.size() > 1) {
        std::make_heap(now_heap_.begin(), now_heap_.end(), OrderAfter{});
    }
    return true;
}

bool EventQueue::cancel(std::uint64_t id) {
    const std::uint64_t slot_plus_one = id & 0xffffffffULL;
    if (slot_plus_one == 0 || slot_plus_one > slots_.size()) {
        return false;
    }
    Slot& s = slots_[slot_plus_one - 1];
    if (s.state != SlotState::kLive || s.generation != static_cast<std::uint32_t>(id >> 32)) {
        return false;
    }
    // The key stays in place until it comes up or a purge removes it; the slot with it.
    s.state = SlotState::kCancelled;
    s.fn = nullptr;
    --live_;
    ++stale_;
    if (stale_ > kPurgeFloor && stale_ > live_) {
        purge();
    }
    return true;
}

std::int64_t EventQueue::peek_time() {
    while (!early_heap_.empty()) {
        const Key& top = early_heap_.front();
        if (slots_[top.slot].state == SlotState::kLive) {
            return top.time;
        }
        free_slot(top.slot);
        std::pop_heap(early_heap_.begin(), early_heap_.end(), TimeOrderAfter{});
        early_heap_.pop_back();
    }
    for (;;) {
        while (!now_heap_.empty()) {
            const Key& top = now_heap_.front();
            if (slots_[top.slot].state == SlotState::kLive) {
                return top.time;
            }
            free_slot(top.slot);
            std::pop_heap(now_heap_.begin(), now_heap_.end(), OrderAfter{});
            now_heap_.pop_back();
        }
        if (!refill()) {
            return std::numeric_limits<std::int64_t>::max();
        }
    }
}

void EventQueue::purge() {
    const auto is_stale = [this](const Key& key) {
        if (slots_[key.slot].state == SlotState::kLive) {
            return false;
        }
        free_slot(key.slot);
        return true;
    };
    std::erase_if(now_heap_, is_stale);
    std::make_heap(now_heap_.begin(), now_heap_.end(), OrderAfter{});
    std::erase_if(early_heap_, is_stale);
    std::make_heap(early_heap_.begin(), early_heap_.end(), TimeOrderAfter{});
    for (int digit = 0; digit < kDigits; ++digit) {
        std::vector<Key>& bucket = level0_[static_cast<std::size_t>(digit)];
        if (!bucket.empty() && std::erase_if(bucket, is_stale) > 0 && bucket.empty()) {
            clear_bucket_bit(0, digit);
        }
    }
    for (int level = 1; level < kLevels; ++level) {
        for (int digit = 0; digit < kDigits; ++digit) {
            Bucket& bucket = buckets_[static_cast<std::size_t>(level * kDigits + digit)];
            if (bucket.head == nullptr) {
                continue;
            }
            // Compact the chain in place: `write` trails `read`.
            Chunk* write = bucket.head;
            std::uint32_t write_count = 0;
            for (Chunk* read = bucket.head; read != nullptr; read = read->next) {
                const std::uint32_t n = read == bucket.tail ? bucket.tail_count : kChunkKeys;
                for (std::uint32_t i = 0; i < n; ++i) {
                    const Key key = read->keys[i];
                    if (is_stale(key)) {
                        continue;
                    }
                    if (write_count == kChunkKeys) {
                        write = write->next;
                        write_count = 0;
                    }
                    write->keys[write_count++] = key;
                }
            }
            if (write == bucket.head && write_count == 0) {
                release_chain(bucket);
                clear_bucket_bit(level, digit);
                continue;
            }
            if (write->next != nullptr) {
                bucket.tail->next = free_chunks_;
                free_chunks_ = write->next;
                write->next = nullptr;
            }
            bucket.tail = write;
            bucket.tail_count = write_count;
        }
    }
    STEPSIM_CHECK(stale_ == 0, "purge left " + std::to_string(stale_) + " stale keys");
}

}  // namespace stepsim::detail
