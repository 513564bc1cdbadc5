// SPDX-License-Identifier: Apache-2.0
// File: comm_plan.cc
// CommPlan storage (transfers plus dependencies in compressed rows), the op names, the
// nccl-tests bus-bandwidth factors, the default reduction cost and request validation.
#include "stepsim/collective.h"
#include "stepsim/error.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace stepsim {

std::string_view to_string(CollectiveOp op) {
    switch (op) {
        case CollectiveOp::kAllReduce:
            return "allreduce";
        case CollectiveOp::kReduceScatter:
            return "reducescatter";
        case CollectiveOp::kAllGather:
            return "allgather";
        case CollectiveOp::kBroadcast:
            return "broadcast";
        case CollectiveOp::kReduce:
            return "reduce";
        case CollectiveOp::kAllToAll:
            return "alltoall";
        case CollectiveOp::kSendRecv:
            return "sendrecv";
    }
    return "unknown";
}

std::optional<CollectiveOp> parse_collective_op(std::string_view name) {
    for (const CollectiveOp op :
         {CollectiveOp::kAllReduce, CollectiveOp::kReduceScatter, CollectiveOp::kAllGather,
          CollectiveOp::kBroadcast, CollectiveOp::kReduce, CollectiveOp::kAllToAll,
          CollectiveOp::kSendRecv}) {
        if (to_string(op) == name) {
            return op;
        }
    }
    return std::nullopt;
}

double reduction_gamma_s_per_byte(const CollectiveOptions& options) {
    if (options.gamma_s_per_byte >= 0) {
        return options.gamma_s_per_byte;
    }
    const double memory_Bps = options.gpu_memory_bandwidth_Bps > 0
                                  ? options.gpu_memory_bandwidth_Bps
                                  : kDefaultGpuMemoryBandwidth_Bps;
    return kReductionTrafficFactor / memory_Bps;
}

double bus_bandwidth_factor(CollectiveOp op, std::size_t group_size) {
    const double n = static_cast<double>(group_size);
    if (group_size == 0) {
        return 0;
    }
    switch (op) {
        case CollectiveOp::kAllReduce:
            return 2 * (n - 1) / n;
        case CollectiveOp::kReduceScatter:
        case CollectiveOp::kAllGather:
        case CollectiveOp::kAllToAll:
            return (n - 1) / n;
        case CollectiveOp::kBroadcast:
        case CollectiveOp::kReduce:
        case CollectiveOp::kSendRecv:
            return 1;
    }
    return 1;
}

CommPlan::CommPlan(CollectiveOp op, std::uint32_t group_size, std::uint32_t root_index)
    : op_(op)
    , group_size_(group_size)
    , root_index_(root_index) {}

std::uint32_t CommPlan::add_chunk(std::int64_t size_bytes,
                                  std::uint32_t segment,
                                  std::uint32_t source) {
    STEPSIM_CHECK(size_bytes >= 0, "chunk size must be >= 0, got " + std::to_string(size_bytes));
    chunk_bytes_.push_back(size_bytes);
    chunk_segment_.push_back(segment);
    chunk_source_.push_back(source);
    return static_cast<std::uint32_t>(chunk_bytes_.size() - 1);
}

std::uint32_t CommPlan::add_transfer(std::uint32_t src,
                                     std::uint32_t dst,
                                     std::uint32_t chunk_first,
                                     std::uint32_t chunk_count,
                                     bool is_reduce,
                                     std::uint32_t channel,
                                     std::initializer_list<std::uint32_t> dependencies) {
    return add_transfer(src, dst, chunk_first, chunk_count, is_reduce, channel,
                        std::span<const std::uint32_t>(dependencies.begin(), dependencies.size()));
}

