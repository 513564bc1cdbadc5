// SPDX-License-Identifier: Apache-2.0
// File: transfer_records.h
// Private to sim/collective: the executor's records of a generated plan's transfers that are
// pending or in flight, found by transfer index. The number of records follows the transfers
// in flight (a few per group member), not the size of the plan.
#pragma once

#include "stepsim/error.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace stepsim::collective {

/// Records by transfer index. A record never moves while it lives (the network keeps a pointer
/// to a started transfer's ready time): records sit in fixed blocks and are reused through a
/// free list; an open-addressing table (linear probing, backward-shift deletion, at most half
/// full) maps an index to its record.
template <typename Record>
class TransferRecords {
public:
    TransferRecords() { table_.assign(kInitialCapacity, Entry{kEmpty, nullptr}); }

    /// The record of `index`, or nullptr.
    Record* find(std::uint64_t index) const {
        for (std::size_t slot = home(index);; slot = (slot + 1) & mask()) {
            const Entry& entry = table_[slot];
            if (entry.index == index) {
                return entry.record;
            }
            if (entry.index == kEmpty) {
                return nullptr;
            }
        }
    }

    /// The record of `index`; `is_new` tells whether it was created (value-initialized) now.
    Record& find_or_insert(std::uint64_t index, bool& is_new) {
        STEPSIM_CHECK(index != kEmpty, "transfer index reserved for empty slots");
        if ((size_ + 1) * 2 > table_.size()) {
            grow();
        }
        std::size_t slot = home(index);
        for (;; slot = (slot + 1) & mask()) {
            Entry& entry = table_[slot];
            if (entry.index == index) {
                is_new = false;
                return *entry.record;
            }
            if (entry.index == kEmpty) {
                break;
            }
        }
        Record* record = allocate();
        *record = Record{};
        table_[slot] = Entry{index, record};
        ++size_;
        is_new = true;
        return *record;
    }

    /// Forgets `index`'s record (which must exist); its memory is reused.
    void erase(std::uint64_t index) {
        std::size_t hole = home(index);
        while (table_[hole].index != index) {
            STEPSIM_CHECK(table_[hole].index != kEmpty, "erasing a transfer without a record");
            hole = (hole + 1) & mask();
        }
        free_.push_back(table_[hole].record);
        --size_;
        // Backward shift: move up every later entry of the probe run that may sit in the hole.
        for (std::size_t next = (hole + 1) & mask(); table_[next].index != kEmpty;
             next = (next + 1) & mask()) {
            const std::size_t wanted = home(table_[next].index);
            // The entry at `next` may move to `hole` unless its home lies in (hole, next].
            const bool stays = hole <= next ? (hole < wanted && wanted <= next)
                                            : (hole < wanted || wanted <= next);
            if (!stays) {
                table_[hole] = table_[next];
                hole = next;
            }
        }
        table_[hole] = Entry{kEmpty, nullptr};
    }

    std::size_t size() const { return size_; }

    /// Bytes of heap held (table and record blocks).
    std::size_t memory_bytes() const {
        return table_.capacity() * sizeof(Entry) + blocks_.size() * kBlock * sizeof(Record) +
               free_.capacity() * sizeof(Record*);
    }

private:
    static constexpr std::uint64_t kEmpty = ~std::uint64_t{0};
    static constexpr std::size_t kInitialCapacity = 64;
    static constexpr std::size_t kBlock = 256;

    struct Entry {
        std::uint64_t index;
        Record* record;
    };

    std::size_t mask() const { return table_.size() - 1; }

    std::size_t home(std::uint64_t index) const {
        // Fibonacci hashing: the top bits of index · 2^64/φ. (Keeping consecutive indices in
        // consecutive slots packs the live ones into long runs, which every erase then shifts.)
        return static_cast<std::size_t>((index * 0x9E3779B97F4A7C15ULL) >> shift_);
    }

    Record* allocate() {
        if (free_.empty()) {
            blocks_.push_back(std::make_unique<Record[]>(kBlock));
            Record* block = blocks_.back().get();
            for (std::size_t r = kBlock; r-- > 0;) {
                free_.push_back(&block[r]);
            }
        }
        Record* record = free_.back();
        free_.pop_back();
        return record;
    }

    void grow() {
        std::vector<Entry> old(table_.size() * 2, Entry{kEmpty, nullptr});
        old.swap(table_);
        --shift_;
        for (const Entry& entry : old) {
            if (entry.index == kEmpty) {
                continue;
            }
            std::size_t slot = home(entry.index);
            while (table_[slot].index != kEmpty) {
                slot = (slot + 1) & mask();
            }
            table_[slot] = entry;
        }
    }

    std::vector<Entry> table_;
    unsigned shift_ = 64 - 6;  // 64 − log2(table size); log2(kInitialCapacity) = 6
    std::size_t size_ = 0;
    std::vector<std::unique_ptr<Record[]>> blocks_;
    std::vector<Record*> free_;
};

}  // namespace stepsim::collective
