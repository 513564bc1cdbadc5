// SPDX-License-Identifier: Apache-2.0
// File: row_journal.cc
// RowJournal: read back the complete rows of an interrupted run, truncate after them, append.
#include "stepsim/row_journal.h"

#include "stepsim/error.h"
#include "stepsim/report.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

namespace stepsim {

namespace {

/// The file's bytes; "" when it does not exist.
std::string read_file(const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        return "";
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw IoError("cannot read " + path.string() + ": " + std::strerror(errno));
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

/// The byte offset after each complete record of `text`.
std::vector<std::size_t> record_ends(std::string_view text, RecordSyntax syntax) {
    std::vector<std::size_t> ends;
    bool is_quoted = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '"' && syntax == RecordSyntax::kCsv) {
            is_quoted = !is_quoted;
        } else if (text[i] == '\n' && !is_quoted) {
            ends.push_back(i + 1);
        }
    }
    return ends;
}

std::string without_newline(std::string_view text) {
    if (!text.empty() && text.back() == '\n') {
        text.remove_suffix(1);
    }
    return std::string(text);
}

}  // namespace

RowJournal::RowJournal(std::vector<JournalFile> files,
                       std::int64_t row_count,
                       const RowCheck& check)
    : files_(std::move(files))
    , row_count_(row_count) {
    STEPSIM_CHECK(!files_.empty() && row_count_ >= 0, "a row journal needs a file and a count");

    struct ReadBack {
        std::string content;
        std::vector<std::size_t> ends;  ///< of the rows' records (the header's excluded)
        std::size_t header_bytes = 0;
    };

    std::vector<ReadBack> read(files_.size());
    std::int64_t done = row_count_;
    for (std::size_t f = 0; f < files_.size(); ++f) {
        const JournalFile& file = files_[f];
        ReadBack& r = read[f];
        r.content = read_file(file.path);
        r.ends = record_ends(r.content, file.syntax);
        if (!file.header.empty()) {
            if (r.ends.empty()) {
                r.content.clear();  // empty, or a torn header: start afresh
            } else if (r.content.compare(0, r.ends.front(), file.header) != 0) {
                throw UserError(file.path.string() +
                                ": its header is not this study's (expected \"" +
                                without_newline(file.header) + "\", found \"" +
                                without_newline(std::string_view(r.content).substr(
                                    0, std::min<std::size_t>(r.ends.front(), 200))) +
                                "\"); remove the file or choose another");
            } else {
                r.header_bytes = r.ends.front();
                r.ends.erase(r.ends.begin());
            }
        }
        done = std::min(done, static_cast<std::int64_t>(r.ends.size()));
    }
    if (check) {
        std::vector<std::string_view> records(files_.size());
        for (std::int64_t row = 0; row < done; ++row) {
            const auto i = static_cast<std::size_t>(row);
            for (std::size_t f = 0; f < files_.size(); ++f) {
                const std::size_t begin = i == 0 ? read[f].header_bytes : read[f].ends[i - 1];
                records[f] = std::string_view(read[f].content)
                                 .substr(begin, read[f].ends[i] - 1 - begin);  // without '\n'
            }
            check(row, records);
        }
    }
    // Keep the rows complete in every file; a partial record or a row only some files hold
    // is dropped.
    for (std::size_t f = 0; f < files_.size(); ++f) {
        if (done == 0) {
            write_file_atomically(files_[f].path, files_[f].header);
        } else {
            std::error_code ec;
            std::filesystem::resize_file(files_[f].path,
                                         read[f].ends[static_cast<std::size_t>(done) - 1], ec);
            if (ec) {
                throw IoError("cannot truncate " + files_[f].path.string() + ": " + ec.message());
            }
        }
        out_.emplace_back(files_[f].path, std::ios::binary | std::ios::app);
        if (!out_.back()) {
            throw IoError("cannot write " + files_[f].path.string() + ": " + std::strerror(errno));
        }
    }
    resumed_ = done;
    next_ = done;
}

void RowJournal::add(std::int64_t row, std::vector<std::string> records) {
    STEPSIM_CHECK(row >= 0 && row < row_count_ && records.size() == files_.size(),
                  "row journal: row " + std::to_string(row) + " of " + std::to_string(row_count_) +
                      " with " + std::to_string(records.size()) + " records for " +
                      std::to_string(files_.size()) + " files");
    if (row < next_) {
        return;  // resumed
    }
    pending_.emplace(row, std::move(records));
    bool wrote = false;
    for (auto it = pending_.begin(); it != pending_.end() && it->first == next_;
         it = pending_.erase(it)) {
        for (std::size_t f = 0; f < files_.size(); ++f) {
            out_[f] << it->second[f];
        }
        ++next_;
        wrote = true;
    }
    if (wrote) {
        for (std::size_t f = 0; f < files_.size(); ++f) {
            out_[f].flush();
            if (!out_[f]) {
                throw IoError("cannot write " + files_[f].path.string() + ": " +
                              std::strerror(errno));
            }
        }
    }
}

}  // namespace stepsim
