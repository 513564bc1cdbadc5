// SPDX-License-Identifier: Apache-2.0
// File: event_tags.h
// Fingerprint tags of the network models' events: the event kind in the top byte, the
// transfer id below, so the fingerprint sees which transfer did what.
#pragma once

#include "stepsim/error.h"
#include "stepsim/ids.h"
#include "stepsim/network.h"
#include "stepsim/simulator.h"

#include <cstdint>
#include <stdexcept>
#include <string>

namespace stepsim::network {

enum class EventKind : std::uint8_t {
    kLocalDone = 0x41,          ///< src == dst transfer completes
    kTransmissionStart = 0x42,  ///< latency phase over, bytes start to flow
    kTransferDone = 0x43,       ///< last byte arrived
    kResharing = 0x44,          ///< max-min rates recomputed
};

constexpr std::uint64_t event_tag(EventKind kind, TransferId id = TransferId{0}) {
    return (std::uint64_t{static_cast<std::uint8_t>(kind)} << 56) | id.value;
}

/// Shared by both models' start_transfer(): rejects a negative size.
inline void check_transfer_size(std::int64_t size_bytes) {
    if (size_bytes < 0) {
        throw InternalError("start_transfer: size_bytes must be >= 0, got " +
                            std::to_string(size_bytes));
    }
}

/// Shared by both models' start_transfer_after(): rejects a negative delay.
inline void check_delay(Time delay) {
    if (delay < Time{0}) {
        throw InternalError("start_transfer_after: delay must be >= 0, got " +
                            std::to_string(delay.count()) + " ps");
    }
}

/// A gated transfer's start as moved by its caller: `*gate.start_at` when the gate's revision
/// changed since `revision_at_start`, else `kNever` (the start did not move).
inline Time moved_start(const StartGate& gate, std::uint64_t revision_at_start) {
    if (gate.revision == nullptr || *gate.revision == revision_at_start) {
        return kNever;
    }
    return *gate.start_at;
}

/// The revision a gated transfer compares against later (0 without a gate).
inline std::uint64_t revision_of(const StartGate& gate) {
    return gate.revision == nullptr ? 0 : *gate.revision;
}

/// A transfer from a device to itself: completes at `at`, through the event queue, counted in
/// `active_transfers` until then; later when its gate moved its start past `at`.
inline void schedule_local_done(Simulator& sim,
                                std::size_t& active_transfers,
                                TransferId id,
                                NetworkModel::Callback on_done,
                                Time at,
                                StartGate gate,
                                std::uint64_t revision) {
    sim.schedule_at(
        at,
        [&sim, &active_transfers, id, done = std::move(on_done), gate, revision]() mutable {
            const Time moved = moved_start(gate, revision);
            if (moved != kNever && moved > sim.now()) {
                schedule_local_done(sim, active_transfers, id, std::move(done), moved, gate,
                                    revision);
                return;
            }
            --active_transfers;
            if (done) {
                done();
            }
        },
        Priority::kDefault, event_tag(EventKind::kLocalDone, id));
}

/// A transfer from a device to itself: completes after `delay` (or at its gate's moved start),
/// through the event queue, counted in `active_transfers` until then.
inline void schedule_local_transfer(Simulator& sim,
                                    std::size_t& active_transfers,
                                    TransferId id,
                                    NetworkModel::Callback on_done,
                                    Time delay = Time{0},
                                    StartGate gate = {}) {
    ++active_transfers;
    if (!gate.is_set()) {
        sim.schedule_in(
            delay,
            [&active_transfers, done = std::move(on_done)] {
                --active_transfers;
                if (done) {
                    done();
                }
            },
            Priority::kDefault, event_tag(EventKind::kLocalDone, id));
        return;
    }
    schedule_local_done(sim, active_transfers, id, std::move(on_done),
                        checked_add(sim.now(), delay), gate, revision_of(gate));
}

}  // namespace stepsim::network
