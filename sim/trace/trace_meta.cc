// SPDX-License-Identifier: Apache-2.0
// File: trace_meta.cc
// The job shape beside a recorded timeline: flat "key: value" YAML lines (dp_size, pp_size,
// tp_size, vpp_size, dsp_size, world_size, trial_name), as the StragglerAnalysis artifact
// writes them. Anything nested or unknown is ignored.
#include "stepsim/error.h"
#include "stepsim/trace.h"

#include <charconv>
#include <fstream>

namespace stepsim {

namespace {

std::string trim(std::string text) {
    const std::size_t first = text.find_first_not_of(" \t\r");
    if (first == std::string::npos) {
        return {};
    }
    const std::size_t last = text.find_last_not_of(" \t\r");
    text = text.substr(first, last - first + 1);
    if (text.size() >= 2 && (text.front() == '"' || text.front() == '\'') &&
        text.back() == text.front()) {
        text = text.substr(1, text.size() - 2);
    }
    return text;
}

}  // namespace

TraceMeta load_trace_meta(const std::filesystem::path& path) {
    const std::string file = path.string();
    std::ifstream in(path);
    if (!in) {
        throw SpecError(SourceLocation{file, 0, 0}, "", "cannot open meta file");
    }
    TraceMeta meta;
    std::vector<Diagnostic> problems;
    std::string line;
    int line_number = 0;
    bool has_dp = false;
    bool has_pp = false;
    bool has_tp = false;
    while (std::getline(in, line)) {
        ++line_number;
        const std::size_t hash = line.find('#');
        if (hash != std::string::npos) {
            line.erase(hash);
        }
        if (line.empty() || line[0] == ' ' || line[0] == '\t') {
            continue;  // blank, comment or nested
        }
        const std::size_t colon = line.find(':');
        if (colon == std::string::npos) {
            continue;
        }
        const std::string key = trim(line.substr(0, colon));
        const std::string value = trim(line.substr(colon + 1));
        if (key == "trial_name") {
            meta.trial_name = value;
            continue;
        }
        int* target = nullptr;
        if (key == "dp_size") {
            target = &meta.dp;
            has_dp = true;
        } else if (key == "pp_size") {
            target = &meta.pp;
            has_pp = true;
        } else if (key == "tp_size") {
            target = &meta.tp;
            has_tp = true;
        } else if (key == "vpp_size") {
            target = &meta.vpp;
        } else if (key == "dsp_size") {
            target = &meta.dsp;
        } else if (key == "world_size") {
            target = &meta.world_size;
        } else {
            continue;
        }
        int number = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
        if (ec != std::errc() || end != value.data() + value.size() || number < 1) {
            problems.push_back(
                Diagnostic{SourceLocation{file, line_number, static_cast<int>(colon) + 2}, key,
                           key + " must be a positive integer, got \"" + value + "\""});
            continue;
        }
        *target = number;
    }
    const std::pair<bool, const char*> required[] = {
        {has_dp, "dp_size"}, {has_pp, "pp_size"}, {has_tp, "tp_size"}};
    for (const auto& [has, name] : required) {
        if (!has) {
            problems.push_back(
                Diagnostic{SourceLocation{file, 0, 0}, name, std::string("missing ") + name});
        }
    }
    if (!problems.empty()) {
        throw SpecError(std::move(problems));
    }
    return meta;
}

}  // namespace stepsim
