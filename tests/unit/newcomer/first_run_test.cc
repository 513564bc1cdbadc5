// SPDX-License-Identifier: Apache-2.0
// The rough edges of a first run (issue 17 §4): each flag works the way the README and the
// other commands suggest.
#include "unit/cli_process.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <unistd.h>

namespace {

using stepsim::test::run_cli_process;

const std::string kSource = STEPSIM_SOURCE_DIR;
const std::string kTopology16 = kSource + "/topologies/dgx-h100-16.textproto";
const std::string kTopology1024 = kSource + "/topologies/dgx-h100-1024.textproto";
const std::string kTinyPp = kSource + "/workloads/tiny-pp.textproto";

}  // namespace

TEST_CASE("first run: search --by straggler runs with --straggler", "[newcomer]") {
    const auto outcome =
        run_cli_process("search", "--topology " + kTopology16 + " --workload " + kTinyPp +
                                      " --by straggler --straggler rank=0:compute=1.5 --top 2");
    INFO(outcome.out);
    CHECK(outcome.status == 0);
    CHECK(outcome.out.find("ranked by straggler") != std::string::npos);
    CHECK(outcome.out.find("with straggler") != std::string::npos);
    const auto missing = run_cli_process(
        "search", "--topology " + kTopology16 + " --workload " + kTinyPp + " --by straggler");
    CHECK(missing.status == 2);
    CHECK(missing.out.find("--by straggler needs --straggler SPEC or --scenario FILE") !=
          std::string::npos);
}

TEST_CASE("first run: --network has one spelling everywhere, the old one still works",
          "[newcomer]") {
    const std::string collective =
        "--topology " + kTopology16 + " --op allreduce --bytes 1MiB --ranks 0-7 --network ";
    const auto new_spelling = run_cli_process("collective", collective + "alpha_beta");
    const auto old_spelling = run_cli_process("collective", collective + "alphabeta");
    INFO(new_spelling.out);
    REQUIRE(new_spelling.status == 0);
    REQUIRE(old_spelling.status == 0);
    CHECK(new_spelling.out == old_spelling.out);
    CHECK(new_spelling.out.find("network alpha_beta") != std::string::npos);
    const auto fair = run_cli_process("collective", collective + "fair_share");
    CHECK(fair.status == 0);
    const auto step = run_cli_process("step", "--topology " + kTopology16 + " --workload " +
                                                  kTinyPp + " --network alphabeta --json");
    CHECK(step.status == 0);
    const auto bad = run_cli_process("collective", collective + "ideal");
    CHECK(bad.status == 2);
    CHECK(bad.out.find("--network must be \"fair_share\" or \"alpha_beta\"") != std::string::npos);
}

TEST_CASE("first run: topology --set takes the topology. prefix as step does", "[newcomer]") {
    const auto plain = run_cli_process(
        "topology", kTopology1024 + " --set 'fabric[0].fat_tree.oversubscription=2' --json");
    const auto prefixed = run_cli_process(
        "topology",
        kTopology1024 + " --set 'topology.fabric[0].fat_tree.oversubscription=2' --json");
    const auto base = run_cli_process("topology", kTopology1024 + " --json");
    INFO(prefixed.out);
    REQUIRE(plain.status == 0);
    REQUIRE(prefixed.status == 0);
    CHECK(plain.out == prefixed.out);
    CHECK(plain.out != base.out);
}

TEST_CASE("first run: step --help's usage line names every option", "[newcomer]") {
    const auto outcome = run_cli_process("step", "--help");
    REQUIRE(outcome.status == 0);
    const std::string usage = outcome.out.substr(0, outcome.out.find('\n'));
    for (const char* flag : {"--network", "--free-comm", "--exact", "--exact-groups", "-o FILE",
                             "--chakra-out", "--trace", "--threads", "--fidelity"}) {
        INFO(flag);
        CHECK(usage.find(flag) != std::string::npos);
    }
}

