// SPDX-License-Identifier: Apache-2.0
// File: hierarchical_algorithm.cc
// Hierarchical all-reduce for the intra-node / inter-node bandwidth hierarchy: (1) ring
// reduce-scatter among each server's GPUs (NVLink), leaving local GPU l with block l reduced
// over its server; (2) ring all-reduce of block l across servers among the GPUs with local
// index l (one ring per rail, over the NICs); (3) ring all-gather inside each server. The
// buffer is pipelined in up to kMaxPieces pieces so that the phases of different pieces
// overlap. Servers are Node::host of each rank's GPU; every server must hold the same number
// of the group's GPUs. Sources: the 2D/hierarchical rings of Horovod and NCCL's CollNet-free
// multi-node layouts; docs/models/collectives.md.
#include "stepsim/analytic.h"
#include "stepsim/error.h"

#include "algorithms.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

namespace stepsim::collective {

namespace {

constexpr std::int64_t kMaxPieces = 8;

std::int64_t piece_count(std::int64_t size_bytes,
                         std::int64_t nodes,
                         std::int64_t ranks_per_node,
                         const CollectiveOptions& options) {
    const std::int64_t chunk = chunk_or(options, kDefaultChunkBytes);
    return std::clamp<std::int64_t>(size_bytes / (nodes * ranks_per_node * chunk), 1, kMaxPieces);
}

class HierarchicalAlgorithm final : public CollectiveAlgorithm {
public:
    std::string_view name() const override { return "hierarchical"; }

    std::string unsupported_reason(const CollectiveRequest& request,
                                   const Topology& topology) const override {
        return hierarchical_unsupported_reason(name(), CollectiveOp::kAllReduce, request, topology);
    }

