// SPDX-License-Identifier: Apache-2.0
// File: trace_cli_test.cc
// `stepsim whatif --replay`: malformed files exit 2 with a message and write nothing; a step
// simulated with a known slow rank, written with `whatif --trace` and replayed, recovers the
// rank and the slowdown; the shipped StragglerAnalysis timelines run end to end.
//
// The round trip: TP1 x PP4 x DP4 tiny-pp on dgx-h100-16 (α–β network), rank 13 (stage 3,
// replica 1) computing 1.2x slower, every replica simulated explicitly (data/slow_rank.textproto).
// `whatif` reports S_whatif = scenario / baseline step. The replay idealises each op type; with
// the median of each compute type (--compute-ideal median) the slow rank's 1 in 4 replicas
// drops out, and the ideal step differs from whatif's baseline only where one op type spans
// stages with different durations (the optimizer, the pipeline sends): measured 0.7% below
// it, so S_replay = 1.1294 against S_whatif = 1.1218, within the 1% asked. With the paper's
// mean, the slow rank's ops enter the mean (1 + 0.2/4 = 1.05x for stage 3's op types), the
// ideal step is 2.4% above the baseline, and S_replay = 1.0953: the gap is the mean rule's,
// checked here at < 3%.
#include "stepsim/json_path.h"
#include "stepsim/trace.h"

#include "run_command.h"
#include "unit/trace/trace_test_traces.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const std::string kSource = STEPSIM_SOURCE_DIR;
const std::string kShipped = "/work/shared/data/straggler-traces";

double number_at(const std::string& json, const std::string& path) {
    const auto raw = stepsim::json_lookup(json, path);
    REQUIRE(raw.has_value());
    return std::stod(std::string(*raw));
}

std::string text_at(const std::string& json, const std::string& path) {
    const auto raw = stepsim::json_lookup(json, path);
    REQUIRE(raw.has_value());
    return stepsim::json_text(*raw);
}

/// Replays `trace` with --plot and --trace outputs and checks that the run failed with status
/// 2, said `message`, and left neither output.
void expect_refused(const fs::path& trace, const std::string& message) {
    const fs::path plot = trace.parent_path() / "heatmap.svg";
    const fs::path ideal = trace.parent_path() / "ideal.json";
    const stepsim::cli::CommandOutcome outcome = stepsim::cli::run_command(
        "whatif", {"--replay", trace.string(), "--plot", plot.string(), "--trace", ideal.string()});
    CHECK(outcome.status == 2);
    CHECK_THAT(outcome.error, Catch::Contains(message));
    CHECK(outcome.output.empty());
    CHECK_FALSE(fs::exists(plot));
    CHECK_FALSE(fs::exists(ideal));
}

std::vector<std::string> without(const std::vector<std::string>& ops,
                                 const std::vector<std::string>& parts) {
    std::vector<std::string> kept = stepsim::test::megatron_metadata(2);
    for (const std::string& op : ops) {
        bool has_all = true;
        for (const std::string& part : parts) {
            has_all = has_all && op.find(part) != std::string::npos;
        }
        if (!has_all) {
            kept.push_back(op);
        }
    }
    return kept;
}

}  // namespace

