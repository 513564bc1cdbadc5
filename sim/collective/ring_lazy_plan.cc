// SPDX-License-Identifier: Apache-2.0
// File: ring_lazy_plan.cc
// The ring's plans generated on demand (LazyPlan): the transfers, numbering and dependencies of
// ring_algorithm.cc's stored plans, computed from a transfer's index instead of read from a
// table. A ring's DAG is regular, so a transfer's successors are two index offsets away: the
// sender's next send on the channel and the next step's forward of the same data. Memory is
// O(channels · n) whatever the size and chunking (the stored 1 GiB ring on 1,024 GPUs is 88 MiB).
#include "stepsim/error.h"

#include "algorithms.h"

#include <algorithm>
#include <limits>
#include <string>

namespace stepsim::collective {

namespace {

/// even_part(total, pieces, piece) for total >= 0, in 32-bit division when the products fit
/// (the same floors: every operand is non-negative).
std::int64_t piece_bytes(std::int64_t total, std::uint32_t pieces, std::uint32_t piece) {
    const std::uint64_t end = static_cast<std::uint64_t>(total) * (piece + 1);
    if (end <= std::numeric_limits<std::uint32_t>::max()) {
        const auto begin = static_cast<std::uint32_t>(static_cast<std::uint64_t>(total) * piece);
        return static_cast<std::uint32_t>(end) / pieces - begin / pieces;
    }
    return even_part(total, pieces, piece);
}

/// Reduce-scatter, all-gather, all-reduce. Transfer (channel c, step s, piece j, position p)
/// is number c·per_channel + (s·k + j)·n + p, as ring_algorithm.cc appends them. It depends on
/// (c, s−1, j, p−1), which brought the data (s > 0), and on position p's previous send on the
/// channel, (c, s, j−1, p) or (c, s−1, k−1, p), both number − n (s > 0 or j > 0).
class RingLazyPlan final : public LazyPlan {
public:
    RingLazyPlan(const CollectiveRequest& request,
                 const Topology& topology,
                 const CollectiveOptions& options)
        : LazyPlan(request.op,
                   static_cast<std::uint32_t>(request.ranks.size()),
                   static_cast<std::uint32_t>(request.root_index))
        , n_(static_cast<std::uint32_t>(request.ranks.size()))
        , channels_(channel_count(options)) {
        const std::int64_t size = request.size_bytes;
        const std::int64_t largest_segment = (size + n_ * channels_ - 1) / (n_ * channels_);
        k_ = static_cast<std::uint32_t>(pieces_for(largest_segment, options.chunk_bytes));
        const bool has_rs = request.op != CollectiveOp::kAllGather;
        const bool has_ag = request.op != CollectiveOp::kReduceScatter;
        rs_steps_ = has_rs ? n_ - 1 : 0;
        steps_ = rs_steps_ + (has_ag ? n_ - 1 : 0);
        per_channel_ = std::uint64_t{steps_} * k_ * n_;
        segment_bytes_.resize(std::size_t{n_} * channels_);
        for (std::uint32_t b = 0; b < n_; ++b) {
            const std::int64_t block = even_part(size, n_, b);
            for (std::uint32_t c = 0; c < channels_; ++c) {
                segment_bytes_[std::size_t{b} * channels_ + c] = even_part(block, channels_, c);
            }
        }
        order_.reserve(std::size_t{n_} * channels_);
        for (std::uint32_t c = 0; c < channels_; ++c) {
            const std::vector<std::uint32_t> order = ring_order(request.ranks, topology, c);
            order_.insert(order_.end(), order.begin(), order.end());
        }
    }

    std::uint64_t transfer_count() const override { return per_channel_ * channels_; }

    PlanTransfer transfer(std::uint64_t index) const override {
        const Position at = position(index);
        const std::uint32_t* order = &order_[std::size_t{at.channel} * n_];
        const bool is_rs = at.step < rs_steps_;
        // Block (by position) that p sends at step s: p − s − 1 in reduce-scatter, p − s' at
        // all-gather step s' (both shifts below n, so one wrap at most).
        const std::uint32_t shift = is_rs ? at.step + 1 : at.step - rs_steps_;
        const std::uint32_t block_position =
            at.position >= shift ? at.position - shift : at.position + n_ - shift;
        const std::uint32_t block = order[block_position];
        const std::int64_t segment = segment_bytes_[std::size_t{block} * channels_ + at.channel];
        PlanTransfer transfer;
        transfer.src = order[at.position];
        transfer.dst = order[at.position + 1 == n_ ? 0 : at.position + 1];
        transfer.chunk_first = (block * channels_ + at.channel) * k_ + at.piece;
        transfer.chunk_count = 1;
        transfer.size_bytes = k_ == 1 ? segment : piece_bytes(segment, k_, at.piece);
        transfer.channel = at.channel;
        transfer.is_reduce = is_rs;
        return transfer;
    }

