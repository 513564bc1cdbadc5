// SPDX-License-Identifier: Apache-2.0
// File: sweep_test.cc
// Sweep specs and the sweep runner. The math: points are the mixed-radix product of the axis
// groups (a zip group counts once) times the seeds; a log range of n points from a to b is
// a·(b/a)^(i/(n-1)); rows are pure functions of (spec, point), so any thread count, any rank
// split and any kill-and-resume must give the same bytes.
#include "stepsim/sweep.h"

#include "stepsim/error.h"
#include "stepsim/json_path.h"

#include "run_command.h"
#include "sweep_runner.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <fstream>
#include <numeric>
#include <signal.h>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace {

using stepsim::SweepExpression;
using stepsim::SweepSpec;

const std::filesystem::path kSource = STEPSIM_SOURCE_DIR;

std::string read(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::filesystem::path fresh_dir(const std::string& name) {
    const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                      ("stepsim-sweep-test-" + std::to_string(::getpid())) / name;
    std::filesystem::remove_all(dir);
    return dir;
}

std::size_t count_lines(const std::string& text) {
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

SweepSpec load(const std::string& text) {
    return stepsim::load_sweep_text(text, "test.textproto", kSource / "tests" / "sweep");
}

std::string error_of(const std::string& text) {
    try {
        load(text);
    } catch (const stepsim::SpecError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("sweep expressions follow C precedence and compare strings", "[sweep]") {
    const SweepExpression::Variables v = {{"tp", stepsim::sweep_value("8")},
                                          {"pp", stepsim::sweep_value("4")},
                                          {"mode", stepsim::sweep_value("fast")},
                                          {"interval", stepsim::sweep_value("30min")}};
    CHECK(SweepExpression("1 + 2 * 3").evaluate(v).number == 7);
    CHECK(SweepExpression("(1 + 2) * 3").evaluate(v).number == 9);
    CHECK(SweepExpression("tp * pp != 32").evaluate(v).number == 0);
    CHECK(SweepExpression("tp % 3 == 2 && !(pp > 4)").is_true(v));
    CHECK(SweepExpression("mode == \"fast\" || tp / 0 > 1").is_true(v));  // short circuit
    CHECK(SweepExpression("interval == 1800").is_true(v));                // durations in seconds
    CHECK(SweepExpression("-tp + 10").evaluate(v).number == 2);
    CHECK(SweepExpression("tp * pp").variables() == std::vector<std::string>{"pp", "tp"});
    CHECK_THROWS_WITH(SweepExpression("tp * (pp"), "column 9: expected \")\"");
    CHECK_THROWS_WITH(SweepExpression("tp @ 2"), "column 4: unexpected \"@\"");
    CHECK_THROWS_WITH(SweepExpression("mode + 1").evaluate(v),
                      "operator + needs numbers, got the string \"fast\"");
    CHECK_THROWS_WITH(SweepExpression("dp").evaluate(v), "unknown name \"dp\"");
}

TEST_CASE("sweep points are the product of axis groups times seeds", "[sweep]") {
    // Groups: {a} (3 values), {b, c} zipped (2 values), {d} (log range, 4 values); 2 seeds.
    // Points = 3 · 2 · 4 · 2 = 48; point p has seed index p % 2 and, for q = p / 2,
    // d = q % 4, (b, c) = q / 4 % 2, a = q / 8.
    const SweepSpec spec = load(R"(
        command: "collective"
        args: ["--op", "all_reduce"]
        axis { flag: "a" values: ["x", "y", "z"] }
        axis { flag: "b" range { start: 0.5 stop: 1.0 step: 0.5 unit: "MB" } zip: "bc" }
        axis { set: "model.hidden" name: "c" values: ["10", "20"] zip: "bc" }
        axis { flag: "--size-d" log_range { start: 1 stop: 1000 points: 4 unit: "KB" } }
        result: "time_s=rows[0].time_s"
        seeds: 2
        seed_flag: "seed"
    )");
    REQUIRE(spec.point_count == 48);
    REQUIRE(spec.groups.size() == 3);
    CHECK(spec.axes[1].values == std::vector<std::string>{"0.5MB", "1MB"});
    // 1·1000^(i/3): 1, 10, 100, 1000.
    CHECK(spec.axes[3].values == std::vector<std::string>{"1KB", "10KB", "100KB", "1000KB"});
    CHECK(spec.axes[3].name == "size_d");
    for (std::int64_t p = 0; p < spec.point_count; ++p) {
        const std::int64_t q = p / 2;
        const std::vector<std::size_t> expected = {
            static_cast<std::size_t>(q / 8), static_cast<std::size_t>(q / 4 % 2),
            static_cast<std::size_t>(q / 4 % 2), static_cast<std::size_t>(q % 4)};
        CHECK(spec.value_indices(p) == expected);
        CHECK(spec.seed_index(p) == p % 2);
    }
    // Point 13: q = 6 -> a = 0 (x), (b, c) = 1 (1MB, 20), d = 2 (100KB), seed index 1.
    const std::vector<std::string> args = spec.command_args(13);
    const std::vector<std::string> expected = {
        "--op",  "all_reduce",      "--a",      "x",     "--b",    "1MB",
        "--set", "model.hidden=20", "--size-d", "100KB", "--seed", std::to_string(spec.seed(13)),
        "--json"};
    CHECK(args == expected);
    CHECK(spec.seed(13) != spec.seed(12));
    CHECK(spec.seed(13) < (std::uint64_t{1} << 53));
}

TEST_CASE("bad sweep specs are reported at file:line:col, all at once", "[sweep]") {
    const std::string e = error_of(
        "command: \"step\"\n"
        "axis { flag: \"x\" values: [\"1\"] range { start: 1 stop: 2 step: 1 } }\n"
        "axis { set: \"parallelism.tp\" name: \"x\" values: [\"1\"] }\n"
        "skip { when: \"x * y > 2\" }\n"
        "args: [\"--json\"]\n"
        "seeds: 3\n");
    CHECK_THAT(e, Catch::Contains("test.textproto:2:"));
    CHECK_THAT(e, Catch::Contains("give only one of values, range and log_range"));
    CHECK_THAT(e, Catch::Contains("test.textproto:3:"));
    CHECK_THAT(e, Catch::Contains("axis name \"x\" is used twice or reserved"));
    CHECK_THAT(e, Catch::Contains("test.textproto:4:"));
    CHECK_THAT(e, Catch::Contains("unknown name \"y\" (expected an axis name or gpus)"));
    CHECK_THAT(e, Catch::Contains("flag --json is not allowed in a sweep"));
    CHECK_THAT(e, Catch::Contains("seeds > 1 needs seed_flag"));
    CHECK_THAT(error_of("command: \"nope\""), Catch::Contains("unknown command \"nope\""));
    CHECK_THAT(error_of("command: \"step\" workload: \"missing.textproto\""),
               Catch::Contains("does not exist"));
}

TEST_CASE("sweeps past 10^7 points are refused up front", "[sweep]") {
    // 10^4 · 10^4 = 10^8 > 10^7.
    const std::string e = error_of(
        "command: \"step\"\n"
        "axis { flag: \"a\" range { start: 1 stop: 10000 step: 1 } }\n"
        "axis { flag: \"b\" range { start: 1 stop: 10000 step: 1 } }\n");
    CHECK_THAT(e, Catch::Contains("more than 10000000 points (the limit)"));
}

TEST_CASE("json_lookup returns raw values by path", "[sweep]") {
    const std::string doc =
        R"({"a": {"b": [1, {"c": 2.50e-3, "s": "x\"y\n"}]}, "t": true, "e": []})";
    CHECK(stepsim::json_lookup(doc, "a.b[1].c") == "2.50e-3");
    CHECK(stepsim::json_lookup(doc, "a.b[0]") == "1");
    CHECK(stepsim::json_text(*stepsim::json_lookup(doc, "a.b[1].s")) == "x\"y\n");
    CHECK(stepsim::json_lookup(doc, "t") == "true");
    CHECK(stepsim::json_lookup(doc, "e") == "[]");
    CHECK_FALSE(stepsim::json_lookup(doc, "a.b[2]"));
    CHECK_FALSE(stepsim::json_lookup(doc, "a.x"));
}

