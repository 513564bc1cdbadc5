// SPDX-License-Identifier: Apache-2.0
// File: collective.h
// Collective communication (all-reduce, reduce-scatter, all-gather, broadcast, reduce,
// all-to-all, send/recv) on a group of ranks. An algorithm *plans* the transfers (pure: no
// time, no network state, testable on its own); the `CollectiveExecutor` *times* a plan on a
// NetworkModel, with a per-byte reduction cost (gamma) on the GPU.
//
//   CollectiveExecutor executor(sim, topology, network, CollectiveOptions{});
//   executor.start(CollectiveRequest{CollectiveOp::kAllReduce, ranks, 1 << 30}, [&] { ... });
//   sim.run();
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stepsim/ids.h"
#include "stepsim/network.h"
#include "stepsim/simulator.h"
#include "stepsim/topology.h"

namespace stepsim {

enum class CollectiveOp : std::uint8_t {
    kAllReduce,
    kReduceScatter,
    kAllGather,
    kBroadcast,
    kReduce,
    kAllToAll,
    kSendRecv,
};

/// "allreduce", "reducescatter", "allgather", "broadcast", "reduce", "alltoall", "sendrecv"
std::string_view to_string(CollectiveOp op);
/// Inverse of to_string; std::nullopt for an unknown name.
std::optional<CollectiveOp> parse_collective_op(std::string_view name);

struct CollectiveRequest {
    CollectiveOp op = CollectiveOp::kAllReduce;
    /// The group, in ring order. For kSendRecv: exactly {sender, receiver}.
    std::vector<RankId> ranks;
    /// Bytes per rank's full buffer (the nccl-tests convention: for reduce-scatter and
    /// all-gather, the size of the whole gathered buffer; for all-to-all, what each rank sends
    /// in total).
    std::int64_t size_bytes = 0;
    /// Root rank (index into `ranks`) for broadcast and reduce.
    std::size_t root_index = 0;
    /// Algorithm name from the registry ("ring", "tree", "halving_doubling", "direct",
    /// "hierarchical", ...) or "auto" for the lowest predicted time.
    std::string algorithm = "auto";
};

struct CollectiveOptions {
    /// Chunk size for pipelining; 0 picks the algorithm's default.
    std::int64_t chunk_bytes = 0;
    /// Parallel rings/trees (channels).
    int channels = 1;
    /// Reduction cost, seconds per byte reduced on one GPU; < 0 derives it from the GPU's
    /// memory bandwidth (read two operands, write one: 3 bytes of HBM traffic per byte).
    double gamma_s_per_byte = -1.0;
};

/// Times collectives on a network. Many collectives may run at once (they contend on links
/// through the network model). The references must outlive the executor.
class CollectiveExecutor {
public:
    CollectiveExecutor(Simulator& sim, const Topology& topology, NetworkModel& network,
                       CollectiveOptions options = {});
    ~CollectiveExecutor();

    /// Starts the collective at now(); `on_done` fires when every rank has finished.
    /// Returns the name of the algorithm used (the one `auto` picked). Throws
    /// std::invalid_argument for an unknown algorithm or a malformed request.
    std::string start(const CollectiveRequest& request, std::function<void()> on_done);

    /// The algorithm `auto` would pick for this request.
    std::string choose_algorithm(const CollectiveRequest& request) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace stepsim
