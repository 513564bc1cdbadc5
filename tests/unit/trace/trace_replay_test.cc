// SPDX-License-Identifier: Apache-2.0
// File: trace_replay_test.cc
// replay_trace() on hand-made Megatron timelines whose answers follow from their durations.
//
// The job (trace_test_traces.h): 2 stages x 2 DP ranks, one micro-batch; forward 10 ms and
// backward 20 ms times a factor per worker, pipeline transfers 1 ms, DP reduce-scatter 5 ms,
// optimizer 3 ms. Its critical path is F0 + send + F1 + B1 + send + B0 + reduce-scatter +
// optimizer = 10f0 + 1 + 10f1 + 20f1 + 1 + 20f0 + 5 + 3 ms of the slowest DP rank.
// - All factors 1: 70 ms recorded and replayed; the ideal equals it (S = 1).
// - DP rank 1, stage 1 at factor 2: its pipeline takes 10 + 1 + 20 + 40 + 1 + 20 + 5 + 3 =
//   100 ms, and both DP ranks wait for it at the reduce-scatter. The ideal compute is the mean
//   of each op type over the 4 workers: forward (10+10+10+20)/4 = 12.5 ms, backward 25 ms;
//   communication is the median of its transfer parts, 1 and 5 ms (the recorded receives and
//   reduce-scatters include waiting, up to 31 and 35 ms: these must not count). Ideal step:
//   12.5 + 1 + 12.5 + 25 + 1 + 25 + 5 + 3 = 85 ms, so S = 100 / 85.
//   Kept alone (others ideal), worker "dp 1 pp 1": 12.5 + 1 + 20 + 40 + 1 + 25 + 5 + 3 =
//   107.5 ms, explaining (107.5 − 85) / (100 − 85) = 1.5 of the slowdown. Per-stage ideal
//   (M_S): stage 0 forward 10, backward 20; stage 1 forward 15, backward 30: 10 + 1 + 15 + 30 +
//   1 + 20 + 5 + 3 = 85 ms, so M_S = 0; with dp 1 pp 1 kept on top: 100 ms, so M_W = 1.
#include "stepsim/error.h"
#include "stepsim/trace.h"

#include "unit/trace/trace_test_traces.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

