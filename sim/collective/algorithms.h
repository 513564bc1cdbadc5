// SPDX-License-Identifier: Apache-2.0
// File: algorithms.h
// Private to sim/collective: the algorithm factories the registry calls, and helpers the
// plan builders share (even splits of a byte count, chunk counts, ring orders per channel,
// the two-level view of a group).
#pragma once

#include "stepsim/collective.h"
#include "stepsim/topology.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace stepsim::collective {

std::unique_ptr<CollectiveAlgorithm> make_ring_algorithm();
std::unique_ptr<CollectiveAlgorithm> make_double_binary_tree_algorithm();
std::unique_ptr<CollectiveAlgorithm> make_halving_doubling_algorithm();
std::unique_ptr<CollectiveAlgorithm> make_recursive_doubling_algorithm();
std::unique_ptr<CollectiveAlgorithm> make_direct_algorithm();
std::unique_ptr<CollectiveAlgorithm> make_hierarchical_algorithm();
std::unique_ptr<CollectiveAlgorithm> make_pairwise_all_to_all_algorithm();
std::unique_ptr<CollectiveAlgorithm> make_hierarchical_all_to_all_algorithm();

/// The ring's plans generated on demand (ring_lazy_plan.cc): the transfers, numbering and
/// dependencies of the ring algorithm's stored plans, for every op the ring supports.
std::unique_ptr<const LazyPlan> make_lazy_ring_plan(const CollectiveRequest& request,
                                                    const Topology& topology,
                                                    const CollectiveOptions& options);

/// The request's n×n per-pair volumes as doubles (pair_bytes or the even split), diagonal 0.
inline std::vector<double> pair_matrix(const CollectiveRequest& request) {
    const std::size_t n = request.ranks.size();
    std::vector<double> pairs(n * n, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < n; ++j) {
            if (i != j) {
                pairs[i * n + j] = static_cast<double>(request.bytes_between(i, j));
            }
        }
    }
    return pairs;
}

/// Byte count of part `index` when `total` is cut into `parts` near-equal parts (sizes
/// differ by at most one byte; the parts sum to `total`).
inline std::int64_t even_part(std::int64_t total, std::int64_t parts, std::int64_t index) {
    return total * (index + 1) / parts - total * index / parts;
}

/// Pieces needed to cut `bytes` into pieces of at most `chunk_bytes` (at least 1).
inline std::int64_t pieces_for(std::int64_t bytes, std::int64_t chunk_bytes) {
    if (chunk_bytes <= 0 || bytes <= chunk_bytes) {
        return 1;
    }
    return (bytes + chunk_bytes - 1) / chunk_bytes;
}

/// `options.chunk_bytes`, or `fallback` when it is 0.
inline std::int64_t chunk_or(const CollectiveOptions& options, std::int64_t fallback) {
    return options.chunk_bytes > 0 ? options.chunk_bytes : fallback;
}

/// Channels to use (at least 1).
inline std::uint32_t channel_count(const CollectiveOptions& options) {
    return options.channels > 0 ? static_cast<std::uint32_t>(options.channels) : 1;
}

/// Largest power of two <= n (n >= 1).
inline std::uint32_t floor_power_of_two(std::uint32_t n) {
    std::uint32_t p = 1;
    while (p * 2 <= n) {
        p *= 2;
    }
    return p;
}

inline bool is_power_of_two(std::size_t n) {
    return n > 0 && (n & (n - 1)) == 0;
}

/// The group seen as servers: `node_of[g]` (0-based, in order of first appearance),
/// `local_of[g]` (position among the group's GPUs on that server), `members[node][local]`.
/// `is_uniform`: every server holds the same number of the group's GPUs.
struct NodeLayout {
    std::vector<std::uint32_t> node_of;
    std::vector<std::uint32_t> local_of;
    std::vector<std::vector<std::uint32_t>> members;
    bool is_uniform = false;

    std::size_t ranks_per_node() const { return members.empty() ? 0 : members[0].size(); }
};

NodeLayout node_layout(const std::vector<RankId>& ranks, const Topology& topology);

