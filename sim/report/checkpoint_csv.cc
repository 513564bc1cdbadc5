// SPDX-License-Identifier: Apache-2.0
// File: checkpoint_csv.cc
// The checkpoint study's resumable CSV; see checkpoint_csv.h.
#include "stepsim/checkpoint_csv.h"

#include "stepsim/error.h"
#include "stepsim/random.h"
#include "stepsim/report.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace stepsim {

namespace {

constexpr const char* kHeader =
    "sweep_id,rate_index,mtbf_s,kind,interval_steps,interval_s,runs,goodput,goodput_ci95,"
    "wall_time_s,wall_time_ci95_s,useful_s,rework_s,checkpoint_s,validation_s,restart_s,"
    "failures,unfinished_runs\n";
constexpr std::size_t kColumns = 18;

std::vector<std::string> split(std::string_view line) {
    std::vector<std::string> fields;
    std::string field;
    std::istringstream in{std::string(line)};
    while (std::getline(in, field, ',')) {
        fields.push_back(field);
    }
    if (!line.empty() && line.back() == ',') {
        fields.emplace_back();
    }
    return fields;
}

double to_double(const std::string& text, bool& ok) {
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    ok = ok && !text.empty() && end == text.c_str() + text.size();
    return value;
}

std::int64_t to_int(const std::string& text, bool& ok) {
    char* end = nullptr;
    const long long value = std::strtoll(text.c_str(), &end, 10);
    ok = ok && !text.empty() && end == text.c_str() + text.size();
    return value;
}

void describe(std::ostringstream& out, const FailureModel& model) {
    for (const FailureClass& c : model.classes) {
        out << c.name << ':' << c.count << ':' << static_cast<int>(c.distribution) << ':'
            << format_number(c.mtbf_s) << ':' << format_number(c.weibull_shape) << ':'
            << format_number(c.weibull_scale_s) << ':' << c.needs_replacement << ';';
    }
}

std::vector<double> cluster_mtbfs_s(const CheckpointSweepSpec& spec) {
    std::vector<double> mtbf_s;
    for (const FailureModel& rate : spec.failure_rates) {
        mtbf_s.push_back(rate.cluster_mtbf_s());
    }
    return mtbf_s;
}

}  // namespace

std::string checkpoint_sweep_id(const CheckpointSweepSpec& spec) {
    std::ostringstream out;
    const RunSpec& b = spec.base;
    out << "v1|" << b.step_time.count() << '|' << b.steps << '|' << b.checkpoint.save_cost.count()
        << '|' << b.checkpoint.is_async << '|' << b.checkpoint.background_write.count() << '|'
        << b.restart.detection.count() << '|' << b.restart.reschedule.count() << '|'
        << b.restart.load.count() << '|' << b.restart.warmup.count() << '|'
        << (b.restart.spare_nodes ? *b.restart.spare_nodes : -1) << '|'
        << b.restart.repair_time.count() << '|' << b.validation.interval_steps << '|'
        << b.validation.cost.count() << '|' << b.max_wall_time.count() << '|' << spec.seeds << '|'
        << spec.base_seed << '|';
    for (std::int64_t steps : spec.interval_steps) {
        out << steps << ',';
    }
    for (const FailureModel& rate : spec.failure_rates) {
        out << '|';
        describe(out, rate);
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64(out.str())));
    return hex;
}

CheckpointCsv::CheckpointCsv(const std::filesystem::path& path,
                             const CheckpointSweepSpec& spec,
                             const std::vector<SweepPoint>& points)
    : sweep_id_(checkpoint_sweep_id(spec))
    , rate_mtbf_s_(cluster_mtbfs_s(spec))
    , step_s_(to_seconds(spec.base.step_time))
    , done_(points.size())
    , journal_({{path, kHeader, RecordSyntax::kLines}},
               static_cast<std::int64_t>(points.size()),
               [&](std::int64_t index, const std::vector<std::string_view>& records) {
                   read_back(path, points, index, records.front());
               }) {}

void CheckpointCsv::read_back(const std::filesystem::path& path,
                              const std::vector<SweepPoint>& points,
                              std::int64_t index,
                              std::string_view line) {
    const std::vector<std::string> f = split(line);
    const std::string row_text = "row " + std::to_string(index + 1);
    bool ok = f.size() == kColumns;
    if (ok && f[0] != sweep_id_) {
        throw UserError(path.string() + ": written by a different sweep (sweep_id " + f[0] +
                        ", this one " + sweep_id_ + "); remove it or choose another file");
    }
    const SweepPoint& p = points.at(static_cast<std::size_t>(index));
    if (ok) {
        ok = to_int(f[1], ok) == p.rate_index && f[3] == to_string(p.kind) &&
             to_int(f[4], ok) == p.interval_steps;
    }
    if (!ok) {
        throw UserError(path.string() + ": " + row_text +
                        " does not match this sweep; remove the file or choose another");
    }
    RunSummary s;
    s.runs = to_int(f[6], ok);
    s.goodput = {to_double(f[7], ok), to_double(f[8], ok)};
    s.wall_time_s = {to_double(f[9], ok), to_double(f[10], ok)};
    s.useful_s = to_double(f[11], ok);
    s.rework_s = to_double(f[12], ok);
    s.checkpoint_s = to_double(f[13], ok);
    s.validation_s = to_double(f[14], ok);
    s.restart_s = to_double(f[15], ok);
    s.failures = to_double(f[16], ok);
    s.unfinished_runs = to_int(f[17], ok);
    if (!ok) {
        throw UserError(path.string() + ": " + row_text + " is malformed");
    }
    done_[static_cast<std::size_t>(index)] = s;
}

std::string CheckpointCsv::row(const SweepPoint& p) const {
    const RunSummary& s = p.summary;
    std::ostringstream out;
    out << sweep_id_ << ',' << p.rate_index << ','
        << format_number(rate_mtbf_s_.at(static_cast<std::size_t>(p.rate_index))) << ','
        << to_string(p.kind) << ',' << p.interval_steps << ','
        << format_number(static_cast<double>(p.interval_steps) * step_s_) << ',' << s.runs << ','
        << format_number(s.goodput.mean) << ',' << format_number(s.goodput.ci95) << ','
        << format_number(s.wall_time_s.mean) << ',' << format_number(s.wall_time_s.ci95) << ','
        << format_number(s.useful_s) << ',' << format_number(s.rework_s) << ','
        << format_number(s.checkpoint_s) << ',' << format_number(s.validation_s) << ','
        << format_number(s.restart_s) << ',' << format_number(s.failures) << ','
        << s.unfinished_runs << '\n';
    return out.str();
}

void CheckpointCsv::append(std::size_t index, const SweepPoint& point) {
    const auto row_index = static_cast<std::int64_t>(index);
    if (row_index < journal_.written()) {
        return;  // read back from the file
    }
    journal_.add(row_index, {row(point)});
}

}  // namespace stepsim
