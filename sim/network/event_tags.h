// SPDX-License-Identifier: Apache-2.0
// File: event_tags.h
// Fingerprint tags of the network models' events: the event kind in the top byte, the
// transfer id below, so the fingerprint sees which transfer did what.
#pragma once

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
        throw std::invalid_argument("start_transfer: size_bytes must be >= 0, got " +
                                    std::to_string(size_bytes));
    }
}

/// Shared by both models' start_transfer_after(): rejects a negative delay.
inline void check_delay(Time delay) {
    if (delay < Time{0}) {
        throw std::invalid_argument("start_transfer_after: delay must be >= 0, got " +
                                    std::to_string(delay.count()) + " ps");
    }
}

/// A transfer from a device to itself: completes after `delay`, through the event queue,
/// counted in `active_transfers` until then.
inline void schedule_local_transfer(Simulator& sim,
                                    std::size_t& active_transfers,
                                    TransferId id,
                                    NetworkModel::Callback on_done,
                                    Time delay = Time{0}) {
    ++active_transfers;
    sim.schedule_in(
        delay,
        [&active_transfers, done = std::move(on_done)] {
            --active_transfers;
            if (done) {
                done();
            }
        },
        Priority::kDefault, event_tag(EventKind::kLocalDone, id));
}

}  // namespace stepsim::network
