// SPDX-License-Identifier: Apache-2.0
// File: sweep_command.cc
// `stepsim sweep SPEC --out DIR [--jobs N] [--quiet] [--json] [--set FIELD=VALUE]...`: run the
// sweep spec's command at every point on N threads, or across MPI ranks when launched by
// mpirun/srun (rank 0 gathers the rows and writes them), resuming an interrupted run in DIR.
// The files are byte-identical for every thread and rank count. The closing summary is a
// SweepSummary (--json: sim/report/sweep_json.cc).
#include "stepsim/error.h"
#include "stepsim/parallel.h"
#include "stepsim/results_json.h"
#include "stepsim/sweep.h"

#include "command.h"
#include "sweep_runner.h"

#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>
#include <unistd.h>
#include <vector>

#if STEPSIM_HAVE_MPI
#include <mpi.h>
#endif

namespace po = boost::program_options;

namespace stepsim::cli {

namespace {

constexpr const char* kUsage =
    "stepsim sweep SPEC --out DIR [--jobs N] [--quiet] [--json] [--set FIELD=VALUE]...  "
    "(under mpirun: the points are split across the ranks)";

/// Launched by an MPI starter? (OpenMPI's mpirun, PMI-based srun/hydra.)
bool is_mpi_launch() {
    for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"}) {
        if (std::getenv(name) != nullptr) {
            return true;
        }
    }
    return false;
}

/// MPI for the duration of one sweep: initialized only under an MPI launcher (so the same
/// binary runs without mpirun), finalized on the way out.
class MpiSession {
public:
    MpiSession() {
#if STEPSIM_HAVE_MPI
        if (!is_mpi_launch()) {
            return;
        }
        int initialized = 0;
        MPI_Initialized(&initialized);
        if (!initialized) {
            int provided = 0;
            MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
            owns_ = true;
        }
        is_active_ = true;
        MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
        MPI_Comm_size(MPI_COMM_WORLD, &size_);
#endif
    }

    MpiSession(const MpiSession&) = delete;
    MpiSession& operator=(const MpiSession&) = delete;

    ~MpiSession() {
#if STEPSIM_HAVE_MPI
        if (owns_) {
            MPI_Finalize();
        }
#endif
    }

    bool is_active() const {
        return is_active_ && size_ > 1;
    }

    int rank() const {
        return rank_;
    }

    int size() const {
        return size_;
    }

    /// Waits until every rank gets here, sleeping between polls. A rank that finishes its
    /// points early would otherwise spin inside MPI_Finalize (Open MPI busy-polls) on a core
    /// that the ranks still working need.
    void wait_for_all() const {
#if STEPSIM_HAVE_MPI
        if (is_active()) {
            MPI_Request request = MPI_REQUEST_NULL;
            MPI_Ibarrier(MPI_COMM_WORLD, &request);
            wait_politely(request);
        }
#endif
    }

