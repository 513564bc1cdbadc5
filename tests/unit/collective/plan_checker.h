// SPDX-License-Identifier: Apache-2.0
// File: plan_checker.h
// A symbolic executor for CommPlans (test helper). Each (rank, chunk) holds the set of ranks
// whose contribution it contains (a bit mask, n <= 64). A transfer's payload is the sender's
// content as of the transfer's ancestors in the DAG (writes that are not ancestors are not
// visible: receives land in a temporary until the rank's earlier sends have read its buffer);
// a reducing receive ORs the payload in and must not double-count, a copying receive
// replaces. The checker proves that after the plan every rank holds what the operation
// promises, and that no read races with an unordered copy and no copy races with any write.
#pragma once

#include "stepsim/collective.h"

#include <cstdint>
#include <string>
#include <vector>

namespace stepsim::testing {

inline std::string check_plan(const CommPlan& plan) {
    const std::uint32_t n = plan.group_size();
    if (n == 0 || n > 64) {
        return "checker handles 1..64 ranks, got " + std::to_string(n);
    }
    const std::uint64_t full = n == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n) - 1;
    const auto bit = [](std::uint32_t rank) {
        return std::uint64_t{1} << rank;
    };
    const std::size_t chunks = plan.chunk_count();
    const std::uint32_t root = plan.root_index();
    const auto initial = [&](std::uint32_t rank, std::uint32_t chunk) -> std::uint64_t {
        switch (plan.op()) {
            case CollectiveOp::kAllReduce:
            case CollectiveOp::kReduceScatter:
            case CollectiveOp::kReduce:
                return bit(rank);
            case CollectiveOp::kAllGather:
                return plan.chunk_segment(chunk) == rank ? bit(rank) : 0;
            case CollectiveOp::kBroadcast:
                return rank == root ? bit(root) : 0;
            case CollectiveOp::kAllToAll:
            case CollectiveOp::kSendRecv:
                return plan.chunk_source(chunk) == rank ? bit(rank) : 0;
        }
        return 0;
    };

    const std::size_t count = plan.transfer_count();
    const std::size_t words = (count + 63) / 64;
    std::vector<std::uint64_t> ancestors(count * words, 0);
    const auto is_ancestor = [&](std::size_t a, std::size_t of) {
        return (ancestors[of * words + a / 64] >> (a % 64)) & 1;
    };

    struct Write {
        std::uint32_t transfer;
        std::uint64_t payload;
        bool is_reduce;
    };

    std::vector<std::vector<Write>> writes(std::size_t{n} * chunks);
    const auto value = [&](std::uint32_t rank, std::uint32_t chunk, std::size_t reader,
                           bool only_ancestors, std::string& error) {
        std::uint64_t content = initial(rank, chunk);
        for (const Write& w : writes[std::size_t{rank} * chunks + chunk]) {
            if (only_ancestors && !is_ancestor(w.transfer, reader)) {
                if (!w.is_reduce) {
                    error = "transfer " + std::to_string(reader) + " reads chunk " +
                            std::to_string(chunk) + " of rank " + std::to_string(rank) +
                            " unordered with the copy of transfer " + std::to_string(w.transfer);
                }
                continue;
            }
            content = w.is_reduce ? (content | w.payload) : w.payload;
        }
        return content;
    };

    for (std::uint32_t t = 0; t < count; ++t) {
        for (const std::uint32_t d : plan.dependencies(t)) {
            for (std::size_t w = 0; w < words; ++w) {
                ancestors[t * words + w] |= ancestors[std::size_t{d} * words + w];
            }
            ancestors[t * words + d / 64] |= std::uint64_t{1} << (d % 64);
        }
        const PlanTransfer& tr = plan.transfer(t);
        for (std::uint32_t c = tr.chunk_first; c < tr.chunk_first + tr.chunk_count; ++c) {
            std::string error;
            const std::uint64_t payload = value(tr.src, c, t, true, error);
            if (!error.empty()) {
                return error;
            }
            if (payload == 0) {
                return "transfer " + std::to_string(t) + " sends chunk " + std::to_string(c) +
                       " that rank " + std::to_string(tr.src) + " does not hold yet";
            }
            auto& target = writes[std::size_t{tr.dst} * chunks + c];
            for (const Write& w : target) {
                if ((!tr.is_reduce || !w.is_reduce) && !is_ancestor(w.transfer, t)) {
                    return "transfer " + std::to_string(t) + " writes chunk " + std::to_string(c) +
                           " of rank " + std::to_string(tr.dst) + " unordered with transfer " +
                           std::to_string(w.transfer);
                }
            }
            if (tr.is_reduce) {
                std::string ignored;
                const std::uint64_t current = value(tr.dst, c, t, false, ignored);
                if ((current & payload) != 0) {
                    return "transfer " + std::to_string(t) +
                           " double-counts contributions in chunk " + std::to_string(c) +
                           " of rank " + std::to_string(tr.dst);
                }
            }
            target.push_back(Write{t, payload, tr.is_reduce});
        }
    }

    for (std::uint32_t rank = 0; rank < n; ++rank) {
        for (std::uint32_t c = 0; c < chunks; ++c) {
            std::string ignored;
            const std::uint64_t got = value(rank, c, 0, false, ignored);
            std::uint64_t want = got;
            bool is_checked = true;
            switch (plan.op()) {
                case CollectiveOp::kAllReduce:
                    want = full;
                    break;
                case CollectiveOp::kReduceScatter:
                    is_checked = plan.chunk_segment(c) == rank;
                    want = full;
                    break;
                case CollectiveOp::kAllGather:
                    want = bit(plan.chunk_segment(c));
                    break;
                case CollectiveOp::kBroadcast:
                    want = bit(root);
                    break;
                case CollectiveOp::kReduce:
                    is_checked = rank == root;
                    want = full;
                    break;
                case CollectiveOp::kAllToAll:
                case CollectiveOp::kSendRecv:
                    is_checked = plan.chunk_segment(c) == rank;
                    want = bit(plan.chunk_source(c));
                    break;
            }
            if (is_checked && got != want) {
                return "rank " + std::to_string(rank) + " ends with chunk " + std::to_string(c) +
                       " = mask " + std::to_string(got) + ", expected " + std::to_string(want);
            }
        }
    }
    return {};
}

}  // namespace stepsim::testing
