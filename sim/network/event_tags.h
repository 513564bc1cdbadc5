// SPDX-License-Identifier: Apache-2.0
// File: event_tags.h
// Fingerprint tags of the network models' events: the event kind in the top byte, the
// transfer id below, so the fingerprint sees which transfer did what.
#pragma once

#include "stepsim/ids.h"

#include <cstdint>

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

}  // namespace stepsim::network
