// SPDX-License-Identifier: Apache-2.0
// File: step_plot.cc
// `stepsim step --plot FILE.svg`: the pipeline picture of one step. One row per pipeline stage
// (the simulated GPU of each), its compute stream left to right: forward, backward,
// weight-gradient and recompute blocks, exposed communication and waits, the bubble; the step
// time marked.
#include "step_plot.h"

#include "svg_chart.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

namespace stepsim::cli {

namespace {

struct BlockClass {
    const char* label;
    const char* color;
};

// Index order is the legend order.
constexpr std::array kClasses = {
    BlockClass{"forward", "#4e79a7"},
    BlockClass{"backward (inputs, or full)", "#f28e2b"},
    BlockClass{"backward (weights)", "#59a14f"},
    BlockClass{"recompute", "#b07aa1"},
    BlockClass{"optimizer, data loading, host", "#9c755f"},
    BlockClass{"exposed communication (TP, CP, ZeRO, FSDP, PP, DP)", "#e15759"},
    BlockClass{"waiting for a message or collective", "#ff9d9a"},
    BlockClass{"pipeline bubble", "#d9d9d9"},
};

/// The class of a compute-stream slice, or -1 for slices that are not drawn.
int class_of(const TimelineSlice& slice) {
    const std::string& c = slice.category;
    if (c == "bubble") {
        return 7;
    }
    if (slice.name.rfind("wait", 0) == 0) {
        return 6;
    }
    if (c == "tp" || c == "pp" || c == "dp" || c == "zero" || c == "cp" || c == "fsdp") {
        return 5;
    }
    if (c == "recompute") {
        return 3;
    }
    if (c == "compute") {
        if (slice.name.rfind("B", 0) == 0) {
            return 1;
        }
        if (slice.name.rfind("W", 0) == 0) {
            return 2;
        }
        return 0;
    }
    return 4;
}

/// The micro-batch of "F mb3 L17", "B mb12 vs2", ...; -1 when the name has none.
int microbatch_of(const std::string& name) {
    const std::size_t at = name.find(" mb");
    if (at == std::string::npos) {
        return -1;
    }
    int mb = -1;
    if (std::sscanf(name.c_str() + at + 3, "%d", &mb) != 1) {
        return -1;
    }
    return mb;
}

std::string fixed(double x, int decimals) {
    char text[32];
    std::snprintf(text, sizeof text, "%.*f", decimals, x);
    return text;
}

}  // namespace

std::string step_timeline_svg(const StepResult& r, const std::string& title) {
    // Time axis: ms below 2 s, else s.
    const bool in_ms = r.step_time_s < 2.0;
    const double scale = in_ms ? 1e3 : 1.0;
    const std::string unit = in_ms ? "ms" : "s";
    const int stages = std::max(1, r.stages_count);
    constexpr double kWidth = 1200;
    constexpr double kLeft = 150;
    constexpr double kRight = 30;
    constexpr double kTop = 50;
    const double row_height = stages <= 8 ? 36 : stages <= 16 ? 24 : stages <= 32 ? 14 : 8;
    const double plot_height = row_height * stages;
    constexpr double kAxis = 50;
    const double legend_top = kTop + plot_height + kAxis;
    const double legend_rows = std::ceil(static_cast<double>(kClasses.size()) / 2.0);
    const double height = legend_top + 22 * legend_rows + 20;
    const double plot_width = kWidth - kLeft - kRight;
    const std::vector<double> ticks = nice_ticks(0, r.step_time_s * scale, 10);
    const double x_high = std::max(r.step_time_s * scale, ticks.empty() ? 0.0 : ticks.back());
    const auto px = [&](double seconds) {
        return kLeft + (x_high > 0 ? seconds * scale / x_high : 0) * plot_width;
    };

    std::ostringstream svg;
    svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\""
        << svg_number(height) << "\" viewBox=\"0 0 " << kWidth << ' ' << svg_number(height)
        << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
    svg << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    svg << "<text x=\"" << kLeft << "\" y=\"24\" font-size=\"15\">" << svg_escape(title)
        << "</text>\n";

    // Rows: the simulated GPU of each stage (the typical replica).
    std::map<std::uint32_t, int> row_of_rank;
    for (const StageResult& stage : r.stages) {
        row_of_rank.emplace(stage.rank.value, stage.stage);
    }
    for (const StageResult& stage : r.stages) {
        const double y = kTop + row_height * stage.stage;
        svg << "<text x=\"" << kLeft - 8 << "\" y=\"" << svg_number(y + row_height * 0.5 + 4)
            << "\" text-anchor=\"end\"" << (row_height < 12 ? " font-size=\"8\"" : "") << ">stage "
            << stage.stage << " (GPU " << stage.rank.value << ")</text>\n";
    }

    // Blocks, merged when the same class continues without a gap.
    struct Open {
        int cls = -1;
        int microbatch = -1;
        double start = 0;
        double end = 0;
    };

    std::map<int, Open> open;  // row -> block being extended
    // Blocks narrower than 2 px (thousands of per-layer kernels in a long step) are not drawn
    // one by one: each pixel column shows the class that fills most of its time.
    const auto columns = static_cast<std::size_t>(std::ceil(plot_width));
    std::vector<std::vector<std::array<double, kClasses.size()>>> bins(
        static_cast<std::size_t>(stages), std::vector<std::array<double, kClasses.size()>>(
                                              columns, std::array<double, kClasses.size()>{}));
    const auto flush = [&](int row, const Open& block) {
        if (block.cls < 0 || block.end <= block.start || row < 0 || row >= stages) {
            return;
        }
        const double y = kTop + row_height * row + 1;
        const double x0 = px(block.start);
        const double w = px(block.end) - x0;
        if (w < 2) {
            auto& line = bins[static_cast<std::size_t>(row)];
            for (double a = x0 - kLeft; a < x0 - kLeft + w;) {
                const double column = std::floor(a);
                const double b = std::min(column + 1, x0 - kLeft + w);
                const auto i = static_cast<std::size_t>(std::max(0.0, column));
                if (i < columns) {
                    line[i][static_cast<std::size_t>(block.cls)] += b - a;
                }
                a = b;
            }
            return;
        }
        svg << "<rect x=\"" << svg_number(x0) << "\" y=\"" << svg_number(y) << "\" width=\""
            << svg_number(w) << "\" height=\"" << svg_number(row_height - 2) << "\" fill=\""
            << kClasses[static_cast<std::size_t>(block.cls)].color << "\"/>\n";
        // The micro-batch number on forward, backward and recompute blocks wide enough for it.
        if (block.microbatch >= 0 && block.cls <= 3 && row_height >= 14 &&
            w >= 8 + 7 * std::to_string(block.microbatch).size()) {
            svg << "<text x=\"" << svg_number(x0 + w / 2) << "\" y=\""
                << svg_number(y + row_height / 2 + 3) << "\" text-anchor=\"middle\" "
                << "font-size=\"10\" fill=\"white\">" << block.microbatch << "</text>\n";
        }
    };
    std::vector<const TimelineSlice*> slices;
    for (const TimelineSlice& slice : r.timeline) {
        if (slice.stream == "compute" && row_of_rank.count(slice.rank.value)) {
            slices.push_back(&slice);
        }
    }
    std::stable_sort(
        slices.begin(), slices.end(),
        [](const TimelineSlice* a, const TimelineSlice* b) { return a->start_s < b->start_s; });
    for (const TimelineSlice* slice : slices) {
        const int row = row_of_rank.at(slice->rank.value);
        const int cls = class_of(*slice);
        const int mb = cls <= 3 ? microbatch_of(slice->name) : -1;
        Open& block = open[row];
        if (block.cls == cls && block.microbatch == mb && slice->start_s - block.end <= 1e-9) {
            block.end = std::max(block.end, slice->end_s);
            continue;
        }
        flush(row, block);
        block = Open{cls, mb, slice->start_s, slice->end_s};
    }
    for (const auto& [row, block] : open) {
        flush(row, block);
    }
    for (int row = 0; row < stages; ++row) {
        const auto& line = bins[static_cast<std::size_t>(row)];
        std::size_t i = 0;
        while (i < columns) {
            const auto& bin = line[i];
            const auto best = std::max_element(bin.begin(), bin.end());
            if (*best <= 0) {
                ++i;
                continue;
            }
            const auto cls = static_cast<std::size_t>(best - bin.begin());
            std::size_t j = i + 1;
            while (j < columns) {
                const auto& next = line[j];
                const auto next_best = std::max_element(next.begin(), next.end());
                if (*next_best <= 0 || static_cast<std::size_t>(next_best - next.begin()) != cls) {
                    break;
                }
                ++j;
            }
            svg << "<rect x=\"" << svg_number(kLeft + static_cast<double>(i)) << "\" y=\""
                << svg_number(kTop + row_height * row + 1) << "\" width=\""
                << static_cast<double>(j - i) << "\" height=\"" << svg_number(row_height - 2)
                << "\" fill=\"" << kClasses[cls].color << "\"/>\n";
            i = j;
        }
    }

    // Frame, time axis, the step time.
    svg << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << svg_number(plot_width)
        << "\" height=\"" << svg_number(plot_height)
        << "\" fill=\"none\" stroke=\"#333\" stroke-width=\"1\"/>\n";
    const double tick_step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1.0;
    for (const double t : ticks) {
        const double x = kLeft + (x_high > 0 ? t / x_high : 0) * plot_width;
        const double y = kTop + plot_height;
        svg << "<line x1=\"" << svg_number(x) << "\" y1=\"" << svg_number(y) << "\" x2=\""
            << svg_number(x) << "\" y2=\"" << svg_number(y + 5) << "\" stroke=\"#333\"/>\n";
        svg << "<text x=\"" << svg_number(x) << "\" y=\"" << svg_number(y + 18)
            << "\" text-anchor=\"middle\">" << tick_text(t, tick_step) << "</text>\n";
    }
    svg << "<text x=\"" << svg_number(kLeft + plot_width / 2) << "\" y=\""
        << svg_number(kTop + plot_height + 38) << "\" text-anchor=\"middle\">time in the step ("
        << unit << ")</text>\n";
    const double step_x = px(r.step_time_s);
    svg << "<line x1=\"" << svg_number(step_x) << "\" y1=\"" << kTop - 6 << "\" x2=\""
        << svg_number(step_x) << "\" y2=\"" << svg_number(kTop + plot_height)
        << "\" stroke=\"black\" stroke-width=\"2\" stroke-dasharray=\"6,3\"/>\n";
    svg << "<text x=\"" << svg_number(step_x - 4) << "\" y=\"" << kTop - 10
        << "\" text-anchor=\"end\">step time " << fixed(r.step_time_s * scale, in_ms ? 2 : 3) << ' '
        << unit << "</text>\n";

    // Legend, two columns.
    for (std::size_t i = 0; i < kClasses.size(); ++i) {
        const double x = kLeft + (i % 2 == 0 ? 0 : plot_width / 2);
        const double y = legend_top + 22 * static_cast<double>(i / 2);
        svg << "<rect x=\"" << svg_number(x) << "\" y=\"" << svg_number(y - 11)
            << "\" width=\"22\" height=\"14\" fill=\"" << kClasses[i].color << "\"/>\n";
        svg << "<text x=\"" << svg_number(x + 30) << "\" y=\"" << svg_number(y) << "\">"
            << svg_escape(kClasses[i].label) << "</text>\n";
    }
    svg << "</svg>\n";
    return svg.str();
}

}  // namespace stepsim::cli