TEST_CASE("ranks split the points deterministically, balanced by predicted cost", "[sweep]") {
    // cost = 1/interval over intervals 10..120 min: each point goes to the least-loaded rank,
    // so the ranks' loads differ by at most one point's cost (the largest, 1/10).
    const SweepSpec spec = stepsim::load_sweep_file(kSource / "tests/sweep/checkpoint.textproto");
    for (int ranks : {1, 2, 3, 4}) {
        std::vector<std::int64_t> all;
        std::vector<double> load;
        for (int r = 0; r < ranks; ++r) {
            const std::vector<std::int64_t> mine = stepsim::cli::assign_points(spec, 0, r, ranks);
            CHECK(mine == stepsim::cli::assign_points(spec, 0, r, ranks));
            double cost = 0;
            for (std::int64_t p : mine) {
                cost += stepsim::cli::predicted_cost(spec, p);
            }
            load.push_back(cost);
            all.insert(all.end(), mine.begin(), mine.end());
        }
        std::sort(all.begin(), all.end());
        std::vector<std::int64_t> expected(static_cast<std::size_t>(spec.point_count));
        std::iota(expected.begin(), expected.end(), 0);
        CHECK(all == expected);
        const auto [low, high] = std::minmax_element(load.begin(), load.end());
        CHECK(*high - *low <= 1.0 / 10 + 1e-12);
    }
}