namespace {

using stepsim::parse_trace_json;
using stepsim::replay_trace;
using stepsim::ReplayResult;
using stepsim::SpecError;

constexpr double kMsS = 1e-3;  // a millisecond in seconds

ReplayResult replay_text(const std::string& text) {
    const stepsim::Trace trace = parse_trace_json(text, "t.json");
    return replay_trace(trace, nullptr);
}

std::string replay_error_of(const std::string& text) {
    try {
        (void)replay_text(text);
    } catch (const SpecError& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("trace replay: a uniform job replays exactly and has no slowdown") {
    const ReplayResult r =
        replay_text(stepsim::test::megatron_trace(2, [](int, int) { return 1.0; }));
    CHECK(r.format == "megatron");
    CHECK(r.workers == 4);
    CHECK(r.stages == 2);
    REQUIRE(r.steps.size() == 2);
    for (const stepsim::ReplayStep& s : r.steps) {
        CHECK(s.recorded_step_time_s == Approx(70 * kMsS));
        CHECK(s.replayed_step_time_s == Approx(70 * kMsS));
        CHECK(s.ideal_step_time_s == Approx(70 * kMsS));
    }
    CHECK(r.replay_error < 1e-9);
    CHECK(r.slowdown == Approx(1.0));
}

TEST_CASE("trace replay: one slow worker gives S = 100/85 and tops the worker attribution") {
    const ReplayResult r = replay_text(stepsim::test::megatron_trace(
        2, [](int dp, int pp) { return dp == 1 && pp == 1 ? 2.0 : 1.0; }));
    CHECK(r.recorded_step_time_s == Approx(100 * kMsS));
    CHECK(r.replayed_step_time_s == Approx(100 * kMsS));
    CHECK(r.max_replay_error < 1e-9);
    CHECK(r.ideal_step_time_s == Approx(85 * kMsS));
    CHECK(r.slowdown == Approx(100.0 / 85.0));
    REQUIRE(!r.by_worker.empty());
    CHECK(r.by_worker.front().group == "dp 1 pp 1");
    CHECK(r.by_worker.front().step_time_s == Approx(107.5 * kMsS));
    CHECK(r.by_worker.front().explained_fraction == Approx(1.5));
    CHECK(r.by_stage.front().group == "stage 1");
    CHECK(r.stage_ideal_step_time_s == Approx(85 * kMsS));
    CHECK(r.m_s == Approx(0.0).margin(1e-9));
    CHECK(r.m_w == Approx(1.0));
    CHECK(r.m_w_worker == "dp 1 pp 1");
    // The communication types keep their transfer part: alone they explain nothing.
    for (const stepsim::ReplayAttribution& a : r.by_op_type) {
        if (a.group == "forward-recv" || a.group == "grads-reduce-scatter") {
            CHECK(a.step_time_s == Approx(85 * kMsS));
        }
    }
    // Stage 1's forward takes 10 ms on DP rank 0 and 20 ms on DP rank 1, every step: mean
    // 15 ms, CV 5/15, all of the variance between the workers.
    bool has_forward_stage_1 = false;
    for (const stepsim::ComputeVariation& v : r.compute_variation) {
        if (v.op_type == "forward-compute" && v.stage == 1) {
            has_forward_stage_1 = true;
            CHECK(v.ops == 4);
            CHECK(v.mean_s == Approx(15 * kMsS));
            CHECK(v.cv == Approx(1.0 / 3.0));
            CHECK(v.between_worker_fraction == Approx(1.0));
        }
        if (v.op_type == "forward-compute" && v.stage == 0) {
            CHECK(v.cv == Approx(0.0).margin(1e-12));
        }
    }
    CHECK(has_forward_stage_1);
    // The idealised first step as a timeline: every op once.
    CHECK(r.ideal_timeline.size() == static_cast<std::size_t>(r.ops / 2));
}

TEST_CASE("trace replay: median compute ideal ignores the one slow worker") {
    const stepsim::Trace trace =
        parse_trace_json(stepsim::test::megatron_trace(
                             1, [](int dp, int pp) { return dp == 1 && pp == 1 ? 2.0 : 1.0; }),
                         "t.json");
    stepsim::ReplayOptions options;
    options.compute_ideal = stepsim::ComputeIdeal::kMedian;
    const ReplayResult r = replay_trace(trace, nullptr, options);
    CHECK(r.ideal_step_time_s == Approx(70 * kMsS));
    CHECK(r.slowdown == Approx(100.0 / 70.0));
}

TEST_CASE("trace replay: malformed timelines are SpecErrors naming the event") {
    using stepsim::test::megatron_event;
    using stepsim::test::megatron_tid;
    const auto uniform = [](int, int) {
        return 1.0;
    };
    std::vector<std::string> events = stepsim::test::megatron_metadata(2);
    const std::vector<std::string> ops = stepsim::test::megatron_ops(1, uniform);

    SECTION("unmatched send") {
        for (const std::string& op : ops) {
            if (op.find("\"forward-recv\"") == std::string::npos ||
                op.find("\"pid\":1,") == std::string::npos) {
                events.push_back(op);
            }
        }
        CHECK_THAT(replay_error_of(stepsim::test::json_array(events)),
                   Catch::Contains("unmatched send: no forward-recv with seq_id 0 in step 0 on "
                                   "DP rank 1 PP rank 1"));
    }
    SECTION("unmatched receive") {
        for (const std::string& op : ops) {
            if (op.find("\"backward-send\"") == std::string::npos ||
                op.find("\"pid\":0,") == std::string::npos) {
                events.push_back(op);
            }
        }
        CHECK_THAT(replay_error_of(stepsim::test::json_array(events)),
                   Catch::Contains("unmatched receive: no backward-send with seq_id 0"));
    }
    SECTION("non-monotonic time") {
        events.insert(events.end(), ops.begin(), ops.end());
        events.push_back(
            megatron_event("forward-compute", 0, megatron_tid(0, 0), -5000, 100, 0, 1, 1));
        const std::string message = replay_error_of(stepsim::test::json_array(events));
        CHECK_THAT(message, Catch::Contains("non-monotonic time: seq_id 1 starts at"));
        CHECK_THAT(message, Catch::Contains("event " + std::to_string(events.size() - 1)));
    }
    SECTION("a collective with a participant missing") {
        for (const std::string& op : ops) {
            if (op.find("\"grads-reduce-scatter\"") == std::string::npos ||
                op.find("\"pid\":0,") == std::string::npos ||
                op.find("\"tid\":8,") == std::string::npos) {
                events.push_back(op);
            }
        }
        CHECK_THAT(replay_error_of(stepsim::test::json_array(events)),
                   Catch::Contains("has 1 of the 2 DP ranks of PP rank 1"));
    }
    SECTION("missing args") {
        events.insert(events.end(), ops.begin(), ops.end());
        events.push_back(
            R"({"name":"forward-compute","ph":"X","pid":0,"tid":0,"ts":1,"dur":1,"args":{}})");
        CHECK_THAT(replay_error_of(stepsim::test::json_array(events)),
                   Catch::Contains("missing args.step"));
    }
    SECTION("a track without a name") {
        events.insert(events.end(), ops.begin(), ops.end());
        events.push_back(megatron_event("gc", 0, 99, 1, 1, 0, 0));
        CHECK_THAT(replay_error_of(stepsim::test::json_array(events)),
                   Catch::Contains("track (pid 0, tid 99) has no thread_name"));
    }
    SECTION("duplicate sequence numbers") {
        events.insert(events.end(), ops.begin(), ops.end());
        events.push_back(megatron_event("forward-compute", 0, megatron_tid(0, 0), 5, 1, 0, 0, 0));
        CHECK_THAT(replay_error_of(stepsim::test::json_array(events)),
                   Catch::Contains("duplicate seq_id 0"));
    }
    SECTION("a meta file that does not fit") {
        events.insert(events.end(), ops.begin(), ops.end());
        stepsim::TraceMeta meta;
        meta.dp = 1;
        meta.pp = 2;
        meta.tp = 1;
        const stepsim::Trace trace = parse_trace_json(stepsim::test::json_array(events), "t.json");
        CHECK_THROWS_WITH(replay_trace(trace, &meta),
                          Catch::Contains("outside the meta file's dp_size 1"));
    }
}

TEST_CASE("trace replay: a micro-batch number past int32 in a stepsim track is located") {
    // std::stoll threw a bare std::out_of_range here (exit status 1, no location).
    const std::string track =
        R"({"name":"thread_name","ph":"M","pid":0,"tid":0,"args":{"name":"gpu 0 (stage 0) compute"}})";
    for (const char* name :
         {"F mb99999999999999999999 L0", "F mb2147483648 L0", "F mb0 vs99999999999 L0"}) {
        const std::string op = R"({"name":")" + std::string(name) +
                               R"(","cat":"compute","ph":"X","pid":0,"tid":0,"ts":0,"dur":1})";
        const std::string message = replay_error_of("[" + track + "," + op + "]");
        INFO(message);
        CHECK_THAT(message, Catch::StartsWith("t.json:1:"));
        CHECK_THAT(message, Catch::Contains("is past 2147483647"));
    }
}
