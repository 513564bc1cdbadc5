// SPDX-License-Identifier: Apache-2.0
// File: trace_replay.cc
// Straggler what-if from a recorded timeline (Lin et al., OSDI'25): per step, the ops of every
// worker become a dependency graph (program order per stream, recorded cross-stream order,
// send/recv pairs, collectives as barriers), which the engine replays with recorded durations
// (launch delays removed), with idealised durations, and with one group kept at its recorded
// durations at a time. Model and limits: docs/models/stragglers.md, "Trace replay".
#include "stepsim/error.h"
#include "stepsim/simulator.h"
#include "stepsim/time.h"
#include "stepsim/trace.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <string_view>
#include <system_error>
#include <tuple>
#include <unordered_map>

namespace stepsim {

namespace {

/// Cross-stream order on one worker is read off the recording: an op depends on the last op
/// of each other stream that ended before it started. Megatron's timestamps of one worker's
/// streams disagree by up to about 25 us (measured on the shipped traces), hence the slack;
/// stepsim's own traces are exact.
constexpr double kMegatronSlackUs = 50;
constexpr double kStepsimSlackUs = 1e-3;
/// Two comm ops of one worker and stream with the same start and duration are one batched
/// NCCL call (Megatron's send_forward_recv_backward).
constexpr double kFusedUs = 1e-3;
/// The engine's clock range in microseconds, with a margin: 2^63 ps = 9.22e12 us.
constexpr double kClockRangeUs = 9.0e12;

struct Op {
    int worker = 0;
    int stream = 0;
    int type = 0;
    std::int64_t step = 0;
    double start_us = 0;
    double end_us = 0;
    std::int64_t seq = -1;
    std::int64_t mb = -1;
    int vs = -1;            ///< stepsim pp sends: the sending virtual stage
    std::size_t event = 0;  ///< index into trace.events
    bool is_comm = false;
    double actual_us = 0;  ///< recorded duration; for communication the transfer part only
};

struct StepGraph {
    std::int64_t step = 0;
    double recorded_us = 0;
    std::vector<int> ops;                      ///< global op ids
    std::vector<std::vector<int>> members;     ///< unit -> op ids
    std::vector<std::vector<int>> successors;  ///< unit -> units
    std::vector<int> indegree;
};

class UnionFind {
public:
    explicit UnionFind(std::size_t n)
        : parent_(n) {
        std::iota(parent_.begin(), parent_.end(), 0);
    }

    int find(int x) {
        while (parent_[x] != x) {
            parent_[x] = parent_[parent_[x]];
            x = parent_[x];
        }
        return x;
    }

    void unite(int a, int b) {
        a = find(a);
        b = find(b);
        if (a != b) {
            parent_[std::max(a, b)] = std::min(a, b);
        }
    }

private:
    std::vector<int> parent_;
};

double median(std::vector<double> values) {
    if (values.empty()) {
        return 0;
    }
    const std::size_t mid = values.size() / 2;
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid),
                     values.end());
    const double upper = values[mid];
    if (values.size() % 2 == 1) {
        return upper;
    }
    return 0.5 * (upper + *std::max_element(values.begin(),
                                            values.begin() + static_cast<std::ptrdiff_t>(mid)));
}

class Replay {
public:
    Replay(const Trace& trace, const TraceMeta* meta, const ReplayOptions& options)
        : trace_(trace)
        , meta_(meta)
        , options_(options) {}

    ReplayResult run();

private:
    /// A rank, stage or pid outside 0 .. max_ranks - 1 (the tables and the attribution runs
    /// grow with them) is refused, naming the limit.
    void check_rank(std::size_t event, const char* what, std::int64_t value) const {
        if (value < 0 || value >= options_.max_ranks) {
            fail(event, std::string(what) + " " + std::to_string(value) + " is outside 0.." +
                            std::to_string(options_.max_ranks - 1) +
                            " (the limit max_ranks; raise it with --max-ranks N)");
        }
    }

    void check_new_worker(std::size_t event) const {
        if (static_cast<std::int64_t>(worker_names_.size()) >= options_.max_ranks) {
            fail(event, "more than " + std::to_string(options_.max_ranks) +
                            " workers (the limit max_ranks; raise it with --max-ranks N)");
        }
    }

    [[noreturn]] void fail(std::size_t event, const std::string& message) const {
        const TraceEvent& e = trace_.events[event];
        throw SpecError(SourceLocation{trace_.file, e.line, e.column},
                        "traceEvents[" + std::to_string(e.index) + "]",
                        "event " + std::to_string(e.index) + " (" + e.name + "): " + message);
    }

    /// "mb12" after "mb": a prefix followed by decimal digits only.
    static bool has_number_after(std::string_view word, std::string_view prefix) {
        return word.size() > prefix.size() && word.substr(0, prefix.size()) == prefix &&
               word.find_first_not_of("0123456789", prefix.size()) == std::string_view::npos;
    }

    /// The digits after the two-letter prefix of a word that has_number_after() accepted;
    /// a number past 2^31 - 1 is refused at the event rather than wrapped or thrown bare.
    std::int64_t number_after(std::size_t event, std::string_view word, const char* what) const {
        std::int64_t value = 0;
        const char* first = word.data() + 2;
        const char* last = word.data() + word.size();
        const auto [end, error] = std::from_chars(first, last, value);
        if (error != std::errc() || end != last ||
            value > std::numeric_limits<std::int32_t>::max()) {
            fail(event, std::string(what) + " \"" + std::string(word) + "\" is past 2147483647");
        }
        return value;
    }