TEST_CASE("first run: step --exact simulates every DP replica and gives the same step",
          "[newcomer]") {
    // tiny-pp (TP2 PP4 DP2) on two DGX H100 servers: a symmetric cluster, so the folded step
    // (4 compute streams) and --exact (4 x 2) agree.
    const std::string args = "--topology " + kTopology16 + " --workload " + kTinyPp + " --json";
    const auto folded = run_cli_process("step", args);
    const auto exact = run_cli_process("step", args + " --exact");
    REQUIRE(folded.status == 0);
    REQUIRE(exact.status == 0);
    std::smatch a;
    std::smatch b;
    const std::regex step_time("\"step_time_s\": ([0-9.e+-]+)");
    REQUIRE(std::regex_search(folded.out, a, step_time));
    REQUIRE(std::regex_search(exact.out, b, step_time));
    CHECK(a[1] == b[1]);
    CHECK(folded.out.find("\"simulated_gpus\": 4,") != std::string::npos);
    CHECK(exact.out.find("\"simulated_gpus\": 8,") != std::string::npos);
}

TEST_CASE("first run: whatif labels its replicas and sensitivity columns", "[newcomer]") {
    const auto outcome = run_cli_process("whatif", "--topology " + kTopology16 + " --workload " +
                                                       kTinyPp + " --straggler rank=0:compute=1.2");
    INFO(outcome.out);
    REQUIRE(outcome.status == 0);
    CHECK(outcome.out.find("DP replicas simulated: 0 1  (simulated on their own") !=
          std::string::npos);
    CHECK(
        outcome.out.find("element                      critical path   simulated (stages only)") !=
        std::string::npos);
}

TEST_CASE("first run: step says what \"simulated\", the bubble ratio and the rows mean",
          "[newcomer]") {
    const auto outcome =
        run_cli_process("step", "--topology " + kTopology16 + " --workload " + kTinyPp);
    INFO(outcome.out);
    REQUIRE(outcome.status == 0);
    CHECK(outcome.out.find("(4 simulated: one per stage, the others by symmetry;") !=
          std::string::npos);
    CHECK(outcome.out.find("of the step (mean over GPUs); schedule's closed-form ratio") !=
          std::string::npos);
    CHECK(outcome.out.find("\ncluster mean ") != std::string::npos);
    CHECK(outcome.out.find("the slowest stage's figures, not the cluster mean") !=
          std::string::npos);
}

TEST_CASE("first run: sweep progress into a file is a line per 10%, not per point", "[newcomer]") {
    const std::filesystem::path out =
        std::filesystem::temp_directory_path() /
        ("stepsim_newcomer_sweep_progress." + std::to_string(::getpid()));
    std::filesystem::remove_all(out);
    const auto outcome =
        run_cli_process("sweep", kSource + "/tools/examples/sweeps/straggler.textproto --out " +
                                     out.string() + " --jobs 2");
    INFO(outcome.out);
    REQUIRE(outcome.status == 0);
    std::size_t lines = 0;
    for (std::size_t at = outcome.out.find("points/s"); at != std::string::npos;
         at = outcome.out.find("points/s", at + 1)) {
        ++lines;
    }
    CHECK(lines >= 2);   // the start and the end at least
    CHECK(lines <= 12);  // 33 points: not one line each
    std::filesystem::remove_all(out);
}

TEST_CASE("first run: checkpoint without --intervals sweeps a log grid around Young's interval",
          "[newcomer]") {
    const auto outcome =
        run_cli_process("checkpoint",
                        "--mtbf 7.5h --step-time 31.5s --steps 20000 --checkpoint-cost 12.5s "
                        "--restart-cost 30min --seeds 20 --json");
    INFO(outcome.out);
    REQUIRE(outcome.status == 0);
    CHECK(outcome.out.find("no --intervals: 17 intervals from") != std::string::npos);
    // Young: sqrt(2 x 12.5 s x 27000 s) = 821.6 s; the grid spans 205 s .. 3286 s.
    CHECK(outcome.out.find("\"young_interval_s\": 821.5") != std::string::npos);
}

TEST_CASE("first run: checkpoint's table has one unit per column", "[newcomer]") {
    const auto outcome =
        run_cli_process("checkpoint",
                        "--mtbf 7.5h --step-time 31.5s --steps 95368 --checkpoint-cost 12.5s "
                        "--restart-cost 30min --seeds 20 --intervals 5min,15min,1h");
    INFO(outcome.out);
    REQUIRE(outcome.status == 0);
    CHECK(outcome.out.find("interval (min)") != std::string::npos);
    CHECK(outcome.out.find("wall time (h)") != std::string::npos);
    CHECK(outcome.out.find("best: 15.22 min,") != std::string::npos);  // whole steps
    CHECK(outcome.out.find("no other interval of the grid is indistinguishable") !=
          std::string::npos);
    CHECK(outcome.out.find(" s (simulated at") == std::string::npos);
}

