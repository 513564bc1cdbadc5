// SPDX-License-Identifier: Apache-2.0
// File: sweep_json.cc
// `stepsim sweep`: a point's record in results.csv and results.jsonl, and a finished run's
// SweepSummary (--json).
#include "stepsim/json_path.h"
#include "stepsim/report.h"
#include "stepsim/results_json.h"
#include "stepsim/sweep.h"

#include <regex>

namespace stepsim {

namespace {

bool is_json_number(std::string_view text) {
    static const std::regex number(R"(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?)");
    return std::regex_match(text.begin(), text.end(), number);
}

std::string json_string(std::string_view text) {
    JsonWriter json(0);
    json.value(text);
    return json.str();
}

/// An axis value in a JSON line: a number when it reads as one, else a string.
std::string json_scalar(std::string_view text) {
    return is_json_number(text) ? std::string(text) : json_string(text);
}

}  // namespace

std::string sweep_csv_header(const SweepSpec& spec) {
    std::string header = "point";
    if (!spec.seed_flag.empty()) {
        header += ",seed";
    }
    for (const SweepAxis& axis : spec.axes) {
        header += "," + axis.name;
    }
    header += ",status";
    for (const SweepResultColumn& r : spec.results) {
        header += "," + r.name;
    }
    return header + ",reason\n";
}

std::string sweep_csv_record(const SweepSpec& spec, const SweepPointRecord& record) {
    std::string csv = std::to_string(record.point);
    if (record.seed) {
        csv += "," + std::to_string(*record.seed);
    }
    for (const std::string& value : record.axis_values) {
        csv += "," + csv_field(value);
    }
    csv += ",";
    csv += to_string(record.status);
    for (std::size_t i = 0; i < spec.results.size(); ++i) {
        csv += ",";
        if (i < record.results.size() && record.results[i]) {
            const std::string& raw = *record.results[i];
            csv += csv_field(raw.front() == '"' ? json_text(raw) : raw);
        }
    }
    return csv + "," + csv_field(record.reason) + "\n";
}

SweepPointStatus sweep_json_line_status(std::string_view line) {
    const std::string status = json_text(json_lookup(line, "status").value_or("\"failed\""));
    for (const SweepPointStatus s : {SweepPointStatus::kOk, SweepPointStatus::kSkipped,
                                     SweepPointStatus::kInvalid, SweepPointStatus::kFailed}) {
        if (status == to_string(s)) {
            return s;
        }
    }
    return SweepPointStatus::kFailed;
}

std::string sweep_json_line(const SweepSpec& spec, const SweepPointRecord& record) {
    std::string json = "{\"point\":" + std::to_string(record.point);
    if (record.seed) {
        json += ",\"seed\":" + std::to_string(*record.seed);
    }
    for (std::size_t i = 0; i < spec.axes.size() && i < record.axis_values.size(); ++i) {
        json += "," + json_string(spec.axes[i].name) + ":" + json_scalar(record.axis_values[i]);
    }
    json += ",\"status\":" + json_string(to_string(record.status));
    for (std::size_t i = 0; i < spec.results.size(); ++i) {
        json += "," + json_string(spec.results[i].name) + ":";
        const bool has = i < record.results.size() && record.results[i].has_value();
        json += has ? *record.results[i] : std::string("null");
    }
    return json + ",\"reason\":" +
           (record.reason.empty() ? std::string("null") : json_string(record.reason)) + "}\n";
}

std::string to_json(const SweepSummary& s) {
    JsonWriter json;
    json.begin_object();
    json.field("spec", s.spec_file);
    json.field("command", s.command);
    json.field("points", s.points);
    json.field("ok", s.ok);
    json.field("skipped", s.skipped);
    json.field("invalid", s.invalid);
    json.field("failed", s.failed);
    json.field("resumed", s.resumed);
    json.field("ranks", s.ranks);
    json.field("jobs", s.jobs);
    json.field("csv", s.csv_path);
    json.field("jsonl", s.jsonl_path);
    json.end_object();
    return json.str() + "\n";
}

}  // namespace stepsim
