// SPDX-License-Identifier: Apache-2.0
// File: network.h
// Transport of bytes between devices. A transfer of S bytes along a route costs the route's
// latency (alpha, summed over hops) plus S over its bandwidth share (beta). Two models:
//  - AlphaBetaNetwork: no contention; every transfer gets the route's bottleneck bandwidth.
//  - FairShareNetwork: concurrent transfers share each link max-min fairly (flow level, as
//    SimGrid's network model); rates are recomputed when a flow starts or ends, touching only
//    the flows that share a link with the change.
// See docs/models/network.md.
#pragma once

#include "stepsim/ids.h"
#include "stepsim/simulator.h"
#include "stepsim/topology.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

namespace stepsim {

struct LinkStats {
    std::int64_t bytes_carried = 0;
    Time busy_time{0};  ///< time with at least one flow transmitting
    std::uint32_t peak_concurrent_flows = 0;
};

enum class NetworkKind : std::uint8_t { kAlphaBeta, kFairShare };

/// "alpha_beta" or "fair_share": the spelling of the CLI's --network and of results.
std::string_view to_string(NetworkKind kind);

/// Lets the caller of start_transfer_after() move a transfer's start later after handing it
/// over (the collective executor does when a reduction the transfer waits for is slowed by
/// one that arrives after it; docs/models/collectives.md). When the transfer would start, and
/// only if `*revision` changed since start_transfer_after(), the model re-reads `*start_at`
/// (an absolute time that may only have moved later) and waits until then. One `revision`
/// word serves many transfers, so a transfer whose start did not move reads one hot word.
/// Both must outlive the transfer. Empty (the default): the start is fixed.
struct StartGate {
    const std::uint64_t* revision = nullptr;
    const Time* start_at = nullptr;

    bool is_set() const { return revision != nullptr; }
};

class NetworkModel {
public:
    using Callback = std::function<void()>;

    virtual ~NetworkModel() = default;
    virtual std::string_view name() const = 0;

    /// Starts moving `size_bytes` (>= 0) from `src` to `dst` at now(); `on_done` fires when
    /// the last byte arrives. `flow_label` picks among equal-cost paths. src == dst completes
    /// after zero time (still through the event queue).
    TransferId start_transfer(NodeId src,
                              NodeId dst,
                              std::int64_t size_bytes,
                              Callback on_done,
                              std::uint64_t flow_label = 0) {
        return start_transfer_after(Time{0}, src, dst, size_bytes, std::move(on_done), flow_label);
    }

    /// As start_transfer(), for a transfer that starts `delay` (>= 0) after now(): everything
    /// happens as if start_transfer() were called then, without an event to wake the caller
    /// (the collective executor knows when a reduction will be done when its data arrives).
    /// With a `gate`, the start may be moved later until it happens (see StartGate).
    virtual TransferId start_transfer_after(Time delay,
                                            NodeId src,
                                            NodeId dst,
                                            std::int64_t size_bytes,
                                            Callback on_done,
                                            std::uint64_t flow_label = 0,
                                            StartGate gate = {}) = 0;

    virtual std::size_t active_transfers() const = 0;
    /// Statistics of one directed link, accumulated since construction (a busy period still
    /// open is counted up to now()). Throws InternalError for an unknown link.
    virtual const LinkStats& link_stats(LinkId id) const = 0;

    /// Call after changing link `id`'s bandwidth in the topology: the fair-share model
    /// re-shares the flows crossing it at now(); the alpha-beta model keeps the rate each
    /// transfer got at its start (no-op).
    virtual void refresh_link(LinkId id) { (void)id; }
};

/// `topology` and `router` must outlive the model.
std::unique_ptr<NetworkModel> make_network_model(NetworkKind kind,
                                                 Simulator& sim,
                                                 const Topology& topology,
                                                 Router& router);

}  // namespace stepsim
