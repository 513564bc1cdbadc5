// SPDX-License-Identifier: Apache-2.0
// File: whatif_command.cc
// `stepsim whatif --topology T --workload W [--scenario S] [--straggler SPEC]... [--seeds N]
// [--threads N] [--sweep factor=FROM:TO:STEP | --sweep count=FROM:TO[:STEP]] [--json]
// [--trace FILE] [--plot FILE.svg]`: the baseline step and a straggler scenario in one invocation,
// with the slowdown, breakdown delta, attribution, sweep curve and sensitivity ranking
// (docs/models/stragglers.md). `whatif --replay TRACE` replays a recorded timeline instead
// (replay_command.cc).
#include "stepsim/perturbed_step.h"
#include "stepsim/report.h"
#include "stepsim/results_json.h"
#include "stepsim/stragglers.h"
#include "stepsim/study/whatif.h"
#include "stepsim/topology.h"
#include "stepsim/training_step.h"
#include "stepsim/units.h"
#include "stepsim/workload.h"

#include "command.h"
#include "svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

namespace po = boost::program_options;

namespace stepsim::cli {

namespace {

/// A count that may exceed every integer type, as "%.4g" ("1e+12").
std::string count_text(double count) {
    char text[32];
    std::snprintf(text, sizeof text, "%.4g", count);
    return text;
}

StragglerSweep parse_sweep(const std::string& text) {
    const std::size_t eq = text.find('=');
    if (eq == std::string::npos) {
        throw UsageError("--sweep must be factor=FROM:TO:STEP or count=FROM:TO[:STEP], got \"" +
                         text + "\"");
    }
    const std::string kind = text.substr(0, eq);
    StragglerSweep sweep;
    if (kind == "factor") {
        sweep.kind = SweepKind::kFactor;
    } else if (kind == "count") {
        sweep.kind = SweepKind::kCount;
        sweep.step = 1;
    } else {
        throw UsageError("--sweep kind must be factor or count, got \"" + kind + "\"");
    }
    double values[3] = {0, 0, sweep.step};
    int n = 0;
    std::string rest = text.substr(eq + 1);
    std::size_t start = 0;
    while (n < 3) {
        const std::size_t colon = std::min(rest.find(':', start), rest.size());
        const std::string item = rest.substr(start, colon - start);
        char* end = nullptr;
        values[n] = std::strtod(item.c_str(), &end);
        if (item.empty() || *end != 0 || !std::isfinite(values[n])) {
            throw UsageError("--sweep \"" + text + "\": \"" + item + "\" is not a number");
        }
        ++n;
        if (colon == rest.size()) {
            break;
        }
        start = colon + 1;
    }
    if (n < 2 || (sweep.kind == SweepKind::kFactor && n < 3)) {
        throw UsageError("--sweep \"" + text + "\": expected " +
                         (sweep.kind == SweepKind::kFactor ? "FROM:TO:STEP" : "FROM:TO[:STEP]"));
    }
    sweep.from = values[0];
    sweep.to = values[1];
    sweep.step = values[2];
    try {
        (void)sweep.values();
    } catch (const UserError& e) {
        throw UsageError("--sweep \"" + text + "\": " + e.what());
    }
    return sweep;
}

std::string result_table(const std::string& topology_file,
                         const std::string& workload_file,
                         const Scenario& scenario,
                         const WhatIfResult& r) {
    std::ostringstream out;
    char line[256];
    out << "whatif: " << workload_file << " on " << topology_file << '\n';
    if (!scenario.description.empty()) {
        out << "scenario: " << scenario.description << '\n';
    }
    std::snprintf(line, sizeof line, "baseline step     %.6f s\n", r.baseline_step_time_s);
    out << line;
    if (r.scenario_step_time_s.count > 1) {
        std::snprintf(line, sizeof line,
                      "scenario step     mean %.6f s  p50 %.6f s  p99 %.6f s  (%lld seeds)\n",
                      r.scenario_step_time_s.mean, r.scenario_step_time_s.p50,
                      r.scenario_step_time_s.p99,
                      static_cast<long long>(r.scenario_step_time_s.count));
    } else {
        std::snprintf(line, sizeof line, "scenario step     %.6f s\n", r.scenario_step_time_s.mean);
    }
    out << line;
    std::snprintf(line, sizeof line, "slowdown          %.4fx%s\n", r.slowdown,
                  r.is_faster_than_baseline
                      ? "  (faster than the baseline: a scheduling anomaly of shared bandwidth)"
                      : "");
    out << line;
    out << "DP replicas simulated:";
    for (const int d : r.simulated_replicas) {
        out << ' ' << d;
    }
    out << "  (simulated on their own; every other replica folds into one of them)";
    out << "\n\nbreakdown (s, mean over GPUs)  compute recompute     tp     pp     dp   zero  "
           "bubble  other  waiting\n";
    const auto row = [&](const char* name, const StepBreakdown& b, double waiting) {
        std::snprintf(line, sizeof line,
                      "%-29s %8.4f %9.4f %6.4f %6.4f %6.4f %6.4f %7.4f %6.4f %8.4f\n", name,
                      b.compute_s, b.recompute_s, b.tp_s, b.pp_s, b.dp_s, b.zero_s, b.bubble_s,
                      b.other_idle_s, waiting);
        out << line;
    };
    row("baseline", r.baseline, r.baseline_waiting_s);
    row("scenario", r.scenario, r.scenario_waiting_s);
    row("delta", study::breakdown_delta(r.baseline, r.scenario),
        r.scenario_waiting_s - r.baseline_waiting_s);
    if (!r.attribution.empty()) {
        out << "\nattribution (each element alone)\n";
        for (const AttributionEntry& a : r.attribution) {
            std::snprintf(line, sizeof line, "  %-44s %10.6f s  %.4fx\n", a.element.c_str(),
                          a.step_time_s, a.slowdown);
            out << line;
        }
    }
    if (!r.sweep.empty()) {
        out << "\nsweep        value     mean (s)      p50 (s)      p99 (s)  slowdown\n";
        for (const SweepCurvePoint& p : r.sweep) {
            std::snprintf(line, sizeof line, "  %14.4g %12.6f %12.6f %12.6f  %.4fx\n", p.value,
                          p.step_time_s.mean, p.step_time_s.p50, p.step_time_s.p99, p.slowdown);
            out << line;
        }
    }
    if (!r.sensitivity.empty()) {
        out << "\nsensitivity: step growth per 1% slowdown of each element\n"
               "  element                      critical path   simulated (stages only)\n";
        for (const SensitivityEntry& s : r.sensitivity) {
            if (std::isfinite(s.simulated_s_per_percent)) {
                std::snprintf(line, sizeof line, "  %-28s %10.6f s   %10.6f s\n", s.element.c_str(),
                              s.critical_path_s_per_percent, s.simulated_s_per_percent);
            } else {
                std::snprintf(line, sizeof line, "  %-28s %10.6f s\n", s.element.c_str(),
                              s.critical_path_s_per_percent);
            }
            out << line;
        }
    }
    return out.str();
}

/// `--plot`: step time against the swept severity, the mean with its p50–p99 band across
/// seeds (when there are several), one marker per sweep value and the baseline dashed.
std::string sweep_plot_svg(const std::string& topology_file,
                           const std::string& workload_file,
                           const StragglerSweep& sweep,
                           const WhatIfResult& r) {
    double x_low = sweep.from;
    double x_high = sweep.from;
    double y_low = r.baseline_step_time_s;
    double y_high = r.baseline_step_time_s;
    bool has_band = false;
    for (const SweepCurvePoint& p : r.sweep) {
        x_low = std::min(x_low, p.value);
        x_high = std::max(x_high, p.value);
        y_low = std::min({y_low, p.step_time_s.mean, p.step_time_s.p50});
        y_high = std::max({y_high, p.step_time_s.mean, p.step_time_s.p99});
        has_band = has_band || p.step_time_s.count > 1;
    }
    if (x_high <= x_low) {
        x_low -= 0.5;
        x_high += 0.5;
    }
    const double y_pad = y_high > y_low ? 0.05 * (y_high - y_low) : 0.01 * std::abs(y_high) + 1e-9;
    y_low -= y_pad;
    y_high += y_pad;
    constexpr int kXTicks = 8;
    constexpr int kYTicks = 6;
    // One unit on the step-time axis: milliseconds below 1 s, else seconds.
    const bool is_ms = y_high < 1;
    const double y_unit = is_ms ? 1e-3 : 1;
    const std::string y_unit_name = is_ms ? "ms" : "s";
    const auto tick_step = [](double low, double high, int count) {
        const std::vector<double> ticks = nice_ticks(low, high, count);
        return ticks.size() > 1 ? ticks[1] - ticks[0] : high - low;
    };
    const double x_step = tick_step(x_low, x_high, kXTicks);
    const bool is_factor = sweep.kind == SweepKind::kFactor;
    ChartAxis x_axis;
    x_axis.low = x_low;
    x_axis.high = x_high;
    x_axis.tick_count = kXTicks;
    x_axis.label = is_factor
                       ? "slowdown factor of the selected elements (x their normal time; 1 = none)"
                       : "stragglers placed at random (count of slow GPUs)";
    x_axis.tick_label = [x_step](double t) {
        return tick_text(t, x_step);
    };
    // The y axis in the display unit: ticks at nice values of it.
    const std::vector<double> y_ticks_unit = nice_ticks(y_low / y_unit, y_high / y_unit, kYTicks);
    const double y_step =
        y_ticks_unit.size() > 1 ? y_ticks_unit[1] - y_ticks_unit[0] : (y_high - y_low) / y_unit;
    ChartAxis y_axis;
    y_axis.low = y_low;
    y_axis.high = y_high;
    y_axis.tick_count = kYTicks;
    y_axis.label = "step time (" + y_unit_name + ")";
    for (const double t : y_ticks_unit) {
        y_axis.ticks.push_back(t * y_unit);
    }
    y_axis.tick_label = [y_step, y_unit](double t) {
        return tick_text(t / y_unit, y_step);
    };
    SvgChart chart("Step time against straggler severity: " +
                       std::filesystem::path(workload_file).stem().string() + " on " +
                       std::filesystem::path(topology_file).stem().string(),
                   std::move(x_axis), std::move(y_axis));
    const std::string color = chart_color(0);
    const std::string baseline_color = "#444";
    const std::string dash = "6 4";
    std::int64_t seeds = 1;
    std::vector<ChartPoint> mean;
    std::vector<ChartPoint> p99;
    std::vector<ChartPoint> p50_reversed;
    for (const SweepCurvePoint& p : r.sweep) {
        mean.push_back({p.value, p.step_time_s.mean});
        p99.push_back({p.value, p.step_time_s.p99});
        seeds = std::max(seeds, p.step_time_s.count);
    }
    for (auto p = r.sweep.rbegin(); p != r.sweep.rend(); ++p) {
        p50_reversed.push_back({p->value, p->step_time_s.p50});
    }
    if (has_band) {
        chart.band(p99, p50_reversed, color);
    }
    chart.polyline({{x_low, r.baseline_step_time_s}, {x_high, r.baseline_step_time_s}},
                   baseline_color, 1.5, dash);
    chart.polyline(mean, color, 2);
    std::ostringstream& svg = chart.body();
    char title[160];
    for (const SweepCurvePoint& p : r.sweep) {
        if (has_band) {
            std::snprintf(title, sizeof title,
                          "%s %g: mean %.6f s, p50 %.6f s, p99 %.6f s, %.4fx the baseline",
                          is_factor ? "factor" : "count", p.value, p.step_time_s.mean,
                          p.step_time_s.p50, p.step_time_s.p99, p.slowdown);
        } else {
            std::snprintf(title, sizeof title, "%s %g: %.6f s, %.4fx the baseline",
                          is_factor ? "factor" : "count", p.value, p.step_time_s.mean, p.slowdown);
        }
        svg << "<circle class=\"point\" cx=\"" << svg_number(chart.px(p.value)) << "\" cy=\""
            << svg_number(chart.py(p.step_time_s.mean)) << "\" r=\"4\" fill=\"" << color
            << "\"><title>" << svg_escape(title) << "</title></circle>\n";
    }
    // The legend: every mark on the chart, with what it is.
    const double text_x = SvgChart::legend_left() + 46;
    const auto note = [&](double y, const std::string& text) {
        svg << "<text class=\"legend-note\" x=\"" << svg_number(text_x) << "\" y=\""
            << svg_number(y) << "\" font-size=\"11\" fill=\"#555\">" << svg_escape(text)
            << "</text>\n";
    };
    double legend_y = SvgChart::kTop + 10;
    chart.legend_line(legend_y, color, has_band ? "mean step time" : "step time");
    svg << "<circle cx=\"" << svg_number(SvgChart::legend_left() + 28) << "\" cy=\""
        << svg_number(legend_y) << "\" r=\"4\" fill=\"" << color << "\"/>\n";
    note(legend_y + 16, has_band ? "dot: a sweep value, mean" : "dot: a sweep value");
    if (has_band) {
        note(legend_y + 30, "over " + std::to_string(seeds) + " seeds");
        legend_y += 52;
        svg << "<rect x=\"" << svg_number(SvgChart::legend_left() + 16) << "\" y=\""
            << svg_number(legend_y - 6) << "\" width=\"24\" height=\"12\" fill=\"" << color
            << "\" fill-opacity=\"0.15\"/>\n<text x=\"" << svg_number(text_x) << "\" y=\""
            << svg_number(legend_y + 4) << "\">p50 to p99 band</text>\n";
        note(legend_y + 20, "median to 99th percentile");
        note(legend_y + 34, "of the " + std::to_string(seeds) + " seeds");
        legend_y += 56;
    } else {
        legend_y += 38;
    }
    chart.legend_line(legend_y, baseline_color, "baseline", dash);
    char baseline[64];
    std::snprintf(baseline, sizeof baseline, "no straggler: %.4g %s",
                  r.baseline_step_time_s / y_unit, y_unit_name.c_str());
    note(legend_y + 16, baseline);
    return chart.finish();
}
}  // namespace

int whatif_command(const std::vector<std::string>& args, CommandIo& io) {
    // A recorded timeline instead of a simulated scenario: replay_command.cc.
    for (const std::string& arg : args) {
        if (arg == "--replay" || arg.rfind("--replay=", 0) == 0) {
            return replay_trace_command(args, io);
        }
    }
    CommonOptions common;
    std::string topology_file;
    std::string workload_file;
    std::string scenario_file;
    std::vector<std::string> stragglers;
    std::string trace_file;
    std::string plot_file;
    std::string sweep_text;
    std::string fidelity = "fast";
    std::string network = "fair_share";
    std::int64_t seeds = 1;
    std::int64_t max_runs = 100'000;
    int threads = 2;
    std::uint64_t seed = 0;
    bool no_attribution = false;
    bool no_sensitivity = false;
    bool allow_oom = false;
    po::options_description description("stepsim whatif options");
    description.add_options()("topology", po::value<std::string>(&topology_file)->required(),
                              "cluster topology spec (.textproto)")(
        "workload", po::value<std::string>(&workload_file)->required(),
        "workload spec (.textproto)")("scenario", po::value<std::string>(&scenario_file),
                                      "straggler scenario spec (workloads/scenario.proto)")(
        "straggler", po::value<std::vector<std::string>>(&stragglers),
        "a slowdown, e.g. rank=17:compute=1.3 (repeatable; added to --scenario)")(
        "seeds", po::value<std::int64_t>(&seeds), "runs of a stochastic scenario (default 1)")(
        "max-runs", po::value<std::int64_t>(&max_runs),
        "limit on the scenario step simulations, seeds x sweep points (default 100000)")(
        "seed", po::value<std::uint64_t>(&seed), "base seed (default: the scenario's, else 1)")(
        "threads", po::value<int>(&threads), "worker threads (default 2; results do not depend)")(
        "sweep", po::value<std::string>(&sweep_text),
        "factor=FROM:TO:STEP or count=FROM:TO[:STEP]")(
        "trace", po::value<std::string>(&trace_file),
        "write the first scenario run as Chrome trace-event JSON to FILE")(
        "plot", po::value<std::string>(&plot_file),
        "with --sweep: write an SVG plot of step time against the swept severity to FILE")(
        "fidelity", po::value<std::string>(&fidelity), "fast (default) or full")(
        "network", po::value<std::string>(&network), "fair_share (default) or alpha_beta")(
        "no-attribution", po::bool_switch(&no_attribution), "skip the attribution runs")(
        "no-sensitivity", po::bool_switch(&no_sensitivity), "skip the sensitivity ranking")(
        "allow-oom", po::bool_switch(&allow_oom), "simulate even when the model does not fit");
    add_common_options(description, common);
    if (!parse_command_line(args, description, {}, common, io,
                            "stepsim whatif --topology FILE --workload FILE [--scenario FILE] "
                            "[--straggler SPEC]... [--seeds N] [--sweep KIND=FROM:TO:STEP] "
                            "[--json] [--trace FILE] [--plot FILE.svg]\n"
                            "   or: stepsim whatif --replay TRACE [--meta META.yaml] ... (a "
                            "recorded timeline; stepsim whatif --replay X --help)")) {
        return 0;
    }
    StepOptions step_options;
    step_options.fidelity = parse_fidelity_flag(fidelity);
    step_options.network = parse_network_flag(network);
    if (seeds < 1) {
        throw UsageError("--seeds must be >= 1");
    }
    if (threads < 1) {
        throw UsageError("--threads must be >= 1");
    }
    WhatIfOptions options;
    options.seeds = seeds;
    options.threads = threads;
    options.has_attribution = !no_attribution;
    options.has_sensitivity = !no_sensitivity;
    if (!sweep_text.empty()) {
        options.sweep = parse_sweep(sweep_text);
    }
    if (!plot_file.empty() && !options.sweep) {
        throw UsageError("--plot needs --sweep: it plots step time against the swept severity");
    }
    if (max_runs < 1) {
        throw UsageError("--max-runs must be >= 1");
    }
    // Each run is a whole step simulation: refuse a count typed with digits too many up front.
    const double runs =
        static_cast<double>(seeds) *
        static_cast<double>(options.sweep ? std::max<std::size_t>(1, options.sweep->values().size())
                                          : 1);
    if (runs > static_cast<double>(max_runs)) {
        throw UsageError("--seeds " + std::to_string(seeds) +
                         (options.sweep ? " over the sweep's points" : std::string()) + " is " +
                         count_text(runs) + " step simulations, more than the limit of " +
                         std::to_string(max_runs) + " (--max-runs; raise it with --max-runs N)");
    }
    if (scenario_file.empty() && stragglers.empty() && !options.sweep) {
        throw UsageError("give --scenario FILE, --straggler SPEC or --sweep");
    }

    std::vector<SpecOverride> workload_overrides = common.overrides();
    const std::vector<SpecOverride> topology_overrides =
        take_topology_overrides(workload_overrides);
    const std::vector<SpecOverride> scenario_overrides =
        take_prefixed_overrides(workload_overrides, "scenario.");
    Topology topology = load_topology_file(topology_file, topology_overrides);
    const TrainingJob job = load_workload_file(workload_file, workload_overrides);
    Scenario scenario;
    if (!scenario_file.empty()) {
        scenario = load_scenario_file(scenario_file, topology, job, scenario_overrides);
    }
    for (const std::string& flag : stragglers) {
        scenario.slowdowns.push_back(parse_straggler_flag(flag, topology, job));
    }
    if (seed != 0) {
        scenario.seed = seed;
    }
    study::WhatIfStudyOptions study_options;
    study_options.step = step_options;
    study_options.whatif = options;
    study_options.allows_oom = allow_oom;
    study_options.topology_file = topology_file;
    study_options.workload_file = workload_file;
    const study::WhatIfStudyResult study_result =
        study::run_whatif_study(job, topology, scenario, study_options);
    const WhatIfResult& result = study_result.whatif;
    if (!trace_file.empty()) {
        LinkEdits edits(topology, scenario.slowdowns);
        StepOptions traced = step_options;
        traced.keeps_timeline = true;
        const PerturbedStepResult run = simulate_perturbed_step(
            job, topology, traced,
            make_perturbation(scenario, job, topology, run_seed(scenario.seed, 0)));
        write_file_atomically(trace_file, to_chrome_trace_json(topology, run.step.timeline));
    }
    if (!plot_file.empty()) {
        write_file_atomically(plot_file,
                              sweep_plot_svg(topology_file, workload_file, *options.sweep, result));
    }
    io.emit(common.json ? to_json(study_result)
                        : result_table(topology_file, workload_file, scenario, result));
    return 0;
}

}  // namespace stepsim::cli
