// SPDX-License-Identifier: Apache-2.0
// File: alpha_beta_network.cc
// AlphaBetaNetwork: completion at start + latency + serialization_time(S, bottleneck), one
// rounding. Two events per transfer: the end of the latency phase (link statistics) and the
// completion. Start events run at Priority::kLow so that a flow ending at the same tick as
// another begins is not counted as concurrent with it (intervals are half-open).
#include "alpha_beta_network.h"

#include "stepsim/error.h"

#include "event_tags.h"

#include <stdexcept>
#include <string>
#include <utility>

namespace stepsim {

using network::check_delay;
using network::check_transfer_size;
using network::event_tag;
using network::EventKind;
using network::moved_start;
using network::revision_of;
using network::schedule_local_transfer;

AlphaBetaNetwork::AlphaBetaNetwork(Simulator& sim, const Topology& topology, Router& router)
    : sim_(sim)
    , router_(router)
    , stats_(topology) {}

std::uint32_t AlphaBetaNetwork::allocate_slot() {
    if (!free_slots_.empty()) {
        const std::uint32_t slot = free_slots_.back();
        free_slots_.pop_back();
        return slot;
    }
    transfers_.emplace_back();
    return static_cast<std::uint32_t>(transfers_.size() - 1);
}

TransferId AlphaBetaNetwork::start_transfer_after(Time delay,
                                                  NodeId src,
                                                  NodeId dst,
                                                  std::int64_t size_bytes,
                                                  Callback on_done,
                                                  std::uint64_t flow_label,
                                                  StartGate gate) {
    check_transfer_size(size_bytes);
    check_delay(delay);
    const TransferId id{next_transfer_id_++};
    if (src == dst) {
        schedule_local_transfer(sim_, active_transfers_, id, std::move(on_done), delay, gate);
        return id;
    }
    const Route& route = router_.route(src, dst, flow_label);
    const Time serialization =
        size_bytes == 0 ? Time{0} : serialization_time(size_bytes, route.bottleneck_Bps);
    const Time start = checked_add(delay, route.latency);
    const Time finish = checked_add(checked_add(sim_.now(), start), serialization);

    const std::uint32_t slot = allocate_slot();
    Transfer& transfer = transfers_[slot];
    transfer.id = id;
    transfer.links.assign(route.links.begin(), route.links.end());
    transfer.size_bytes = size_bytes;
    transfer.is_transmitting = false;
    transfer.on_done = std::move(on_done);
    transfer.gate = gate;
    transfer.gate_revision = revision_of(gate);
    transfer.latency = route.latency;
    transfer.serialization = serialization;
    ++active_transfers_;

    // A transfer whose serialization rounds to zero ticks has no transmission interval.
    if (serialization > Time{0}) {
        sim_.schedule_in(
            start, [this, slot] { begin_transmission(slot); }, Priority::kLow,
            event_tag(EventKind::kTransmissionStart, id));
    }
    sim_.schedule_at(
        finish, [this, slot] { complete(slot); }, Priority::kDefault,
        event_tag(EventKind::kTransferDone, id));
    return id;
}

void AlphaBetaNetwork::begin_transmission(std::uint32_t slot) {
    Transfer& transfer = transfers_[slot];
    if (const Time moved = moved_start(transfer.gate, transfer.gate_revision); moved != kNever) {
        const Time at = checked_add(moved, transfer.latency);
        if (at > sim_.now()) {
            sim_.schedule_at(
                at, [this, slot] { begin_transmission(slot); }, Priority::kLow,
                event_tag(EventKind::kTransmissionStart, transfer.id));
            return;
        }
    }
    transfer.is_transmitting = true;
    for (const LinkId link : transfer.links) {
        stats_.flow_started(link, sim_.now());
    }
}

void AlphaBetaNetwork::complete(std::uint32_t slot) {
    Transfer& transfer = transfers_[slot];
    if (const Time moved = moved_start(transfer.gate, transfer.gate_revision); moved != kNever) {
        // Moved start: no contention, so the whole transfer shifts with it.
        const Time at = checked_add(checked_add(moved, transfer.latency), transfer.serialization);
        if (at > sim_.now()) {
            sim_.schedule_at(
                at, [this, slot] { complete(slot); }, Priority::kDefault,
                event_tag(EventKind::kTransferDone, transfer.id));
            return;
        }
    }
    for (const LinkId link : transfer.links) {
        if (transfer.is_transmitting) {
            stats_.flow_finished(link, sim_.now());
        }
        stats_.add_bytes(link, transfer.size_bytes);
    }
    Callback done = std::move(transfer.on_done);
    transfer.on_done = nullptr;
    free_slots_.push_back(slot);
    --active_transfers_;
    if (done) {
        done();
    }
}

const LinkStats& AlphaBetaNetwork::link_stats(LinkId id) const {
    return stats_.stats(id, sim_.now());
}

}  // namespace stepsim
