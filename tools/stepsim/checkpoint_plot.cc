// SPDX-License-Identifier: Apache-2.0
// File: checkpoint_plot.cc
// The SVG of goodput against interval (on svg_chart.h): the x axis is logarithmic when the
// intervals span more than a factor of 10, linear otherwise; its ticks are durations a person
// writes (5 min, 15 min, 1 h), all in one unit.
#include "checkpoint_plot.h"

#include "stepsim/report.h"
#include "stepsim/units.h"

#include "svg_chart.h"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <utility>

namespace stepsim::cli {

std::string goodput_plot_svg(const std::vector<RateStudy>& studies,
                             RunTime step_time,
                             const std::vector<SweepPoint>& optima) {
    const double step_s = to_seconds(step_time);
    double x_low = 1e300;
    double x_high = 0;
    double y_low = 1;
    double y_high = 0;
    for (const RateStudy& study : studies) {
        for (const SweepPoint& p : study.grid) {
            const double x = static_cast<double>(p.interval_steps) * step_s;
            x_low = std::min(x_low, x);
            x_high = std::max(x_high, x);
            y_low = std::min(y_low, p.summary.goodput.mean - p.summary.goodput.ci95);
            y_high = std::max(y_high, p.summary.goodput.mean + p.summary.goodput.ci95);
        }
    }
    if (x_high <= x_low) {
        x_low *= 0.5;
        x_high = x_high * 2 + 1;
    }
    y_low = std::max(0.0, y_low - 0.02);
    y_high = std::min(1.0, y_high + 0.02);
    if (y_high <= y_low) {
        y_high = y_low + 0.01;
    }
    const bool is_log = x_high / x_low > 10;
    // Widen the axis to a human tick just outside it (a 2 min to 59.85 min grid gets an axis
    // from 2 to 60 min), by at most 10% on a log axis, 5% of the span on a linear one.
    const double pad = is_log ? 0 : 0.05 * (x_high - x_low);
    const DurationTicks wide = duration_ticks(is_log ? x_low / 1.1 : x_low - pad,
                                              is_log ? x_high * 1.1 : x_high + pad, is_log, 8);
    if (!wide.values_s.empty() && wide.values_s.front() < x_low && wide.values_s.front() > 0) {
        x_low = wide.values_s.front();
    }
    if (!wide.values_s.empty() && wide.values_s.back() > x_high) {
        x_high = wide.values_s.back();
    }
    const DurationTicks ticks = duration_ticks(x_low, x_high, is_log, 8);
    ChartAxis x_axis;
    x_axis.low = x_low;
    x_axis.high = x_high;
    x_axis.is_log = is_log;
    x_axis.label = "checkpoint interval in " + ticks.unit + " (useful compute between checkpoints" +
                   (is_log ? "; log scale)" : ")");
    x_axis.tick_label = [ticks](double t) {
        return ticks.label(t);
    };
    x_axis.ticks = ticks.values_s;
    ChartAxis y_axis;
    y_axis.low = y_low;
    y_axis.high = y_high;
    y_axis.label = "goodput (useful compute / wall time)";
    SvgChart chart("Goodput against checkpoint interval, one curve per failure rate",
                   std::move(x_axis), std::move(y_axis));
    auto interval_s = [&](const SweepPoint& p) {
        return static_cast<double>(p.interval_steps) * step_s;
    };
    auto in_unit = [&](double seconds) {
        char text[48];
        std::snprintf(text, sizeof text, "%.3g %s", seconds / ticks.unit_s, ticks.unit.c_str());
        return std::string(text);
    };
    const auto num = svg_number;
    std::ostringstream& svg = chart.body();
    constexpr double kLegendLeft = SvgChart::legend_left();

    double legend_y = SvgChart::kTop + 10;
    for (std::size_t r = 0; r < studies.size(); ++r) {
        const RateStudy& study = studies[r];
        const std::string color = chart_color(r);
        std::vector<ChartPoint> upper;
        std::vector<ChartPoint> lower;
        std::vector<ChartPoint> line;
        for (std::size_t i = 0; i < study.grid.size(); ++i) {
            const SweepPoint& p = study.grid[i];
            const Estimate& g = p.summary.goodput;
            line.push_back({interval_s(p), g.mean});
            upper.push_back({interval_s(p), g.mean + g.ci95});
            const SweepPoint& q = study.grid[study.grid.size() - 1 - i];
            lower.push_back({interval_s(q), q.summary.goodput.mean - q.summary.goodput.ci95});
        }
        chart.band(upper, lower, color);
        chart.polyline(line, color, 2);
        // Young's and Daly's intervals, then the optimum on top of them.
        const double yx = chart.px(interval_s(study.young));
        const double yy = chart.py(study.young.summary.goodput.mean);
        svg << "<path class=\"young\" d=\"M" << num(yx) << ',' << num(yy - 7) << " L" << num(yx - 7)
            << ',' << num(yy + 5) << " L" << num(yx + 7) << ',' << num(yy + 5)
            << " Z\" fill=\"white\" stroke=\"" << color << "\" stroke-width=\"1.5\"><title>Young "
            << svg_escape(in_unit(interval_s(study.young))) << "</title></path>\n";
        const double dx = chart.px(interval_s(study.daly));
        const double dy = chart.py(study.daly.summary.goodput.mean);
        svg << "<rect class=\"daly\" x=\"" << num(dx - 5) << "\" y=\"" << num(dy - 5)
            << "\" width=\"10\" height=\"10\" fill=\"none\" stroke=\"" << color
            << "\" stroke-width=\"1.5\"><title>Daly " << svg_escape(in_unit(interval_s(study.daly)))
            << "</title></rect>\n";
        const SweepPoint& best = r < optima.size() ? optima[r] : study.grid[study.best];
        const double bx = chart.px(interval_s(best));
        const double by = chart.py(best.summary.goodput.mean);
        svg << "<line x1=\"" << num(bx) << "\" y1=\"" << num(by) << "\" x2=\"" << num(bx)
            << "\" y2=\"" << num(SvgChart::kTop + SvgChart::kPlotHeight) << "\" stroke=\"" << color
            << "\" stroke-dasharray=\"3 3\"/>\n"
            << "<circle class=\"optimum\" cx=\"" << num(bx) << "\" cy=\"" << num(by)
            << "\" r=\"4\" fill=\"" << color << "\" stroke=\"white\"><title>best "
            << svg_escape(in_unit(interval_s(best))) << "</title></circle>\n";
        chart.legend_line(legend_y, color, "MTBF " + format_duration(study.mtbf_s));
        svg << "<text class=\"optimum-label\" x=\"" << num(kLegendLeft + 46) << "\" y=\""
            << num(legend_y + 18) << "\" font-size=\"11\" fill=\"#555\">optimum "
            << svg_escape(in_unit(interval_s(best))) << "</text>\n";
        legend_y += 36;
    }
    const double ky = legend_y + 4;
    const double kx = kLegendLeft + 28;
    svg << "<circle cx=\"" << num(kx) << "\" cy=\"" << num(ky) << "\" r=\"4\" fill=\"#444\"/>"
        << "<text x=\"" << num(kx + 18) << "\" y=\"" << num(ky + 4) << "\">optimum</text>\n"
        << "<path d=\"M" << num(kx) << ',' << num(ky + 13) << " L" << num(kx - 7) << ','
        << num(ky + 25) << " L" << num(kx + 7) << ',' << num(ky + 25)
        << " Z\" fill=\"white\" stroke=\"#444\" stroke-width=\"1.5\"/><text x=\"" << num(kx + 18)
        << "\" y=\"" << num(ky + 24) << "\">Young's interval</text>\n"
        << "<rect x=\"" << num(kx - 5) << "\" y=\"" << num(ky + 35)
        << "\" width=\"10\" height=\"10\" fill=\"none\" stroke=\"#444\" "
           "stroke-width=\"1.5\"/><text x=\""
        << num(kx + 18) << "\" y=\"" << num(ky + 44) << "\">Daly's interval</text>\n"
        << "<rect x=\"" << num(kx - 12) << "\" y=\"" << num(ky + 55)
        << "\" width=\"24\" height=\"10\" fill=\"#444\" fill-opacity=\"0.15\"/><text x=\""
        << num(kx + 18) << "\" y=\"" << num(ky + 64) << "\">95% CI over seeds</text>\n";
    return chart.finish();
}

}  // namespace stepsim::cli
