// SPDX-License-Identifier: Apache-2.0
// File: golden_test.cc
// Golden outputs: every case in tests/golden/cases.txt (the README's commands and each bundled
// example, with --json) is run through the built CLI and its JSON compared with
// tests/golden/<name>.json. The comparison is on the parsed document: the same fields in the
// same order, strings and booleans exactly, numbers to a relative 1e-9 (the output is the
// shortest round-trip text of a double, so one compiler's fused multiply-add or libm can move
// the last digits; anything a model change moves is far larger). A failure names each JSON
// field path that moved. Regenerate with tools/scripts/regenerate_golden.sh.
#include <catch2/catch.hpp>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <utility>
#include <vector>

namespace {

constexpr double kRelativeTolerance = 1e-9;

/// One leaf of a JSON document: its path ("rows[3].step_time_s") and its text ("1.25",
/// "\"1f1b\"", "true", "{}" for an empty object).
struct Leaf {
    std::string path;
    std::string text;
};

/// Flattens a JSON document into its leaves, in document order.
class Flattener {
public:
    explicit Flattener(const std::string& text)
        : text_(text) {}

    std::vector<Leaf> run() {
        value("");
        skip_space();
        if (pos_ != text_.size()) {
            fail("trailing text");
        }
        return std::move(leaves_);
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw std::runtime_error("golden: bad JSON at byte " + std::to_string(pos_) + ": " + what);
    }

    void skip_space() {
        while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) {
            ++pos_;
        }
    }

    char peek() {
        skip_space();
        if (pos_ >= text_.size()) {
            fail("unexpected end");
        }
        return text_[pos_];
    }

    void expect(char c) {
        if (peek() != c) {
            fail(std::string("expected '") + c + "'");
        }
        ++pos_;
    }

    std::string string_token() {
        expect('"');
        const std::size_t start = pos_ - 1;
        while (pos_ < text_.size() && text_[pos_] != '"') {
            pos_ += text_[pos_] == '\\' ? 2 : 1;
        }
        if (pos_ >= text_.size()) {
            fail("unterminated string");
        }
        ++pos_;
        return text_.substr(start, pos_ - start);
    }

    void value(const std::string& path) {
        const char c = peek();
        if (c == '{') {
            ++pos_;
            if (peek() == '}') {
                ++pos_;
                leaves_.push_back({path, "{}"});
                return;
            }
            while (true) {
                std::string key = string_token();
                key = key.substr(1, key.size() - 2);
                expect(':');
                value(path.empty() ? key : path + "." + key);
                if (peek() == ',') {
                    ++pos_;
                    continue;
                }
                expect('}');
                return;
            }
        }
        if (c == '[') {
            ++pos_;
            if (peek() == ']') {
                ++pos_;
                leaves_.push_back({path, "[]"});
                return;
            }
            for (int i = 0;; ++i) {
                value(path + "[" + std::to_string(i) + "]");
                if (peek() == ',') {
                    ++pos_;
                    continue;
                }
                expect(']');
                return;
            }
        }
        if (c == '"') {
            leaves_.push_back({path, string_token()});
            return;
        }
        const std::size_t start = pos_;
        while (pos_ < text_.size() &&
               std::string_view(",]} \n\r\t").find(text_[pos_]) == std::string_view::npos) {
            ++pos_;
        }
        if (start == pos_) {
            fail("expected a value");
        }
        leaves_.push_back({path, text_.substr(start, pos_ - start)});
    }

    const std::string& text_;
    std::size_t pos_ = 0;
    std::vector<Leaf> leaves_;
};

bool is_number(const std::string& text, double& out) {
    if (text.empty() || !(std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '-')) {
        return false;
    }
    std::size_t used = 0;
    try {
        out = std::stod(text, &used);
    } catch (const std::exception&) {
        return false;
    }
    return used == text.size();
}

/// The differences between two documents, one line per moved field (at most `limit`).
std::vector<std::string> differences(const std::string& expected_json,
                                     const std::string& actual_json,
                                     std::size_t limit = 20) {
    const std::vector<Leaf> expected = Flattener(expected_json).run();
    const std::vector<Leaf> actual = Flattener(actual_json).run();
    std::vector<std::string> out;
    std::size_t i = 0;
    for (; i < expected.size() && i < actual.size() && out.size() < limit; ++i) {
        const Leaf& e = expected[i];
        const Leaf& a = actual[i];
        if (e.path != a.path) {
            out.push_back("field " + e.path + " expected, found " + a.path +
                          " (fields added, removed or reordered from here on)");
            return out;
        }
        if (e.text == a.text) {
            continue;
        }
        double x = 0;
        double y = 0;
        if (is_number(e.text, x) && is_number(a.text, y) &&
            std::abs(x - y) <= kRelativeTolerance * std::max(std::abs(x), std::abs(y))) {
            continue;
        }
        out.push_back(e.path + ": expected " + e.text + ", got " + a.text);
    }
    if (out.size() < limit && expected.size() != actual.size()) {
        out.push_back(expected.size() > actual.size()
                          ? "fields missing from " + expected[i].path + " on"
                          : "extra fields from " + actual[i].path + " on");
    }
    return out;
}

struct GoldenCase {
    std::string name;
    /// After `stepsim`, run from the source directory; {out}: a scratch folder, {stepsim}: the
    /// CLI (for a second command).
    std::string command;
    std::string output;  ///< "stdout", or a file under {out} (JSON lines compared line by line)
};

std::string trim(const std::string& text) {
    const std::size_t begin = text.find_first_not_of(" \t");
    const std::size_t end = text.find_last_not_of(" \t");
    return begin == std::string::npos ? std::string() : text.substr(begin, end - begin + 1);
}