TEST_CASE("skipped points cost nothing when the ranks are balanced", "[sweep]") {
    // 150 points, 24 not skipped (tp·pp·dp = 16), cost 1 each: the skipped ones cost 0, so
    // each of 2 ranks runs 12 of the 24, however the skipped ones fall.
    const SweepSpec spec = stepsim::load_sweep_file(kSource / "tests/sweep/layouts.textproto");
    int runnable = 0;
    for (std::int64_t p = 0; p < spec.point_count; ++p) {
        const double cost = stepsim::cli::predicted_cost(spec, p);
        CHECK((cost == 0.0 || cost == 1.0));
        runnable += cost > 0 ? 1 : 0;
    }
    REQUIRE(runnable == 24);
    for (int r = 0; r < 2; ++r) {
        double load = 0;
        for (const std::int64_t p : stepsim::cli::assign_points(spec, 0, r, 2)) {
            load += stepsim::cli::predicted_cost(spec, p);
        }
        CHECK(load == 12.0);
    }
}

TEST_CASE("sweep output is identical with 1 and 2 threads and records invalid points", "[sweep]") {
    const std::string spec = (kSource / "tests/sweep/layouts.textproto").string();
    const std::filesystem::path one = fresh_dir("jobs1");
    const std::filesystem::path two = fresh_dir("jobs2");
    const auto r1 =
        stepsim::cli::run_command("sweep", {spec, "--out", one.string(), "--jobs", "1", "--quiet"});
    const auto r2 = stepsim::cli::run_command(
        "sweep", {spec, "--out", two.string(), "--jobs", "2", "--quiet", "--json"});
    REQUIRE(r1.status == 0);
    REQUIRE(r2.status == 0);
    CHECK(read(one / "results.csv") == read(two / "results.csv"));
    CHECK(read(one / "results.jsonl") == read(two / "results.jsonl"));
    // 5 tp x 3 pp x 5 dp x 2 micro-batches = 150 points; tp·pp·dp = 16 for 12 (tp, pp, dp)
    // triples of these axes, each at mb 2 (runs) and 3 (32 % (3·dp) != 0: invalid).
    CHECK(stepsim::json_lookup(r2.output, "points") == "150");
    CHECK(stepsim::json_lookup(r2.output, "ok") == "12");
    CHECK(stepsim::json_lookup(r2.output, "invalid") == "12");
    CHECK(stepsim::json_lookup(r2.output, "skipped") == "126");
    const std::string csv = read(one / "results.csv");
    CHECK(count_lines(csv) == 151);
    CHECK_THAT(csv, Catch::Contains("\n0,1,1,1,2,skipped,,,,,,,tp*pp*dp != 16 GPUs\n"));
    CHECK_THAT(csv, Catch::Contains("tiny-pp.textproto:13:3: error: global_batch (32) "
                                    "must be divisible by micro_batch x dp (3 x 16 = 48)\n"));
    // An ok row's step time is the step command's own number, digit for digit.
    const auto step = stepsim::cli::run_command(
        "step",
        {"--topology", (kSource / "topologies/dgx-h100-16.textproto").lexically_normal().string(),
         "--workload", (kSource / "workloads/tiny-pp.textproto").lexically_normal().string(),
         "--set", "parallelism.tp=2", "--set", "parallelism.pp=4", "--set", "parallelism.dp=2",
         "--set", "training.micro_batch=2", "--json"});
    REQUIRE(step.status == 0);
    CHECK_THAT(
        csv, Catch::Contains(",2,4,2,2,ok," +
                             std::string(*stepsim::json_lookup(step.output, "step_time_s")) + ","));
}