    int intern(std::vector<std::string>& names,
               std::unordered_map<std::string, int>& index,
               const std::string& name) {
        const auto [it, is_new] = index.emplace(name, static_cast<int>(names.size()));
        if (is_new) {
            names.push_back(name);
        }
        return it->second;
    }

    void read_ops();
    void read_megatron_op(std::size_t i, const TraceEvent& e, const std::string& thread);
    void read_stepsim_op(std::size_t i, const TraceEvent& e, const std::string& thread);
    void check_sequences();
    StepGraph build_step(std::int64_t step, const std::vector<int>& ops);
    double simulate(const StepGraph& graph,
                    const std::vector<double>& op_us,
                    std::vector<std::pair<double, double>>* unit_times);
    /// Mean replayed step time with `op_us`. A step none of whose ops differs from `base`
    /// (the same run with per-step times `base_step_s`) is not simulated again.
    double mean_step_s(const std::vector<double>& op_us,
                       const std::vector<double>* base = nullptr,
                       std::vector<double>* base_step_s = nullptr);

    const Trace& trace_;
    const TraceMeta* meta_;
    ReplayOptions options_;

    std::string format_;
    double slack_us_ = 0;
    std::vector<Op> ops_;
    std::vector<std::string> types_;
    std::unordered_map<std::string, int> type_index_;
    std::vector<bool> type_is_comm_;
    std::vector<std::string> streams_;
    std::unordered_map<std::string, int> stream_index_;
    std::vector<std::string> worker_names_;
    std::vector<int> worker_stage_;
    std::vector<int> worker_replica_;
    std::vector<int> worker_tp_;
    std::map<std::tuple<int, int, int>, int> worker_by_position_;  ///< (replica, stage, tp)
    std::map<std::int64_t, int> stepsim_rank_worker_;
    int stages_ = 0;
    int virtual_stages_ = 1;
    std::vector<StepGraph> graphs_;
};

void Replay::read_megatron_op(std::size_t i, const TraceEvent& e, const std::string& thread) {
    // "PP rank p, TP rank t, <stream>"
    int pp = -1;
    int tp = -1;
    char stream[64] = {0};
    if (std::sscanf(thread.c_str(), "PP rank %d, TP rank %d, %63s", &pp, &tp, stream) != 3 ||
        pp < 0 || tp < 0) {
        fail(i, "track name \"" + thread + "\" is not \"PP rank p, TP rank t, <stream>\"");
    }
    if (!e.has_step || e.step < 0) {
        fail(i, "missing args.step");
    }
    if (meta_ != nullptr) {
        if (pp >= meta_->pp) {
            fail(i, "PP rank " + std::to_string(pp) + " outside the meta file's pp_size " +
                        std::to_string(meta_->pp));
        }
        if (e.pid < 0 || e.pid >= meta_->dp) {
            fail(i, "DP rank (pid) " + std::to_string(e.pid) + " outside the meta file's dp_size " +
                        std::to_string(meta_->dp));
        }
    }
    check_rank(i, "DP rank (pid)", e.pid);
    check_rank(i, "PP rank", pp);
    check_rank(i, "TP rank", tp);
    const auto key = std::make_tuple(static_cast<int>(e.pid), pp, tp);
    auto it = worker_by_position_.find(key);
    if (it == worker_by_position_.end()) {
        check_new_worker(i);
        it = worker_by_position_.emplace(key, static_cast<int>(worker_names_.size())).first;
        worker_names_.push_back("dp " + std::to_string(e.pid) + " pp " + std::to_string(pp) +
                                (tp != 0 ? " tp " + std::to_string(tp) : ""));
        worker_stage_.push_back(pp);
        worker_replica_.push_back(static_cast<int>(e.pid));
        worker_tp_.push_back(tp);
    }
    Op op;
    op.worker = it->second;
    op.stream = intern(streams_, stream_index_, stream);
    op.type = intern(types_, type_index_, e.name);
    op.step = e.step;
    op.start_us = e.ts_us;
    op.end_us = e.ts_us + e.dur_us;
    op.seq = e.seq_id;
    op.mb = e.mb_id;
    op.event = i;
    op.is_comm = std::string_view(stream) != "compute" && std::string_view(stream) != "misc";
    ops_.push_back(op);
    stages_ = std::max(stages_, pp + 1);
}

