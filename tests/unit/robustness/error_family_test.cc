// SPDX-License-Identifier: Apache-2.0
// The error family (error.h): bad input raises a UserError (SpecError with a location,
// JobClusterMismatch at the workload fields, ResourceLimitError, plain bad values), bugs an
// InternalError; the CLI maps the first to exit status 2 and the second to 1. Three checks:
//   1. library calls with the bad inputs we know of throw one of the family, never a bare
//      standard exception (std::invalid_argument used to mean "exit 1, internal bug");
//   2. no source under sim/ or include/ throws a bare standard exception of those kinds;
//   3. a job that does not fit its cluster exits 2 with the workload's file:line:col and the
//      topology file in the message.
#include "stepsim/analytic.h"
#include "stepsim/chakra.h"
#include "stepsim/collective.h"
#include "stepsim/error.h"
#include "stepsim/failures.h"
#include "stepsim/report.h"
#include "stepsim/spec.h"
#include "stepsim/stragglers.h"
#include "stepsim/sweep.h"
#include "stepsim/time.h"
#include "stepsim/topology.h"
#include "stepsim/units.h"
#include "stepsim/workload.h"

#include "unit/cli_process.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

using namespace stepsim;
using namespace std::chrono_literals;

namespace {

enum class Family { kUser, kInternal };

struct BadCall {
    std::string what;
    Family expected;
    std::function<void()> call;
};

// Runs `call` and names what it threw: "UserError", "InternalError", or the bare type.
std::string thrown_kind(const std::function<void()>& call) {
    try {
        call();
    } catch (const UserError&) {
        return "UserError";
    } catch (const InternalError&) {
        return "InternalError";
    } catch (const std::exception& e) {
        return std::string("bare ") + typeid(e).name() + ": " + e.what();
    }
    return "nothing";
}

Topology two_gpus() {
    Topology topology;
    const NodeId a = topology.add_node("a", NodeKind::kGpu, 0);
    const NodeId b = topology.add_node("b", NodeKind::kGpu, 1);
    topology.add_duplex_link(a, b, LinkKind::kNvLink, 1ns, 1e9);
    return topology;
}

}  // namespace

TEST_CASE("library calls with bad input throw the error family, never a bare exception",
          "[robustness][errors]") {
    const std::vector<BadCall> calls = {
        {"duplicate device name", Family::kUser,
         [] {
             Topology t = two_gpus();
             t.add_node("a", NodeKind::kGpu);
         }},
        {"link with zero bandwidth", Family::kUser,
         [] {
             Topology t = two_gpus();
             t.add_link(NodeId(0), NodeId(1), LinkKind::kNvLink, 1ns, 0.0);
         }},
        {"node id out of range", Family::kInternal,
         [] {
             (void)two_gpus().node(NodeId(9));
         }},
        {"collective of size 0", Family::kUser,
         [] {
             const Topology t = two_gpus();
             validate_collective_request(
                 CollectiveRequest{CollectiveOp::kAllReduce, {RankId(0), RankId(1)}, 0}, t);
         }},
        {"collective on an unknown rank", Family::kUser,
         [] {
             const Topology t = two_gpus();
             validate_collective_request(
                 CollectiveRequest{CollectiveOp::kAllReduce, {RankId(0), RankId(7)}, 64}, t);
         }},
        {"Young interval with zero checkpoint cost", Family::kUser,
         [] {
             (void)analytic::young_interval_s(0.0, 10.0);
         }},
        {"pipeline bubble with zero stages", Family::kUser,
         [] {
             (void)analytic::one_f_one_b_bubble_rate(0, 4);
         }},
        {"time past int64 picoseconds", Family::kUser,
         [] {
             (void)checked_add(Time::max(), Time(1));
         }},
        {"seconds past the step clock", Family::kUser,
         [] {
             (void)from_seconds(1e8);
         }},
        {"quantity without a unit", Family::kUser,
         [] {
             (void)parse_bandwidth_Bps("450");
         }},
        {"sweep expression with a syntax error", Family::kUser,
         [] {
             (void)SweepExpression("1 +");
         }},
        {"interval shorter than a step", Family::kUser,
         [] {
             (void)interval_to_steps(1.0, std::chrono::seconds(10));
         }},
        {"failure class without a name", Family::kUser,
         [] {
             FailureModel model;
             model.classes.push_back(FailureClass{});
             model.validate();
         }},
        {"parallel layout with tp 0", Family::kUser,
         [] {
             ParallelLayout layout;
             layout.tp = 0;
             (void)rank_of(layout, RankCoordinates{});
         }},
        {"rank outside the world", Family::kInternal,
         [] {
             (void)coordinates_of(ParallelLayout{}, 5);
         }},
        {"straggler sweep with step 0", Family::kUser,
         [] {
             StragglerSweep sweep;
             sweep.from = 1;
             sweep.to = 2;
             sweep.step = 0;
             (void)sweep.values();
         }},
        {"route between GPUs no link joins", Family::kUser,
         [] {
             Topology t;
             const NodeId a = t.add_node("a", NodeKind::kGpu, 0);
             const NodeId b = t.add_node("b", NodeKind::kGpu, 1);
             Router router(t);
             (void)router.route(a, b);
         }},
        {"file in a folder that does not exist", Family::kUser,
         [] {
             write_file_atomically(
                 std::filesystem::path(STEPSIM_SOURCE_DIR) / "no-such-folder" / "out.json", "{}");
         }},
        {"Chakra export under a path that is a file", Family::kUser,
         [] {
             // README.md is a file, so README.md/out cannot be a folder.
             chakra::Trace trace;
             (void)chakra::write_chakra_trace(
                 (std::filesystem::path(STEPSIM_SOURCE_DIR) / "README.md" / "out" / "t").string(),
                 trace);
         }},
        {"job against a cluster of another size", Family::kUser,
         [] {
             TrainingJob job;
             job.layout.dp = 4;
             validate_job_against_cluster(job, 8, true);
         }},
    };
    for (const BadCall& bad : calls) {
        INFO(bad.what);
        const std::string kind = thrown_kind(bad.call);
        CHECK(kind == (bad.expected == Family::kUser ? "UserError" : "InternalError"));
    }
}