TEST_CASE("a sweep resumes after a partial last row, byte-identical", "[sweep]") {
    const std::string spec = (kSource / "tests/sweep/checkpoint.textproto").string();
    const std::filesystem::path full = fresh_dir("full");
    const std::filesystem::path cut = fresh_dir("cut");
    REQUIRE(stepsim::cli::run_command("sweep", {spec, "--out", full.string(), "-q"}).status == 0);
    // Keep 10 complete rows plus half of the 11th in the JSON lines, 9 rows in the CSV.
    std::filesystem::create_directories(cut);
    std::filesystem::copy_file(full / "sweep.id", cut / "sweep.id");
    const std::string jsonl = read(full / "results.jsonl");
    const std::string csv = read(full / "results.csv");
    std::size_t json_at = 0;
    std::size_t csv_at = 0;
    for (int i = 0; i < 10; ++i) {
        json_at = jsonl.find('\n', json_at) + 1;
        csv_at = csv.find('\n', csv_at) + 1;
    }
    std::ofstream(cut / "results.jsonl", std::ios::binary)
        << jsonl.substr(0, json_at + (jsonl.find('\n', json_at) - json_at) / 2);
    std::ofstream(cut / "results.csv", std::ios::binary) << csv.substr(0, csv_at);
    const auto resumed =
        stepsim::cli::run_command("sweep", {spec, "--out", cut.string(), "-q", "--json"});
    REQUIRE(resumed.status == 0);
    CHECK(stepsim::json_lookup(resumed.output, "resumed") == "9");
    CHECK(read(cut / "results.csv") == csv);
    CHECK(read(cut / "results.jsonl") == jsonl);
    // Another sweep's directory is refused.
    const auto other = stepsim::cli::run_command(
        "sweep", {(kSource / "tests/sweep/layouts.textproto").string(), "--out", cut.string()});
    CHECK(other.status == 2);
    CHECK_THAT(other.error, Catch::Contains("holds the results of a different sweep"));
    // The same sweep over a results.csv whose header is not its own: refused, left as it is.
    const std::string foreign = "point,something,else\n0,1,2\n";
    std::ofstream(cut / "results.csv", std::ios::binary) << foreign;
    const auto refused = stepsim::cli::run_command("sweep", {spec, "--out", cut.string(), "-q"});
    CHECK(refused.status == 2);
    CHECK_THAT(refused.error, Catch::Contains((cut / "results.csv").string() +
                                              ": its header is not this study's"));
    CHECK(read(cut / "results.csv") == foreign);
    CHECK(read(cut / "results.jsonl") == jsonl);
}

TEST_CASE("a sweep killed with SIGKILL and restarted loses and repeats no point", "[sweep]") {
    // Each point runs 100 seeds, so the 72 points take long enough to kill the CLI midway.
    const std::string spec = (kSource / "tests/sweep/checkpoint.textproto").string();
    const std::vector<std::string> flags = {"--set", "args[9]=100", "--jobs", "2", "-q"};
    const std::filesystem::path reference = fresh_dir("reference");
    const std::filesystem::path killed = fresh_dir("killed");
    std::vector<std::string> args = {spec, "--out", reference.string()};
    args.insert(args.end(), flags.begin(), flags.end());
    REQUIRE(stepsim::cli::run_command("sweep", args).status == 0);

    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        const std::string out = killed.string();
        ::execl(STEPSIM_CLI, STEPSIM_CLI, "sweep", spec.c_str(), "--out", out.c_str(), "--set",
                "args[9]=100", "--jobs", "2", "-q", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    // Kill once at least 5 rows are on disk (or give up waiting after 60 s).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    std::size_t rows = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        rows = count_lines(read(killed / "results.jsonl"));
        if (rows >= 5) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    REQUIRE(rows >= 5);
    const std::size_t kept = count_lines(read(killed / "results.jsonl"));
    INFO("rows on disk when killed: " << kept);
    CHECK(kept < 72);  // killed before the end

    args = {spec, "--out", killed.string()};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back("--json");
    const auto resumed = stepsim::cli::run_command("sweep", args);
    REQUIRE(resumed.status == 0);
    CHECK(std::stoll(std::string(*stepsim::json_lookup(resumed.output, "resumed"))) >= 5);
    CHECK(read(killed / "results.csv") == read(reference / "results.csv"));
    CHECK(read(killed / "results.jsonl") == read(reference / "results.jsonl"));
}