void Replay::read_stepsim_op(std::size_t i, const TraceEvent& e, const std::string& thread) {
    // "gpu R (stage S) <stream>"
    int rank = -1;
    int stage = -1;
    char stream[64] = {0};
    if (std::sscanf(thread.c_str(), "gpu %d (stage %d) %63s", &rank, &stage, stream) != 3 ||
        rank < 0 || stage < 0) {
        fail(i, "track name \"" + thread + "\" is not \"gpu R (stage S) <stream>\"");
    }
    if (e.category == "bubble" || e.name.rfind("wait ", 0) == 0) {
        return;  // idle time, not an op
    }
    check_rank(i, "gpu", rank);
    check_rank(i, "stage", stage);
    auto it = stepsim_rank_worker_.find(rank);
    if (it == stepsim_rank_worker_.end()) {
        check_new_worker(i);
        it = stepsim_rank_worker_.emplace(rank, static_cast<int>(worker_names_.size())).first;
        worker_names_.push_back("gpu " + std::to_string(rank));
        worker_stage_.push_back(stage);
        worker_replica_.push_back(-1);  // set once every rank of the stage is known
        worker_tp_.push_back(0);
    } else if (worker_stage_[it->second] != stage) {
        fail(i, "gpu " + std::to_string(rank) + " is on stage " + std::to_string(stage) +
                    " here and on stage " + std::to_string(worker_stage_[it->second]) +
                    " elsewhere");
    }
    // The op type is the name without its micro-batch: "F mb3 L17" -> "F L17".
    std::string type;
    std::int64_t mb = -1;
    int vs = -1;
    std::size_t start = 0;
    while (start < e.name.size()) {
        std::size_t end = e.name.find(' ', start);
        if (end == std::string::npos) {
            end = e.name.size();
        }
        const std::string word = e.name.substr(start, end - start);
        if (has_number_after(word, "mb")) {
            mb = number_after(i, word, "micro-batch");
        } else {
            if (has_number_after(word, "vs")) {
                vs = static_cast<int>(number_after(i, word, "virtual stage"));
            }
            type += (type.empty() ? "" : " ") + word;
        }
        start = end + 1;
    }
    Op op;
    op.worker = it->second;
    op.stream = intern(streams_, stream_index_, stream);
    op.type = intern(types_, type_index_, type);
    op.step = e.has_step ? e.step : 0;
    op.start_us = e.ts_us;
    op.end_us = e.ts_us + e.dur_us;
    op.mb = mb;
    op.vs = type.rfind("pp send", 0) == 0 ? vs : -1;
    op.event = i;
    op.is_comm =
        e.category == "tp" || e.category == "pp" || e.category == "dp" || e.category == "zero";
    ops_.push_back(op);
    stages_ = std::max(stages_, stage + 1);
    if (op.vs >= 0) {
        virtual_stages_ = std::max(virtual_stages_, op.vs + 1);
    }
}

void Replay::read_ops() {
    for (std::size_t i = 0; i < trace_.events.size(); ++i) {
        const TraceEvent& e = trace_.events[i];
        const auto name = trace_.thread_names.find({e.pid, e.tid});
        if (name == trace_.thread_names.end()) {
            fail(i, "track (pid " + std::to_string(e.pid) + ", tid " + std::to_string(e.tid) +
                        ") has no thread_name metadata event");
        }
        const std::string& thread = name->second;
        const std::string format = thread.rfind("PP rank", 0) == 0 ? "megatron"
                                   : thread.rfind("gpu ", 0) == 0  ? "stepsim"
                                                                   : "";
        if (format.empty()) {
            fail(i, "track name \"" + thread +
                        "\" is neither \"PP rank p, TP rank t, <stream>\" (Megatron timelines) "
                        "nor \"gpu R (stage S) <stream>\" (stepsim --trace)");
        }
        if (format_.empty()) {
            format_ = format;
            slack_us_ = format == "megatron" ? kMegatronSlackUs : kStepsimSlackUs;
        } else if (format != format_) {
            fail(i, "mixes " + format + " and " + format_ + " track names");
        }
        if (format == "megatron") {
            read_megatron_op(i, e, thread);
        } else {
            read_stepsim_op(i, e, thread);
        }
    }
    if (ops_.empty()) {
        throw SpecError(SourceLocation{trace_.file, 0, 0}, "traceEvents",
                        "the trace has no complete (\"X\") op events");
    }
    if (meta_ != nullptr && format_ == "megatron") {
        stages_ = meta_->pp;
    }
    if (meta_ != nullptr && format_ == "stepsim" && stages_ != meta_->pp) {
        throw SpecError(SourceLocation{trace_.file, 0, 0}, "traceEvents",
                        "the trace has " + std::to_string(stages_) +
                            " stages but the meta file says pp_size " + std::to_string(meta_->pp));
    }
    if (format_ == "stepsim") {
        // Replica = position of the rank among its stage's ranks (rank order tp-dp-pp).
        std::map<int, std::vector<std::pair<std::int64_t, int>>> by_stage;
        for (const auto& [rank, worker] : stepsim_rank_worker_) {
            by_stage[worker_stage_[worker]].push_back({rank, worker});
        }
        for (auto& [stage, ranks] : by_stage) {
            std::sort(ranks.begin(), ranks.end());
            for (std::size_t r = 0; r < ranks.size(); ++r) {
                worker_replica_[ranks[r].second] = static_cast<int>(r);
                worker_by_position_[{static_cast<int>(r), stage, 0}] = ranks[r].second;
            }
        }
    }
    type_is_comm_.assign(types_.size(), false);
    for (const Op& op : ops_) {
        type_is_comm_[op.type] = type_is_comm_[op.type] || op.is_comm;
    }
}

void Replay::check_sequences() {
    // Per (step, worker, type): sequence numbers in start order (stepsim: assigned so).
    std::map<std::tuple<std::int64_t, int, int>, std::vector<int>> groups;
    for (int i = 0; i < static_cast<int>(ops_.size()); ++i) {
        groups[{ops_[i].step, ops_[i].worker, ops_[i].type}].push_back(i);
    }
    for (auto& [key, ids] : groups) {
        if (format_ == "stepsim") {
            std::stable_sort(ids.begin(), ids.end(),
                             [&](int a, int b) { return ops_[a].start_us < ops_[b].start_us; });
            for (std::size_t k = 0; k < ids.size(); ++k) {
                ops_[ids[k]].seq = static_cast<std::int64_t>(k);
            }
            continue;
        }
        std::sort(ids.begin(), ids.end(), [&](int a, int b) {
            return std::tie(ops_[a].seq, ops_[a].event) < std::tie(ops_[b].seq, ops_[b].event);
        });
        for (std::size_t k = 0; k < ids.size(); ++k) {
            const Op& op = ops_[ids[k]];
            if (op.seq < 0) {
                fail(op.event, "missing args.seq_id (the op's index among its type in the step)");
            }
            if (k == 0) {
                continue;
            }
            const Op& previous = ops_[ids[k - 1]];
            if (op.seq == previous.seq) {
                fail(op.event, "duplicate seq_id " + std::to_string(op.seq) + " in step " +
                                   std::to_string(op.step) + " on " + worker_names_[op.worker] +
                                   " (also event " +
                                   std::to_string(trace_.events[previous.event].index) + ")");
            }
            if (op.start_us < previous.start_us) {
                fail(op.event, "non-monotonic time: seq_id " + std::to_string(op.seq) +
                                   " starts at " + std::to_string(op.start_us) +
                                   " us, before seq_id " + std::to_string(previous.seq) + " at " +
                                   std::to_string(previous.start_us) + " us (event " +
                                   std::to_string(trace_.events[previous.event].index) + ")");
            }
        }
    }
}