/// Ring order (group indices) of `channel`: the group order, with each server's block rotated
/// by the channel number when the group is uniform and each server's GPUs are contiguous, so
/// that different channels leave and enter servers through different GPUs (and NICs).
std::vector<std::uint32_t> ring_order(const std::vector<RankId>& ranks,
                                      const Topology& topology,
                                      std::uint32_t channel);

/// The reason string for an op the algorithm does not implement.
std::string unsupported_op(std::string_view algorithm, CollectiveOp op);

/// Why a hierarchical algorithm (intra-server phases, then one inter-server phase per local
/// index), which implements only `op`, cannot run `request`: another op, or servers holding
/// different numbers of the group's GPUs (the reason names two counts that differ). Empty
/// when it can.
std::string hierarchical_unsupported_reason(std::string_view algorithm,
                                            CollectiveOp op,
                                            const CollectiveRequest& request,
                                            const Topology& topology);

}  // namespace stepsim::collective

namespace stepsim::collective {

/// Non-power-of-two groups for recursive halving / doubling (MPICH's scheme): with p the
/// largest power of two <= n and r = n − p, the first 2r group indices pair up; the even one
/// of each pair hands its data to the odd one and sits out; the p remaining ranks get new
/// ranks 0..p−1.
struct FoldLayout {
    std::uint32_t n = 0;
    std::uint32_t p = 0;
    std::uint32_t r = 0;

    explicit FoldLayout(std::uint32_t group_size)
        : n(group_size)
        , p(floor_power_of_two(group_size))
        , r(group_size - floor_power_of_two(group_size)) {}

    /// Group index of new rank i.
    std::uint32_t group_of(std::uint32_t i) const { return i < r ? 2 * i + 1 : i + r; }
};

/// Builds a plan of send/receive rendezvous over a folded group (halving_doubling,
/// recursive_doubling): a send waits for every earlier receive of both its ends.
class RendezvousPlanner {
public:
    RendezvousPlanner(CommPlan& plan, const FoldLayout& fold)
        : plan_(plan)
        , fold_(fold)
        , received_(fold.n) {}

    /// Appends the transfer from -> to of chunks [first, first + count) after every earlier
    /// receive of `from` and of `to`; returns its index (not yet a receive of `to`).
    std::uint32_t send(std::uint32_t from,
                       std::uint32_t to,
                       std::uint32_t first,
                       std::uint32_t count,
                       bool is_reduce) {
        deps_.assign(received_[from].begin(), received_[from].end());
        deps_.insert(deps_.end(), received_[to].begin(), received_[to].end());
        return plan_.add_transfer(from, to, first, count, is_reduce, 0, deps_);
    }

    /// Fold: the even index 2i of each of the r pairs sends chunks [0, count) to 2i+1, which
    /// reduces them.
    void fold_in(std::uint32_t count) {
        for (std::uint32_t i = 0; i < fold_.r; ++i) {
            received_[2 * i + 1].push_back(send(2 * i, 2 * i + 1, 0, count, true));
        }
    }

    /// Unfold: 2i+1 hands chunks [0, count), the result, back to 2i.
    void fold_out(std::uint32_t count) {
        for (std::uint32_t i = 0; i < fold_.r; ++i) {
            send(2 * i + 1, 2 * i, 0, count, false);
        }
    }

    /// One round among the p new ranks: new rank i sends `send_of(i)` (a transfer index) to
    /// new rank i ^ d; every send of the round waits only for earlier rounds.
    template <typename SendOf>
    void exchange(std::uint32_t d, SendOf send_of) {
        std::vector<std::uint32_t> incoming(fold_.p);
        for (std::uint32_t i = 0; i < fold_.p; ++i) {
            incoming[i ^ d] = send_of(i);
        }
        for (std::uint32_t i = 0; i < fold_.p; ++i) {
            received_[fold_.group_of(i)].push_back(incoming[i]);
        }
    }

private:
    CommPlan& plan_;
    const FoldLayout fold_;
    std::vector<std::vector<std::uint32_t>> received_;  // transfers into each group index
    std::vector<std::uint32_t> deps_;
};

}  // namespace stepsim::collective
