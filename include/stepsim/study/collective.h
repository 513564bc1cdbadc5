// SPDX-License-Identifier: Apache-2.0
// File: collective.h
// The collective study: one collective on a loaded cluster, timed at each of a list of sizes
// (nccl-tests' rows: time, algbw, busbw) beside its closed-form time. No argv, no JSON:
// `stepsim collective` parses its flags and prints; sim/report/collective_json.cc serializes.
#pragma once

#include "stepsim/collective.h"
#include "stepsim/network.h"

#include <cstdint>
#include <string>
#include <vector>

namespace stepsim {
class Topology;
}  // namespace stepsim

namespace stepsim::study {

struct CollectiveStudyOptions {
    /// The op, the group, the root and the algorithm ("auto" or a registered name); its
    /// size_bytes is set from `sizes_bytes` in turn.
    CollectiveRequest request;
    /// The buffer sizes per rank to time, in order (at least one, each positive).
    std::vector<std::int64_t> sizes_bytes;
    NetworkKind network = NetworkKind::kFairShare;
    CollectiveOptions collective;
    /// Where the topology came from, reported with the result (the study reads no file).
    std::string topology_file;
};

/// One size: the simulated time, nccl-tests' bandwidths and the closed form of the algorithm
/// that ran.
struct CollectiveRow {
    std::int64_t size_bytes = 0;
    double time_s = 0;
    double algbw_Bps = 0;  ///< size / time
    double busbw_Bps = 0;  ///< algbw · the op's bus factor (nccl-tests' PERFORMANCE.md)
    double analytic_time_s = 0;
    std::string algorithm;  ///< the one that ran (the one `auto` picked)
};

struct CollectiveStudyResult {
    std::string topology_file;
    CollectiveOp op = CollectiveOp::kAllReduce;
    std::size_t ranks = 0;  ///< the group's size
    std::string algorithm;  ///< as requested ("auto" or a name)
    NetworkKind network = NetworkKind::kFairShare;
    int channels = 1;
    std::vector<CollectiveRow> rows;  ///< one per size, in the order given
};

/// Checks the request against `topology` (UserError: an unknown rank, a group the named
/// algorithm cannot run) and times it at every size, each on a fresh simulator.
CollectiveStudyResult run_collective_study(const Topology& topology,
                                           const CollectiveStudyOptions& options);

}  // namespace stepsim::study