StepGraph Replay::build_step(std::int64_t step, const std::vector<int>& step_ops) {
    StepGraph graph;
    graph.step = step;
    graph.ops = step_ops;
    const int n = static_cast<int>(step_ops.size());
    std::unordered_map<int, int> local;  // global op id -> local index
    local.reserve(step_ops.size() * 2);
    double first_us = ops_[step_ops[0]].start_us;
    double last_us = ops_[step_ops[0]].end_us;
    for (int k = 0; k < n; ++k) {
        local.emplace(step_ops[k], k);
        first_us = std::min(first_us, ops_[step_ops[k]].start_us);
        last_us = std::max(last_us, ops_[step_ops[k]].end_us);
    }
    graph.recorded_us = last_us - first_us;

    // Each worker's ops in start order.
    std::map<int, std::vector<int>> by_worker;
    for (const int id : step_ops) {
        by_worker[ops_[id].worker].push_back(id);
    }
    if (format_ == "stepsim") {
        // stepsim writes a DP (or ZeRO) collective once, on the first replica's GPU, for all
        // replicas of the stage: it is on every one of their streams.
        std::map<int, std::vector<int>> stage_workers;
        for (const auto& [worker, ids] : by_worker) {
            stage_workers[worker_stage_[worker]].push_back(worker);
        }
        for (const int id : step_ops) {
            const std::string& stream = streams_[ops_[id].stream];
            if (!ops_[id].is_comm || (stream != "dp" && stream != "zero")) {
                continue;
            }
            for (const int worker : stage_workers[worker_stage_[ops_[id].worker]]) {
                if (worker != ops_[id].worker) {
                    by_worker[worker].push_back(id);
                }
            }
        }
    }
    for (auto& [worker, ids] : by_worker) {
        std::sort(ids.begin(), ids.end(), [&](int a, int b) {
            return std::tie(ops_[a].start_us, ops_[a].event) <
                   std::tie(ops_[b].start_us, ops_[b].event);
        });
    }

    UnionFind sets(static_cast<std::size_t>(n));
    // Batched calls: same worker, stream, start and duration.
    for (const auto& [worker, ids] : by_worker) {
        for (std::size_t k = 1; k < ids.size(); ++k) {
            const Op& a = ops_[ids[k - 1]];
            const Op& b = ops_[ids[k]];
            if (a.is_comm && b.is_comm && a.stream == b.stream &&
                std::abs(a.start_us - b.start_us) <= kFusedUs &&
                std::abs(a.end_us - b.end_us) <= kFusedUs) {
                sets.unite(local[ids[k - 1]], local[ids[k]]);
            }
        }
    }

    // (worker, type, seq) -> op, for matching sends and receives.
    std::map<std::tuple<int, int, std::int64_t>, int> by_seq;
    for (const int id : step_ops) {
        by_seq[{ops_[id].worker, ops_[id].type, ops_[id].seq}] = id;
    }
    std::vector<std::pair<int, int>> cross_edges;  // op -> op, across workers
    const auto type_id = [&](const char* name) {
        const auto it = type_index_.find(name);
        return it == type_index_.end() ? -1 : it->second;
    };
    if (format_ == "megatron") {
        const int forward_send = type_id("forward-send");
        const int forward_recv = type_id("forward-recv");
        const int backward_send = type_id("backward-send");
        const int backward_recv = type_id("backward-recv");
        std::vector<bool> is_matched(static_cast<std::size_t>(n), false);
        for (const int id : step_ops) {
            const Op& op = ops_[id];
            const bool is_forward = op.type == forward_send && forward_send >= 0;
            const bool is_backward = op.type == backward_send && backward_send >= 0;
            if (!is_forward && !is_backward) {
                continue;
            }
            const int stage = worker_stage_[op.worker];
            const int peer_stage =
                is_forward ? (stage + 1) % stages_ : (stage + stages_ - 1) % stages_;
            const int recv_type = is_forward ? forward_recv : backward_recv;
            const char* recv_name = is_forward ? "forward-recv" : "backward-recv";
            const auto peer = worker_by_position_.find(
                {worker_replica_[op.worker], peer_stage, worker_tp_[op.worker]});
            const auto partner = peer == worker_by_position_.end() || recv_type < 0
                                     ? by_seq.end()
                                     : by_seq.find({peer->second, recv_type, op.seq});
            if (partner == by_seq.end()) {
                fail(op.event, "unmatched send: no " + std::string(recv_name) + " with seq_id " +
                                   std::to_string(op.seq) + " in step " + std::to_string(step) +
                                   " on DP rank " + std::to_string(worker_replica_[op.worker]) +
                                   " PP rank " + std::to_string(peer_stage));
            }
            sets.unite(local[id], local[partner->second]);
            is_matched[local[partner->second]] = true;
        }
        for (const int id : step_ops) {
            const Op& op = ops_[id];
            if ((op.type == forward_recv || op.type == backward_recv) && !is_matched[local[id]]) {
                fail(op.event,
                     "unmatched receive: no " +
                         std::string(op.type == forward_recv ? "forward-send" : "backward-send") +
                         " with seq_id " + std::to_string(op.seq) + " in step " +
                         std::to_string(step) + " from the neighbouring stage");
            }
        }
        // Collectives: DP group, the whole job, or the first and last stage of a replica.
        std::map<std::tuple<int, std::int64_t, int, int>, std::vector<int>> collectives;
        const int all_gather = type_id("params-all-gather");
        const int reduce_scatter = type_id("grads-reduce-scatter");
        const int clip = type_id("optimizer-clip-main-grad");
        const int embedding = type_id("embedding-grads-all-reduce");
        for (const int id : step_ops) {
            const Op& op = ops_[id];
            if (op.type < 0) {
                continue;
            }
            if (op.type == all_gather || op.type == reduce_scatter) {
                collectives[{op.type, op.seq, worker_stage_[op.worker], worker_tp_[op.worker]}]
                    .push_back(id);
            } else if (op.type == clip) {
                collectives[{op.type, op.seq, -1, -1}].push_back(id);
            } else if (op.type == embedding) {
                collectives[{op.type, op.seq, -2 - worker_replica_[op.worker],
                             worker_tp_[op.worker]}]
                    .push_back(id);
            }
        }
        // Every DP rank that has ops in this step takes part in its stage's DP collectives.
        std::map<std::pair<int, int>, int> dp_ranks;  // (stage, tp) -> workers in the step
        for (const auto& [worker, ids] : by_worker) {
            ++dp_ranks[{worker_stage_[worker], worker_tp_[worker]}];
        }
        for (const auto& [key, ids] : collectives) {
            const auto& [type, seq, stage, tp] = key;
            if ((type == all_gather || type == reduce_scatter) &&
                static_cast<int>(ids.size()) != dp_ranks[{stage, tp}]) {
                fail(ops_[ids[0]].event,
                     types_[type] + " seq_id " + std::to_string(seq) + " of step " +
                         std::to_string(step) + " has " + std::to_string(ids.size()) + " of the " +
                         std::to_string(dp_ranks[{stage, tp}]) + " DP ranks of PP rank " +
                         std::to_string(stage) + ": a participant is missing");
            }
            for (std::size_t k = 1; k < ids.size(); ++k) {
                sets.unite(local[ids[0]], local[ids[k]]);
            }
        }
    } else {
        // Pipeline sends: one-sided; the receiver's first pass of that micro-batch and
        // direction starting after the send ended waits for it. The first send of a
        // (micro-batch, virtual stage) goes forward unless that is the last virtual stage.
        std::map<std::tuple<int, std::int64_t, int>, int> sends_seen;
        for (const auto& [worker, ids] : by_worker) {
            for (const int id : ids) {
                const Op& op = ops_[id];
                if (op.vs < 0) {
                    continue;
                }
                const int count = sends_seen[{worker, op.mb, op.vs}]++;
                const bool is_forward = op.vs < virtual_stages_ - 1 && count == 0;
                const int target_vs = is_forward ? op.vs + 1 : op.vs - 1;
                if (target_vs < 0 || count > 1) {
                    fail(op.event, "unmatched send: more sends of micro-batch " +
                                       std::to_string(op.mb) + " from virtual stage " +
                                       std::to_string(op.vs) + " than a pipeline has");
                }
                const int peer_stage = target_vs % stages_;
                const auto peer =
                    worker_by_position_.find({worker_replica_[worker], peer_stage, 0});
                int target = -1;
                if (peer != worker_by_position_.end()) {
                    const auto peer_ops = by_worker.find(peer->second);
                    const char pass = is_forward ? 'F' : 'B';
                    if (peer_ops != by_worker.end()) {
                        for (const int candidate : peer_ops->second) {
                            const Op& c = ops_[candidate];
                            if (!c.is_comm && c.mb == op.mb && types_[c.type][0] == pass &&
                                c.start_us >= op.end_us - slack_us_) {
                                target = candidate;
                                break;
                            }
                        }
                    }
                }
                if (target < 0) {
                    fail(op.event, std::string("unmatched send: no ") +
                                       (is_forward ? "forward" : "backward") +
                                       " pass of micro-batch " + std::to_string(op.mb) +
                                       " on stage " + std::to_string(peer_stage) +
                                       " starts after it");
                }
                cross_edges.push_back({id, target});
            }
        }
    }

    // Units: one per set. Communication lasts its transfer part: the shortest recorded
    // duration among the set's ops (the last to arrive waited least).
    std::vector<int> unit_of_root(static_cast<std::size_t>(n), -1);
    std::vector<int> unit_of(static_cast<std::size_t>(n), -1);
    for (int k = 0; k < n; ++k) {
        const int root = sets.find(k);
        if (unit_of_root[root] < 0) {
            unit_of_root[root] = static_cast<int>(graph.members.size());
            graph.members.emplace_back();
        }
        unit_of[k] = unit_of_root[root];
        graph.members[unit_of[k]].push_back(step_ops[k]);
    }
    for (const std::vector<int>& members : graph.members) {
        double transfer_us = ops_[members[0]].end_us - ops_[members[0]].start_us;
        for (const int id : members) {
            transfer_us = std::min(transfer_us, ops_[id].end_us - ops_[id].start_us);
        }
        for (const int id : members) {
            ops_[id].actual_us =
                ops_[id].is_comm ? transfer_us : ops_[id].end_us - ops_[id].start_us;
        }
    }

    // Edges: program order per stream, and the recorded order across a worker's streams.
    const std::size_t units = graph.members.size();
    graph.successors.assign(units, {});
    const auto add_edge = [&](int from_op, int to_op) {
        const int u = unit_of[local[from_op]];
        const int v = unit_of[local[to_op]];
        if (u != v) {
            graph.successors[u].push_back(v);
        }
    };
    // stepsim's DP collectives stand for every replica of their stage (see above). Their
    // cross-stream predecessors are not read off each replica's recorded order, which would
    // make a fast replica's whole backward pass wait for them, but matched by op: the compute
    // op that ended last before the collective started (the slowest replica's bucket-ready
    // op), at the same position in every replica.
    const auto is_shared = [&](const Op& op) {
        const std::string& stream = streams_[op.stream];
        return format_ == "stepsim" && op.is_comm && (stream == "dp" || stream == "zero");
    };
    for (const auto& [worker, ids] : by_worker) {
        std::map<int, std::vector<int>> seen;  // stream -> ops so far, in start order
        for (const int id : ids) {
            const Op& op = ops_[id];
            for (auto& [stream, previous] : seen) {
                if (previous.empty()) {
                    continue;
                }
                if (stream == op.stream) {
                    add_edge(previous.back(), id);
                    continue;
                }
                if (is_shared(op)) {
                    continue;
                }
                // The last op of that stream that ended before this one started.
                int best = -1;
                double best_end = -1e300;
                const std::size_t look = std::min<std::size_t>(previous.size(), 16);
                for (std::size_t back = 0; back < look; ++back) {
                    const Op& p = ops_[previous[previous.size() - 1 - back]];
                    if (p.end_us <= op.start_us + slack_us_ && p.end_us > best_end) {
                        best = previous[previous.size() - 1 - back];
                        best_end = p.end_us;
                    }
                }
                if (best >= 0) {
                    add_edge(best, id);
                }
            }
            seen[op.stream].push_back(id);
        }
    }
    if (format_ == "stepsim") {
        const int compute = stream_index_.count("compute") ? stream_index_.at("compute") : -1;
        for (const int id : step_ops) {
            const Op& op = ops_[id];
            if (!is_shared(op)) {
                continue;
            }
            const int stage = worker_stage_[op.worker];
            int anchor = -1;
            for (const auto& [worker, ids] : by_worker) {
                if (worker_stage_[worker] != stage) {
                    continue;
                }
                for (const int candidate : ids) {
                    const Op& c = ops_[candidate];
                    if (c.stream == compute && c.end_us <= op.start_us + slack_us_ &&
                        (anchor < 0 || c.end_us > ops_[anchor].end_us)) {
                        anchor = candidate;
                    }
                }
            }
            if (anchor < 0) {
                continue;
            }
            for (const auto& [worker, ids] : by_worker) {
                if (worker_stage_[worker] != stage) {
                    continue;
                }
                const auto same = by_seq.find({worker, ops_[anchor].type, ops_[anchor].seq});
                if (same != by_seq.end()) {
                    add_edge(same->second, id);
                }
            }
        }
    }
    for (const auto& [from, to] : cross_edges) {
        add_edge(from, to);
    }
    graph.indegree.assign(units, 0);
    for (std::vector<int>& next : graph.successors) {
        std::sort(next.begin(), next.end());
        next.erase(std::unique(next.begin(), next.end()), next.end());
        for (const int v : next) {
            ++graph.indegree[v];
        }
    }
    return graph;
}