    std::uint32_t dependency_count(std::uint64_t index) const override {
        const Position at = position(index);
        return (at.step > 0 ? 1U : 0U) + (at.step > 0 || at.piece > 0 ? 1U : 0U);
    }

    void successors(std::uint64_t index, std::vector<std::uint64_t>& out) const override {
        out.clear();
        const Position at = position(index);
        const std::uint64_t base = std::uint64_t{at.channel} * per_channel_;
        const std::uint64_t in_channel = index - base;
        // The sender's next send on the channel: the next piece, or piece 0 of the next step.
        const bool has_next_send = in_channel + n_ < per_channel_;
        // The next step's forward of this data by the receiver.
        const bool has_forward = at.step + 1 < steps_;
        std::uint64_t forward = 0;
        if (has_forward) {
            const std::uint32_t next_position = at.position + 1 == n_ ? 0 : at.position + 1;
            forward = base + (std::uint64_t{at.step + 1} * k_ + at.piece) * n_ + next_position;
        }
        const std::uint64_t next_send = index + n_;
        if (has_next_send && has_forward) {
            out.push_back(std::min(next_send, forward));
            out.push_back(std::max(next_send, forward));
        } else if (has_next_send) {
            out.push_back(next_send);
        } else if (has_forward) {
            out.push_back(forward);
        }
    }

    void sources(std::vector<std::uint64_t>& out) const override {
        out.clear();
        if (per_channel_ == 0) {
            return;
        }
        for (std::uint32_t c = 0; c < channels_; ++c) {
            for (std::uint32_t p = 0; p < n_; ++p) {
                out.push_back(std::uint64_t{c} * per_channel_ + p);
            }
        }
    }

    std::size_t memory_bytes() const override {
        return sizeof(*this) + segment_bytes_.capacity() * sizeof(std::int64_t) +
               order_.capacity() * sizeof(std::uint32_t);
    }

private:
    struct Position {
        std::uint32_t channel;
        std::uint32_t step;
        std::uint32_t piece;
        std::uint32_t position;
    };

    Position position(std::uint64_t index) const {
        STEPSIM_CHECK(index < transfer_count(), "ring transfer " + std::to_string(index) +
                                                    " out of " + std::to_string(transfer_count()));
        Position at{};
        std::uint64_t rest = index;
        if (channels_ > 1) {
            at.channel = static_cast<std::uint32_t>(rest / per_channel_);
            rest -= std::uint64_t{at.channel} * per_channel_;
        }
        // Within a channel: (s·k + j)·n + p. In 32 bits when it fits (always, for plans of
        // fewer than 4 G transfers per channel): 32-bit division is several times faster.
        if (rest <= std::numeric_limits<std::uint32_t>::max()) {
            const auto rest32 = static_cast<std::uint32_t>(rest);
            const std::uint32_t step_piece = rest32 / n_;
            at.position = rest32 - step_piece * n_;
            at.step = k_ == 1 ? step_piece : step_piece / k_;
            at.piece = step_piece - at.step * k_;
        } else {
            const std::uint64_t step_piece = rest / n_;
            at.position = static_cast<std::uint32_t>(rest - step_piece * n_);
            at.step = static_cast<std::uint32_t>(step_piece / k_);
            at.piece = static_cast<std::uint32_t>(step_piece - std::uint64_t{at.step} * k_);
        }
        return at;
    }

