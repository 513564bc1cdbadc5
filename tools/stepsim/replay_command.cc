// SPDX-License-Identifier: Apache-2.0
// File: replay_command.cc
// `stepsim whatif --replay TRACE [--meta META.yaml] [--json] [--plot heatmap.svg]
// [--trace ideal.json] [--compute-ideal mean|median] [--no-attribution] [--max-events N]`:
// the straggler what-if of a recorded timeline (docs/models/stragglers.md, "Trace replay"):
// replay_trace(), then a table or sim/report/replay_json.cc, the heatmap SVG and the ideal
// step's Chrome trace (sim/report/chrome_trace_json.cc).
#include "stepsim/report.h"
#include "stepsim/results_json.h"
#include "stepsim/trace.h"

#include "command.h"
#include "svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <utility>

namespace po = boost::program_options;

namespace stepsim::cli {

namespace {

constexpr std::size_t kTableRows = 5;

std::string result_table(const std::string& trace_file,
                         const ReplayResult& r,
                         std::int64_t clamped_durations) {
    std::ostringstream out;
    char line[1024];
    out << "whatif --replay: " << trace_file << " (" << r.format << " timeline, " << r.workers
        << " workers, " << r.stages << " stages, " << r.steps.size() << " steps, " << r.ops
        << " ops)\n";
    std::snprintf(line, sizeof line,
                  "recorded step     %.6f s (mean)\n"
                  "replayed step     %.6f s   replay error mean %.2f%%, max %.2f%% per step\n"
                  "ideal step        %.6f s\n"
                  "slowdown S        %.4fx\n"
                  "M_S               %.3f   (stage-partition imbalance: share of the slowdown "
                  "left with compute idealised per stage, %.6f s)\n"
                  "M_W               %.3f   (%s: share one worker adds on top of the "
                  "stage-ideal step)\n",
                  r.recorded_step_time_s, r.replayed_step_time_s, 100 * r.replay_error,
                  100 * r.max_replay_error, r.ideal_step_time_s, r.slowdown, r.m_s,
                  r.stage_ideal_step_time_s, r.m_w, r.m_w_worker.c_str());
    out << line;
    if (clamped_durations > 0) {
        out << "note: " << clamped_durations
            << " recorded durations were slightly negative (clock skew) and read as 0\n";
    }
    const auto section = [&](const char* title, const std::vector<ReplayAttribution>& list,
                             std::size_t rows) {
        if (list.empty()) {
            return;
        }
        out << '\n' << title << " (kept at recorded durations, the rest ideal)\n";
        for (std::size_t i = 0; i < std::min(rows, list.size()); ++i) {
            const ReplayAttribution& a = list[i];
            std::snprintf(line, sizeof line, "  %-30s %10.6f s  %.4fx  explains %5.1f%%\n",
                          a.group.c_str(), a.step_time_s, a.slowdown, 100 * a.explained_fraction);
            out << line;
        }
        if (list.size() > rows) {
            out << "  ... " << list.size() - rows << " more (--json lists all)\n";
        }
    };
    if (!r.compute_variation.empty()) {
        out << "\ncompute variation (op type, stage: mean, CV, share of the variance between "
               "workers)\n";
        for (const ComputeVariation& v : r.compute_variation) {
            if (v.mean_s < 1e-4 * r.ideal_step_time_s) {
                continue;  // negligible ops (gc)
            }
            std::snprintf(line, sizeof line, "  %-24s stage %-3d %10.6f s  CV %.3f  between %.2f\n",
                          v.op_type.c_str(), v.stage, v.mean_s, v.cv, v.between_worker_fraction);
            out << line;
        }
    }
    section("by op type", r.by_op_type, kTableRows * 3);
    section("by stage", r.by_stage, kTableRows * 2);
    section("by worker", r.by_worker, kTableRows);
    return out.str();
}

/// Per-worker heatmap: a row per worker, a column per step, each cell the worker's compute
/// time in the step relative to the median over workers of that step (white 1.0, red >= 1.3,
/// blue <= 0.7), with labelled axes and the colour scale as a gradient bar with its values.
std::string heatmap_svg(const std::string& trace_file, const ReplayResult& r) {
    const std::size_t rows = r.worker_compute_s.size();
    const std::size_t columns = r.steps.size();
    const double cell_w = std::max(4.0, std::min(24.0, 720.0 / static_cast<double>(columns)));
    const double cell_h = std::max(3.0, std::min(18.0, 900.0 / static_cast<double>(rows)));
    const double left = 130;
    const double top = 64;
    const double grid_w = cell_w * static_cast<double>(columns);
    const double grid_h = cell_h * static_cast<double>(rows);
    // The colour scale: a vertical bar right of the cells, its values to its right.
    const double bar_x = left + grid_w + 36;
    const double bar_w = 14;
    const double bar_h = std::max(140.0, std::min(grid_h, 260.0));
    const double bar_y = top + 14;
    // Wide enough for the title (about 7 px per character at 14 px) and for the cells.
    const std::string title =
        "Compute time per worker and step, relative to the step's median "
        "worker: " +
        std::filesystem::path(trace_file).filename().string();
    const double width =
        std::max(bar_x + bar_w + 150, 20 + 7.5 * static_cast<double>(title.size()));
    const double height = top + std::max(grid_h, bar_h + 14) + 52;
    std::ostringstream svg;
    svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << svg_number(width)
        << "\" height=\"" << svg_number(height) << "\" font-family=\"sans-serif\" "
        << "font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        << "<text x=\"10\" y=\"20\" font-size=\"14\">" << svg_escape(title)
        << "</text>\n<text x=\"10\" y=\"38\">each cell: the worker's compute time in the step "
           "/ the median worker's compute time in that step</text>\n";
    for (std::size_t c = 0; c < columns; ++c) {
        std::vector<double> column;
        for (std::size_t w = 0; w < rows; ++w) {
            column.push_back(r.worker_compute_s[w][c]);
        }
        std::nth_element(column.begin(), column.begin() + static_cast<std::ptrdiff_t>(rows / 2),
                         column.end());
        const double median = column[rows / 2];
        for (std::size_t w = 0; w < rows; ++w) {
            const double ratio = median > 0 ? r.worker_compute_s[w][c] / median : 1.0;
            const double t = std::clamp((ratio - 1.0) / 0.3, -1.0, 1.0);
            const int fade = static_cast<int>(std::lround(255 * (1 - std::abs(t))));
            char color[16];
            std::snprintf(color, sizeof color, "#%02x%02x%02x", t > 0 ? 255 : fade, fade,
                          t < 0 ? 255 : fade);
            char title[160];
            std::snprintf(title, sizeof title, "%s, step %lld: %.6f s compute, %.3fx the median",
                          r.worker_names[w].c_str(), static_cast<long long>(r.steps[c].step),
                          r.worker_compute_s[w][c], ratio);
            svg << "<rect x=\"" << svg_number(left + cell_w * static_cast<double>(c)) << "\" y=\""
                << svg_number(top + cell_h * static_cast<double>(w)) << "\" width=\""
                << svg_number(cell_w) << "\" height=\"" << svg_number(cell_h) << "\" fill=\""
                << color << "\"><title>" << svg_escape(title) << "</title></rect>\n";
        }
    }
    svg << "<rect class=\"frame\" x=\"" << svg_number(left) << "\" y=\"" << svg_number(top)
        << "\" width=\"" << svg_number(grid_w) << "\" height=\"" << svg_number(grid_h)
        << "\" fill=\"none\" stroke=\"#888\"/>\n";
    // The y axis: worker names (every few rows when the rows are thin) and its title.
    const std::size_t label_every =
        std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(11.0 / cell_h)));
    for (std::size_t w = 0; w < rows; w += label_every) {
        svg << "<text x=\"" << svg_number(left - 4) << "\" y=\""
            << svg_number(top + cell_h * (static_cast<double>(w) + 0.8))
            << "\" text-anchor=\"end\">" << svg_escape(r.worker_names[w]) << "</text>\n";
    }
    svg << "<text transform=\"translate(16," << svg_number(top + grid_h / 2)
        << ") rotate(-90)\" text-anchor=\"middle\">worker</text>\n";
    // The x axis: the recorded step numbers, far enough apart for the longest (about 6.5 px
    // per digit at 11 px), and its title.
    std::size_t digits = 1;
    for (const ReplayStep& step : r.steps) {
        digits = std::max(digits, std::to_string(step.step).size());
    }
    const double label_gap = 6.5 * static_cast<double>(digits) + 8;
    std::size_t step_every = 1;
    for (const std::size_t k : {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000}) {
        step_every = k;
        if (cell_w * static_cast<double>(k) >= label_gap) {
            break;
        }
    }
    const double axis_y = top + grid_h;
    for (std::size_t c = 0; c < columns; c += step_every) {
        const double x = left + cell_w * (static_cast<double>(c) + 0.5);
        svg << "<line x1=\"" << svg_number(x) << "\" y1=\"" << svg_number(axis_y) << "\" x2=\""
            << svg_number(x) << "\" y2=\"" << svg_number(axis_y + 4) << "\" stroke=\"#888\"/>"
            << "<text class=\"step-tick\" x=\"" << svg_number(x) << "\" y=\""
            << svg_number(axis_y + 16) << "\" text-anchor=\"middle\">" << r.steps[c].step
            << "</text>\n";
    }
    svg << "<text x=\"" << svg_number(left + grid_w / 2) << "\" y=\"" << svg_number(axis_y + 36)
        << "\" text-anchor=\"middle\">recorded step number (" << columns
        << " steps in the trace, in order)</text>\n";
    // The colour scale: blue (0.7x or faster) through white (the median) to red (1.3x or
    // slower), linear in between as the cells are.
    svg << "<defs><linearGradient id=\"ratio-scale\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">"
        << "<stop offset=\"0\" stop-color=\"#0000ff\"/><stop offset=\"0.5\" "
           "stop-color=\"#ffffff\"/><stop offset=\"1\" stop-color=\"#ff0000\"/>"
           "</linearGradient></defs>\n"
        << "<text x=\"" << svg_number(bar_x - 6) << "\" y=\"" << svg_number(top + 2)
        << "\">compute time / median</text>\n"
        << "<rect class=\"scale\" x=\"" << svg_number(bar_x) << "\" y=\"" << svg_number(bar_y)
        << "\" width=\"" << svg_number(bar_w) << "\" height=\"" << svg_number(bar_h)
        << "\" fill=\"url(#ratio-scale)\" stroke=\"#888\"/>\n";
    const std::pair<double, const char*> scale_ticks[] = {{1.3, "1.3x or slower"},
                                                          {1.15, "1.15x"},
                                                          {1.0, "1x (the median)"},
                                                          {0.85, "0.85x"},
                                                          {0.7, "0.7x or faster"}};
    for (const auto& [ratio, label] : scale_ticks) {
        const double y = bar_y + bar_h * (1.3 - ratio) / 0.6;
        svg << "<line x1=\"" << svg_number(bar_x + bar_w) << "\" y1=\"" << svg_number(y)
            << "\" x2=\"" << svg_number(bar_x + bar_w + 4) << "\" y2=\"" << svg_number(y)
            << "\" stroke=\"#444\"/><text class=\"scale-tick\" x=\""
            << svg_number(bar_x + bar_w + 7) << "\" y=\"" << svg_number(y + 4) << "\">" << label
            << "</text>\n";
    }
    svg << "</svg>\n";
    return svg.str();
}

}  // namespace