double Replay::simulate(const StepGraph& graph,
                        const std::vector<double>& op_us,
                        std::vector<std::pair<double, double>>* unit_times) {
    const std::size_t units = graph.members.size();
    std::vector<Time> duration(units);
    for (std::size_t u = 0; u < units; ++u) {
        double us = 0;
        for (const int id : graph.members[u]) {
            us = std::max(us, op_us[id]);
        }
        duration[u] = from_seconds(us * 1e-6);
    }
    Simulator sim(0);
    std::vector<int> pending = graph.indegree;
    std::size_t done = 0;
    std::function<void(int)> finish;
    const auto start = [&](int u) {
        if (unit_times != nullptr) {
            (*unit_times)[u].first = static_cast<double>(sim.now().count()) * 1e-12;
        }
        sim.schedule_in(duration[u], [&finish, u] { finish(u); });
    };
    finish = [&](int u) {
        ++done;
        if (unit_times != nullptr) {
            (*unit_times)[u].second = static_cast<double>(sim.now().count()) * 1e-12;
        }
        for (const int v : graph.successors[u]) {
            if (--pending[v] == 0) {
                start(v);
            }
        }
    };
    if (unit_times != nullptr) {
        unit_times->assign(units, {0.0, 0.0});
    }
    for (std::size_t u = 0; u < units; ++u) {
        if (pending[u] == 0) {
            start(static_cast<int>(u));
        }
    }
    sim.run();
    if (done != units) {
        for (std::size_t u = 0; u < units; ++u) {
            if (pending[u] > 0) {
                fail(ops_[graph.members[u][0]].event,
                     "dependency cycle in step " + std::to_string(graph.step) +
                         ": this op waits on ops that wait on it (sends and receives paired "
                         "out of order?)");
            }
        }
    }
    return static_cast<double>(sim.now().count()) * 1e-12;
}

