// SPDX-License-Identifier: Apache-2.0
// File: sweep_runner.cc
#include "sweep_runner.h"

#include "stepsim/report.h"
#include "stepsim/results_json.h"
#include "stepsim/study/sweep.h"

#include "run_command.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace stepsim::cli {

namespace {

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string duration_text(double seconds) {
    char text[32];
    if (!std::isfinite(seconds) || seconds < 0) {
        return "?";
    }
    const auto s = static_cast<long long>(seconds + 0.5);
    if (s >= 3600) {
        std::snprintf(text, sizeof text, "%lldh%02lldm", s / 3600, s / 60 % 60);
    } else if (s >= 60) {
        std::snprintf(text, sizeof text, "%lldm%02llds", s / 60, s % 60);
    } else {
        std::snprintf(text, sizeof text, "%llds", s);
    }
    return text;
}

}  // namespace

SweepRow compute_row(const SweepSpec& spec, std::int64_t point) {
    const study::SweepCommandRunner run = [](std::string_view command,
                                             const std::vector<std::string>& args) {
        CommandOutcome outcome = run_command(command, args);
        return study::SweepCommandOutcome{outcome.status, std::move(outcome.output),
                                          std::move(outcome.error)};
    };
    const SweepPointRecord record = study::run_sweep_point(spec, point, run);
    SweepRow row;
    row.point = point;
    row.status = record.status;
    row.csv = sweep_csv_record(spec, record);
    row.json = sweep_json_line(spec, record);
    return row;
}

// ---- RowQueue ------------------------------------------------------------------------------

void RowQueue::push(SweepRow row) {
    {
        const std::lock_guard<std::mutex> lock(mutex_);
        rows_.push_back(std::move(row));
    }
    ready_.notify_one();
}

std::optional<SweepRow> RowQueue::pop(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!ready_.wait_for(lock, timeout, [&] { return !rows_.empty(); })) {
        return std::nullopt;
    }
    SweepRow row = std::move(rows_.front());
    rows_.pop_front();
    return row;
}

// ---- Progress -------------------------------------------------------------------------------

Progress::Progress(
    std::ostream& err, bool is_terminal, bool is_quiet, std::int64_t total, std::int64_t done)
    : err_(err)
    , is_terminal_(is_terminal)
    , is_quiet_(is_quiet)
    , total_(total)
    , start_done_(done)
    , start_(std::chrono::steady_clock::now())
    , last_draw_(start_) {}

void Progress::update(std::int64_t done) {
    if (is_quiet_ || total_ == 0) {
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (is_terminal_) {
        if (now - last_draw_ >= std::chrono::milliseconds(200) || done == total_) {
            last_draw_ = now;
            draw(done, false);
        }
        return;
    }
    // Not a terminal (a log file, CI): a line per 10% or per 5 s, whichever comes first.
    const std::int64_t decile = done * 10 / total_;
    if (decile != last_percent_ || now - last_draw_ >= std::chrono::seconds(5)) {
        last_percent_ = decile;
        last_draw_ = now;
        draw(done, false);
    }
}

void Progress::finish() {
    if (!is_quiet_ && is_terminal_ && total_ > 0) {
        err_ << '\n';
        err_.flush();
    }
}

void Progress::draw(std::int64_t done, bool /*is_final*/) {
    const double elapsed_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = elapsed_s > 0 ? static_cast<double>(done - start_done_) / elapsed_s : 0;
    const double eta_s = rate > 0 ? static_cast<double>(total_ - done) / rate : -1;
    const double fraction = static_cast<double>(done) / static_cast<double>(total_);
    char text[160];
    if (is_terminal_) {
        constexpr int kWidth = 30;
        const int filled = static_cast<int>(fraction * kWidth);
        const std::string bar = std::string(static_cast<std::size_t>(filled), '#') +
                                std::string(static_cast<std::size_t>(kWidth - filled), '.');
        std::snprintf(text, sizeof text, "\rsweep [%s] %lld/%lld %5.1f%% %.3g points/s ETA %s  ",
                      bar.c_str(), static_cast<long long>(done), static_cast<long long>(total_),
                      100 * fraction, rate, duration_text(eta_s).c_str());
    } else {
        std::snprintf(text, sizeof text,
                      "sweep: %3lld%% (%lld/%lld points, %.3g points/s, ETA %s)\n",
                      static_cast<long long>(done * 100 / total_), static_cast<long long>(done),
                      static_cast<long long>(total_), rate, duration_text(eta_s).c_str());
    }
    err_ << text;
    err_.flush();
}

// ---- SweepWriter ----------------------------------------------------------------------------

SweepWriter::SweepWriter(const std::filesystem::path& dir, const SweepSpec& spec)
    : dir_(dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) {
        throw IoError("cannot create --out " + dir_.string() + ": " + ec.message());
    }
    char id_text[96];
    std::snprintf(id_text, sizeof id_text, "stepsim sweep %016llx %lld points\n",
                  static_cast<unsigned long long>(spec.identity()),
                  static_cast<long long>(spec.point_count));
    const std::filesystem::path id_path = dir_ / "sweep.id";
    if (std::filesystem::exists(id_path)) {
        if (read_file(id_path) != id_text) {
            throw UsageError("--out " + dir_.string() +
                             " holds the results of a different sweep (sweep.id differs); "
                             "remove it or choose another directory");
        }
    } else {
        write_file_atomically(id_path, id_text);
    }
    // The JSON line first: a kill between the two leaves the CSV shorter, and resuming keeps
    // the rows both files have.
    journal_.emplace(
        std::vector<JournalFile>{{jsonl_path(), "", RecordSyntax::kLines},
                                 {csv_path(), sweep_csv_header(spec), RecordSyntax::kCsv}},
        spec.point_count, [&](std::int64_t, const std::vector<std::string_view>& records) {
            ++counts_[sweep_json_line_status(records.front())];
        });
}

void SweepWriter::add(SweepRow row) {
    if (row.point < journal_->written()) {
        return;  // already written (a resumed point)
    }
    ++counts_[row.status];
    journal_->add(row.point, {std::move(row.json), std::move(row.csv)});
}

}  // namespace stepsim::cli
