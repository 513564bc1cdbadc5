// SPDX-License-Identifier: Apache-2.0
// File: ids.h
// Strong integer ids (NodeId, LinkId, RankId, TaskId, TransferId): distinct types around
// uint32_t so that a link id cannot be passed where a node id is expected.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>

namespace stepsim {

template <class Tag>
struct StrongId {
    std::uint32_t value = std::numeric_limits<std::uint32_t>::max();

    constexpr StrongId() = default;

    constexpr explicit StrongId(std::uint32_t v)
        : value(v) {}

    constexpr bool is_valid() const { return value != std::numeric_limits<std::uint32_t>::max(); }

    constexpr std::size_t index() const { return value; }

    friend constexpr auto operator<=>(StrongId, StrongId) = default;
};

using NodeId = StrongId<struct NodeIdTag>;          ///< a device in the topology
using LinkId = StrongId<struct LinkIdTag>;          ///< a directed link in the topology
using RankId = StrongId<struct RankIdTag>;          ///< a GPU, numbered 0..gpus-1
using TaskId = StrongId<struct TaskIdTag>;          ///< a task in a task graph
using TransferId = StrongId<struct TransferIdTag>;  ///< a transfer in a network model

}  // namespace stepsim

template <class Tag>
struct std::hash<stepsim::StrongId<Tag>> {
    std::size_t operator()(stepsim::StrongId<Tag> id) const noexcept { return id.value; }
};
