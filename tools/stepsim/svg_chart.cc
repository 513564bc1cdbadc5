// SPDX-License-Identifier: Apache-2.0
// File: svg_chart.cc
// The SVG chart frame, written by hand: linear axes get "nice" 1-2-5 ticks, logarithmic axes
// ticks at 1, 2 and 5 of each decade; every coordinate is printed with two decimals.
#include "svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <utility>

namespace stepsim::cli {

namespace {

constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                   "#ff7f0e", "#17becf", "#8c564b", "#e377c2"};

std::vector<double> axis_ticks(const ChartAxis& axis) {
    if (!axis.ticks.empty()) {
        return axis.ticks;
    }
    if (!axis.is_log) {
        return nice_ticks(axis.low, axis.high, axis.tick_count);
    }
    std::vector<double> ticks;
    for (double decade = std::pow(10.0, std::floor(std::log10(axis.low)));
         decade <= axis.high * 1.0001; decade *= 10) {
        for (double m : {1.0, 2.0, 5.0}) {
            if (m * decade >= axis.low * 0.9999 && m * decade <= axis.high * 1.0001) {
                ticks.push_back(m * decade);
            }
        }
    }
    return ticks;
}

std::string joined_points(const SvgChart& chart, const std::vector<ChartPoint>& points) {
    std::string text;
    for (std::size_t i = 0; i < points.size(); ++i) {
        text += (i ? " " : "") + svg_number(chart.px(points[i].x)) + ',' +
                svg_number(chart.py(points[i].y));
    }
    return text;
}

}  // namespace

std::string svg_number(double x) {
    char text[32];
    std::snprintf(text, sizeof text, "%.2f", x);
    return text;
}