    /// Rank 0's value of `value` on every rank.
    std::int64_t broadcast(std::int64_t value) const {
#if STEPSIM_HAVE_MPI
        if (is_active()) {
            long long v = value;
            MPI_Bcast(&v, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
            return v;
        }
#endif
        return value;
    }

    /// Sends finished rows to rank 0 as one message, waiting for it to leave without
    /// spinning (a blocking MPI_Send busy-polls until rank 0 receives).
    void send(const std::vector<SweepRow>& rows) const {
#if STEPSIM_HAVE_MPI
        std::string message;
        for (const SweepRow& row : rows) {
            message += std::to_string(row.point) + ' ' +
                       std::to_string(static_cast<int>(row.status)) + ' ' +
                       std::to_string(row.csv.size()) + ' ' + std::to_string(row.json.size()) +
                       '\n' + row.csv + row.json;
        }
        MPI_Request request = MPI_REQUEST_NULL;
        MPI_Isend(message.data(), static_cast<int>(message.size()), MPI_BYTE, 0, kRowTag,
                  MPI_COMM_WORLD, &request);
        wait_politely(request);
#else
        (void)rows;
#endif
    }

    /// On rank 0: the rows of one message another rank sent, when one is waiting (else none).
    std::vector<SweepRow> try_receive() const {
        std::vector<SweepRow> rows;
#if STEPSIM_HAVE_MPI
        if (!is_active()) {
            return rows;
        }
        int waiting = 0;
        MPI_Status status;
        MPI_Iprobe(MPI_ANY_SOURCE, kRowTag, MPI_COMM_WORLD, &waiting, &status);
        if (!waiting) {
            return rows;
        }
        int bytes = 0;
        MPI_Get_count(&status, MPI_BYTE, &bytes);
        std::string message(static_cast<std::size_t>(bytes), '\0');
        MPI_Recv(message.data(), bytes, MPI_BYTE, status.MPI_SOURCE, kRowTag, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
        std::istringstream in(message);
        while (in.peek() != std::char_traits<char>::eof()) {
            SweepRow row;
            int row_status = 0;
            std::size_t csv_bytes = 0;
            std::size_t json_bytes = 0;
            in >> row.point >> row_status >> csv_bytes >> json_bytes;
            in.get();
            row.status = static_cast<SweepPointStatus>(row_status);
            row.csv.resize(csv_bytes);
            in.read(row.csv.data(), static_cast<std::streamsize>(csv_bytes));
            row.json.resize(json_bytes);
            in.read(row.json.data(), static_cast<std::streamsize>(json_bytes));
            STEPSIM_CHECK(in.good() || in.eof(), "malformed row message from another rank");
            rows.push_back(std::move(row));
        }
#endif
        return rows;
    }

private:
#if STEPSIM_HAVE_MPI
    /// MPI_Wait without the busy-polling: test, then sleep a millisecond.
    static void wait_politely(MPI_Request& request) {
        int done = 0;
        MPI_Test(&request, &done, MPI_STATUS_IGNORE);
        while (done == 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
            MPI_Test(&request, &done, MPI_STATUS_IGNORE);
        }
    }
#endif

    static constexpr int kRowTag = 7;
    bool is_active_ = false;
    bool owns_ = false;
    int rank_ = 0;
    int size_ = 1;
};

/// The run's summary from the writer's counts.
SweepSummary summarize_run(const std::string& spec_file,
                           const SweepSpec& spec,
                           const SweepWriter& writer,
                           int ranks,
                           int jobs) {
    const auto count = [&](SweepPointStatus s) {
        const auto it = writer.counts().find(s);
        return it == writer.counts().end() ? std::int64_t{0} : it->second;
    };
    SweepSummary summary;
    summary.spec_file = spec_file;
    summary.command = spec.command;
    summary.points = spec.point_count;
    summary.ok = count(SweepPointStatus::kOk);
    summary.skipped = count(SweepPointStatus::kSkipped);
    summary.invalid = count(SweepPointStatus::kInvalid);
    summary.failed = count(SweepPointStatus::kFailed);
    summary.resumed = writer.resumed();
    summary.ranks = ranks;
    summary.jobs = jobs;
    summary.csv_path = writer.csv_path().string();
    summary.jsonl_path = writer.jsonl_path().string();
    return summary;
}

std::string summary_table(const SweepSummary& s) {
    std::ostringstream out;
    out << "sweep: " << s.spec_file << " (command " << s.command << "), " << s.points
        << " points: " << s.ok << " ok, " << s.skipped << " skipped, " << s.invalid << " invalid, "
        << s.failed << " failed\n";
    if (s.resumed > 0) {
        out << "resumed after " << s.resumed << " points already done\n";
    }
    out << "ran on " << s.ranks << (s.ranks == 1 ? " rank" : " ranks") << " x " << s.jobs
        << (s.jobs == 1 ? " thread" : " threads") << "\nwrote " << s.csv_path << " and "
        << s.jsonl_path << '\n';
    return out.str();
}

}  // namespace

int sweep_command(const std::vector<std::string>& args, CommandIo& io) {
    CommonOptions common;
    std::string spec_file;
    std::string out_dir;
    int jobs = 0;
    bool quiet = false;
    po::options_description description("stepsim sweep options");
    description.add_options()                                              //
        ("spec", po::value(&spec_file), "sweep spec (.textproto)")         //
        ("out", po::value(&out_dir), "results directory (resumes a run)")  //
        ("jobs,j", po::value(&jobs),
         "worker threads per rank (default: all cores; 1 per rank under MPI)")  //
        ("quiet,q", po::bool_switch(&quiet), "no progress on stderr");
    add_common_options(description, common);
    if (!parse_command_line(args, description, {"spec"}, common, io, kUsage)) {
        return 0;
    }
    if (out_dir.empty()) {
        throw UsageError("give --out DIR (usage: " + std::string(kUsage) + ")");
    }
    if (jobs < 0) {
        throw UsageError("--jobs must be >= 1, got " + std::to_string(jobs));
    }
    const SweepSpec spec = load_sweep_file(spec_file, common.overrides());

    MpiSession mpi;
    const int ranks = mpi.is_active() ? mpi.size() : 1;
    const int rank = mpi.is_active() ? mpi.rank() : 0;
    if (jobs == 0) {
        jobs = ranks > 1 ? 1 : hardware_threads();
    }

    // Rank 0 opens the results (and resumes); every rank learns where to start.
    std::optional<SweepWriter> writer;
    std::int64_t first = 0;
    if (rank == 0) {
        try {
            writer.emplace(out_dir, spec);
            first = writer->resumed();
        } catch (...) {
            mpi.broadcast(-1);
            throw;
        }
    }
    first = mpi.broadcast(first);
    if (first < 0) {
        throw UsageError("rank 0 could not open --out " + out_dir);
    }
    const std::vector<std::int64_t> mine = assign_points(spec, first, rank, ranks);
    // The workers compute rows; this thread (the one that may call MPI) writes them in order
    // on rank 0, or sends them to rank 0 from the other ranks.
    RowQueue queue;
    const auto compute = [&](std::size_t i, std::size_t) {
        queue.push(compute_row(spec, mine[i]));
    };
    const auto drive = [&](const std::function<bool()>& has_failed) {
        if (rank == 0) {
            const bool is_terminal = &io.err() == &std::cerr && isatty(STDERR_FILENO) == 1;
            Progress progress(io.err(), is_terminal, quiet, spec.point_count, first);
            progress.update(first);
            while (!writer->is_done() && !has_failed()) {
                for (std::vector<SweepRow> rows = mpi.try_receive(); !rows.empty();
                     rows = mpi.try_receive()) {
                    for (SweepRow& row : rows) {
                        writer->add(std::move(row));
                    }
                }
                // Under MPI, wake every 2 ms to drain the other ranks' rows: a shorter wait
                // would spin this thread on a core the workers need (rows are small and the
                // writer keeps up easily).
                const auto wait = std::chrono::milliseconds(mpi.is_active() ? 2 : 100);
                if (std::optional<SweepRow> row = queue.pop(wait)) {
                    writer->add(std::move(*row));
                }
                progress.update(writer->written());
            }
            progress.finish();
            return;
        }
        // Rows go to rank 0 in batches of up to 50 ms of work: one message each.
        std::size_t sent = 0;
        while (sent < mine.size() && !has_failed()) {
            std::vector<SweepRow> batch;
            const auto flush_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
            while (sent + batch.size() < mine.size() &&
                   std::chrono::steady_clock::now() < flush_at) {
                if (std::optional<SweepRow> row = queue.pop(std::chrono::milliseconds(10))) {
                    batch.push_back(std::move(*row));
                }
            }
            if (!batch.empty()) {
                mpi.send(batch);
                sent += batch.size();
            }
        }
    };
    parallel_for_driven(mine.size(), jobs, compute, drive);
    mpi.wait_for_all();
    if (rank == 0) {
        const SweepSummary summary = summarize_run(spec_file, spec, *writer, ranks, jobs);
        io.emit(common.json ? to_json(summary) : summary_table(summary));
    }
    return 0;
}

}  // namespace stepsim::cli
