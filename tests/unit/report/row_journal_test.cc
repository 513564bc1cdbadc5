// SPDX-License-Identifier: Apache-2.0
// File: row_journal_test.cc
// RowJournal, the resume mechanism of `stepsim checkpoint --csv` and `stepsim sweep`:
//   - rows added out of order reach the files in row order, each file in lockstep;
//   - reopening after a kill keeps the rows complete in every file: a torn last record is
//     dropped, a row one file has and the other lacks is dropped, and finishing the run gives
//     the bytes of an uninterrupted one;
//   - a file whose complete first record is not the header is refused, naming the file, and
//     left as it was; a CSV record may hold a newline inside quotes.
#include "stepsim/row_journal.h"

#include "stepsim/error.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using stepsim::JournalFile;
using stepsim::RecordSyntax;
using stepsim::RowJournal;

namespace {

fs::path scratch(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / "stepsim_row_journal_test";
    fs::create_directories(dir);
    fs::remove(dir / name);
    return dir / name;
}

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void put(const fs::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

std::string csv_row(std::int64_t i) {
    // Row 2 holds a quoted newline: still one record.
    return std::to_string(i) + (i == 2 ? ",\"two\nlines\"\n" : ",plain\n");
}

std::string json_row(std::int64_t i) {
    return "{\"row\":" + std::to_string(i) + "}\n";
}

void add_rows(RowJournal& journal, std::vector<std::int64_t> rows) {
    for (const std::int64_t i : rows) {
        journal.add(i, {json_row(i), csv_row(i)});
    }
}

std::vector<JournalFile> files(const fs::path& jsonl, const fs::path& csv) {
    return {{jsonl, "", RecordSyntax::kLines}, {csv, "row,text\n", RecordSyntax::kCsv}};
}

}  // namespace

TEST_CASE("row journal: out-of-order rows are written in order", "[report][journal]") {
    const fs::path jsonl = scratch("order.jsonl");
    const fs::path csv = scratch("order.csv");
    RowJournal journal(files(jsonl, csv), 5);
    CHECK(journal.resumed() == 0);
    add_rows(journal, {3, 1});
    CHECK(journal.written() == 0);  // row 0 missing: nothing on disk yet
    CHECK(slurp(csv) == "row,text\n");
    add_rows(journal, {0});
    CHECK(journal.written() == 2);
    CHECK(slurp(jsonl) == json_row(0) + json_row(1));
    add_rows(journal, {4, 2});
    CHECK(journal.is_done());
    CHECK(slurp(csv) ==
          "row,text\n" + csv_row(0) + csv_row(1) + csv_row(2) + csv_row(3) + csv_row(4));
}

TEST_CASE("row journal: resumes after a truncated last line, byte-identical", "[report][journal]") {
    const fs::path jsonl = scratch("full.jsonl");
    const fs::path csv = scratch("full.csv");
    {
        RowJournal journal(files(jsonl, csv), 5);
        add_rows(journal, {0, 1, 2, 3, 4});
    }
    const std::string full_jsonl = slurp(jsonl);
    const std::string full_csv = slurp(csv);

    const fs::path cut_jsonl = scratch("cut.jsonl");
    const fs::path cut_csv = scratch("cut.csv");
    // JSON lines: rows 0-3 and half of row 4. CSV: rows 0-1 and row 2 cut inside its quoted
    // newline (a newline that does not end the record).
    put(cut_jsonl, full_jsonl.substr(0, full_jsonl.size() - 4));
    const std::string keep_csv = "row,text\n" + csv_row(0) + csv_row(1);
    put(cut_csv, keep_csv + "2,\"two\n");
    std::vector<std::int64_t> checked;
    RowJournal journal(files(cut_jsonl, cut_csv), 5,
                       [&](std::int64_t row, const std::vector<std::string_view>& records) {
                           checked.push_back(row);
                           REQUIRE(records.size() == 2);
                           CHECK(std::string(records[0]) + "\n" == json_row(row));
                           CHECK(std::string(records[1]) + "\n" == csv_row(row));
                       });
    CHECK(journal.resumed() == 2);  // the rows complete in both files
    CHECK(checked == std::vector<std::int64_t>{0, 1});
    CHECK(slurp(cut_csv) == keep_csv);  // the partial record is gone
    CHECK(slurp(cut_jsonl) == json_row(0) + json_row(1));
    add_rows(journal, {0, 1, 2, 3, 4});  // resumed rows are not written twice
    CHECK(slurp(cut_jsonl) == full_jsonl);
    CHECK(slurp(cut_csv) == full_csv);
}

TEST_CASE("row journal: a torn header or an empty file starts afresh", "[report][journal]") {
    const fs::path jsonl = scratch("torn.jsonl");
    const fs::path csv = scratch("torn.csv");
    put(jsonl, json_row(0));
    put(csv, "row,te");
    RowJournal journal(files(jsonl, csv), 2);
    CHECK(journal.resumed() == 0);
    CHECK(slurp(csv) == "row,text\n");
    CHECK(slurp(jsonl).empty());
}

TEST_CASE("row journal: a mismatched header is refused with a clear error", "[report][journal]") {
    const fs::path jsonl = scratch("other.jsonl");
    const fs::path csv = scratch("other.csv");
    const std::string other = "point,seed,status\n0,1,ok\n";
    put(csv, other);
    put(jsonl, json_row(0));
    try {
        RowJournal journal(files(jsonl, csv), 3);
        FAIL("a file of another study was accepted");
    } catch (const stepsim::UserError& e) {
        const std::string message = e.what();
        CHECK_THAT(message, Catch::Contains(csv.string()));
        CHECK_THAT(message, Catch::Contains("header is not this study's"));
        CHECK_THAT(message, Catch::Contains("expected \"row,text\", found \"point,seed,status\""));
    }
    CHECK(slurp(csv) == other);  // nothing changed
    CHECK(slurp(jsonl) == json_row(0));
}

TEST_CASE("row journal: a refused row leaves the files as they were", "[report][journal]") {
    const fs::path jsonl = scratch("refused.jsonl");
    const fs::path csv = scratch("refused.csv");
    const std::string kept = "row,text\n" + csv_row(0) + "1,pla";
    put(csv, kept);
    put(jsonl, json_row(0));
    const auto refuse = [](std::int64_t, const std::vector<std::string_view>&) {
        throw stepsim::UserError("written by another study");
    };
    CHECK_THROWS_WITH(RowJournal(files(jsonl, csv), 3, refuse), "written by another study");
    CHECK(slurp(csv) == kept);  // not even the torn record is dropped
}
