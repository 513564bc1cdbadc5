// SPDX-License-Identifier: Apache-2.0
// File: route_cache.h
// The Router's cache of routes keyed by (src, dst, flow_label): an open-addressing table
// (linear probing, power-of-two size, at most half full) of indices into a deque of routes,
// so that a lookup touches one or two cache lines and references to routes stay valid as the
// cache grows. It is only looked up, never iterated, so its layout cannot reach any output. The
// Router bounds it (Router::Limits::max_routes) by clearing it when full.
#pragma once

#include "stepsim/topology.h"

#include <cstdint>
#include <deque>
#include <vector>

namespace stepsim::detail {

class RouteCache {
public:
    struct Key {
        std::uint32_t src = 0;
        std::uint32_t dst = 0;
        std::uint64_t flow_label = 0;
    };

    /// The cached route, or nullptr.
    Route* find(const Key& key) {
        if (slots_.empty()) {
            return nullptr;
        }
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t i = hash(key) & mask;; i = (i + 1) & mask) {
            const Slot& slot = slots_[i];
            if (slot.route_plus_one == 0) {
                return nullptr;
            }
            if (slot.src == key.src && slot.dst == key.dst && slot.flow_label == key.flow_label) {
                return &routes_[slot.route_plus_one - 1];
            }
        }
    }

    /// Stores `route` under `key`, which must not be cached yet. The reference stays valid
    /// until clear().
    Route& insert(const Key& key, Route route) {
        if (2 * (routes_.size() + 1) > slots_.size()) {
            grow();
        }
        routes_.push_back(std::move(route));
        place(key, static_cast<std::uint32_t>(routes_.size()));
        return routes_.back();
    }

    std::size_t size() const { return routes_.size(); }

    bool empty() const { return routes_.empty(); }

    void clear() {
        slots_.clear();
        routes_.clear();
    }

private:
    struct Slot {
        std::uint64_t flow_label = 0;
        std::uint32_t src = 0;
        std::uint32_t dst = 0;
        std::uint32_t route_plus_one = 0;  ///< 0: empty slot
    };

    // Inline multiply-xorshift mix (a lookup per transfer: splitmix64 twice, out of line,
    // was measurable). Only the slot placement depends on it, never a route.
    static std::uint64_t hash(const Key& key) {
        std::uint64_t h = ((std::uint64_t{key.src} << 32) | key.dst) * 0x9e3779b97f4a7c15ULL;
        h ^= key.flow_label * 0xc2b2ae3d27d4eb4fULL;
        h ^= h >> 29;
        h *= 0xbf58476d1ce4e5b9ULL;
        return h ^ (h >> 32);
    }

    void place(const Key& key, std::uint32_t route_plus_one) {
        const std::size_t mask = slots_.size() - 1;
        std::size_t i = hash(key) & mask;
        while (slots_[i].route_plus_one != 0) {
            i = (i + 1) & mask;
        }
        slots_[i] = Slot{key.flow_label, key.src, key.dst, route_plus_one};
    }

    void grow() {
        std::vector<Slot> old(std::max<std::size_t>(64, 2 * slots_.size()));
        old.swap(slots_);
        for (const Slot& slot : old) {
            if (slot.route_plus_one != 0) {
                place(Key{slot.src, slot.dst, slot.flow_label}, slot.route_plus_one);
            }
        }
    }

    std::vector<Slot> slots_;
    std::deque<Route> routes_;
};

}  // namespace stepsim::detail
