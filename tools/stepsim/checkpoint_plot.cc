// SPDX-License-Identifier: Apache-2.0
// File: checkpoint_plot.cc
// The SVG of goodput against interval (on svg_chart.h): the x axis is logarithmic when the
// intervals span more than a factor of 10, linear otherwise.
#include "checkpoint_plot.h"

#include "stepsim/report.h"
#include "stepsim/units.h"

#include "svg_chart.h"

#include <algorithm>
#include <sstream>
#include <utility>

namespace stepsim::cli {

std::string goodput_plot_svg(const std::vector<RateStudy>& studies, RunTime step_time) {
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
    ChartAxis x_axis{x_low,
                     x_high,
                     is_log,
                     8,
                     std::string("checkpoint interval (useful compute between checkpoints") +
                         (is_log ? ", log scale" : "") + ")",
                     [](double t) {
                         return format_duration(t);
                     }};
    ChartAxis y_axis{y_low, y_high, false, 6, "goodput (useful / wall time)", svg_number};
    SvgChart chart("Goodput against checkpoint interval (mean and 95% CI over seeds)",
                   std::move(x_axis), std::move(y_axis));
    auto interval_s = [&](const SweepPoint& p) {
        return static_cast<double>(p.interval_steps) * step_s;
    };
    const auto num = svg_number;
    std::ostringstream& svg = chart.body();
    constexpr double kLegendLeft = SvgChart::legend_left();

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
        const SweepPoint& best = study.grid[study.best];
        const double bx = chart.px(interval_s(best));
        const double by = chart.py(best.summary.goodput.mean);
        svg << "<circle cx=\"" << num(bx) << "\" cy=\"" << num(by) << "\" r=\"5\" fill=\"" << color
            << "\"><title>best " << svg_escape(format_duration(interval_s(best)))
            << "</title></circle>\n";
        const double yx = chart.px(interval_s(study.young));
        const double yy = chart.py(study.young.summary.goodput.mean);
        svg << "<path d=\"M" << num(yx) << ',' << num(yy - 6) << " L" << num(yx - 6) << ','
            << num(yy + 5) << " L" << num(yx + 6) << ',' << num(yy + 5)
            << " Z\" fill=\"white\" stroke=\"" << color << "\" stroke-width=\"1.5\"/>\n";
        const double dx = chart.px(interval_s(study.daly));
        const double dy = chart.py(study.daly.summary.goodput.mean);
        svg << "<rect x=\"" << num(dx - 4.5) << "\" y=\"" << num(dy - 4.5)
            << "\" width=\"9\" height=\"9\" fill=\"none\" stroke=\"" << color
            << "\" stroke-width=\"1.5\"/>\n";
        chart.legend_line(SvgChart::kTop + 10 + 20.0 * static_cast<double>(r), color,
                          "MTBF " + format_duration(study.mtbf_s));
    }
    const double ky = SvgChart::kTop + 30 + 20.0 * static_cast<double>(studies.size());
    const double kx = kLegendLeft + 28;
    svg << "<circle cx=\"" << num(kx) << "\" cy=\"" << num(ky) << "\" r=\"5\" fill=\"#444\"/>"
        << "<text x=\"" << num(kx + 18) << "\" y=\"" << num(ky + 4) << "\">simulated best</text>\n"
        << "<path d=\"M" << num(kx) << ',' << num(ky + 14) << " L" << num(kx - 6) << ','
        << num(ky + 25) << " L" << num(kx + 6) << ',' << num(ky + 25)
        << " Z\" fill=\"white\" stroke=\"#444\"/><text x=\"" << num(kx + 18) << "\" y=\""
        << num(ky + 24) << "\">Young</text>\n"
        << "<rect x=\"" << num(kx - 4.5) << "\" y=\"" << num(ky + 35.5)
        << "\" width=\"9\" height=\"9\" fill=\"none\" stroke=\"#444\"/><text x=\"" << num(kx + 18)
        << "\" y=\"" << num(ky + 44) << "\">Daly</text>\n";
    return chart.finish();
}

}  // namespace stepsim::cli
