// SPDX-License-Identifier: Apache-2.0
// File: ring_algorithm.cc
// Ring collectives on the group order (one ring per channel, each channel carrying 1/C of the
// buffer): reduce-scatter and all-gather in n−1 steps of S/n, all-reduce as the two in a row
// (2(n−1) steps), and broadcast / reduce as a pipelined chain around the ring from / to the
// root. Segments may be cut into chunks (each pays alpha); by default a ring step moves its
// whole segment, since the ring already pipelines across steps. A rank's sends on a channel
// go one after another (each depends on the previous one). Thakur et al. 2005; NCCL's ring.
// The executor runs the same plans generated on demand (ring_lazy_plan.cc); the stored ones
// here are the reference they are tested against and what plan() returns.
#include "stepsim/analytic.h"
#include "stepsim/error.h"

#include "algorithms.h"

#include <stdexcept>
#include <string>

namespace stepsim::collective {

namespace {

class RingAlgorithm final : public CollectiveAlgorithm {
public:
    std::string_view name() const override { return "ring"; }

    std::string unsupported_reason(const CollectiveRequest& request,
                                   const Topology& /*topology*/) const override {
        switch (request.op) {
            case CollectiveOp::kAllReduce:
            case CollectiveOp::kReduceScatter:
            case CollectiveOp::kAllGather:
            case CollectiveOp::kBroadcast:
            case CollectiveOp::kReduce:
                return {};
            default:
                return unsupported_op(name(), request.op);
        }
    }

    CommPlan make_plan(const CollectiveRequest& request,
                       const Topology& topology,
                       const CollectiveOptions& options) const override {
        const auto n = static_cast<std::uint32_t>(request.ranks.size());
        CommPlan plan(request.op, n, static_cast<std::uint32_t>(request.root_index));
        if (n == 1) {
            plan.add_chunk(request.size_bytes, 0, 0);
            return plan;
        }
        const std::uint32_t channels = channel_count(options);
        if (request.op == CollectiveOp::kBroadcast || request.op == CollectiveOp::kReduce) {
            plan_chain(plan, request, topology, options, channels);
        } else {
            plan_ring(plan, request, topology, options, channels);
        }
        return plan;
    }

    PipelineShape pipeline_shape(const CollectiveRequest& request,
                                 const CollectiveOptions& options) const override {
        const auto n = static_cast<std::int64_t>(request.ranks.size());
        if (n == 1) {
            return {};
        }
        const std::int64_t channels = channel_count(options);
        if (request.op == CollectiveOp::kBroadcast || request.op == CollectiveOp::kReduce) {
            const std::int64_t largest = (request.size_bytes + channels - 1) / channels;
            return {channels, pieces_for(largest, chunk_or(options, kDefaultChunkBytes))};
        }
        const std::int64_t largest_segment =
            (request.size_bytes + n * channels - 1) / (n * channels);
        return {n * channels, pieces_for(largest_segment, options.chunk_bytes)};
    }

    bool has_lazy_plan() const override { return true; }

    // The same plan, generated on demand (ring_lazy_plan.cc): what the executor runs.
    std::unique_ptr<const LazyPlan> make_lazy_plan(
        const CollectiveRequest& request,
        const Topology& topology,
        const CollectiveOptions& options) const override {
        return make_lazy_ring_plan(request, topology, options);
    }