    CommPlan make_plan(const CollectiveRequest& request,
                       const Topology& topology,
                       const CollectiveOptions& options) const override {
        const auto n = static_cast<std::uint32_t>(request.ranks.size());
        CommPlan plan(request.op, n);
        const NodeLayout layout = node_layout(request.ranks, topology);
        const auto nodes = static_cast<std::uint32_t>(layout.members.size());
        const auto ppn = static_cast<std::uint32_t>(layout.ranks_per_node());
        const auto pieces =
            static_cast<std::uint32_t>(piece_count(request.size_bytes, nodes, ppn, options));
        for (std::uint32_t q = 0; q < pieces; ++q) {
            const std::int64_t piece = even_part(request.size_bytes, pieces, q);
            for (std::uint32_t l = 0; l < ppn; ++l) {
                const std::int64_t block = even_part(piece, ppn, l);
                for (std::uint32_t m = 0; m < nodes; ++m) {
                    plan.add_chunk(even_part(block, nodes, m), 0, 0);
                }
            }
        }
        if (n == 1) {
            return plan;
        }
        const auto block_first = [&](std::uint32_t q, std::uint32_t l) {
            return (q * ppn + l) * nodes;
        };
        constexpr std::uint32_t kIntraReduceScatter = 0;
        constexpr std::uint32_t kInter = 1;
        constexpr std::uint32_t kIntraAllGather = 2;
        // last[channel][g]: g's previous send on that channel.
        std::vector<std::vector<std::uint32_t>> last(
            3, std::vector<std::uint32_t>(n, CommPlan::kNone));
        std::vector<std::uint32_t> ready(n);  // per group index: block final for the next phase

        // Ring over `members` (positions), `steps` steps, sending what `payload(p, s)` picks.
        const auto run_ring = [&](const std::vector<std::uint32_t>& members, std::uint32_t steps,
                                  std::uint32_t step_offset, std::uint32_t channel,
                                  bool is_reduce_phase, const auto& payload,
                                  const std::vector<std::uint32_t>& start_deps,
                                  const std::vector<std::uint32_t>& extra_start_deps) {
            const auto size = static_cast<std::uint32_t>(members.size());
            std::vector<std::uint32_t> previous(size, CommPlan::kNone);
            std::vector<std::uint32_t> current(size, CommPlan::kNone);
            for (std::uint32_t s = 0; s < steps; ++s) {
                for (std::uint32_t p = 0; p < size; ++p) {
                    const std::uint32_t g = members[p];
                    const auto [first, count] = payload(p, s + step_offset);
                    const bool is_reduce = is_reduce_phase && (s + step_offset) < size - 1;
                    const std::uint32_t data =
                        (s == 0) ? start_deps[g] : previous[(p + size - 1) % size];
                    const std::uint32_t extra = (s == 0) ? extra_start_deps[g] : CommPlan::kNone;
                    const std::uint32_t deps[3] = {data, extra, last[channel][g]};
                    const std::uint32_t t = plan.add_transfer(g, members[(p + 1) % size], first,
                                                              count, is_reduce, channel, deps);
                    last[channel][g] = t;
                    current[p] = t;
                }
                std::swap(previous, current);
            }
            return previous;  // transfers of the last step, by sending position
        };

        std::vector<std::uint32_t> none(n, CommPlan::kNone);
        for (std::uint32_t q = 0; q < pieces; ++q) {
            // (1) Intra-node reduce-scatter: position p sends block (p − s − 1) mod ppn.
            std::fill(ready.begin(), ready.end(), CommPlan::kNone);
            if (ppn > 1) {
                for (std::uint32_t v = 0; v < nodes; ++v) {
                    const auto& members = layout.members[v];
                    const auto final_sends = run_ring(
                        members, ppn - 1, 0, kIntraReduceScatter, true,
                        [&](std::uint32_t p, std::uint32_t s) {
                            return std::pair{block_first(q, (p + 2 * ppn - s - 1) % ppn), nodes};
                        },
                        none, none);
                    for (std::uint32_t p = 0; p < ppn; ++p) {
                        ready[members[(p + 1) % ppn]] = final_sends[p];
                    }
                }
            }
            // (2) Inter-node all-reduce per rail: ring over servers on block l's nodes chunks.
            std::vector<std::uint32_t> inter_done(n, CommPlan::kNone);
            if (nodes > 1) {
                for (std::uint32_t l = 0; l < ppn; ++l) {
                    std::vector<std::uint32_t> rail(nodes);
                    for (std::uint32_t v = 0; v < nodes; ++v) {
                        rail[v] = layout.members[v][l];
                    }
                    const auto final_sends = run_ring(
                        rail, 2 * (nodes - 1), 0, kInter, true,
                        [&](std::uint32_t v, std::uint32_t s) {
                            const std::uint32_t m =
                                s < nodes - 1 ? (v + 2 * nodes - s - 1) % nodes
                                              : (v + 2 * nodes - (s - (nodes - 1))) % nodes;
                            return std::pair{block_first(q, l) + m, 1u};
                        },
                        ready, none);
                    for (std::uint32_t v = 0; v < nodes; ++v) {
                        inter_done[rail[(v + 1) % nodes]] = final_sends[v];
                    }
                }
            } else {
                inter_done = ready;
            }
            // (3) Intra-node all-gather: position p sends block (p − s) mod ppn; its first send
            // waits for its last inter-node receive and its own last inter-node send (which
            // follows all its earlier receives).
            if (ppn > 1) {
                for (std::uint32_t v = 0; v < nodes; ++v) {
                    const auto& members = layout.members[v];
                    run_ring(
                        members, ppn - 1, 0, kIntraAllGather, false,
                        [&](std::uint32_t p, std::uint32_t s) {
                            return std::pair{block_first(q, (p + ppn - s) % ppn), nodes};
                        },
                        inter_done, nodes > 1 ? last[kInter] : none);
                }
            }
        }
        return plan;
    }

    double predict_time_s(const CollectiveRequest& request,
                          const GroupCosts& costs,
                          const CollectiveOptions& options) const override {
        if (costs.nodes == 0) {
            return std::numeric_limits<double>::infinity();
        }
        const auto nodes = static_cast<std::int64_t>(costs.nodes);
        const auto ppn = static_cast<std::int64_t>(costs.ranks_per_node);
        return analytic::hierarchical_all_reduce_time_s(
            nodes, ppn, static_cast<double>(request.size_bytes),
            {costs.intra_alpha_s, costs.intra_beta_s_per_byte, costs.gamma_s_per_byte},
            {costs.inter_alpha_s, costs.inter_beta_s_per_byte, costs.gamma_s_per_byte},
            piece_count(request.size_bytes, nodes, ppn, options));
    }
};

}  // namespace

std::unique_ptr<CollectiveAlgorithm> make_hierarchical_algorithm() {
    return std::make_unique<HierarchicalAlgorithm>();
}

}  // namespace stepsim::collective
