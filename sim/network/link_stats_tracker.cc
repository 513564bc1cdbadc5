// SPDX-License-Identifier: Apache-2.0
// File: link_stats_tracker.cc
// Busy time and peak concurrency per link, kept by counting the flows transmitting on it.
#include "link_stats_tracker.h"

#include "stepsim/error.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace stepsim::network {

void LinkStatsTracker::require_link_slow(LinkId id) const {
    if (!id.is_valid() || id.index() >= topology_.link_count()) {
        throw InternalError("link id " + std::to_string(id.value) +
                            " is not a link of the topology (" +
                            std::to_string(topology_.link_count()) + " links)");
    }
    if (stats_.size() < topology_.link_count()) {
        stats_.resize(topology_.link_count());
        activity_.resize(topology_.link_count());
    }
}

const LinkStats& LinkStatsTracker::stats(LinkId id, Time now) const {
    require_link(id);
    Activity& activity = activity_[id.index()];
    LinkStats& stats = stats_[id.index()];
    if (activity.active_flows > 0 && now > activity.busy_since) {
        stats.busy_time += now - activity.busy_since;
        activity.busy_since = now;
    }
    return stats;
}

}  // namespace stepsim::network
