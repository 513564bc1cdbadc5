// SPDX-License-Identifier: Apache-2.0
// File: sweep_study_test.cc
// The sweep study (study/sweep.h) with a stub command: what reaches the command for a point,
// and how its outcome becomes the point's record (skip filters, ok with the result columns
// read by path, a missing path, bad input, an internal error, unreadable JSON).
#include "stepsim/study/sweep.h"
#include "stepsim/sweep.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

using stepsim::SweepPointStatus;
using stepsim::study::SweepCommandOutcome;

namespace {

stepsim::SweepSpec checkpoint_sweep() {
    // Two MTBFs x two intervals, two seeds; a filter skips the 5h MTBF with 30 min intervals
    // (durations are seconds in expressions).
    const std::string text = R"(
command: "checkpoint"
args: ["--step-time", "10s", "--steps", "1000", "--checkpoint-cost", "60s",
       "--restart-cost", "10min"]
axis { flag: "mtbf" values: ["1h", "5h"] }
axis { flag: "intervals" name: "interval" values: ["10min", "30min"] }
seeds: 2
seed_flag: "--seed"
skip { when: "mtbf == 18000 && interval == 1800" reason: "too sparse" }
result: "goodput=results[0].points[0].goodput"
result: "count=gpus"
)";
    return stepsim::load_sweep_text(text, "sweep.textproto", std::filesystem::path("."));
}

}  // namespace

TEST_CASE("sweep study: a point's command line and its record from the command's JSON",
          "[study][sweep]") {
    const stepsim::SweepSpec spec = checkpoint_sweep();
    REQUIRE(spec.point_count == 8);
    std::vector<std::string> seen_args;
    std::string seen_command;
    const auto ok = [&](std::string_view command, const std::vector<std::string>& args) {
        seen_command = std::string(command);
        seen_args = args;
        return SweepCommandOutcome{
            0, R"({"gpus": 8, "results": [{"points": [{"goodput": 0.93}]}]})", ""};
    };
    // Point 3: mtbf 1h (slowest axis), interval 30min, seed index 1.
    const stepsim::SweepPointRecord record = stepsim::study::run_sweep_point(spec, 3, ok);
    CHECK(seen_command == "checkpoint");
    CHECK(seen_args == spec.command_args(3));
    CHECK(std::find(seen_args.begin(), seen_args.end(), "--json") != seen_args.end());
    CHECK(record.point == 3);
    CHECK(record.seed == spec.seed(3));
    CHECK(record.axis_values == std::vector<std::string>{"1h", "30min"});
    CHECK(record.status == SweepPointStatus::kOk);
    REQUIRE(record.results.size() == 2);
    CHECK(record.results[0] == std::optional<std::string>("0.93"));
    CHECK(record.results[1] == std::optional<std::string>("8"));
    CHECK(record.reason.empty());

    SECTION("a path the output lacks is absent, the point still ok") {
        const auto partial = [](std::string_view, const std::vector<std::string>&) {
            return SweepCommandOutcome{0, R"({"gpus": 8})", ""};
        };
        const stepsim::SweepPointRecord r = stepsim::study::run_sweep_point(spec, 0, partial);
        CHECK(r.status == SweepPointStatus::kOk);
        CHECK_FALSE(r.results[0].has_value());
        CHECK(r.results[1] == std::optional<std::string>("8"));
    }
}

TEST_CASE("sweep study: skipped, invalid and failed points", "[study][sweep]") {
    const stepsim::SweepSpec spec = checkpoint_sweep();
    int runs = 0;
    const auto counting = [&](std::string_view, const std::vector<std::string>&) {
        ++runs;
        return SweepCommandOutcome{2, "", "w.textproto:3:1: error: bad\n\n"};
    };
    // Points 6 and 7: mtbf 5h, interval 30min: the filter holds and the command never runs.
    const stepsim::SweepPointRecord skipped = stepsim::study::run_sweep_point(spec, 6, counting);
    CHECK(skipped.status == SweepPointStatus::kSkipped);
    CHECK(skipped.reason == "too sparse");
    CHECK(runs == 0);
    CHECK(stepsim::study::predicted_cost(spec, 6) == 0.0);

    const stepsim::SweepPointRecord invalid = stepsim::study::run_sweep_point(spec, 0, counting);
    CHECK(runs == 1);
    CHECK(invalid.status == SweepPointStatus::kInvalid);
    CHECK(invalid.reason == "w.textproto:3:1: error: bad");  // final newlines trimmed
    CHECK_FALSE(invalid.results[0].has_value());

    const auto internal = [](std::string_view, const std::vector<std::string>&) {
        return SweepCommandOutcome{1, "", "boom"};
    };
    CHECK(stepsim::study::run_sweep_point(spec, 0, internal).status == SweepPointStatus::kFailed);

    const auto garbled = [](std::string_view, const std::vector<std::string>&) {
        return SweepCommandOutcome{0, R"({"gpus": [1, )", ""};
    };
    const stepsim::SweepPointRecord unreadable = stepsim::study::run_sweep_point(spec, 0, garbled);
    CHECK(unreadable.status == SweepPointStatus::kFailed);
    CHECK_THAT(unreadable.reason, Catch::StartsWith("the command's JSON could not be read"));
    CHECK_FALSE(unreadable.results[1].has_value());
}
