// SPDX-License-Identifier: Apache-2.0
// File: checkpoint_plot_test.cc
// `stepsim checkpoint --plot` (issue 17 §3): the interval axis has human ticks (5 min, 15 min,
// 1 h, never "1.389 h") in one unit; several failure rates are several curves, each with its
// optimum marked and named in the legend.
#include "run_command.h"
#include "svg_chart.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using stepsim::cli::duration_ticks;

namespace {

const std::string kSource = STEPSIM_SOURCE_DIR;

// The human durations, in seconds.
const std::set<double> kHuman = {1,     2,     5,      10,     15,      30,     60,    120,
                                 300,   600,   900,    1800,   3600,    7200,   14400, 21600,
                                 43200, 86400, 172800, 604800, 1209600, 2592000};

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

// The x-axis tick labels: the middle-anchored texts on the line just below the frame.
std::vector<std::string> x_tick_labels(const std::string& svg) {
    static const std::regex tick(
        "<text x=\"[0-9.]+\" y=\"496.00\" text-anchor=\"middle\">([^<]*)<");
    std::vector<std::string> labels;
    for (auto it = std::sregex_iterator(svg.begin(), svg.end(), tick); it != std::sregex_iterator();
         ++it) {
        labels.push_back((*it)[1]);
    }
    return labels;
}

}  // namespace

TEST_CASE("duration ticks are human values in one unit", "[plots]") {
    // The default checkpoint grid: 205 s to 2.345 h, log scale.
    const auto log = duration_ticks(205.4, 8442, true, 8);
    CHECK(log.unit == "min");
    CHECK(log.values_s == std::vector<double>{300, 600, 900, 1800, 3600, 7200});
    CHECK(log.label(7200) == "120 min");
    // A wide log range is thinned to at most 8 ticks, still human values.
    const auto wide = duration_ticks(1, 30 * 86400, true, 8);
    CHECK(wide.values_s.size() <= 8);
    CHECK(wide.values_s.size() >= 4);
    for (double t : wide.values_s) {
        CHECK(kHuman.count(t) == 1);
    }
    // Linear: multiples of one human step.
    const auto minutes = duration_ticks(600, 2400, false, 8);
    CHECK(minutes.unit == "min");
    CHECK(minutes.values_s == std::vector<double>{600, 900, 1200, 1500, 1800, 2100, 2400});
    const auto hours = duration_ticks(3600, 5 * 3600, false, 6);
    CHECK(hours.unit == "h");
    CHECK(hours.label(hours.values_s.back()) == "5 h");
    const auto seconds = duration_ticks(3, 50, false, 6);
    CHECK(seconds.unit == "s");
    CHECK(seconds.values_s.front() == 10);
}

TEST_CASE("checkpoint --plot: human ticks, a curve and an optimum per failure rate", "[plots]") {
    const fs::path dir =
        fs::temp_directory_path() / ("stepsim_checkpoint_plot_test." + std::to_string(::getpid()));
    fs::create_directories(dir);
    const fs::path plot = dir / "goodput.svg";
    fs::remove(plot);
    const auto run =
        stepsim::cli::run_command("checkpoint", {"--failures",
                                                 kSource + "/workloads/failures-llama3.textproto",
                                                 "--gpus",
                                                 "1024",
                                                 "--mtbf-sweep",
                                                 "3h,7.5h,49.49h",
                                                 "--step-time",
                                                 "31.5s",
                                                 "--tokens",
                                                 "300G",
                                                 "--tokens-per-step",
                                                 "3145728",
                                                 "--checkpoint-size",
                                                 "1.6TB",
                                                 "--write-bandwidth-per-node",
                                                 "1GBps",
                                                 "--restart-cost",
                                                 "30min",
                                                 "--seeds",
                                                 "10",
                                                 "--plot",
                                                 plot.string()});
    INFO(run.error);
    REQUIRE(run.status == 0);
    const std::string svg = slurp(plot);
    REQUIRE(svg.substr(svg.size() - 7) == "</svg>\n");

    // Ticks: every label "<integer> <unit>", one unit, values from the human set.
    const std::vector<std::string> labels = x_tick_labels(svg);
    REQUIRE(labels.size() >= 4);
    const std::regex human("([0-9]+) (s|min|h|d)");
    std::set<std::string> units;
    for (const std::string& label : labels) {
        std::smatch m;
        INFO(label);
        REQUIRE(std::regex_match(label, m, human));
        units.insert(m[2]);
        const double unit_s = m[2] == "s" ? 1 : m[2] == "min" ? 60 : m[2] == "h" ? 3600 : 86400;
        CHECK(kHuman.count(std::stod(m[1]) * unit_s) == 1);
    }
    CHECK(units.size() == 1);
    CHECK(svg.find("checkpoint interval in " + *units.begin()) != std::string::npos);
    CHECK(svg.find("1.389") == std::string::npos);

    // Three failure rates: three curves, three optima, each named in the legend.
    CHECK(count_of(svg, "<circle class=\"optimum\"") == 3);
    CHECK(count_of(svg, "<path class=\"young\"") == 3);
    CHECK(count_of(svg, "<rect class=\"daly\"") == 3);
    CHECK(count_of(svg, "class=\"optimum-label\"") == 3);
    for (const char* mtbf : {"MTBF 3 h", "MTBF 7.5 h", "MTBF 49.49 h"}) {
        CHECK(svg.find(mtbf) != std::string::npos);
    }
    for (std::size_t i = 0; i < 3; ++i) {
        const std::string color = stepsim::cli::chart_color(i);
        CHECK(svg.find("fill=\"none\" stroke=\"" + color + "\" stroke-width=\"2\"/>") !=
              std::string::npos);
        CHECK(svg.find("<circle class=\"optimum\" cx=") != std::string::npos);
        CHECK(svg.find("fill=\"" + color + "\" stroke=\"white\"><title>best ") !=
              std::string::npos);
    }
    for (const char* key :
         {">optimum<", ">Young's interval<", ">Daly's interval<", ">95% CI over seeds<"}) {
        CHECK(svg.find(key) != std::string::npos);
    }
}
