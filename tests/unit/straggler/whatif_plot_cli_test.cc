// SPDX-License-Identifier: Apache-2.0
// File: whatif_plot_cli_test.cc
// `stepsim whatif --sweep ... --plot FILE.svg`, run in-process through run_command.
//
// The math: the chart maps a data point (x, y) to pixels
//   px = 80 + 600 · (x − x_low) / (x_high − x_low),
//   py = 40 + 440 · (1 − (y − y_low) / (y_high − y_low))
// (frame 880 × 540, margins left 80, right 200, top 40, bottom 60). A factor sweep
// FROM:TO:STEP has (TO − FROM)/STEP + 1 points and spans the x range exactly, so marker i sits
// at px = 80 + 600 · i / (n − 1). At factor 1.0 the scenario is the baseline (a symmetric
// perturbation reproduces simulate_step exactly), so the first marker lies on the dashed
// baseline. On the α–β network a factor ≥ 1 never shortens a step, so the markers' step
// times, hence their heights, are monotone. Coordinates are printed with two decimals, so
// pixel comparisons allow 0.005 + rounding (0.01).
#include "run_command.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;

namespace {

const std::string kSource = STEPSIM_SOURCE_DIR;

std::vector<std::string> whatif_args(std::vector<std::string> extra) {
    std::vector<std::string> args = {
        "--topology",       kSource + "/topologies/dgx-h100-16.textproto",
        "--workload",       kSource + "/workloads/tiny-pp.textproto",
        "--no-attribution", "--no-sensitivity"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

// A folder of its own per file name: ctest runs the test cases in parallel.
fs::path scratch(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() /
                         ("stepsim_whatif_plot_cli_test." + std::to_string(::getpid())) /
                         fs::path(name).stem();
    fs::create_directories(dir);
    const fs::path path = dir / name;
    fs::remove(path);
    return path;
}

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::size_t count_of(const std::string& text, const std::string& part) {
    std::size_t n = 0;
    for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
        ++n;
    }
    return n;
}

/// True when every element opened is closed in order (<a ...>...</a>, or <a .../>), outside
/// the text between tags.
bool tags_balance(const std::string& svg) {
    std::vector<std::string> open;
    for (std::size_t at = svg.find('<'); at != std::string::npos; at = svg.find('<', at + 1)) {
        const std::size_t end = svg.find('>', at);
        if (end == std::string::npos) {
            return false;
        }
        const std::string tag = svg.substr(at + 1, end - at - 1);
        if (tag.empty()) {
            return false;
        }
        if (tag[0] == '/') {
            if (open.empty() || open.back() != tag.substr(1)) {
                return false;
            }
            open.pop_back();
        } else if (tag.back() != '/') {
            open.push_back(tag.substr(0, tag.find(' ')));
        }
        at = end;
    }
    return open.empty();
}

/// The value of attribute `name` in each <circle class="point" ...> element, in order.
std::vector<double> point_attribute(const std::string& svg, const std::string& name) {
    std::vector<double> values;
    const std::string marker = "<circle class=\"point\"";
    for (std::size_t at = svg.find(marker); at != std::string::npos;
         at = svg.find(marker, at + 1)) {
        const std::size_t value_at = svg.find(" " + name + "=\"", at) + name.size() + 3;
        values.push_back(std::strtod(svg.c_str() + value_at, nullptr));
    }
    return values;
}

/// The y pixel of the dashed baseline (the first polyline with a dash).
double baseline_y(const std::string& svg) {
    const std::size_t dash = svg.find("stroke-dasharray");
    REQUIRE(dash != std::string::npos);
    const std::size_t points = svg.rfind("points=\"", dash);
    const std::size_t comma = svg.find(',', points);
    return std::strtod(svg.c_str() + comma + 1, nullptr);
}

/// Runs whatif with `extra` flags and --plot into scratch file `name`; returns the SVG after
/// checking the run succeeded and the document is one balanced <svg> element.
std::string plotted_svg(const std::string& name, std::vector<std::string> extra) {
    const fs::path plot = scratch(name);
    extra.insert(extra.end(), {"--plot", plot.string()});
    const auto run = stepsim::cli::run_command("whatif", whatif_args(std::move(extra)));
    INFO(run.error);
    REQUIRE(run.status == 0);
    const std::string svg = slurp(plot);
    REQUIRE(svg.rfind("<svg ", 0) == 0);
    REQUIRE(svg.size() > 7);
    REQUIRE(svg.substr(svg.size() - 7) == "</svg>\n");
    REQUIRE(tags_balance(svg));
    return svg;
}

}  // namespace

TEST_CASE("whatif --plot: one marker per factor, the first on the baseline", "[straggler][cli]") {
    const std::string svg =
        plotted_svg("factor.svg", {"--straggler", "rank=1:compute=1.0", "--network", "alpha_beta",
                                   "--sweep", "factor=1.0:2.0:0.25"});
    const int n = 5;  // (2.0 − 1.0) / 0.25 + 1
    REQUIRE(count_of(svg, "<circle class=\"point\"") == n);
    const std::vector<double> cx = point_attribute(svg, "cx");
    const std::vector<double> cy = point_attribute(svg, "cy");
    REQUIRE(cx.size() == static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        CHECK(cx[static_cast<std::size_t>(i)] == Approx(80 + 600.0 * i / (n - 1)).margin(0.01));
        if (i > 0) {  // higher step time, smaller py
            CHECK(cy[static_cast<std::size_t>(i)] <= cy[static_cast<std::size_t>(i - 1)] + 0.01);
        }
    }
    CHECK(cy.front() == Approx(baseline_y(svg)).margin(0.01));
    CHECK(cy.back() < cy.front());  // a compute factor 2 on a pipeline stage costs something
    // One seed: no band, a plain "step time" legend.
    CHECK(svg.find("<polygon") == std::string::npos);
    CHECK(svg.find("slowdown factor of the selected elements") != std::string::npos);
}

TEST_CASE("whatif --plot: a count sweep over seeds draws the p50-p99 band", "[straggler][cli]") {
    const std::string svg = plotted_svg("count.svg", {"--straggler", "rank=1:compute=1.1",
                                                      "--sweep", "count=0:8:2", "--seeds", "3"});
    REQUIRE(count_of(svg, "<circle class=\"point\"") == 5);  // 0, 2, 4, 6, 8
    // The band: p99 left to right, then p50 right to left, 2 × 5 vertices.
    const std::size_t polygon = svg.find("<polygon points=\"");
    REQUIRE(polygon != std::string::npos);
    const std::size_t end = svg.find('"', polygon + 17);
    CHECK(count_of(svg.substr(polygon, end - polygon), ",") == 10);
    CHECK(svg.find("p50 to p99 band") != std::string::npos);
    CHECK(svg.find("of the 3 seeds") != std::string::npos);
    CHECK(svg.find("stragglers placed at random (count of slow GPUs)") != std::string::npos);
}

TEST_CASE("whatif --plot: axes with units, a legend entry for every mark", "[straggler][cli]") {
    const std::string svg = plotted_svg("legend.svg", {"--straggler", "rank=1:compute=1.1",
                                                       "--sweep", "count=0:8:4", "--seeds", "3"});
    // A sub-second step: the y axis in ms, its ticks whole or decimal ms (no "0.145").
    CHECK(svg.find(">step time (ms)<") != std::string::npos);
    const std::regex y_tick("<text x=\"74.00\" y=\"[0-9.]+\" text-anchor=\"end\">([^<]*)<");
    int y_ticks = 0;
    for (auto it = std::sregex_iterator(svg.begin(), svg.end(), y_tick);
         it != std::sregex_iterator(); ++it) {
        const double value = std::stod((*it)[1]);
        CHECK(value > 100);  // tiny-pp's step is about 143 ms
        CHECK(value < 300);
        ++y_ticks;
    }
    CHECK(y_ticks >= 3);
    CHECK(svg.find("(count of slow GPUs)") != std::string::npos);
    // The legend: the mean line with its dots, the band, the baseline and its value.
    for (const char* entry :
         {">mean step time<", ">dot: a sweep value, mean<", ">over 3 seeds<", ">p50 to p99 band<",
          ">median to 99th percentile<", ">baseline<", ">no straggler: 14"}) {
        INFO(entry);
        CHECK(svg.find(entry) != std::string::npos);
    }
    // A factor sweep names its unit: x the normal time.
    const std::string factor =
        plotted_svg("legend-factor.svg",
                    {"--straggler", "rank=1:compute=1.0", "--sweep", "factor=1.0:1.5:0.25"});
    CHECK(factor.find("slowdown factor of the selected elements (x their normal time; 1 = none)") !=
          std::string::npos);
    CHECK(factor.find(">step time<") != std::string::npos);
    CHECK(factor.find(">dot: a sweep value<") != std::string::npos);
    CHECK(factor.find(">baseline<") != std::string::npos);
}

TEST_CASE("whatif --plot: a failing run or a missing --sweep writes no file", "[straggler][cli]") {
    const fs::path plot = scratch("failed.svg");
    const auto bad_rank = stepsim::cli::run_command(
        "whatif", whatif_args({"--straggler", "rank=99:compute=1.2", "--sweep",
                               "factor=1.0:1.5:0.5", "--plot", plot.string()}));
    CHECK(bad_rank.status == 2);
    CHECK_FALSE(fs::exists(plot));

    const auto no_sweep = stepsim::cli::run_command(
        "whatif", whatif_args({"--straggler", "rank=1:compute=1.2", "--plot", plot.string()}));
    CHECK(no_sweep.status == 2);
    CHECK(no_sweep.error.find("--plot needs --sweep") != std::string::npos);
    CHECK_FALSE(fs::exists(plot));
    // Not even a temporary file is left in the scratch folder.
    CHECK(fs::is_empty(plot.parent_path()));
}
