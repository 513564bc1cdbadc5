// SPDX-License-Identifier: Apache-2.0
// File: trace_reader_test.cc
// load_trace_file() / parse_trace_json(): the trace-event subset, gzip, and every way a file
// can be bad (each a SpecError naming the event index and line:col).
#include "stepsim/error.h"
#include "stepsim/trace.h"

#include "unit/trace/trace_test_traces.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

namespace {

using stepsim::parse_trace_json;
using stepsim::SpecError;
using stepsim::Trace;
using stepsim::TraceLimits;

std::string error_of(const std::string& text, const TraceLimits& limits = {}) {
    try {
        (void)parse_trace_json(text, "t.json", limits);
    } catch (const SpecError& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("trace reader: a hand-written trace, array form") {
    const std::string text = R"([
{"name":"thread_name","ph":"M","pid":0,"tid":3,"args":{"name":"PP rank 0, TP rank 0, compute"}},
{"name":"process_name","ph":"M","pid":0,"args":{"name":"DP rank [0]"}},
{"name":"forward-compute","cat":"forward-compute","ph":"X","pid":0,"tid":3,"ts":12.5,
 "dur":1e3,"args":{"step":7,"mb_id":2,"model_chunk":0,"seq_id":1,"extra":[1,{"a":null}]}},
{"name":"i","ph":"i","pid":0,"tid":3,"ts":1},
{"name":"esc \"q\" \u00e9","ph":"X","pid":0,"tid":3,"ts":0,"dur":0,"unknown":true}
])";
    const Trace trace = parse_trace_json(text, "t.json");
    REQUIRE(trace.events.size() == 2);
    CHECK(trace.array_events == 5);
    const stepsim::TraceEvent& e = trace.events[0];
    CHECK(e.name == "forward-compute");
    CHECK(e.category == "forward-compute");
    CHECK(e.pid == 0);
    CHECK(e.tid == 3);
    CHECK(e.ts_us == 12.5);
    CHECK(e.dur_us == 1000.0);
    CHECK(e.step == 7);
    CHECK(e.has_step);
    CHECK(e.mb_id == 2);
    CHECK(e.model_chunk == 0);
    CHECK(e.seq_id == 1);
    CHECK(e.index == 2);
    CHECK(e.line == 4);
    CHECK(trace.events[1].name == "esc \"q\" \xc3\xa9");
    CHECK_FALSE(trace.events[1].has_step);
    CHECK(trace.events[1].index == 4);
    CHECK(trace.thread_names.at({0, 3}) == "PP rank 0, TP rank 0, compute");
    CHECK(trace.process_names.at(0) == "DP rank [0]");
}

TEST_CASE("trace reader: object form with traceEvents, as stepsim --trace writes it") {
    const Trace trace = parse_trace_json(
        R"({"displayTimeUnit":"ns","traceEvents":[{"name":"F mb0 L0","cat":"compute","ph":"X","pid":0,"tid":0,"ts":0,"dur":2.5}],"other":{"x":[]}})",
        "t.json");
    REQUIRE(trace.events.size() == 1);
    CHECK(trace.events[0].dur_us == 2.5);
    CHECK(error_of(R"({"displayTimeUnit":"ns"})").find("no \"traceEvents\"") != std::string::npos);
}

TEST_CASE("trace reader: gzip and truncated gzip") {
    const std::string text = stepsim::test::megatron_trace(1, [](int, int) { return 1.0; });
    const std::string packed = stepsim::test::gzip(text);
    const auto path = stepsim::test::scratch("trace_reader_test", "whole.json.gz");
    stepsim::test::write_text(path, packed);
    const Trace from_gzip = stepsim::load_trace_file(path);
    const Trace from_text = parse_trace_json(text, "t.json");
    REQUIRE(from_gzip.events.size() == from_text.events.size());
    CHECK(from_gzip.events.back().ts_us == from_text.events.back().ts_us);

    const auto cut = stepsim::test::scratch("trace_reader_test", "cut.json.gz");
    stepsim::test::write_text(cut, packed.substr(0, packed.size() / 2));
    try {
        (void)stepsim::load_trace_file(cut);
        FAIL("a truncated gzip file was accepted");
    } catch (const SpecError& e) {
        CHECK_THAT(e.what(), Catch::Contains("truncated gzip stream"));
        // The event it stops in: the text has "[" on line 1 and event i on line i + 2, so
        // the cut after N bytes falls in event (newlines among the N bytes) - 1.
        const std::string message = e.what();
        const std::size_t bytes_at = message.find("ends after ");
        const std::size_t event_at = message.find("inside event ");
        REQUIRE(bytes_at != std::string::npos);
        REQUIRE(event_at != std::string::npos);
        const std::size_t bytes = std::stoull(message.substr(bytes_at + 11));
        const std::int64_t event = std::stoll(message.substr(event_at + 13));
        const auto newlines =
            std::count(text.begin(), text.begin() + static_cast<long>(bytes), '\n');
        CHECK(event == newlines - 1);
        CHECK(event > 0);
        CHECK(event < from_text.array_events);
    }
    const auto corrupt = stepsim::test::scratch("trace_reader_test", "corrupt.json.gz");
    std::string bad = packed;
    for (std::size_t i = 20; i < 60 && i < bad.size(); ++i) {
        bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    }
    stepsim::test::write_text(corrupt, bad);
    CHECK_THROWS_AS(stepsim::load_trace_file(corrupt), SpecError);
}

TEST_CASE("trace reader: bad events name their index and position") {
    const std::string head =
        "[\n{\"name\":\"a\",\"ph\":\"X\",\"pid\":0,\"tid\":0,\"ts\":0,\"dur\":1},\n";
    CHECK_THAT(error_of(head + R"({"name":"b","ph":"X","pid":0,"tid":0,"dur":1}])"),
               Catch::Contains("t.json:3:1: error: event 1: missing \"ts\""));
    CHECK_THAT(error_of(head + R"({"ph":"X","pid":0,"tid":0,"ts":0,"dur":1}])"),
               Catch::Contains("event 1: missing \"name\""));
    CHECK_THAT(error_of(head + R"({"name":"b","pid":0,"tid":0,"ts":0,"dur":1}])"),
               Catch::Contains("event 1: missing \"ph\""));
    CHECK_THAT(error_of(head + R"({"name":"b","ph":"X","pid":0,"tid":0,"ts":0,"dur":-5000}])"),
               Catch::Contains("event 1: negative duration"));
    CHECK_THAT(error_of(head + R"({"name":"b","ph":"X","pid":"0","tid":0,"ts":0,"dur":1}])"),
               Catch::Contains("expected a number, found a string"));
    CHECK_THAT(error_of(head + R"({"name":"b","ph":"X","pid":0.5,"tid":0,"ts":0,"dur":1}])"),
               Catch::Contains("pid must be an integer"));
    CHECK_THAT(error_of(head + R"({"name":"b","ph":"B","pid":0,"tid":0,"ts":0}])"),
               Catch::Contains("phase \"B\""));
    CHECK_THAT(error_of(head + R"({"name":"b","ph":"X","pid":0,"tid":0,"ts":NaN,"dur":1}])"),
               Catch::Contains("expected a number"));
    CHECK_THAT(error_of(head + R"({"name":"b","ph":"X","pid":0,"tid":0,"ts":0,"dur":1},])"),
               Catch::Contains("t.json:3:"));
    // Truncated text: in a string, in an event, and after a whole event without the ']'.
    CHECK_THAT(error_of(head + R"({"name":"b)"), Catch::Contains("unterminated string"));
    CHECK_THAT(error_of(head + R"({"name":"b","ph":)"), Catch::Contains("truncated"));
    CHECK_THAT(error_of(head), Catch::Contains("truncated"));
    CHECK_THAT(error_of("[]\n[]"), Catch::Contains("unexpected text after the end"));
    CHECK_THAT(error_of(""), Catch::Contains("empty trace"));
}

TEST_CASE("trace reader: small negative durations are clock skew, read as 0") {
    const Trace trace =
        parse_trace_json(R"([{"name":"a","ph":"X","pid":0,"tid":0,"ts":5,"dur":-26.9}])", "t.json");
    REQUIRE(trace.events.size() == 1);
    CHECK(trace.events[0].dur_us == 0.0);
    CHECK(trace.clamped_durations == 1);
}

TEST_CASE("trace reader: the event limit is refused by name") {
    TraceLimits limits;
    limits.max_events = 2;
    const std::string three = R"([{"ph":"i"},{"ph":"i"},{"ph":"i"}])";
    CHECK_THAT(error_of(three, limits), Catch::Contains("more than 2 events"));
    CHECK_THAT(error_of(three, limits), Catch::Contains("max_events"));
    limits.max_events = 3;
    CHECK(error_of(three, limits) == "(no error)");
    limits.max_json_bytes = 10;
    CHECK_THAT(error_of(three, limits), Catch::Contains("limit of 10 bytes"));
}

TEST_CASE("trace meta: the artifact's yaml and its errors") {
    const auto path = stepsim::test::scratch("trace_reader_test", "meta.yaml");
    stepsim::test::write_text(path,
                              "trial_name: AR\nrun_id: 0\ndp_size: 4\ndsp_size: 1\n"
                              "pp_size: 4\ntp_size: 4\nvpp_size: 1\nworld_size: 64\n");
    const stepsim::TraceMeta meta = stepsim::load_trace_meta(path);
    CHECK(meta.trial_name == "AR");
    CHECK(meta.dp == 4);
    CHECK(meta.pp == 4);
    CHECK(meta.tp == 4);
    CHECK(meta.world_size == 64);
    const auto bad = stepsim::test::scratch("trace_reader_test", "bad_meta.yaml");
    stepsim::test::write_text(bad, "dp_size: two\npp_size: 2\n");
    try {
        (void)stepsim::load_trace_meta(bad);
        FAIL("a bad meta file was accepted");
    } catch (const SpecError& e) {
        CHECK_THAT(e.what(), Catch::Contains(":1:9: error: dp_size must be a positive integer"));
        CHECK_THAT(e.what(), Catch::Contains("missing tp_size"));
    }
}