TEST_CASE("whatif --replay: malformed traces exit 2 with a message and write nothing") {
    const std::vector<std::string> ops =
        stepsim::test::megatron_ops(1, [](int, int) { return 1.0; });
    const std::string whole = stepsim::test::json_array(without(ops, {"no such op"}));

    SECTION("missing field") {
        std::string text = whole;
        const std::size_t at = text.find(",\"dur\":", text.find("\"backward-compute\""));
        text.erase(at, text.find(",\"ph\"", at) - at);
        const fs::path path = stepsim::test::scratch("trace_cli_test", "missing.json");
        stepsim::test::write_text(path, text);
        expect_refused(path, "missing \"dur\"");
    }
    SECTION("unmatched send") {
        const fs::path path = stepsim::test::scratch("trace_cli_test", "unmatched.json");
        stepsim::test::write_text(
            path, stepsim::test::json_array(without(ops, {"\"forward-recv\"", "\"pid\":0,"})));
        expect_refused(path, "unmatched send: no forward-recv");
    }
    SECTION("unmatched receive") {
        const fs::path path = stepsim::test::scratch("trace_cli_test", "unmatched_recv.json");
        stepsim::test::write_text(
            path, stepsim::test::json_array(without(ops, {"\"backward-send\"", "\"pid\":1,"})));
        expect_refused(path, "unmatched receive: no backward-send");
    }
    SECTION("non-monotonic time") {
        std::vector<std::string> events = without(ops, {"no such op"});
        events.push_back(stepsim::test::megatron_event(
            "backward-compute", 1, stepsim::test::megatron_tid(1, 0), -1, 5, 0, 1, 1));
        const fs::path path = stepsim::test::scratch("trace_cli_test", "time.json");
        stepsim::test::write_text(path, stepsim::test::json_array(events));
        expect_refused(path, "non-monotonic time: seq_id 1 starts at -1");
    }
    SECTION("truncated gzip") {
        const std::string packed = stepsim::test::gzip(whole);
        const fs::path path = stepsim::test::scratch("trace_cli_test", "cut.json.gz");
        stepsim::test::write_text(path, packed.substr(0, packed.size() * 2 / 3));
        expect_refused(path, "truncated gzip stream");
    }
    SECTION("event limit") {
        const fs::path path = stepsim::test::scratch("trace_cli_test", "limit.json");
        stepsim::test::write_text(path, whole);
        const stepsim::cli::CommandOutcome outcome =
            stepsim::cli::run_command("whatif", {"--replay", path.string(), "--max-events", "10"});
        CHECK(outcome.status == 2);
        CHECK_THAT(outcome.error, Catch::Contains("more than 10 events"));
    }
    SECTION("missing file and bad flags") {
        CHECK(stepsim::cli::run_command("whatif", {"--replay", "/nonexistent/t.json"}).status == 2);
        const fs::path path = stepsim::test::scratch("trace_cli_test", "flags.json");
        stepsim::test::write_text(path, whole);
        const stepsim::cli::CommandOutcome outcome = stepsim::cli::run_command(
            "whatif", {"--replay", path.string(), "--compute-ideal", "mode"});
        CHECK(outcome.status == 2);
        CHECK_THAT(outcome.error, Catch::Contains("--compute-ideal must be"));
    }
}

TEST_CASE("whatif --replay: the heatmap has a cell per worker and step, the slow one red") {
    // 2 stages x 2 DP ranks, 3 steps; dp 1 pp 1 computes at twice the others' time, so its
    // cells are 2x the median worker of their step (the median of 4 is the upper middle, 1x):
    // past the 1.3x of full red.
    const fs::path trace = stepsim::test::scratch("trace_cli_test", "heatmap.json");
    stepsim::test::write_text(trace, stepsim::test::megatron_trace(3, [](int dp, int pp) {
                                  return dp == 1 && pp == 1 ? 2.0 : 1.0;
                              }));
    const fs::path plot = trace.parent_path() / "heatmap.svg";
    const stepsim::cli::CommandOutcome outcome =
        stepsim::cli::run_command("whatif", {"--replay", trace.string(), "--plot", plot.string()});
    REQUIRE(outcome.status == 0);
    std::ifstream in(plot);
    const std::string svg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t cells = 0;
    for (std::size_t at = svg.find("<rect x="); at != std::string::npos;
         at = svg.find("<rect x=", at + 1)) {
        ++cells;
    }
    CHECK(cells == 4 * 3);
    std::size_t red = 0;
    for (std::size_t at = svg.find("fill=\"#ff0000\"><title>dp 1 pp 1"); at != std::string::npos;
         at = svg.find("fill=\"#ff0000\"><title>dp 1 pp 1", at + 1)) {
        ++red;
    }
    CHECK(red == 3);
}

TEST_CASE("whatif --replay: a simulated step with a slow rank round-trips") {
    const fs::path trace = stepsim::test::scratch("trace_cli_test", "slow_rank.json");
    const std::vector<std::string> simulate = {
        "--topology",
        kSource + "/topologies/dgx-h100-16.textproto",
        "--workload",
        kSource + "/workloads/tiny-pp.textproto",
        "--set",
        "parallelism.tp=1",
        "--set",
        "parallelism.dp=4",
        "--scenario",
        kSource + "/tests/unit/trace/data/slow_rank.textproto",
        "--network",
        "alpha_beta",
        "--no-sensitivity",
        "--no-attribution",
        "--json",
        "--trace",
        trace.string()};
    const stepsim::cli::CommandOutcome whatif = stepsim::cli::run_command("whatif", simulate);
    REQUIRE(whatif.status == 0);
    const double whatif_slowdown = number_at(whatif.output, "slowdown");
    CHECK(whatif_slowdown > 1.1);

    const stepsim::cli::CommandOutcome median = stepsim::cli::run_command(
        "whatif", {"--replay", trace.string(), "--compute-ideal", "median", "--json"});
    REQUIRE(median.status == 0);
    CHECK(text_at(median.output, "format") == "stepsim");
    CHECK(number_at(median.output, "workers") == 16);
    // Recorded durations, launch delays removed: stepsim's own step has none.
    CHECK(number_at(median.output, "replay_error") < 1e-9);
    CHECK(number_at(median.output, "replayed_step_time_s") ==
          Approx(number_at(whatif.output, "scenario_step_time_s")).epsilon(1e-9));
    const double replay_slowdown = number_at(median.output, "slowdown");
    CHECK(std::abs(replay_slowdown / whatif_slowdown - 1) < 0.01);
    CHECK(text_at(median.output, "attribution.by_worker[0].group") == "gpu 13");
    CHECK(text_at(median.output, "attribution.by_stage[0].group") == "stage 3");
    CHECK(text_at(median.output, "m_w_worker") == "gpu 13");

    const stepsim::cli::CommandOutcome mean =
        stepsim::cli::run_command("whatif", {"--replay", trace.string(), "--json"});
    REQUIRE(mean.status == 0);
    CHECK(text_at(mean.output, "attribution.by_worker[0].group") == "gpu 13");
    CHECK(std::abs(number_at(mean.output, "slowdown") / whatif_slowdown - 1) < 0.03);
}

