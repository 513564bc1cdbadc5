// SPDX-License-Identifier: Apache-2.0
// File: checkpoint_cli_test.cc
// `stepsim checkpoint` end to end (the binary, via STEPSIM_CLI): determinism across runs and
// thread counts, CSV resume after an interruption (torn last row, or a kill at a random
// moment), and exit status 2 with a clear message on bad input.
#include "unit/cli_process.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

using Outcome = stepsim::test::CliOutcome;

using stepsim::test::run_cli_process;

Outcome run_cli(const std::string& arguments) {
    return run_cli_process("checkpoint", arguments);
}

// The first number after "key": in a JSON text.
double json_number(const std::string& json, const std::string& key) {
    const std::size_t at = json.find("\"" + key + "\":");
    REQUIRE(at != std::string::npos);
    return std::strtod(json.c_str() + at + key.size() + 3, nullptr);
}

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

fs::path scratch(const std::string& name) {
    const fs::path dir =
        fs::temp_directory_path() / ("stepsim_checkpoint_cli_test." + std::to_string(::getpid()));
    fs::create_directories(dir);
    const fs::path path = dir / name;
    fs::remove(path);
    return path;
}

const std::string kSweep =
    "--step-time 10s --work 10d --mtbf-sweep 2h,6h --checkpoint-cost 1min --restart-cost 10min "
    "--intervals 10min:1h:10min --seeds 40 --json";

}  // namespace

TEST_CASE("checkpoint: same seed gives the same JSON, whatever the thread count",
          "[checkpoint][cli]") {
    const Outcome one = run_cli(kSweep + " --threads 1");
    REQUIRE(one.status == 0);
    REQUIRE(one.out.find("\"best_interval_s\"") != std::string::npos);
    REQUIRE(one.out.find("\"young_interval_s\"") != std::string::npos);
    REQUIRE(one.out.find("\"daly_interval_s\"") != std::string::npos);
    REQUIRE(one.out.find("\"points\"") != std::string::npos);
    const Outcome again = run_cli(kSweep + " --threads 1");
    const Outcome four = run_cli(kSweep + " --threads 4");
    REQUIRE(again.out == one.out);
    REQUIRE(four.out == one.out);
    // Another seed gives other numbers.
    REQUIRE(run_cli(kSweep + " --threads 2 --seed 2").out != one.out);
}

TEST_CASE("checkpoint: an interrupted CSV resumes to the identical file", "[checkpoint][cli]") {
    const fs::path full = scratch("full.csv");
    const Outcome reference = run_cli(kSweep + " --threads 2 --csv " + full.string());
    REQUIRE(reference.status == 0);
    const std::string expected = slurp(full);
    // header + 2 rates × (6 grid + Young + Daly) rows
    REQUIRE(std::count(expected.begin(), expected.end(), '\n') == 17);

    SECTION("torn last row") {
        const fs::path torn = scratch("torn.csv");
        std::size_t cut = 0;
        for (int line = 0; line < 6; ++line) {
            cut = expected.find('\n', cut) + 1;
        }
        cut += 25;  // part of the sixth data row
        std::ofstream(torn, std::ios::binary) << expected.substr(0, cut);
        const Outcome resumed = run_cli(kSweep + " --threads 2 --csv " + torn.string());
        REQUIRE(resumed.status == 0);
        REQUIRE(slurp(torn) == expected);
        REQUIRE(resumed.out == reference.out);  // the report too
    }
    SECTION("killed at some moment, then rerun") {
        const fs::path killed = scratch("killed.csv");
        const std::string command = "timeout -s KILL 0.3 " + std::string(STEPSIM_CLI) +
                                    " checkpoint " + kSweep + " --threads 1 --csv " +
                                    killed.string() + " > /dev/null 2>&1";
        REQUIRE(std::system(command.c_str()) != -1);
        const Outcome resumed = run_cli(kSweep + " --threads 2 --csv " + killed.string());
        REQUIRE(resumed.status == 0);
        REQUIRE(slurp(killed) == expected);
    }
    SECTION("a CSV of another sweep is refused") {
        const Outcome other = run_cli(
            "--step-time 10s --work 10d --mtbf 3h --checkpoint-cost 1min --restart-cost 10min "
            "--intervals 10min:1h:10min --seeds 40 --csv " +
            full.string());
        REQUIRE(other.status == 2);
        REQUIRE(other.out.find("different sweep") != std::string::npos);
        REQUIRE(slurp(full) == expected);
    }
}