int replay_trace_command(const std::vector<std::string>& args, CommandIo& io) {
    CommonOptions common;
    std::string trace_file;
    std::string meta_file;
    std::string plot_file;
    std::string ideal_trace_file;
    std::string compute_ideal = "mean";
    std::int64_t max_events = TraceLimits{}.max_events;
    std::int64_t max_json_bytes = TraceLimits{}.max_json_bytes;
    std::int64_t max_ranks = ReplayOptions{}.max_ranks;
    bool no_attribution = false;
    po::options_description description("stepsim whatif --replay options");
    description.add_options()("replay", po::value<std::string>(&trace_file)->required(),
                              "recorded timeline: Chrome trace-event JSON, plain or gzip")(
        "meta", po::value<std::string>(&meta_file),
        "the job's meta YAML (dp_size, pp_size, tp_size)")(
        "plot", po::value<std::string>(&plot_file),
        "write a per-worker compute-time heatmap (SVG) to FILE")(
        "trace", po::value<std::string>(&ideal_trace_file),
        "write the idealised first step as a Chrome trace-event JSON to FILE")(
        "compute-ideal", po::value<std::string>(&compute_ideal),
        "mean (default, as Lin et al.) or median of each compute op type")(
        "no-attribution", po::bool_switch(&no_attribution), "skip the attribution runs")(
        "max-events", po::value<std::int64_t>(&max_events),
        "refuse traces with more events (default 50000000)")(
        "max-json-bytes", po::value<std::int64_t>(&max_json_bytes),
        "refuse traces with more bytes of JSON, after gzip (default 8589934592)")(
        "max-ranks", po::value<std::int64_t>(&max_ranks),
        "refuse ranks, stages or workers at or past this (default 1048576)");
    add_common_options(description, common);
    if (!parse_command_line(args, description, {}, common, io,
                            "stepsim whatif --replay TRACE [--meta META.yaml] [--json] "
                            "[--plot heatmap.svg] [--trace ideal.json] "
                            "[--compute-ideal mean|median]")) {
        return 0;
    }
    if (!common.set.empty()) {
        throw UsageError("--set does not apply to --replay");
    }
    if (max_events < 1 || max_json_bytes < 1 || max_ranks < 1) {
        throw UsageError("--max-events, --max-json-bytes and --max-ranks must be >= 1");
    }
    ReplayOptions options;
    if (compute_ideal == "mean") {
        options.compute_ideal = ComputeIdeal::kMean;
    } else if (compute_ideal == "median") {
        options.compute_ideal = ComputeIdeal::kMedian;
    } else {
        throw UsageError("--compute-ideal must be \"mean\" or \"median\", got \"" + compute_ideal +
                         "\"");
    }
    options.has_attribution = !no_attribution;
    options.max_ranks = max_ranks;
    TraceLimits limits;
    limits.max_events = max_events;
    limits.max_json_bytes = max_json_bytes;
    std::optional<TraceMeta> meta;
    if (!meta_file.empty()) {
        meta = load_trace_meta(meta_file);
    }
    const Trace trace = load_trace_file(trace_file, limits);
    const ReplayResult result = replay_trace(trace, meta ? &*meta : nullptr, options);
    if (!plot_file.empty()) {
        write_file_atomically(plot_file, heatmap_svg(trace_file, result));
    }
    if (!ideal_trace_file.empty()) {
        write_file_atomically(ideal_trace_file, to_chrome_trace_json(result));
    }
    io.emit(common.json ? to_json(result, trace_file, trace.clamped_durations)
                        : result_table(trace_file, result, trace.clamped_durations));
    return 0;
}

}  // namespace stepsim::cli