TEST_CASE("whatif --replay: the shipped timelines, end to end") {
    const fs::path st = fs::path(kShipped) / "timeline-ST.json.gz";
    const fs::path ar = fs::path(kShipped) / "timeline-AR.json.gz";
    if (!fs::exists(st) || !fs::exists(ar)) {
        WARN("shipped straggler traces not found under " + kShipped + ": skipped");
        return;
    }
    const fs::path plot = stepsim::test::scratch("trace_cli_test", "st_heatmap.svg");
    const fs::path ideal = stepsim::test::scratch("trace_cli_test", "st_ideal.json");
    const stepsim::cli::CommandOutcome st_run = stepsim::cli::run_command(
        "whatif", {"--replay", st.string(), "--meta", kShipped + "/meta-ST.yaml", "--json",
                   "--plot", plot.string(), "--trace", ideal.string()});
    REQUIRE(st_run.status == 0);
    // ST: the last stage holds more work; stage partitioning explains most of the slowdown.
    CHECK(number_at(st_run.output, "slowdown") > 1.1);
    CHECK(number_at(st_run.output, "replay_error") < 0.05);
    CHECK(text_at(st_run.output, "attribution.by_stage[0].group") == "stage 3");
    CHECK(number_at(st_run.output, "m_s") > 0.5);
    CHECK(fs::exists(plot));
    const stepsim::Trace ideal_trace = stepsim::load_trace_file(ideal);
    CHECK(ideal_trace.events.size() > 100);

    const stepsim::cli::CommandOutcome ar_run = stepsim::cli::run_command(
        "whatif", {"--replay", ar.string(), "--meta", kShipped + "/meta-AR.yaml", "--json"});
    REQUIRE(ar_run.status == 0);
    // AR: one worker slowed on purpose.
    CHECK(text_at(ar_run.output, "attribution.by_worker[0].group") == "dp 0 pp 0");
    CHECK(text_at(ar_run.output, "m_w_worker") == "dp 0 pp 0");
    CHECK(number_at(ar_run.output, "m_w") > 0.5);
}

TEST_CASE("whatif --replay: the heatmap labels its axes and shows its colour scale") {
    const fs::path trace = stepsim::test::scratch("trace_cli_test", "heatmap_scale.json");
    stepsim::test::write_text(trace, stepsim::test::megatron_trace(3, [](int dp, int pp) {
                                  return dp == 1 && pp == 1 ? 2.0 : 1.0;
                              }));
    const fs::path plot = trace.parent_path() / "heatmap_scale.svg";
    const stepsim::cli::CommandOutcome outcome =
        stepsim::cli::run_command("whatif", {"--replay", trace.string(), "--plot", plot.string()});
    REQUIRE(outcome.status == 0);
    std::ifstream in(plot);
    const std::string svg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // The axes: workers by name, recorded steps by number, each with a title.
    CHECK(svg.find(">worker</text>") != std::string::npos);
    CHECK(svg.find(">recorded step number (3 steps in the trace, in order)</text>") !=
          std::string::npos);
    CHECK(svg.find(">dp 1 pp 1</text>") != std::string::npos);
    std::size_t step_ticks = 0;
    for (std::size_t at = svg.find("class=\"step-tick\""); at != std::string::npos;
         at = svg.find("class=\"step-tick\"", at + 1)) {
        ++step_ticks;
    }
    CHECK(step_ticks == 3);
    // The colour scale: a blue-white-red gradient bar with its five values.
    CHECK(svg.find("<linearGradient id=\"ratio-scale\"") != std::string::npos);
    CHECK(svg.find("fill=\"url(#ratio-scale)\"") != std::string::npos);
    for (const char* value :
         {">1.3x or slower<", ">1.15x<", ">1x (the median)<", ">0.85x<", ">0.7x or faster<"}) {
        INFO(value);
        CHECK(svg.find(value) != std::string::npos);
    }
    CHECK(svg.find(">compute time / median<") != std::string::npos);
}
