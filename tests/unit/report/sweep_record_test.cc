// SPDX-License-Identifier: Apache-2.0
// File: sweep_record_test.cc
// A sweep point's record as results.csv and results.jsonl write it (sim/report/sweep_json.cc):
// the header, numbers and strings in each format, an absent result, a quoted reason.
#include "stepsim/results_json.h"
#include "stepsim/sweep.h"

#include <catch2/catch.hpp>

#include <string>

namespace {

stepsim::SweepSpec two_axis_spec() {
    stepsim::SweepSpec spec;
    spec.seed_flag = "--seed";
    spec.axes.push_back(stepsim::SweepAxis{"mtbf", "", "--mtbf", {"1h", "3h"}, ""});
    spec.axes.push_back(stepsim::SweepAxis{"dp", "parallelism.dp", "", {"8", "16"}, ""});
    spec.results.push_back(stepsim::SweepResultColumn{"step_s", "step_time_s"});
    spec.results.push_back(stepsim::SweepResultColumn{"gpu", "gpu"});
    return spec;
}

}  // namespace

TEST_CASE("sweep records: header, CSV and JSON lines of an ok and a failed point", "[report]") {
    const stepsim::SweepSpec spec = two_axis_spec();
    CHECK(stepsim::sweep_csv_header(spec) == "point,seed,mtbf,dp,status,step_s,gpu,reason\n");

    stepsim::SweepPointRecord ok;
    ok.point = 3;
    ok.seed = 42;
    ok.axis_values = {"3h", "16"};
    ok.results = {std::string("1.25"), std::string("\"H100, SXM\"")};
    // A JSON string result is unquoted in the CSV (and CSV-quoted there for its comma); axis
    // values are numbers in JSON when they read as numbers.
    CHECK(stepsim::sweep_csv_record(spec, ok) == "3,42,3h,16,ok,1.25,\"H100, SXM\",\n");
    CHECK(stepsim::sweep_json_line(spec, ok) ==
          "{\"point\":3,\"seed\":42,\"mtbf\":\"3h\",\"dp\":16,\"status\":\"ok\",\"step_s\":1.25,"
          "\"gpu\":\"H100, SXM\",\"reason\":null}\n");

    stepsim::SweepPointRecord failed;
    failed.point = 0;
    failed.seed = 7;
    failed.axis_values = {"1h", "8"};
    failed.status = stepsim::SweepPointStatus::kInvalid;
    failed.results = {std::nullopt, std::nullopt};
    failed.reason = "w.textproto:3:1: error: \"dp\" too large";
    CHECK(stepsim::sweep_csv_record(spec, failed) ==
          "0,7,1h,8,invalid,,,\"w.textproto:3:1: error: \"\"dp\"\" too large\"\n");
    CHECK(stepsim::sweep_json_line(spec, failed) ==
          "{\"point\":0,\"seed\":7,\"mtbf\":\"1h\",\"dp\":8,\"status\":\"invalid\","
          "\"step_s\":null,\"gpu\":null,\"reason\":\"w.textproto:3:1: error: \\\"dp\\\" too "
          "large\"}\n");
}

TEST_CASE("sweep records: a JSON line's status reads back (resumed runs count by it)", "[report]") {
    const stepsim::SweepSpec spec = two_axis_spec();
    stepsim::SweepPointRecord record;
    record.seed = 1;
    record.axis_values = {"1h", "8"};
    record.results = {std::nullopt, std::nullopt};
    for (const stepsim::SweepPointStatus status :
         {stepsim::SweepPointStatus::kOk, stepsim::SweepPointStatus::kSkipped,
          stepsim::SweepPointStatus::kInvalid, stepsim::SweepPointStatus::kFailed}) {
        record.status = status;
        CHECK(stepsim::sweep_json_line_status(stepsim::sweep_json_line(spec, record)) == status);
    }
    CHECK(stepsim::sweep_json_line_status("{\"point\":0}") == stepsim::SweepPointStatus::kFailed);
}