TEST_CASE("checkpoint: bad input is a clear error with exit status 2", "[checkpoint][cli]") {
    const std::string ok_run = "--steps 1000 --restart-cost 10min ";

    struct Case {
        std::string arguments;
        std::string message;
    };

    const Case cases[] = {
        {"--step-time 10s " + ok_run + "--mtbf 0s --checkpoint-cost 1min --intervals 10min",
         "--mtbf must be positive"},
        {"--step-time 10s " + ok_run + "--mtbf -3h --checkpoint-cost 1min --intervals 10min",
         "negative"},
        {"--step-time 10s " + ok_run +
             "--mtbf-sweep 1h,0h --checkpoint-cost 1min "
             "--intervals 10min",
         "--mtbf-sweep must be positive"},
        {"--step-time 10s " + ok_run + "--mtbf 3h --checkpoint-cost 0s --intervals 10min",
         "--checkpoint-cost must be positive"},
        {"--step-time 10s " + ok_run + "--mtbf 3h --checkpoint-cost -1min --intervals 10min",
         "negative"},
        {"--step-time 10s " + ok_run + "--mtbf 3h --checkpoint-cost 1min --intervals 0s",
         "--intervals must be positive"},
        {"--step-time 10s " + ok_run + "--mtbf 3h --checkpoint-cost 1min --intervals 5s",
         "shorter than one step"},
        {"--step-time 0s " + ok_run + "--mtbf 3h --checkpoint-cost 1min --intervals 10min",
         "--step-time must be positive"},
        {"--step-time -2s " + ok_run + "--mtbf 3h --checkpoint-cost 1min --intervals 10min",
         "negative"},
        {"--workload w.textproto " + ok_run + "--mtbf 3h --checkpoint-cost 1min --intervals 10min",
         "--workload needs --topology"},
    };
    for (const Case& c : cases) {
        const Outcome outcome = run_cli(c.arguments);
        INFO(c.arguments << "\n" << outcome.out);
        REQUIRE(outcome.status == 2);
        REQUIRE(outcome.out.find(c.message) != std::string::npos);
        REQUIRE(outcome.out.find("error") != std::string::npos);
    }
}

TEST_CASE("checkpoint: a workload gives the simulated step time and the model-state size",
          "[checkpoint][cli]") {
    // With --topology and --workload, the step time is the training-step simulation's and
    // the checkpoint holds 14 bytes per parameter (bf16 weights 2 + fp32 master 4 + Adam 8),
    // written at --write-bandwidth-per-node by every host: delta = 14 N / (hosts x bw).
    const std::string source = STEPSIM_SOURCE_DIR;
    const std::string cluster = "--topology " + source + "/topologies/dgx-h100-16.textproto ";
    const std::string job = "--workload " + source + "/workloads/tiny-dp.textproto ";
    const Outcome step =
        run_cli_process("workload", source + "/workloads/tiny-dp.textproto --json");
    REQUIRE(step.status == 0);
    const Outcome with_workload =
        run_cli(cluster + job +
                "--steps 1000 --mtbf 3h --write-bandwidth-per-node 1GBps --restart-cost 1min "
                "--intervals 10min --seeds 4 --json");
    INFO(with_workload.out);
    REQUIRE(with_workload.status == 0);
    const double parameters = json_number(step.out, "parameters");
    const double expected_delta_s = 14 * parameters / (2 * 1e9);
    REQUIRE(json_number(with_workload.out, "checkpoint_cost_s") ==
            Approx(expected_delta_s).epsilon(1e-9).margin(1e-9));
    REQUIRE(json_number(with_workload.out, "step_time_s") > 0);
    // Without --topology the workload cannot be simulated: a usage error, not a silent guess.
    const Outcome no_cluster = run_cli(job +
                                       "--steps 10 --mtbf 3h --checkpoint-cost 1s "
                                       "--restart-cost 1min --intervals 10min");
    REQUIRE(no_cluster.status == 2);
}