    double predict_time_s(const CollectiveRequest& request,
                          const GroupCosts& costs,
                          const CollectiveOptions& options) const override {
        const auto n = static_cast<std::int64_t>(request.ranks.size());
        const auto size = static_cast<double>(request.size_bytes);
        const analytic::CollectiveCost cost{costs.alpha_s, costs.beta_s_per_byte,
                                            costs.gamma_s_per_byte};
        const std::int64_t channels = channel_count(options);
        const std::int64_t segment = request.size_bytes / (channels * n);
        const std::int64_t k = pieces_for(segment, options.chunk_bytes);
        switch (request.op) {
            case CollectiveOp::kAllReduce:
                return analytic::ring_all_reduce_time_s(n, size, cost, k);
            case CollectiveOp::kReduceScatter:
                return analytic::ring_reduce_scatter_time_s(n, size, cost, k);
            case CollectiveOp::kAllGather:
                return analytic::ring_all_gather_time_s(n, size, cost, k);
            default: {
                const std::int64_t chunks = pieces_for(request.size_bytes / channels,
                                                       chunk_or(options, kDefaultChunkBytes));
                return analytic::pipelined_chain_time_s(n - 1, size, cost, chunks,
                                                        request.op == CollectiveOp::kReduce);
            }
        }
    }

private:
    // Reduce-scatter / all-gather / all-reduce. Chunk ids: ((block · C) + channel) · k + piece,
    // so each rank's block is contiguous. Transfer (channel, step, piece, position) depends on
    // the transfer that brought the block to this position in the previous step and on this
    // position's previous send on the channel.
    static void plan_ring(CommPlan& plan,
                          const CollectiveRequest& request,
                          const Topology& topology,
                          const CollectiveOptions& options,
                          std::uint32_t channels) {
        const auto n = static_cast<std::uint32_t>(request.ranks.size());
        const std::int64_t size = request.size_bytes;
        // Segment (block b, channel c): the channel's share of block b.
        const std::int64_t largest_segment = (size + n * channels - 1) / (n * channels);
        const auto k = static_cast<std::uint32_t>(pieces_for(largest_segment, options.chunk_bytes));
        for (std::uint32_t b = 0; b < n; ++b) {
            const std::int64_t block = even_part(size, n, b);
            for (std::uint32_t c = 0; c < channels; ++c) {
                const std::int64_t segment = even_part(block, channels, c);
                for (std::uint32_t j = 0; j < k; ++j) {
                    plan.add_chunk(even_part(segment, k, j), b, b);
                }
            }
        }
        const auto chunk_id = [&](std::uint32_t block, std::uint32_t c, std::uint32_t j) {
            return (block * channels + c) * k + j;
        };
        const bool has_rs = request.op != CollectiveOp::kAllGather;
        const bool has_ag = request.op != CollectiveOp::kReduceScatter;
        const std::uint32_t rs_steps = has_rs ? n - 1 : 0;
        const std::uint32_t steps = rs_steps + (has_ag ? n - 1 : 0);
        plan.reserve(std::size_t{channels} * steps * k * n,
                     std::size_t{channels} * steps * k * n * 2);

        std::vector<std::uint32_t> previous(n);  // transfer index of the last step, by position
        std::vector<std::uint32_t> current(n);
        for (std::uint32_t c = 0; c < channels; ++c) {
            const std::vector<std::uint32_t> order = ring_order(request.ranks, topology, c);
            // last[p]: position p's previous send on this channel.
            std::vector<std::uint32_t> last(n, CommPlan::kNone);
            // step_index[s % 2][p * k + j]: transfers of the previous step by position, piece.
            std::vector<std::uint32_t> prev_step(std::size_t{n} * k, CommPlan::kNone);
            std::vector<std::uint32_t> this_step(std::size_t{n} * k, CommPlan::kNone);
            for (std::uint32_t s = 0; s < steps; ++s) {
                const bool is_rs = s < rs_steps;
                for (std::uint32_t j = 0; j < k; ++j) {
                    for (std::uint32_t p = 0; p < n; ++p) {
                        // Block (by position) sent by p at global step s.
                        std::uint32_t block_position;
                        if (is_rs) {
                            block_position = (p + 2 * n - s - 1) % n;
                        } else {
                            const std::uint32_t ag_step = s - rs_steps;
                            block_position = (p + 2 * n - ag_step) % n;
                        }
                        const std::uint32_t from = (p + n - 1) % n;
                        const std::uint32_t data_dep =
                            s == 0 ? CommPlan::kNone : prev_step[std::size_t{from} * k + j];
                        const std::uint32_t deps[2] = {data_dep, last[p]};
                        const std::uint32_t t = plan.add_transfer(
                            order[p], order[(p + 1) % n], chunk_id(order[block_position], c, j), 1,
                            is_rs, c, deps);
                        last[p] = t;
                        this_step[std::size_t{p} * k + j] = t;
                    }
                }
                std::swap(prev_step, this_step);
            }
        }
    }

    // Broadcast / reduce: a chain around the ring, pipelined in chunks. Broadcast goes
    // root → root+1 → … → root−1; reduce goes root+1 → … → root−1 → root, reducing on the way.
    static void plan_chain(CommPlan& plan,
                           const CollectiveRequest& request,
                           const Topology& topology,
                           const CollectiveOptions& options,
                           std::uint32_t channels) {
        const auto n = static_cast<std::uint32_t>(request.ranks.size());
        const bool is_reduce = request.op == CollectiveOp::kReduce;
        const std::int64_t largest = (request.size_bytes + channels - 1) / channels;
        const auto k =
            static_cast<std::uint32_t>(pieces_for(largest, chunk_or(options, kDefaultChunkBytes)));
        const auto root = static_cast<std::uint32_t>(request.root_index);
        for (std::uint32_t c = 0; c < channels; ++c) {
            const std::int64_t part = even_part(request.size_bytes, channels, c);
            for (std::uint32_t j = 0; j < k; ++j) {
                plan.add_chunk(even_part(part, k, j), root, root);
            }
        }
        plan.reserve(std::size_t{channels} * k * (n - 1), std::size_t{channels} * k * (n - 1) * 2);
        for (std::uint32_t c = 0; c < channels; ++c) {
            std::vector<std::uint32_t> order = ring_order(request.ranks, topology, c);
            // chain[q]: the q-th member of the chain (q = 0 sends first).
            std::vector<std::uint32_t> chain(n);
            std::uint32_t root_position = 0;
            for (std::uint32_t p = 0; p < n; ++p) {
                if (order[p] == root) {
                    root_position = p;
                }
            }
            for (std::uint32_t q = 0; q < n; ++q) {
                const std::uint32_t offset = is_reduce ? q + 1 : q;
                chain[q] = order[(root_position + offset) % n];
            }
            std::vector<std::uint32_t> last(n, CommPlan::kNone);  // by chain position
            for (std::uint32_t j = 0; j < k; ++j) {
                std::uint32_t incoming = CommPlan::kNone;
                for (std::uint32_t q = 0; q + 1 < n; ++q) {
                    const std::uint32_t deps[2] = {incoming, last[q]};
                    const std::uint32_t t =
                        plan.add_transfer(chain[q], chain[q + 1], c * k + j, 1, is_reduce, c, deps);
                    last[q] = t;
                    incoming = t;
                }
            }
        }
    }
};

}  // namespace

std::unique_ptr<CollectiveAlgorithm> make_ring_algorithm() {
    return std::make_unique<RingAlgorithm>();
}

}  // namespace stepsim::collective