double Replay::mean_step_s(const std::vector<double>& op_us,
                           const std::vector<double>* base,
                           std::vector<double>* base_step_s) {
    double total = 0;
    for (std::size_t g = 0; g < graphs_.size(); ++g) {
        const StepGraph& graph = graphs_[g];
        bool is_base = base != nullptr;
        for (std::size_t k = 0; is_base && k < graph.ops.size(); ++k) {
            // Equal on the engine's picosecond clock: the same simulation.
            const int id = graph.ops[k];
            is_base = op_us[id] == (*base)[id] ||
                      from_seconds(op_us[id] * 1e-6) == from_seconds((*base)[id] * 1e-6);
        }
        const double step_s = is_base ? (*base_step_s)[g] : simulate(graph, op_us, nullptr);
        if (base_step_s != nullptr && base == nullptr) {
            (*base_step_s)[g] = step_s;  // recording the base run itself
        }
        total += step_s;
    }
    return total / static_cast<double>(graphs_.size());
}

ReplayResult Replay::run() {
    read_ops();
    check_sequences();
    std::map<std::int64_t, std::vector<int>> steps;
    for (int i = 0; i < static_cast<int>(ops_.size()); ++i) {
        steps[ops_[i].step].push_back(i);
    }
    for (const auto& [step, ids] : steps) {
        graphs_.push_back(build_step(step, ids));
    }

    // The engine's clock spans ±2^63 ps (106 days): a step's replay lasts at most the sum of
    // its ops' durations, and no typical duration exceeds the longest op.
    std::size_t longest = 0;
    std::size_t most_ops = 0;
    for (std::size_t i = 0; i < ops_.size(); ++i) {
        if (ops_[i].actual_us > ops_[longest].actual_us) {
            longest = i;
        }
    }
    for (const StepGraph& graph : graphs_) {
        most_ops = std::max(most_ops, graph.ops.size());
    }
    if (ops_[longest].actual_us * static_cast<double>(most_ops) > kClockRangeUs) {
        fail(ops_[longest].event,
             "this op's duration times the ops of a step exceeds the replay clock's range "
             "(about 106 days of picoseconds)");
    }

    // Typical durations: compute by the mean (or median) of its type, communication by the
    // median of its type's transfer parts; per (type, stage) for the stage-imbalance run.
    std::vector<std::vector<double>> by_type(types_.size());
    std::map<std::pair<int, int>, std::vector<double>> by_type_stage;
    for (const Op& op : ops_) {
        by_type[op.type].push_back(op.actual_us);
        by_type_stage[{op.type, worker_stage_[op.worker]}].push_back(op.actual_us);
    }
    const auto typical = [&](int type, const std::vector<double>& values) {
        if (type_is_comm_[type] || options_.compute_ideal == ComputeIdeal::kMedian) {
            return median(values);
        }
        return std::accumulate(values.begin(), values.end(), 0.0) /
               static_cast<double>(values.size());
    };
    std::vector<double> type_typical(types_.size());
    for (std::size_t t = 0; t < types_.size(); ++t) {
        type_typical[t] = typical(static_cast<int>(t), by_type[t]);
    }
    std::map<std::pair<int, int>, double> stage_typical;
    for (const auto& [key, values] : by_type_stage) {
        stage_typical[key] = typical(key.first, values);
    }

    const std::size_t n = ops_.size();
    std::vector<double> actual(n);
    std::vector<double> ideal(n);
    std::vector<double> stage_ideal(n);
    for (std::size_t i = 0; i < n; ++i) {
        actual[i] = ops_[i].actual_us;
        ideal[i] = type_typical[ops_[i].type];
        stage_ideal[i] = type_is_comm_[ops_[i].type]
                             ? ideal[i]
                             : stage_typical[{ops_[i].type, worker_stage_[ops_[i].worker]}];
    }

    ReplayResult result;
    result.format = format_;
    result.workers = static_cast<int>(worker_names_.size());
    result.stages = stages_;
    result.ops = static_cast<std::int64_t>(n);
    result.worker_names = worker_names_;
    result.stream_names = streams_;
    double error_sum = 0;
    for (std::size_t g = 0; g < graphs_.size(); ++g) {
        ReplayStep step;
        step.step = graphs_[g].step;
        step.recorded_step_time_s = graphs_[g].recorded_us * 1e-6;
        step.replayed_step_time_s = simulate(graphs_[g], actual, nullptr);
        std::vector<std::pair<double, double>> times;
        step.ideal_step_time_s = simulate(graphs_[g], ideal, g == 0 ? &times : nullptr);
        step.replay_error = step.recorded_step_time_s > 0
                                ? (step.replayed_step_time_s - step.recorded_step_time_s) /
                                      step.recorded_step_time_s
                                : 0;
        error_sum += std::abs(step.replay_error);
        result.max_replay_error = std::max(result.max_replay_error, std::abs(step.replay_error));
        result.recorded_step_time_s += step.recorded_step_time_s;
        result.replayed_step_time_s += step.replayed_step_time_s;
        result.ideal_step_time_s += step.ideal_step_time_s;
        if (g == 0) {
            for (std::size_t u = 0; u < times.size(); ++u) {
                for (const int id : graphs_[g].members[u]) {
                    result.ideal_timeline.push_back({ops_[id].worker, ops_[id].stream,
                                                     types_[ops_[id].type], times[u].first,
                                                     times[u].second});
                }
            }
        }
        result.steps.push_back(step);
    }
    const double step_count = static_cast<double>(graphs_.size());
    result.recorded_step_time_s /= step_count;
    result.replayed_step_time_s /= step_count;
    result.ideal_step_time_s /= step_count;
    result.replay_error = error_sum / step_count;
    result.slowdown =
        result.ideal_step_time_s > 0 ? result.replayed_step_time_s / result.ideal_step_time_s : 1.0;
    const double gap_s = result.replayed_step_time_s - result.ideal_step_time_s;
    const auto explained = [&](double time_s) {
        return gap_s > 1e-12 ? (time_s - result.ideal_step_time_s) / gap_s : 0.0;
    };

    // Variation of each compute type per stage, and its share between workers.
    for (const auto& [key, values] : by_type_stage) {
        const auto& [type, stage] = key;
        if (type_is_comm_[type] || values.size() < 2) {
            continue;
        }
        ComputeVariation v;
        v.op_type = types_[type];
        v.stage = stage;
        v.ops = static_cast<std::int64_t>(values.size());
        const double mean =
            std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
        std::map<int, std::pair<double, int>> per_worker;  // sum, count
        double total = 0;
        for (const Op& op : ops_) {
            if (op.type == type && worker_stage_[op.worker] == stage) {
                total += (op.actual_us - mean) * (op.actual_us - mean);
                per_worker[op.worker].first += op.actual_us;
                ++per_worker[op.worker].second;
            }
        }
        double between = 0;
        for (const auto& [worker, sum_count] : per_worker) {
            const double worker_mean = sum_count.first / sum_count.second;
            between += sum_count.second * (worker_mean - mean) * (worker_mean - mean);
        }
        v.mean_s = mean * 1e-6;
        v.cv = mean > 0 ? std::sqrt(total / static_cast<double>(values.size())) / mean : 0;
        v.between_worker_fraction = total > 0 ? between / total : 0;
        result.compute_variation.push_back(v);
    }
    std::sort(result.compute_variation.begin(), result.compute_variation.end(),
              [](const ComputeVariation& a, const ComputeVariation& b) {
                  return std::tie(a.op_type, a.stage) < std::tie(b.op_type, b.stage);
              });

    std::vector<double> ideal_step_s(graphs_.size());
    for (std::size_t g = 0; g < graphs_.size(); ++g) {
        ideal_step_s[g] = result.steps[g].ideal_step_time_s;
    }
    std::vector<double> stage_ideal_step_s(graphs_.size());
    result.stage_ideal_step_time_s = mean_step_s(stage_ideal, nullptr, &stage_ideal_step_s);
    result.m_s = explained(result.stage_ideal_step_time_s);

    result.worker_compute_s.assign(worker_names_.size(), std::vector<double>(graphs_.size(), 0.0));
    for (std::size_t g = 0; g < graphs_.size(); ++g) {
        for (const int id : graphs_[g].ops) {
            if (!ops_[id].is_comm) {
                result.worker_compute_s[ops_[id].worker][g] += ops_[id].actual_us * 1e-6;
            }
        }
    }

    if (options_.has_attribution) {
        const auto attribute = [&](const std::string& group, const auto& keeps) {
            std::vector<double> durations = ideal;
            for (std::size_t i = 0; i < n; ++i) {
                if (keeps(ops_[i])) {
                    durations[i] = actual[i];
                }
            }
            ReplayAttribution a;
            a.group = group;
            a.step_time_s = mean_step_s(durations, &ideal, &ideal_step_s);
            a.slowdown =
                result.ideal_step_time_s > 0 ? a.step_time_s / result.ideal_step_time_s : 1.0;
            a.explained_fraction = explained(a.step_time_s);
            return a;
        };
        for (int t = 0; t < static_cast<int>(types_.size()); ++t) {
            result.by_op_type.push_back(
                attribute(types_[t], [t](const Op& op) { return op.type == t; }));
        }
        for (int s = 0; s < stages_; ++s) {
            result.by_stage.push_back(attribute("stage " + std::to_string(s), [&, s](const Op& op) {
                return worker_stage_[op.worker] == s;
            }));
        }
        for (int w = 0; w < static_cast<int>(worker_names_.size()); ++w) {
            result.by_worker.push_back(
                attribute(worker_names_[w], [w](const Op& op) { return op.worker == w; }));
        }
        const auto rank = [](std::vector<ReplayAttribution>& list) {
            std::stable_sort(list.begin(), list.end(),
                             [](const ReplayAttribution& a, const ReplayAttribution& b) {
                                 if (a.step_time_s != b.step_time_s) {
                                     return a.step_time_s > b.step_time_s;
                                 }
                                 return a.group < b.group;
                             });
        };
        rank(result.by_op_type);
        rank(result.by_stage);
        rank(result.by_worker);
        // M_W: one worker kept at its recorded durations on top of the stage-ideal step (so
        // that a stage's imbalance is not counted again), as a share of the whole slowdown.
        for (int w = 0; w < static_cast<int>(worker_names_.size()); ++w) {
            std::vector<double> durations = stage_ideal;
            for (std::size_t i = 0; i < n; ++i) {
                if (ops_[i].worker == w) {
                    durations[i] = actual[i];
                }
            }
            const double share = gap_s > 1e-12
                                     ? (mean_step_s(durations, &stage_ideal, &stage_ideal_step_s) -
                                        result.stage_ideal_step_time_s) /
                                           gap_s
                                     : 0.0;
            if (w == 0 || share > result.m_w) {
                result.m_w = share;
                result.m_w_worker = worker_names_[w];
            }
        }
    }
    return result;
}

}  // namespace

ReplayResult replay_trace(const Trace& trace, const TraceMeta* meta, const ReplayOptions& options) {
    return Replay(trace, meta, options).run();
}

}  // namespace stepsim
