// SPDX-License-Identifier: Apache-2.0
// File: checkpoint_csv.h
// The resumable CSV of `stepsim checkpoint --csv FILE`: one row per sweep point, written in
// point order and flushed as points finish. Restarting the same sweep on the same file reads
// back the complete rows (a torn last line is dropped), checks that they belong to this sweep
// (sweep_id, rate, kind, interval), truncates the file after them and appends the rest, so the
// final file is byte-identical to an uninterrupted run.
#pragma once

#include "stepsim/failures.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace stepsim::cli {

/// A 16-hex-digit hash of everything that determines the sweep's results.
std::string sweep_id(const CheckpointSweepSpec& spec);

class CheckpointCsv {
public:
    /// Opens `path` for `points` (from sweep_points()); reads back finished rows when the file
    /// exists. Throws UsageError when the file belongs to another sweep.
    /// `rate_mtbf_s`: the cluster MTBF of each failure rate (the mtbf_s column).
    CheckpointCsv(std::filesystem::path path,
                  std::string sweep_id,
                  const std::vector<SweepPoint>& points,
                  RunTime step_time,
                  std::vector<double> rate_mtbf_s);

    /// Summaries read back, by point index (empty for points still to run).
    const std::vector<std::optional<RunSummary>>& done() const { return done_; }

    /// Appends the row of point `index` (in order) and flushes.
    void append(std::size_t index, const SweepPoint& point);

private:
    std::string row(const SweepPoint& point) const;

    std::filesystem::path path_;
    std::string sweep_id_;
    std::vector<double> rate_mtbf_s_;
    double step_s_;
    std::vector<std::optional<RunSummary>> done_;
    std::ofstream out_;
};

}  // namespace stepsim::cli
