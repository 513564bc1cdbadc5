// SPDX-License-Identifier: Apache-2.0
// File: validate_command.cc
// `stepsim validate [--tables sc21,bloom] [--rows 1.7B,18B] [--list] [--json] [--jobs N]
// [--set FIELD=VALUE]...`: flags to a row selection and ValidationOptions, the validation study
// (sim/study/validation.cc; tables in validation_tables.cc), then its table or JSON.
// docs/validation.md states the assumptions (micro-batch, interleaving) and the results.
#include "stepsim/error.h"
#include "stepsim/results_json.h"
#include "stepsim/spec.h"
#include "stepsim/study/validation.h"

#include "command.h"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace po = boost::program_options;

namespace stepsim::cli {

namespace {

using study::ValidationMetric;
using study::ValidationResult;
using study::ValidationRow;
using study::ValidationRowResult;
using study::ValidationTable;

std::string known_names() {
    std::string known;
    for (const ValidationTable& table : study::validation_tables()) {
        known += (known.empty() ? "" : ", ") + std::string(table.id) + " (";
        bool first = true;
        for (const ValidationRow& row : study::validation_rows()) {
            if (row.table == table.id) {
                known += (first ? "" : ",") + std::string(row.model);
                first = false;
            }
        }
        known += ")";
    }
    return known;
}

/// Rows named by --rows (row or table names) and --tables; all but the slow ones by default.
std::vector<const ValidationRow*> select_rows(const std::string& rows_flag,
                                              const std::string& tables_flag,
                                              bool include_slow) {
    std::vector<const ValidationRow*> selected;
    const auto add = [&](const ValidationRow& row) {
        if (std::find(selected.begin(), selected.end(), &row) == selected.end()) {
            selected.push_back(&row);
        }
    };
    const auto names = [](const std::string& flag) {
        std::vector<std::string> out;
        std::stringstream list(flag);
        std::string name;
        while (std::getline(list, name, ',')) {
            out.push_back(name);
        }
        return out;
    };
    if (rows_flag.empty() && (tables_flag.empty() || tables_flag == "all")) {
        for (const ValidationRow& row : study::validation_rows()) {
            if (!row.is_slow || include_slow) {
                add(row);
            }
        }
        return selected;
    }
    for (const std::string& name : names(tables_flag == "all" ? std::string() : tables_flag)) {
        bool found = false;
        for (const ValidationRow& row : study::validation_rows()) {
            if (row.table == name) {
                found = true;
                if (!row.is_slow || include_slow) {
                    add(row);
                }
            }
        }
        if (!found) {
            throw UsageError("--tables: unknown table \"" + name +
                             "\" (tables and rows: " + known_names() + ")");
        }
    }
    for (const std::string& name : names(rows_flag)) {
        const auto all = study::validation_rows();
        const auto it = std::find_if(all.begin(), all.end(),
                                     [&](const ValidationRow& row) { return row.model == name; });
        if (it == all.end()) {
            throw UsageError("--rows: unknown row \"" + name +
                             "\" (tables and rows: " + known_names() + ")");
        }
        add(*it);
    }
    if (selected.empty()) {
        throw UsageError("--rows / --tables: no row named");
    }
    return selected;
}

std::string schedule_name(const ValidationRow& row) {
    if (row.pp == 1) {
        return "none";
    }
    return row.is_interleaved() ? "interleaved v=" + std::to_string(row.virtual_stages()) : "1f1b";
}

std::string schedule_name(const ValidationRowResult& r) {
    return r.virtual_stages > 1 ? r.schedule + " v=" + std::to_string(r.virtual_stages)
                                : r.schedule;
}

std::string result_table(const ValidationResult& result, bool include_slow) {
    const std::vector<const ValidationRow*>& listed = result.rows;
    std::ostringstream out;
    char line[320];
    out << "validate: published training runs, predicted (fitted tables: sc21, mt-nlg, mlperf; "
           "docs/validation.md)\n";
    for (const ValidationTable& table : study::validation_tables()) {
        std::vector<const ValidationRow*> rows;
        for (const ValidationRow* row : listed) {
            if (row->table == table.id) {
                rows.push_back(row);
            }
        }
        if (rows.empty()) {
            continue;
        }
        const bool step_time = table.metric == ValidationMetric::kStepTime;
        out << "\n[" << table.id << "] " << table.title
            << (table.is_reported_only ? "  (reported, not held to the targets)" : "") << '\n'
            << "  source: " << table.source << '\n'
            << "  on " << result.files_of(table).topology << " with "
            << result.files_of(table).workload << '\n';
        if (table.metric == ValidationMetric::kMegatronTflops) {
            out << "  TFLOP/s per GPU = F_iter / (step time x GPUs), "
                   "F_iter = 96·B·s·l·h²·(1 + s/(6h) + V/(16·l·h))\n";
        }
        std::snprintf(line, sizeof line, "%-16s %5s %3s %3s %4s %6s %5s %-15s %10s %10s %10s %8s\n",
                      "row", "GPUs", "TP", "PP", "DP", "batch", "micro", "schedule", "step (s)",
                      step_time ? "pred. (s)" : "predicted", step_time ? "publ. (s)" : "published",
                      "error");
        out << line;
        const std::vector<const ValidationRowResult*> done = result.of_table(table.id);
        if (done.empty()) {
            for (const ValidationRow* row : rows) {
                std::snprintf(line, sizeof line,
                              "%-16s %5d %3d %3d %4d %6lld %5s %-15s %10s %10s %10.4g %8s\n",
                              std::string(row->model).c_str(), row->gpus(), row->tp, row->pp,
                              row->dp, static_cast<long long>(row->global_batch),
                              table.sets_shape ? std::to_string(row->micro_batch()).c_str() : "-",
                              table.sets_shape ? schedule_name(*row).c_str() : "(workload)", "-",
                              "-", row->published, "-");
                out << line;
            }
            continue;
        }
        for (const ValidationRowResult* r : done) {
            const ValidationRow& row = *r->row;
            std::snprintf(line, sizeof line,
                          "%-16s %5d %3d %3d %4d %6lld %5lld %-15s %10.3f %10.4g %10.4g %+7.1f%%\n",
                          std::string(row.model).c_str(), row.gpus(), row.tp, row.pp, row.dp,
                          static_cast<long long>(row.global_batch),
                          static_cast<long long>(r->micro_batch), schedule_name(*r).c_str(),
                          r->step_time_s, r->predicted, row.published, 100 * r->error_fraction);
            out << line;
        }
        const study::ValidationSummary s = study::summarize(done);
        std::snprintf(line, sizeof line, "  %zu rows: mean absolute error %.1f%%, worst %.1f%%\n",
                      s.rows, 100 * s.mean_absolute_error_fraction,
                      100 * s.max_absolute_error_fraction);
        out << line;
    }
    if (!include_slow) {
        for (const ValidationRow& row : study::validation_rows()) {
            if (row.is_slow) {
                out << "\n(skipped " << row.model << ": a minute or more on 2 cores; add --slow)\n";
            }
        }
    }
    const std::vector<const ValidationRowResult*> held = result.held_to_targets();
    if (held.empty()) {
        return out.str();
    }
    const study::ValidationSummary s = study::summarize(held);
    std::snprintf(line, sizeof line,
                  "\nrows held to the targets (%zu): mean absolute error %.1f%% (target <= %.0f%%: "
                  "%s); worst row %.1f%% (target every row <= %.0f%%: %s)\n",
                  s.rows, 100 * s.mean_absolute_error_fraction,
                  100 * study::kValidationMeanTolerance, s.is_mean_within ? "met" : "NOT met",
                  100 * s.max_absolute_error_fraction, 100 * study::kValidationRowTolerance,
                  s.is_every_row_within ? "met" : "NOT met");
    out << line;
    return out.str();
}

}  // namespace

int validate_command(const std::vector<std::string>& args, CommandIo& io) {
    CommonOptions common;
    study::ValidationOptions options = study::default_validation_options();
    std::string rows_flag;
    std::string tables_flag;
    std::string fidelity = "fast";
    bool list_only = false;
    bool include_slow = false;
    int jobs = 1;
    po::options_description description("stepsim validate options");
    description.add_options()(
        "topology", po::value<std::string>(&options.sc21.topology),
        "sc21 table's cluster spec (default topologies/dgx-a100-selene.textproto; its "
        "instance[0] count is set to each row's nodes)")(
        "workload", po::value<std::string>(&options.sc21.workload),
        "sc21 table's base workload (default workloads/megatron/gpt-weak-scaling.textproto)")(
        "rows", po::value<std::string>(&rows_flag),
        "comma-separated rows, e.g. 1.7B,18B,bloom-176b (default: all)")(
        "tables", po::value<std::string>(&tables_flag),
        "comma-separated tables: sc21, mt-nlg, bloom, opt, llama3, mlperf, mlperf-v3.1, mlperf-v4 "
        "(default: "
        "all)")("slow", po::bool_switch(&include_slow),
                "also the rows that take most of a minute (llama3-405b-16k and the MLPerf rows)")(
        "list", po::bool_switch(&list_only), "print the rows and settings without simulating")(
        "fidelity", po::value<std::string>(&fidelity), "fast (default) or full")(
        "jobs", po::value<int>(&jobs), "rows simulated at once on threads (default 1)");
    add_common_options(description, common);
    if (!parse_command_line(args, description, {}, common, io,
                            "stepsim validate [--tables sc21,bloom] [--rows 1.7B,18B] [--slow] "
                            "[--list] [--json] [--jobs N] [--fidelity fast|full] "
                            "[--set FIELD=VALUE]...")) {
        return 0;
    }
    if (jobs < 1) {
        throw UsageError("--jobs must be at least 1, got " + std::to_string(jobs));
    }
    options.jobs = jobs;
    options.step.fidelity = parse_fidelity_flag(fidelity);
    // The largest rows spend most of their time timing distinct collectives: let them use the
    // threads too (results do not depend on the thread count).
    options.step.threads = jobs;
    const std::vector<const ValidationRow*> rows =
        select_rows(rows_flag, tables_flag, include_slow || !rows_flag.empty());

    // --set: topology paths ("topology."-prefixed, or topology-only fields) edit the topology,
    // the rest the workload (as in step); they apply to every row, after the row's own
    // settings.
    options.workload_overrides = common.overrides();
    options.topology_overrides = take_topology_overrides(options.workload_overrides);

    const ValidationResult result =
        list_only ? study::list_validation(rows, options) : study::run_validation(rows, options);
    io.emit(common.json ? to_json(result)
                        : result_table(result, include_slow || !rows_flag.empty()));
    return 0;
}

}  // namespace stepsim::cli