TEST_CASE("first run: checkpoint refines the optimum between grid points", "[newcomer]") {
    const auto outcome =
        run_cli_process("checkpoint",
                        "--mtbf 49.49h --step-time 31.5s --steps 95368 --checkpoint-cost 12.5s "
                        "--restart-cost 30min --seeds 100 --intervals 10min,30min,1h --json");
    INFO(outcome.out);
    REQUIRE(outcome.status == 0);
    const auto number = [&](const std::string& key) {
        const std::regex pattern("\"" + key + "\": ([-0-9.e+]+)");
        std::smatch match;
        REQUIRE(std::regex_search(outcome.out, match, pattern));
        return std::stod(match[1]);
    };
    // Never worse than the grid's best (same seeds), inside the grid's neighbours.
    CHECK(number("refined_goodput") >= number("best_goodput"));
    CHECK(number("refined_interval_s") >= 600);
    CHECK(number("refined_interval_s") <= 3600);
    CHECK(number("refined_evaluations") > 0);
    CHECK(number("refined_band_low_s") <= number("refined_interval_s"));
    CHECK(number("refined_band_high_s") >= number("refined_interval_s"));
}

TEST_CASE("first run: step --plot draws one row per stage, the blocks and the step time",
          "[newcomer]") {
    const std::filesystem::path svg =
        std::filesystem::temp_directory_path() /
        ("stepsim_newcomer_timeline." + std::to_string(::getpid()) + ".svg");
    std::filesystem::remove(svg);
    const auto outcome = run_cli_process("step", "--topology " + kTopology16 + " --workload " +
                                                     kTinyPp + " --json --plot " + svg.string());
    INFO(outcome.out);
    REQUIRE(outcome.status == 0);
    std::smatch match;
    REQUIRE(std::regex_search(outcome.out, match, std::regex("\"step_time_s\": ([0-9.e+-]+)")));
    char step_label[64];
    std::snprintf(step_label, sizeof step_label, "step time %.2f ms", std::stod(match[1]) * 1e3);
    std::ifstream in(svg);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(text.rfind("<svg", 0) == 0);
    CHECK(text.find("</svg>") != std::string::npos);
    for (const char* expected :
         {"stage 0 (GPU 0)", "stage 3 (GPU 12)", static_cast<const char*>(step_label),
          "time in the step (ms)", "forward", "backward (inputs, or full)", "pipeline bubble",
          "exposed communication (TP, CP, ZeRO, FSDP, PP, DP)", "#4e79a7", "#f28e2b", "#d9d9d9"}) {
        INFO(expected);
        CHECK(text.find(expected) != std::string::npos);
    }
    // Micro-batch numbers on the wide blocks (the last stage's backward passes).
    CHECK(text.find("fill=\"white\">7</text>") != std::string::npos);
    std::filesystem::remove(svg);
}

TEST_CASE("first run: step --set takes a topology field without the topology. prefix",
          "[newcomer]") {
    const std::string base = "--topology " + kTopology16 + " --workload " + kTinyPp + " --json";
    const auto plain = run_cli_process("step", base + " --set 'instance[0].count=2'");
    const auto prefixed = run_cli_process("step", base + " --set 'topology.instance[0].count=2'");
    INFO(plain.out);
    REQUIRE(plain.status == 0);
    REQUIRE(prefixed.status == 0);
    CHECK(plain.out == prefixed.out);
    // A workload field still goes to the workload, next to an unprefixed topology one.
    const auto both = run_cli_process(
        "step", base + " --set 'instance[0].count=2' --set 'training.global_batch=64'");
    INFO(both.out);
    CHECK(both.status == 0);
    // Unknown in both specs: today's workload error.
    const auto unknown = run_cli_process("step", base + " --set 'no_such_field=1'");
    CHECK(unknown.status == 2);
    CHECK(unknown.out.find("unknown field \"no_such_field\" in Workload") != std::string::npos);
    // whatif splits them the same way.
    const auto whatif =
        run_cli_process("whatif", "--topology " + kTopology16 + " --workload " + kTinyPp +
                                      " --straggler rank=0:compute=1.2 --no-sensitivity --json"
                                      " --set 'instance[0].count=2'");
    INFO(whatif.out);
    CHECK(whatif.status == 0);
}