TEST_CASE("a job that does not fit its cluster is a located JobClusterMismatch",
          "[robustness][errors]") {
    TrainingJob job;
    job.layout.tp = 2;
    job.layout.dp = 4;
    job.source.file = "w.textproto";
    job.source.fields.emplace("parallelism.tp", SourceLocation{"w.textproto", 12, 3});
    try {
        validate_job_against_cluster(job, 16, true, "", "cluster.textproto");
        FAIL("expected a JobClusterMismatch");
    } catch (const JobClusterMismatch& e) {
        REQUIRE(e.diagnostics().size() == 1);
        CHECK(e.diagnostics()[0].field_path == "parallelism.tp");
        CHECK(std::string(e.what()) ==
              "w.textproto:12:3: error: tp x pp x dp (2 x 1 x 4 = 8) must equal the topology's "
              "gpu count (16 in cluster.textproto)");
    }
}

TEST_CASE("no library source throws a bare standard exception for bad values",
          "[robustness][errors]") {
    // std::invalid_argument, std::out_of_range, std::domain_error and std::overflow_error once
    // escaped to the CLI as exit status 1 ("internal bug") for bad input; std::runtime_error
    // too (a file that could not be written: IoError now), and std::stoll and its kin throw
    // std::out_of_range on a long number ("mb99999999999999999999" in a trace) and read
    // "12abc" as 12: std::from_chars with a full-match check instead.
    const std::filesystem::path root(STEPSIM_SOURCE_DIR);
    std::vector<std::string> offenders;
    for (const char* folder : {"sim", "include"}) {
        for (const auto& entry : std::filesystem::recursive_directory_iterator(root / folder)) {
            const std::string extension = entry.path().extension().string();
            if (!entry.is_regular_file() || (extension != ".cc" && extension != ".h")) {
                continue;
            }
            std::ifstream in(entry.path());
            std::string line;
            int number = 0;
            while (std::getline(in, line)) {
                ++number;
                for (const char* bare :
                     {"throw std::invalid_argument", "throw std::out_of_range",
                      "throw std::domain_error", "throw std::overflow_error",
                      "throw std::runtime_error", "throw std::logic_error", "std::stoi(",
                      "std::stol(", "std::stoll(", "std::stoul(", "std::stoull(", "std::stod("}) {
                    if (line.find(bare) != std::string::npos) {
                        offenders.push_back(entry.path().string() + ":" + std::to_string(number) +
                                            ": " + line);
                    }
                }
            }
        }
    }
    std::ostringstream list;
    for (const std::string& offender : offenders) {
        list << offender << '\n';
    }
    INFO(list.str());
    CHECK(offenders.empty());
}

TEST_CASE("the CLI exits 2 for a job that does not fit its cluster, naming both files",
          "[robustness][errors][cli]") {
    const std::filesystem::path root(STEPSIM_SOURCE_DIR);
    const std::string workload = (root / "tests/specs/bad/step_gpu_count.textproto").string();
    const std::string topology = (root / "topologies/dgx-h100-16.textproto").string();
    const test::CliOutcome outcome =
        test::run_cli_process("step", "--topology " + topology + " --workload " + workload);
    INFO(outcome.out);
    CHECK(outcome.status == 2);
    CHECK(outcome.out.find(workload +
                           ":16:3: error: tp x pp x dp (1 x 1 x 32 = 32) must equal "
                           "the topology's gpu count (16 in " +
                           topology + ")") != std::string::npos);
}
