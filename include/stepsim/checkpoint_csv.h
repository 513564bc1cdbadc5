// SPDX-License-Identifier: Apache-2.0
// File: checkpoint_csv.h
// The resumable CSV of the checkpoint interval study (`stepsim checkpoint --csv FILE`): one
// row per sweep point, in point order, appended through a RowJournal as points finish.
// Restarting the same sweep on the same file reads back the complete rows (a torn last line
// is dropped), checks that they belong to this sweep (sweep_id, rate, kind, interval) and
// appends the rest, so the final file is byte-identical to an uninterrupted run's. Numbers are
// written in their shortest round-trip form: rows read back give the same summaries, bit for
// bit, as the run that wrote them.
#pragma once

#include "stepsim/failures.h"
#include "stepsim/row_journal.h"

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace stepsim {

/// A 16-hex-digit hash of everything that determines the sweep's results.
std::string checkpoint_sweep_id(const CheckpointSweepSpec& spec);

class CheckpointCsv {
public:
    /// Opens `path` for `points` (sweep_points(spec)); reads back finished rows when the file
    /// exists. Throws UserError (naming the file) when it belongs to another sweep or is not
    /// a checkpoint sweep CSV; nothing is changed then.
    CheckpointCsv(const std::filesystem::path& path,
                  const CheckpointSweepSpec& spec,
                  const std::vector<SweepPoint>& points);

    /// Summaries read back, by point index (empty for points still to run).
    const std::vector<std::optional<RunSummary>>& done() const { return done_; }

    /// Appends the row of point `index` (points come in order; a resumed one is skipped) and
    /// flushes.
    void append(std::size_t index, const SweepPoint& point);

private:
    std::string row(const SweepPoint& point) const;
    void read_back(const std::filesystem::path& path,
                   const std::vector<SweepPoint>& points,
                   std::int64_t index,
                   std::string_view line);

    std::string sweep_id_;
    std::vector<double> rate_mtbf_s_;
    double step_s_;
    std::vector<std::optional<RunSummary>> done_;
    RowJournal journal_;
};

}  // namespace stepsim
