// SPDX-License-Identifier: Apache-2.0
// File: sweep_runner.h
// The parts of `stepsim sweep` below the command line: one row per point (the command run
// in-process), the queue that hands rows from the workers (parallel_for_driven) to the thread
// that writes or sends them, the cost-balanced split across MPI ranks, and the ordered,
// resumable writer of DIR/results.csv and DIR/results.jsonl (a RowJournal).
#pragma once

#include "stepsim/row_journal.h"
#include "stepsim/sweep.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace stepsim::cli {

/// One finished point: its CSV record and JSON line, each ending in '\n'.
struct SweepRow {
    std::int64_t point = 0;
    SweepPointStatus status = SweepPointStatus::kOk;
    std::string csv;
    std::string json;
};

/// Runs `point`: skipped when a filter holds, otherwise the command in-process with --json;
/// a failing command (exit status 2: invalid, 1: failed) records its message.
SweepRow compute_row(const SweepSpec& spec, std::int64_t point);

/// The predicted cost of a point: 0 when a filter skips it (it never runs), else the cost
/// expression's value (1 without one; an expression that fails to evaluate counts 1).
double predicted_cost(const SweepSpec& spec, std::int64_t point);

/// The points of [first, count) that `rank` of `ranks` runs: each point in order goes to the
/// rank with the least predicted cost so far (the lowest rank on ties). Deterministic.
std::vector<std::int64_t> assign_points(const SweepSpec& spec,
                                        std::int64_t first,
                                        int rank,
                                        int ranks);

/// Finished rows handed from worker threads to the thread that writes or sends them.
class RowQueue {
public:
    void push(SweepRow row);
    /// Waits up to `timeout` for a row.
    std::optional<SweepRow> pop(std::chrono::milliseconds timeout);

private:
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<SweepRow> rows_;
};

/// Progress on stderr: a bar redrawn in place on a terminal, else a line per percent.
class Progress {
public:
    Progress(
        std::ostream& err, bool is_terminal, bool is_quiet, std::int64_t total, std::int64_t done);
    void update(std::int64_t done);
    void finish();

private:
    void draw(std::int64_t done, bool is_final);

    std::ostream& err_;
    bool is_terminal_;
    bool is_quiet_;
    std::int64_t total_;
    std::int64_t start_done_;
    std::int64_t last_percent_ = -1;  ///< the last tenth drawn (not a terminal)
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point last_draw_;
};

/// DIR/results.jsonl and DIR/results.csv, a RowJournal: written in point order (rows that
/// finish early wait in memory); opening an existing DIR of the same sweep (DIR/sweep.id) keeps
/// the rows complete in both files (a partial last record is dropped) and resumes after them.
class SweepWriter {
public:
    /// Opens or creates `dir`. Throws UsageError when `dir` holds another sweep's results.
    SweepWriter(const std::filesystem::path& dir, const SweepSpec& spec);

    /// Rows already done when opened.
    std::int64_t resumed() const { return journal_->resumed(); }

    /// Rows written so far (resumed ones included).
    std::int64_t written() const { return journal_->written(); }

    bool is_done() const { return journal_->is_done(); }

    void add(SweepRow row);

    /// Rows by status, resumed ones included (and rows still waiting for an earlier one).
    const std::map<SweepPointStatus, std::int64_t>& counts() const { return counts_; }

    std::filesystem::path csv_path() const { return dir_ / "results.csv"; }

    std::filesystem::path jsonl_path() const { return dir_ / "results.jsonl"; }

private:
    std::filesystem::path dir_;
    std::map<SweepPointStatus, std::int64_t> counts_;
    std::optional<RowJournal> journal_;  ///< set by the constructor
};

}  // namespace stepsim::cli