std::string svg_escape(const std::string& text) {
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

std::string tick_text(double value, double step) {
    const int decimals =
        step > 0 ? std::clamp(static_cast<int>(-std::floor(std::log10(step) + 1e-9)), 0, 9) : 2;
    char text[48];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

namespace {

constexpr double kMinute = 60;
constexpr double kHour = 3600;
constexpr double kDay = 86400;

// The durations a person writes, ascending; a linear axis steps by one of them.
constexpr double kHumanDurations[] = {
    1,        2,           5,           10,           15,           30,
    kMinute,  2 * kMinute, 5 * kMinute, 10 * kMinute, 15 * kMinute, 30 * kMinute,
    kHour,    2 * kHour,   4 * kHour,   6 * kHour,    12 * kHour,   kDay,
    2 * kDay, 7 * kDay,    14 * kDay,   30 * kDay};

bool is_multiple(double value, double unit) {
    const double q = value / unit;
    return std::fabs(q - std::round(q)) < 1e-9 * std::max(1.0, q);
}

}  // namespace

std::string DurationTicks::label(double value_s) const {
    char text[48];
    const double v = value_s / unit_s;
    if (std::fabs(v - std::round(v)) < 1e-9 * std::max(1.0, std::fabs(v))) {
        std::snprintf(text, sizeof text, "%.0f %s", v, unit.c_str());
    } else {
        std::snprintf(text, sizeof text, "%g %s", v, unit.c_str());
    }
    return text;
}

DurationTicks duration_ticks(double low_s, double high_s, bool is_log, int max_count) {
    max_count = std::max(max_count, 2);
    const double slack = 1e-9 * std::max(std::fabs(high_s), 1.0);
    DurationTicks result;
    if (is_log) {
        std::vector<double> inside;
        for (const double d : kHumanDurations) {
            if (d >= low_s - slack && d <= high_s + slack) {
                inside.push_back(d);
            }
        }
        // Thin out: keep a tick only when it is at least `ratio` times the last one kept.
        for (const double ratio : {1.0, 1.9, 2.9, 3.9, 5.9, 9.9, 23.9, 59.9, 1e300}) {
            result.values_s.clear();
            for (const double d : inside) {
                if (result.values_s.empty() || d >= result.values_s.back() * ratio) {
                    result.values_s.push_back(d);
                }
            }
            if (static_cast<int>(result.values_s.size()) <= max_count) {
                break;
            }
        }
    }
    if (result.values_s.size() < 2) {
        // A linear axis (or a log axis too narrow for two human values): multiples of the
        // smallest human step that gives at most max_count ticks.
        double step = kHumanDurations[std::size(kHumanDurations) - 1];
        for (const double d : kHumanDurations) {
            if ((high_s - low_s) / d <= max_count - 1) {
                step = d;
                break;
            }
        }
        result.values_s.clear();
        for (double t = std::ceil((low_s - slack) / step) * step; t <= high_s + slack; t += step) {
            if (t > 0 || !is_log) {
                result.values_s.push_back(t);
            }
        }
    }
    for (const auto& [name, unit] :
         {std::pair<const char*, double>{"d", kDay}, {"h", kHour}, {"min", kMinute}, {"s", 1.0}}) {
        const bool divides = std::all_of(result.values_s.begin(), result.values_s.end(),
                                         [unit](double t) { return is_multiple(t, unit); });
        if (divides || unit == 1.0) {
            result.unit = name;
            result.unit_s = unit;
            break;
        }
    }
    return result;
}

const char* chart_color(std::size_t i) {
    return kColors[i % (sizeof kColors / sizeof kColors[0])];
}

SvgChart::SvgChart(const std::string& title, ChartAxis x, ChartAxis y)
    : x_(std::move(x))
    , y_(std::move(y)) {
    svg_ << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\""
         << kHeight << "\" viewBox=\"0 0 " << kWidth << ' ' << kHeight
         << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
         << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
         << "<text x=\"" << kLeft << "\" y=\"24\" font-size=\"15\">" << svg_escape(title)
         << "</text>\n";
    svg_ << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << kPlotWidth
         << "\" height=\"" << kPlotHeight << "\" fill=\"none\" stroke=\"#444\"/>\n";
    for (double t : axis_ticks(x_)) {
        svg_ << "<line x1=\"" << svg_number(px(t)) << "\" y1=\"" << svg_number(kTop + kPlotHeight)
             << "\" x2=\"" << svg_number(px(t)) << "\" y2=\"" << svg_number(kTop)
             << "\" stroke=\"#ddd\"/>\n"
             << "<text x=\"" << svg_number(px(t)) << "\" y=\""
             << svg_number(kTop + kPlotHeight + 16) << "\" text-anchor=\"middle\">"
             << svg_escape(x_.tick_label(t)) << "</text>\n";
    }
    for (double t : axis_ticks(y_)) {
        svg_ << "<line x1=\"" << svg_number(kLeft) << "\" y1=\"" << svg_number(py(t)) << "\" x2=\""
             << svg_number(kLeft + kPlotWidth) << "\" y2=\"" << svg_number(py(t))
             << "\" stroke=\"#ddd\"/>\n"
             << "<text x=\"" << svg_number(kLeft - 6) << "\" y=\"" << svg_number(py(t) + 4)
             << "\" text-anchor=\"end\">" << svg_escape(y_.tick_label(t)) << "</text>\n";
    }
    svg_ << "<text x=\"" << svg_number(kLeft + kPlotWidth / 2) << "\" y=\""
         << svg_number(kHeight - 16) << "\" text-anchor=\"middle\">" << svg_escape(x_.label)
         << "</text>\n"
         << "<text transform=\"translate(20," << svg_number(kTop + kPlotHeight / 2)
         << ") rotate(-90)\" text-anchor=\"middle\">" << svg_escape(y_.label) << "</text>\n";
}

double SvgChart::px(double x) const {
    x = std::clamp(x, x_.low, x_.high);
    const double f = x_.is_log ? std::log(x / x_.low) / std::log(x_.high / x_.low)
                               : (x - x_.low) / (x_.high - x_.low);
    return kLeft + f * kPlotWidth;
}

double SvgChart::py(double y) const {
    return kTop + (1 - (y - y_.low) / (y_.high - y_.low)) * kPlotHeight;
}

void SvgChart::polyline(const std::vector<ChartPoint>& points,
                        const std::string& color,
                        double stroke_width,
                        const std::string& dash) {
    svg_ << "<polyline points=\"" << joined_points(*this, points) << "\" fill=\"none\" stroke=\""
         << color << "\" stroke-width=\"" << stroke_width << '"';
    if (!dash.empty()) {
        svg_ << " stroke-dasharray=\"" << dash << '"';
    }
    svg_ << "/>\n";
}

void SvgChart::band(const std::vector<ChartPoint>& upper,
                    const std::vector<ChartPoint>& lower,
                    const std::string& color) {
    svg_ << "<polygon points=\"" << joined_points(*this, upper)
         << (upper.empty() || lower.empty() ? "" : " ") << joined_points(*this, lower)
         << "\" fill=\"" << color << "\" fill-opacity=\"0.15\" stroke=\"none\"/>\n";
}

void SvgChart::legend_line(double y_px,
                           const std::string& color,
                           const std::string& label,
                           const std::string& dash) {
    svg_ << "<line x1=\"" << svg_number(legend_left() + 16) << "\" y1=\"" << svg_number(y_px)
         << "\" x2=\"" << svg_number(legend_left() + 40) << "\" y2=\"" << svg_number(y_px)
         << "\" stroke=\"" << color << "\" stroke-width=\"2\"";
    if (!dash.empty()) {
        svg_ << " stroke-dasharray=\"" << dash << '"';
    }
    svg_ << "/>\n<text x=\"" << svg_number(legend_left() + 46) << "\" y=\"" << svg_number(y_px + 4)
         << "\">" << svg_escape(label) << "</text>\n";
}

std::string SvgChart::finish() {
    svg_ << "</svg>\n";
    return svg_.str();
}

}  // namespace stepsim::cli