std::uint32_t CommPlan::add_transfer(std::uint32_t src,
                                     std::uint32_t dst,
                                     std::uint32_t chunk_first,
                                     std::uint32_t chunk_count,
                                     bool is_reduce,
                                     std::uint32_t channel,
                                     std::span<const std::uint32_t> dependencies) {
    const auto index = static_cast<std::uint32_t>(transfers_.size());
    STEPSIM_CHECK(src < group_size_ && dst < group_size_ && src != dst,
                  "transfer " + std::to_string(src) + " -> " + std::to_string(dst) +
                      " outside a group of " + std::to_string(group_size_));
    STEPSIM_CHECK(chunk_count > 0 && std::size_t{chunk_first} + chunk_count <= chunk_bytes_.size(),
                  "transfer chunk range out of bounds");
    std::int64_t size = 0;
    for (std::uint32_t c = chunk_first; c < chunk_first + chunk_count; ++c) {
        size += chunk_bytes_[c];
    }
    for (const std::uint32_t dep : dependencies) {
        if (dep == kNone) {
            continue;
        }
        STEPSIM_CHECK(dep < index, "dependency " + std::to_string(dep) + " of transfer " +
                                       std::to_string(index) + " is not an earlier transfer");
        deps_.push_back(dep);
    }
    transfers_.push_back(
        PlanTransfer{src, dst, chunk_first, chunk_count, size, channel, is_reduce});
    dep_begin_.push_back(static_cast<std::uint32_t>(deps_.size()));
    return index;
}

std::size_t CommPlan::memory_bytes() const {
    return chunk_bytes_.capacity() * sizeof(std::int64_t) +
           (chunk_segment_.capacity() + chunk_source_.capacity() + dep_begin_.capacity() +
            deps_.capacity()) *
               sizeof(std::uint32_t) +
           transfers_.capacity() * sizeof(PlanTransfer);
}

void CommPlan::reserve(std::size_t transfers, std::size_t dependencies) {
    transfers_.reserve(transfers);
    dep_begin_.reserve(transfers + 1);
    deps_.reserve(dependencies);
}

std::int64_t CollectiveRequest::bytes_between(std::size_t from, std::size_t to) const {
    const std::size_t n = ranks.size();
    if (!pair_bytes.empty()) {
        return pair_bytes[from * n + to];
    }
    const auto parts = static_cast<std::int64_t>(n);
    const auto index = static_cast<std::int64_t>(to);
    return size_bytes * (index + 1) / parts - size_bytes * index / parts;
}

void validate_collective_request(const CollectiveRequest& request, const Topology& topology) {
    if (request.ranks.empty()) {
        throw std::invalid_argument("the group is empty");
    }
    if (request.size_bytes <= 0) {
        throw std::invalid_argument("size must be positive, got " +
                                    std::to_string(request.size_bytes) + " bytes");
    }
    std::vector<bool> seen(topology.gpu_count(), false);
    for (const RankId rank : request.ranks) {
        if (!rank.is_valid() || rank.index() >= topology.gpu_count()) {
            throw std::invalid_argument(
                "unknown GPU rank " + (rank.is_valid() ? std::to_string(rank.value) : "<invalid>") +
                " (the topology has " + std::to_string(topology.gpu_count()) + " GPUs, ranks 0-" +
                std::to_string(topology.gpu_count() - 1) + ")");
        }
        if (seen[rank.index()]) {
            throw std::invalid_argument("GPU rank " + std::to_string(rank.value) +
                                        " appears twice in the group");
        }
        seen[rank.index()] = true;
    }
    if (request.root_index >= request.ranks.size()) {
        throw std::invalid_argument("root index " + std::to_string(request.root_index) +
                                    " is outside the group of " +
                                    std::to_string(request.ranks.size()) + " ranks");
    }
    if (!request.pair_bytes.empty()) {
        const std::size_t n = request.ranks.size();
        if (request.op != CollectiveOp::kAllToAll) {
            throw std::invalid_argument("per-pair volumes are for alltoall only, got " +
                                        std::string(to_string(request.op)));
        }
        if (request.pair_bytes.size() != n * n) {
            throw std::invalid_argument("per-pair volumes need " + std::to_string(n * n) +
                                        " entries for " + std::to_string(n) + " ranks, got " +
                                        std::to_string(request.pair_bytes.size()));
        }
        for (const std::int64_t bytes : request.pair_bytes) {
            if (bytes < 0) {
                throw std::invalid_argument("per-pair volume must be >= 0, got " +
                                            std::to_string(bytes) + " bytes");
            }
        }
    }
    if (request.op == CollectiveOp::kSendRecv && request.ranks.size() != 2) {
        throw std::invalid_argument("sendrecv needs exactly 2 ranks (sender, receiver), got " +
                                    std::to_string(request.ranks.size()));
    }
}

}  // namespace stepsim
