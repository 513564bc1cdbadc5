// SPDX-License-Identifier: Apache-2.0
// File: alpha_beta_network.h
// The contention-free network model: a transfer of S bytes along route r takes
// r.latency + S / r.bottleneck_Bps (alpha + beta * S), whatever else is in flight.
// See docs/models/network.md.
#pragma once

#include "stepsim/network.h"

#include "link_stats_tracker.h"

#include <cstdint>
#include <vector>

namespace stepsim {

class AlphaBetaNetwork final : public NetworkModel {
public:
    /// `sim`, `topology` and `router` must outlive the model.
    AlphaBetaNetwork(Simulator& sim, const Topology& topology, Router& router);

    std::string_view name() const override { return "alpha_beta"; }

    TransferId start_transfer_after(Time delay,
                                    NodeId src,
                                    NodeId dst,
                                    std::int64_t size_bytes,
                                    Callback on_done,
                                    std::uint64_t flow_label = 0,
                                    StartGate gate = {}) override;

    std::size_t active_transfers() const override { return active_transfers_; }

    const LinkStats& link_stats(LinkId id) const override;

private:
    struct Transfer {
        TransferId id;
        std::vector<LinkId> links;
        std::int64_t size_bytes = 0;
        bool is_transmitting = false;
        Callback on_done;
        /// Gated start (StartGate): the route's latency and serialization, to re-time the
        /// transfer from a moved start.
        StartGate gate;
        std::uint64_t gate_revision = 0;
        Time latency{0};
        Time serialization{0};
    };

    std::uint32_t allocate_slot();
    void begin_transmission(std::uint32_t slot);
    void complete(std::uint32_t slot);

    Simulator& sim_;
    Router& router_;
    network::LinkStatsTracker stats_;
    std::vector<Transfer> transfers_;  ///< slots; reused through free_slots_
    std::vector<std::uint32_t> free_slots_;
    std::uint32_t next_transfer_id_ = 0;
    std::size_t active_transfers_ = 0;
};

}  // namespace stepsim