/// tests/golden/cases.txt: "name | command | output" per line; '#' starts a comment line.
std::vector<GoldenCase> load_cases() {
    std::ifstream in(std::string(STEPSIM_SOURCE_DIR) + "/tests/golden/cases.txt");
    REQUIRE(in.good());
    std::vector<GoldenCase> cases;
    std::string line;
    while (std::getline(in, line)) {
        if (trim(line).empty() || trim(line)[0] == '#') {
            continue;
        }
        const std::size_t a = line.find('|');
        const std::size_t b = line.find('|', a + 1);
        REQUIRE(b != std::string::npos);
        cases.push_back({trim(line.substr(0, a)), trim(line.substr(a + 1, b - a - 1)),
                         trim(line.substr(b + 1))});
    }
    return cases;
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (std::size_t at = text.find(from); at != std::string::npos;
         at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
    return text;
}

/// Runs one case; returns what it produced (stdout or the named file).
std::string run_case(const GoldenCase& c, const std::filesystem::path& scratch) {
    std::filesystem::remove_all(scratch);
    std::filesystem::create_directories(scratch);
    const std::string command = "cd '" + std::string(STEPSIM_SOURCE_DIR) + "' && '" +
                                std::string(STEPSIM_CLI) + "' " +
                                replace_all(replace_all(c.command, "{out}", scratch.string()),
                                            "{stepsim}", "'" + std::string(STEPSIM_CLI) + "'") +
                                " 2>/dev/null";
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string out;
    char buffer[4096];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) {
        out.append(buffer, n);
    }
    const int raw = pclose(pipe);
    INFO("golden case " << c.name << ": stepsim " << c.command);
    REQUIRE(WIFEXITED(raw));
    REQUIRE(WEXITSTATUS(raw) == 0);
    // The scratch folder's path, where an output names it, reads "{out}".
    return replace_all(c.output == "stdout" ? out : read_file(scratch / c.output), scratch.string(),
                       "{out}");
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        lines.push_back(line);
    }
    return lines;
}

}  // namespace

TEST_CASE("golden differences name the field path that moved", "[golden]") {
    const std::string base = R"({"a": 1.5, "rows": [{"x": "1f1b", "t_s": 2}], "e": {}})";
    CHECK(differences(base, base).empty());
    // Within the stated relative tolerance: not a difference.
    CHECK(differences(base, R"({"a": 1.5000000000001, "rows": [{"x": "1f1b", "t_s": 2}], "e": {}})")
              .empty());
    const auto moved =
        differences(base, R"({"a": 1.5, "rows": [{"x": "1f1b", "t_s": 2.5}], "e": {}})");
    REQUIRE(moved.size() == 1);
    CHECK(moved[0] == "rows[0].t_s: expected 2, got 2.5");
    const auto renamed =
        differences(base, R"({"a": 1.5, "rows": [{"x": "gpipe", "t_s": 2}], "e": {}})");
    REQUIRE(renamed.size() == 1);
    CHECK(renamed[0] == "rows[0].x: expected \"1f1b\", got \"gpipe\"");
    const auto added =
        differences(base, R"({"a": 1.5, "rows": [{"x": "1f1b", "y": 0, "t_s": 2}], "e": {}})");
    REQUIRE(added.size() == 1);
    CHECK(added[0].find("field rows[0].t_s expected, found rows[0].y") == 0);
    const auto missing = differences(base, R"({"a": 1.5, "rows": [{"x": "1f1b", "t_s": 2}]})");
    REQUIRE(missing.size() == 1);
    CHECK(missing[0] == "fields missing from e on");
}

TEST_CASE("golden outputs: the README's commands and the bundled examples", "[golden]") {
    const std::vector<GoldenCase> cases = load_cases();
    REQUIRE(cases.size() >= 10);
    const std::filesystem::path scratch =
        std::filesystem::temp_directory_path() / ("stepsim-golden-" + std::to_string(getpid()));
    for (const GoldenCase& c : cases) {
        SECTION(c.name) {
            const std::filesystem::path expected_path =
                std::filesystem::path(STEPSIM_SOURCE_DIR) / "tests/golden" / (c.name + ".json");
            INFO("golden case " << c.name << ": stepsim " << c.command
                                << "\n(regenerate: tools/scripts/regenerate_golden.sh)");
            REQUIRE(std::filesystem::exists(expected_path));
            const std::string expected = read_file(expected_path);
            const std::string actual = run_case(c, scratch / c.name);
            if (expected == actual) {
                continue;
            }
            // JSON lines (a sweep's results.jsonl) line by line, else one document.
            const std::vector<std::string> e_lines =
                c.output.ends_with(".jsonl") ? lines_of(expected) : std::vector{expected};
            const std::vector<std::string> a_lines =
                c.output.ends_with(".jsonl") ? lines_of(actual) : std::vector{actual};
            REQUIRE(e_lines.size() == a_lines.size());
            std::vector<std::string> moved;
            for (std::size_t i = 0; i < e_lines.size(); ++i) {
                for (const std::string& d : differences(e_lines[i], a_lines[i])) {
                    moved.push_back(e_lines.size() > 1 ? "line " + std::to_string(i + 1) + ": " + d
                                                       : d);
                }
            }
            std::string report;
            for (const std::string& d : moved) {
                report += "  " + d + "\n";
            }
            INFO("fields that moved:\n" << report);
            CHECK(moved.empty());
        }
    }
    std::filesystem::remove_all(scratch);
}
