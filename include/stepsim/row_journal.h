// SPDX-License-Identifier: Apache-2.0
// File: row_journal.h
// The one resume mechanism of the studies that write rows as they finish (`stepsim checkpoint
// --csv`, `stepsim sweep`'s results.csv and results.jsonl): an ordered, append-only journal of
// one or more files written in lockstep, one record per file per row, that reopens the files
// of an interrupted run of the same study and continues after its complete rows.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace stepsim {

/// How a journal file splits into records.
enum class RecordSyntax : std::uint8_t {
    kLines,  ///< a record is a line ending in '\n'
    kCsv,    ///< the same, but a '\n' inside double quotes does not end a record (RFC 4180)
};

struct JournalFile {
    std::filesystem::path path;
    std::string header;  ///< the first record, ending in '\n'; empty: the file has none
    RecordSyntax syntax = RecordSyntax::kLines;
};

/// Rows 0..row_count-1 of a study, appended in row order to every file. Rows may be added in
/// any order: a row waits in memory until every row before it is written, then its records are
/// appended (files in the order given) and flushed, so a kill leaves complete rows plus at
/// most one partial record per file. Reopening the files of such a run keeps the rows complete
/// in every file (the partial records and any row one file has and another lacks are dropped),
/// and the finished journal is byte-identical to an uninterrupted run's.
class RowJournal {
public:
    /// Checks a row read back, before any file is changed: its index and its record in each
    /// file (without the final '\n'). Throws (a UserError) to refuse the files.
    using RowCheck =
        std::function<void(std::int64_t row, const std::vector<std::string_view>& records)>;

    /// Opens or creates `files` (at least one). A file whose first record is complete and is
    /// not its header is refused with a UserError naming the file (nothing is changed); a new
    /// file, an empty one or one whose header is torn starts afresh, its header written
    /// atomically. `check` sees every complete row kept, in order. Throws IoError when a file
    /// cannot be read or written.
    RowJournal(std::vector<JournalFile> files, std::int64_t row_count, const RowCheck& check = {});

    /// Rows complete on disk when opened: they are not written again.
    std::int64_t resumed() const { return resumed_; }

    /// Rows written so far, resumed ones included.
    std::int64_t written() const { return next_; }

    bool is_done() const { return next_ == row_count_; }

    /// Adds row `row`'s records, one per file in the order of the files, each ending in '\n'.
    /// A row below written() (a resumed one) is ignored. Throws IoError on I/O errors,
    /// InternalError when `records` does not match the files or `row` is out of range.
    void add(std::int64_t row, std::vector<std::string> records);

private:
    std::vector<JournalFile> files_;
    std::int64_t row_count_ = 0;
    std::int64_t resumed_ = 0;
    std::int64_t next_ = 0;
    std::map<std::int64_t, std::vector<std::string>> pending_;
    std::vector<std::ofstream> out_;
};

}  // namespace stepsim
