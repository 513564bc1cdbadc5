// SPDX-License-Identifier: Apache-2.0
// File: link_stats_tracker.h
// Per-link statistics shared by the network models: bytes carried, busy time (the measure of
// the union of the intervals during which at least one flow transmits on the link) and the
// peak number of flows transmitting at once. Models call flow_started()/flow_finished() at
// the ends of each flow's transmission phase, in simulated-time order.
#pragma once

#include "stepsim/error.h"
#include "stepsim/network.h"
#include "stepsim/topology.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace stepsim::network {

class LinkStatsTracker {
public:
    explicit LinkStatsTracker(const Topology& topology)
        : topology_(topology) {}

    // Called per link of every flow's start and end: defined here so that they inline.

    /// A flow begins transmitting on `id` at `now`.
    void flow_started(LinkId id, Time now) {
        require_link(id);
        Activity& activity = activity_[id.index()];
        if (activity.active_flows == 0) {
            activity.busy_since = now;
        }
        ++activity.active_flows;
        LinkStats& stats = stats_[id.index()];
        stats.peak_concurrent_flows = std::max(stats.peak_concurrent_flows, activity.active_flows);
    }

    /// A flow that began with flow_started() stops transmitting on `id` at `now`.
    void flow_finished(LinkId id, Time now) {
        require_link(id);
        Activity& activity = activity_[id.index()];
        STEPSIM_CHECK(activity.active_flows > 0,
                      "link " + std::to_string(id.value) + " finished a flow it never started");
        STEPSIM_CHECK(now >= activity.busy_since, "link busy period ends before it began");
        --activity.active_flows;
        if (activity.active_flows == 0) {
            stats_[id.index()].busy_time += now - activity.busy_since;
            activity.busy_since = now;
        }
    }

    /// `size_bytes` crossed `id` (counted when the transfer completes).
    void add_bytes(LinkId id, std::int64_t size_bytes) {
        require_link(id);
        stats_[id.index()].bytes_carried += size_bytes;
    }

    /// Statistics of `id` up to `now`; a busy period still open is counted up to `now`.
    /// Throws InternalError when `id` is not a link of the topology.
    const LinkStats& stats(LinkId id, Time now) const;

private:
    struct Activity {
        std::uint32_t active_flows = 0;
        Time busy_since{0};  ///< start of the unaccounted part of the busy period
    };

    /// Sizes the tables to the topology; throws when `id` is not one of its links.
    void require_link(LinkId id) const {
        if (id.index() < stats_.size()) {
            return;  // the hot path: a link already seen (valid ids only get here)
        }
        require_link_slow(id);
    }

    void require_link_slow(LinkId id) const;

    const Topology& topology_;
    // stats() folds open busy periods in; the result is the same whatever the query times.
    mutable std::vector<LinkStats> stats_;
    mutable std::vector<Activity> activity_;
};

}  // namespace stepsim::network
