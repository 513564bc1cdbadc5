// SPDX-License-Identifier: Apache-2.0
// File: svg_chart.h
// A small hand-written SVG line chart shared by the commands that plot (checkpoint --plot,
// whatif --plot): a frame with grid lines and tick labels, axis labels, polylines, shaded
// bands and a legend. Self-contained documents: no scripts, no external fonts.
#pragma once

#include <cstddef>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace stepsim::cli {

/// `x` with two decimals ("%.2f"), the precision of every pixel coordinate.
std::string svg_number(double x);

/// `text` with <, > and & escaped for SVG text and attribute values.
std::string svg_escape(const std::string& text);

/// 1, 2, 5 × 10^k steps covering [low, high] with about `count` ticks.
std::vector<double> nice_ticks(double low, double high, int count);

/// A tick label for an axis whose ticks are `step` apart: `value` with as many decimals as
/// `step` needs (0.5 -> "6.5", 0.02 -> "6.48", 10 -> "40").
std::string tick_text(double value, double step);

/// Ticks for an axis of durations (seconds) that a person would write: every value from the
/// set 1, 2, 5, 10, 15, 30 s; 1, 2, 5, 10, 15, 30 min; 1, 2, 4, 6, 12 h; 1, 2, 7, 14, 30 d
/// (multiples of one such step on a linear axis), never "1.389 h", and one unit for all the
/// labels: the largest of s, min, h, d that divides every tick.
struct DurationTicks {
    std::vector<double> values_s;
    std::string unit = "s";  ///< "s", "min", "h" or "d"
    double unit_s = 1;       ///< seconds per unit
    /// `value_s` in the unit, with the unit: "15 min", "240 min".
    std::string label(double value_s) const;
};

/// At most `max_count` (>= 2) ticks within [low_s, high_s], as many as fit.
DurationTicks duration_ticks(double low_s, double high_s, bool is_log, int max_count);

/// The i-th colour of a fixed palette (cycles).
const char* chart_color(std::size_t i);

struct ChartAxis {
    double low = 0;
    double high = 1;
    bool is_log = false;  ///< log scale: ticks at 1, 2, 5 × 10^k
    int tick_count = 6;   ///< about this many ticks on a linear axis
    std::string label;
    std::function<std::string(double)> tick_label = svg_number;
    std::vector<double> ticks;  ///< when not empty, the ticks (else computed from the range)
};

/// A point in data coordinates.
struct ChartPoint {
    double x = 0;
    double y = 0;
};

class SvgChart {
public:
    static constexpr double kWidth = 880;
    static constexpr double kHeight = 540;
    static constexpr double kLeft = 80;
    static constexpr double kRight = 200;  ///< room for the legend
    static constexpr double kTop = 40;
    static constexpr double kBottom = 60;
    static constexpr double kPlotWidth = kWidth - kLeft - kRight;
    static constexpr double kPlotHeight = kHeight - kTop - kBottom;

    /// Writes the header, title, frame, grid, tick labels and axis labels. x is clamped to its
    /// range, y is not.
    SvgChart(const std::string& title, ChartAxis x, ChartAxis y);

    /// Pixel coordinates of data coordinates.
    double px(double x) const;
    double py(double y) const;

    /// The x pixel where the legend column starts.
    static constexpr double legend_left() { return kWidth - kRight; }

    /// A line through `points` (`dash`, when not empty, is its stroke-dasharray).
    void polyline(const std::vector<ChartPoint>& points,
                  const std::string& color,
                  double stroke_width,
                  const std::string& dash = "");
    /// A shaded band between `upper` (left to right) and `lower` (right to left).
    void band(const std::vector<ChartPoint>& upper,
              const std::vector<ChartPoint>& lower,
              const std::string& color);
    /// A legend row at pixel height `y_px`: a line sample and its label.
    void legend_line(double y_px,
                     const std::string& color,
                     const std::string& label,
                     const std::string& dash = "");

    /// For marks the helpers do not draw.
    std::ostringstream& body() { return svg_; }

    /// The document, closed.
    std::string finish();

private:
    ChartAxis x_;
    ChartAxis y_;
    std::ostringstream svg_;
};

}  // namespace stepsim::cli
