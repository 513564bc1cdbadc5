// SPDX-License-Identifier: Apache-2.0
// File: checkpoint_plot.cc
// The SVG of goodput against interval, written by hand: the x axis is logarithmic when the
// intervals span more than a factor of 10, linear otherwise; ticks at "nice" values.
#include "checkpoint_plot.h"

#include "stepsim/report.h"
#include "stepsim/units.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace stepsim::cli {

namespace {

constexpr double kWidth = 880;
constexpr double kHeight = 540;
constexpr double kLeft = 80;
constexpr double kRight = 200;  // room for the legend
constexpr double kTop = 40;
constexpr double kBottom = 60;
constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                   "#ff7f0e", "#17becf", "#8c564b", "#e377c2"};

std::string num(double x) {
    char text[32];
    std::snprintf(text, sizeof text, "%.2f", x);
    return text;
}

std::string escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '&':
                out += "&amp;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

// 1, 2, 5 × 10^k steps covering [low, high] with about `count` ticks.
std::vector<double> nice_ticks(double low, double high, int count) {
    const double raw = (high - low) / count;
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    double step = magnitude;
    for (double factor : {1.0, 2.0, 5.0, 10.0}) {
        step = factor * magnitude;
        if (step >= raw) {
            break;
        }
    }
    std::vector<double> ticks;
    for (double t = std::ceil(low / step) * step; t <= high + step * 1e-9; t += step) {
        ticks.push_back(t);
    }
    return ticks;
}

}  // namespace

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
    const double plot_w = kWidth - kLeft - kRight;
    const double plot_h = kHeight - kTop - kBottom;
    auto px = [&](double x_s) {
        x_s = std::clamp(x_s, x_low, x_high);
        const double f = is_log ? std::log(x_s / x_low) / std::log(x_high / x_low)
                                : (x_s - x_low) / (x_high - x_low);
        return kLeft + f * plot_w;
    };
    auto py = [&](double y) {
        return kTop + (1 - (y - y_low) / (y_high - y_low)) * plot_h;
    };

    std::ostringstream svg;
    svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\""
        << kHeight << "\" viewBox=\"0 0 " << kWidth << ' ' << kHeight
        << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
        << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        << "<text x=\"" << kLeft
        << "\" y=\"24\" font-size=\"15\">Goodput against checkpoint "
           "interval (mean and 95% CI over seeds)</text>\n";
    // Axes and ticks.
    svg << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << plot_w << "\" height=\""
        << plot_h << "\" fill=\"none\" stroke=\"#444\"/>\n";
    std::vector<double> x_ticks;
    if (is_log) {
        for (double decade = std::pow(10.0, std::floor(std::log10(x_low)));
             decade <= x_high * 1.0001; decade *= 10) {
            for (double m : {1.0, 2.0, 5.0}) {
                if (m * decade >= x_low * 0.9999 && m * decade <= x_high * 1.0001) {
                    x_ticks.push_back(m * decade);
                }
            }
        }
    } else {
        x_ticks = nice_ticks(x_low, x_high, 8);
    }
    for (double t : x_ticks) {
        svg << "<line x1=\"" << num(px(t)) << "\" y1=\"" << num(kTop + plot_h) << "\" x2=\""
            << num(px(t)) << "\" y2=\"" << num(kTop) << "\" stroke=\"#ddd\"/>\n"
            << "<text x=\"" << num(px(t)) << "\" y=\"" << num(kTop + plot_h + 16)
            << "\" text-anchor=\"middle\">" << escape(format_duration(t)) << "</text>\n";
    }
    for (double t : nice_ticks(y_low, y_high, 6)) {
        svg << "<line x1=\"" << num(kLeft) << "\" y1=\"" << num(py(t)) << "\" x2=\""
            << num(kLeft + plot_w) << "\" y2=\"" << num(py(t)) << "\" stroke=\"#ddd\"/>\n"
            << "<text x=\"" << num(kLeft - 6) << "\" y=\"" << num(py(t) + 4)
            << "\" text-anchor=\"end\">" << num(t) << "</text>\n";
    }
    svg << "<text x=\"" << num(kLeft + plot_w / 2) << "\" y=\"" << num(kHeight - 16)
        << "\" text-anchor=\"middle\">checkpoint interval (useful compute between checkpoints"
        << (is_log ? ", log scale" : "") << ")</text>\n"
        << "<text transform=\"translate(20," << num(kTop + plot_h / 2)
        << ") rotate(-90)\" text-anchor=\"middle\">goodput (useful / wall time)</text>\n";

    for (std::size_t r = 0; r < studies.size(); ++r) {
        const RateStudy& study = studies[r];
        const std::string color = kColors[r % (sizeof kColors / sizeof kColors[0])];
        std::ostringstream upper;
        std::ostringstream lower;
        std::ostringstream line;
        for (std::size_t i = 0; i < study.grid.size(); ++i) {
            const SweepPoint& p = study.grid[i];
            const double x = px(static_cast<double>(p.interval_steps) * step_s);
            const Estimate& g = p.summary.goodput;
            line << (i ? " " : "") << num(x) << ',' << num(py(g.mean));
            upper << (i ? " " : "") << num(x) << ',' << num(py(g.mean + g.ci95));
            const SweepPoint& q = study.grid[study.grid.size() - 1 - i];
            lower << ' ' << num(px(static_cast<double>(q.interval_steps) * step_s)) << ','
                  << num(py(q.summary.goodput.mean - q.summary.goodput.ci95));
        }
        svg << "<polygon points=\"" << upper.str() << lower.str() << "\" fill=\"" << color
            << "\" fill-opacity=\"0.15\" stroke=\"none\"/>\n"
            << "<polyline points=\"" << line.str() << "\" fill=\"none\" stroke=\"" << color
            << "\" stroke-width=\"2\"/>\n";
        const SweepPoint& best = study.grid[study.best];
        const double bx = px(static_cast<double>(best.interval_steps) * step_s);
        const double by = py(best.summary.goodput.mean);
        svg << "<circle cx=\"" << num(bx) << "\" cy=\"" << num(by) << "\" r=\"5\" fill=\"" << color
            << "\"><title>best "
            << escape(format_duration(static_cast<double>(best.interval_steps) * step_s))
            << "</title></circle>\n";
        const double yx = px(static_cast<double>(study.young.interval_steps) * step_s);
        const double yy = py(study.young.summary.goodput.mean);
        svg << "<path d=\"M" << num(yx) << ',' << num(yy - 6) << " L" << num(yx - 6) << ','
            << num(yy + 5) << " L" << num(yx + 6) << ',' << num(yy + 5)
            << " Z\" fill=\"white\" stroke=\"" << color << "\" stroke-width=\"1.5\"/>\n";
        const double dx = px(static_cast<double>(study.daly.interval_steps) * step_s);
        const double dy = py(study.daly.summary.goodput.mean);
        svg << "<rect x=\"" << num(dx - 4.5) << "\" y=\"" << num(dy - 4.5)
            << "\" width=\"9\" height=\"9\" fill=\"none\" stroke=\"" << color
            << "\" stroke-width=\"1.5\"/>\n";
        const double ly = kTop + 10 + 20.0 * static_cast<double>(r);
        svg << "<line x1=\"" << num(kWidth - kRight + 16) << "\" y1=\"" << num(ly) << "\" x2=\""
            << num(kWidth - kRight + 40) << "\" y2=\"" << num(ly) << "\" stroke=\"" << color
            << "\" stroke-width=\"2\"/>\n<text x=\"" << num(kWidth - kRight + 46) << "\" y=\""
            << num(ly + 4) << "\">MTBF " << escape(format_duration(study.mtbf_s)) << "</text>\n";
    }
    const double ky = kTop + 30 + 20.0 * static_cast<double>(studies.size());
    const double kx = kWidth - kRight + 28;
    svg << "<circle cx=\"" << num(kx) << "\" cy=\"" << num(ky) << "\" r=\"5\" fill=\"#444\"/>"
        << "<text x=\"" << num(kx + 18) << "\" y=\"" << num(ky + 4) << "\">simulated best</text>\n"
        << "<path d=\"M" << num(kx) << ',' << num(ky + 14) << " L" << num(kx - 6) << ','
        << num(ky + 25) << " L" << num(kx + 6) << ',' << num(ky + 25)
        << " Z\" fill=\"white\" stroke=\"#444\"/><text x=\"" << num(kx + 18) << "\" y=\""
        << num(ky + 24) << "\">Young</text>\n"
        << "<rect x=\"" << num(kx - 4.5) << "\" y=\"" << num(ky + 35.5)
        << "\" width=\"9\" height=\"9\" fill=\"none\" stroke=\"#444\"/><text x=\"" << num(kx + 18)
        << "\" y=\"" << num(ky + 44) << "\">Daly</text>\n";
    svg << "</svg>\n";
    return svg.str();
}

}  // namespace stepsim::cli