    std::uint32_t n_;
    std::uint32_t channels_;
    std::uint32_t k_ = 1;         // pieces per segment
    std::uint32_t rs_steps_ = 0;  // reduce-scatter steps (the first ones)
    std::uint32_t steps_ = 0;
    std::uint64_t per_channel_ = 0;            // steps·k·n
    std::vector<std::int64_t> segment_bytes_;  // [block · channels + channel]
    std::vector<std::uint32_t> order_;         // [channel · n + position]: group index
};

/// Broadcast and reduce: a chain around the ring from (broadcast) or to (reduce) the root,
/// pipelined in pieces. Transfer (channel c, piece j, link q) is number c·k·(n−1) + j·(n−1) + q,
/// as ring_algorithm.cc appends them. It depends on (c, j, q−1), which brought the piece
/// (q > 0), and on (c, j−1, q), member q's previous send (j > 0).
class ChainLazyPlan final : public LazyPlan {
public:
    ChainLazyPlan(const CollectiveRequest& request,
                  const Topology& topology,
                  const CollectiveOptions& options)
        : LazyPlan(request.op,
                   static_cast<std::uint32_t>(request.ranks.size()),
                   static_cast<std::uint32_t>(request.root_index))
        , n_(static_cast<std::uint32_t>(request.ranks.size()))
        , channels_(channel_count(options))
        , is_reduce_(request.op == CollectiveOp::kReduce) {
        const std::int64_t largest = (request.size_bytes + channels_ - 1) / channels_;
        k_ = static_cast<std::uint32_t>(pieces_for(largest, chunk_or(options, kDefaultChunkBytes)));
        links_ = n_ - 1;
        per_channel_ = std::uint64_t{k_} * links_;
        part_bytes_.resize(channels_);
        const auto root = static_cast<std::uint32_t>(request.root_index);
        for (std::uint32_t c = 0; c < channels_; ++c) {
            part_bytes_[c] = even_part(request.size_bytes, channels_, c);
            const std::vector<std::uint32_t> order = ring_order(request.ranks, topology, c);
            std::uint32_t root_position = 0;
            for (std::uint32_t p = 0; p < n_; ++p) {
                if (order[p] == root) {
                    root_position = p;
                }
            }
            for (std::uint32_t q = 0; q < n_; ++q) {
                const std::uint32_t offset = is_reduce_ ? q + 1 : q;
                chain_.push_back(order[(root_position + offset) % n_]);
            }
        }
    }

    std::uint64_t transfer_count() const override { return per_channel_ * channels_; }

    PlanTransfer transfer(std::uint64_t index) const override {
        const Position at = position(index);
        const std::uint32_t* chain = &chain_[std::size_t{at.channel} * n_];
        PlanTransfer transfer;
        transfer.src = chain[at.link];
        transfer.dst = chain[at.link + 1];
        transfer.chunk_first = at.channel * k_ + at.piece;
        transfer.chunk_count = 1;
        transfer.size_bytes = piece_bytes(part_bytes_[at.channel], k_, at.piece);
        transfer.channel = at.channel;
        transfer.is_reduce = is_reduce_;
        return transfer;
    }

    std::uint32_t dependency_count(std::uint64_t index) const override {
        const Position at = position(index);
        return (at.link > 0 ? 1U : 0U) + (at.piece > 0 ? 1U : 0U);
    }

    void successors(std::uint64_t index, std::vector<std::uint64_t>& out) const override {
        out.clear();
        const Position at = position(index);
        if (at.link + 1 < links_) {
            out.push_back(index + 1);  // the next member forwards the piece
        }
        if (at.piece + 1 < k_) {
            out.push_back(index + links_);  // this member's next piece
        }
    }

    void sources(std::vector<std::uint64_t>& out) const override {
        out.clear();
        if (per_channel_ == 0) {
            return;
        }
        for (std::uint32_t c = 0; c < channels_; ++c) {
            out.push_back(std::uint64_t{c} * per_channel_);
        }
    }

    std::size_t memory_bytes() const override {
        return sizeof(*this) + part_bytes_.capacity() * sizeof(std::int64_t) +
               chain_.capacity() * sizeof(std::uint32_t);
    }

private:
    struct Position {
        std::uint32_t channel;
        std::uint32_t piece;
        std::uint32_t link;
    };

    Position position(std::uint64_t index) const {
        STEPSIM_CHECK(index < transfer_count(), "chain transfer " + std::to_string(index) +
                                                    " out of " + std::to_string(transfer_count()));
        Position at{};
        std::uint64_t rest = index;
        if (channels_ > 1) {
            at.channel = static_cast<std::uint32_t>(index / per_channel_);
            rest -= std::uint64_t{at.channel} * per_channel_;
        }
        at.piece = static_cast<std::uint32_t>(rest / links_);
        at.link = static_cast<std::uint32_t>(rest - std::uint64_t{at.piece} * links_);
        return at;
    }

    std::uint32_t n_;
    std::uint32_t channels_;
    bool is_reduce_;
    std::uint32_t k_ = 1;      // pieces per channel
    std::uint32_t links_ = 0;  // n − 1 transfers carry a piece along the chain
    std::uint64_t per_channel_ = 0;
    std::vector<std::int64_t> part_bytes_;  // per channel
    std::vector<std::uint32_t> chain_;      // [channel · n + q]: the q-th member, group index
};

}  // namespace

std::unique_ptr<const LazyPlan> make_lazy_ring_plan(const CollectiveRequest& request,
                                                    const Topology& topology,
                                                    const CollectiveOptions& options) {
    if (request.op == CollectiveOp::kBroadcast || request.op == CollectiveOp::kReduce) {
        return std::make_unique<ChainLazyPlan>(request, topology, options);
    }
    return std::make_unique<RingLazyPlan>(request, topology, options);
}

}  // namespace stepsim::collective
