// SPDX-License-Identifier: Apache-2.0
// File: hierarchical_all_to_all.cc
// Hierarchical all-to-all for the NVLink / rail hierarchy: (1) inside each server, GPU (v, l)
// hands its server peer (v, l') everything it has for local index l' on every server (the
// part for (v, l') itself is delivered there); (2) across servers, on rail l', GPU (v, l')
// sends GPU (w, l') what its whole server has for (w, l'), once all of its phase-1 receives
// are in. Each byte crosses the network once, on its own rail, and each GPU talks to
// nodes − 1 remote peers instead of n − ranks_per_node: the aggregation NCCL's PXN and
// DeepEP's NVLink forwarding use (docs/models/collectives.md). Every server must hold the
// same number of the group's GPUs. Volumes per pair: CollectiveRequest::pair_bytes or the
// even split.
#include "stepsim/analytic.h"
#include "stepsim/error.h"

#include "algorithms.h"

#include <limits>
#include <string>
#include <vector>

namespace stepsim::collective {

namespace {

class HierarchicalAllToAll final : public CollectiveAlgorithm {
public:
    std::string_view name() const override { return "hierarchical_alltoall"; }

    std::string unsupported_reason(const CollectiveRequest& request,
                                   const Topology& topology) const override {
        return hierarchical_unsupported_reason(name(), CollectiveOp::kAllToAll, request, topology);
    }

    CommPlan make_plan(const CollectiveRequest& request,
                       const Topology& topology,
                       const CollectiveOptions& /*options*/) const override {
        const auto n = static_cast<std::uint32_t>(request.ranks.size());
        CommPlan plan(request.op, n);
        const NodeLayout layout = node_layout(request.ranks, topology);
        const auto nodes = static_cast<std::uint32_t>(layout.members.size());
        const auto ppn = static_cast<std::uint32_t>(layout.ranks_per_node());
        // Chunks of source g: by destination local index m, then destination server w (the
        // chunk g -> g left out), so that a phase-1 message is one contiguous range.
        // chunk_of[g·n + j]: the chunk g sends to j; first_of[g·ppn + m]: range start for m.
        std::vector<std::uint32_t> chunk_of(std::size_t{n} * n, CommPlan::kNone);
        std::vector<std::uint32_t> first_of(std::size_t{n} * ppn, 0);
        std::vector<std::uint32_t> count_of(std::size_t{n} * ppn, 0);
        for (std::uint32_t g = 0; g < n; ++g) {
            for (std::uint32_t m = 0; m < ppn; ++m) {
                first_of[std::size_t{g} * ppn + m] = static_cast<std::uint32_t>(plan.chunk_count());
                for (std::uint32_t w = 0; w < nodes; ++w) {
                    const std::uint32_t j = layout.members[w][m];
                    if (j != g) {
                        chunk_of[std::size_t{g} * n + j] =
                            plan.add_chunk(request.bytes_between(g, j), j, g);
                        ++count_of[std::size_t{g} * ppn + m];
                    }
                }
            }
        }
        constexpr std::uint32_t kIntra = 0;
        constexpr std::uint32_t kInter = 1;
        // (1) Intra-server: g = (v, l) -> (v, m), m != l, all of g's chunks for local m.
        std::vector<std::vector<std::uint32_t>> received(n);
        for (std::uint32_t g = 0; g < n; ++g) {
            const std::uint32_t v = layout.node_of[g];
            const std::uint32_t l = layout.local_of[g];
            for (std::uint32_t m = 0; m < ppn; ++m) {
                if (m == l) {
                    continue;
                }
                const std::uint32_t to = layout.members[v][m];
                const std::uint32_t t =
                    plan.add_transfer(g, to, first_of[std::size_t{g} * ppn + m],
                                      count_of[std::size_t{g} * ppn + m], false, kIntra, {});
                received[to].push_back(t);
            }
        }
        // (2) Inter-server on each rail: h = (v, m) -> (w, m), one chunk per source of v.
        if (nodes > 1) {
            for (std::uint32_t h = 0; h < n; ++h) {
                const std::uint32_t v = layout.node_of[h];
                const std::uint32_t m = layout.local_of[h];
                for (std::uint32_t w = 0; w < nodes; ++w) {
                    if (w == v) {
                        continue;
                    }
                    const std::uint32_t to = layout.members[w][m];
                    for (std::uint32_t k = 0; k < ppn; ++k) {
                        const std::uint32_t source = layout.members[v][k];
                        plan.add_transfer(h, to, chunk_of[std::size_t{source} * n + to], 1, false,
                                          kInter, received[h]);
                    }
                }
            }
        }
        return plan;
    }

    /// Assumes the group lists each server's GPUs together (server-major), as the step
    /// lowering's EP groups do, when the volumes are uneven.
    double predict_time_s(const CollectiveRequest& request,
                          const GroupCosts& costs,
                          const CollectiveOptions& /*options*/) const override {
        if (costs.nodes == 0) {
            return std::numeric_limits<double>::infinity();
        }
        constexpr bool kIsPortLimited = true;
        return analytic::hierarchical_all_to_all_time_s(
            static_cast<std::int64_t>(costs.nodes), static_cast<std::int64_t>(costs.ranks_per_node),
            pair_matrix(request),
            {costs.intra_alpha_s, costs.intra_beta_s_per_byte, costs.gamma_s_per_byte},
            {costs.inter_alpha_s, costs.inter_beta_s_per_byte, costs.gamma_s_per_byte},
            kIsPortLimited);
    }
};

}  // namespace

std::unique_ptr<CollectiveAlgorithm> make_hierarchical_all_to_all_algorithm() {
    return std::make_unique<HierarchicalAllToAll>();
}

}  // namespace stepsim::collective
