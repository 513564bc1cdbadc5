// SPDX-License-Identifier: Apache-2.0
// File: search_command.cc
// `stepsim search --topology T --workload W [--by step_time|goodput|straggler] [--top N]`:
// enumerate TP × PP × DP × micro-batch × schedule × ZeRO layouts of the workload's model on the
// cluster, prune the invalid ones (validate_job) and those that do not fit in HBM
// (validate_job_against_cluster), simulate one step of the rest on worker threads, and rank
// them. By goodput, each layout's step time goes through the run-level failure/checkpoint
// simulation at Daly's interval, and layouts rank by step time / goodput (the wall time per
// durable step). By straggler, each layout runs the what-if study with the given
// --straggler/--scenario and ranks by the scenario's mean step time. The study is
// sim/study/search.cc; here the flags, the table and the JSON call.
#include "stepsim/error.h"
#include "stepsim/parallel.h"
#include "stepsim/results_json.h"
#include "stepsim/spec.h"
#include "stepsim/study/search.h"
#include "stepsim/topology.h"
#include "stepsim/units.h"

#include "command.h"

#include <cstdio>
#include <sstream>

namespace po = boost::program_options;

namespace stepsim::cli {

namespace {

constexpr const char* kUsage =
    "stepsim search --topology FILE --workload FILE [--by step_time|goodput|straggler] "
    "[--top N] [--jobs N] [--tp LIST] [--pp LIST] [--micro-batch LIST] [--schedule LIST] "
    "[--zero LIST] [--ep LIST] [--cp LIST] [goodput: --mtbf M | --failures F, --checkpoint-cost C, "
    "--restart-cost R, "
    "--steps N, --seeds N] [straggler: --straggler SPEC... | --scenario FILE, --seeds N] [--json] "
    "[--set FIELD=VALUE]...";

using study::LayoutCandidate;
using study::LayoutEvaluation;

/// Sequence length from which search tries context parallelism by default.
constexpr std::int64_t kLongContext = 32768;
using study::SearchObjective;

std::vector<int> parse_int_list(const std::string& flag, const std::string& text) {
    std::vector<int> values;
    std::istringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        char* end = nullptr;
        const long value = std::strtol(item.c_str(), &end, 10);
        if (item.empty() || *end != '\0' || value < 0 || value > 1'000'000) {
            throw UsageError(flag + " \"" + text + "\": expected a comma list of integers");
        }
        values.push_back(static_cast<int>(value));
    }
    if (values.empty()) {
        throw UsageError(flag + ": no value given");
    }
    return values;
}

/// "1f1b,interleaved,zb-h1,gpipe" -> (schedule, virtual stages).
std::vector<std::pair<PipelineScheduleKind, int>> parse_schedules(const std::string& text) {
    std::vector<std::pair<PipelineScheduleKind, int>> result;
    std::istringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        if (item == "1f1b") {
            result.emplace_back(PipelineScheduleKind::kOneFOneB, 1);
        } else if (item == "gpipe") {
            result.emplace_back(PipelineScheduleKind::kGPipe, 1);
        } else if (item == "zb-h1") {
            result.emplace_back(PipelineScheduleKind::kZeroBubbleH1, 1);
        } else if (item == "dualpipe") {
            result.emplace_back(PipelineScheduleKind::kDualPipe, 1);
        } else if (item == "dualpipev") {
            result.emplace_back(PipelineScheduleKind::kDualPipeV, 1);
        } else if (item.rfind("interleaved", 0) == 0) {
            // "interleaved" (2 chunks per rank) or "interleaved:4".
            int v = 2;
            if (item.size() > 11) {
                if (item[11] != ':') {
                    throw UsageError("--schedule \"" + item + "\": expected interleaved[:V]");
                }
                v = parse_int_list("--schedule", item.substr(12)).front();
            }
            if (v < 2) {
                throw UsageError("--schedule \"" + item + "\": interleaved needs V >= 2");
            }
            result.emplace_back(PipelineScheduleKind::kInterleaved, v);
        } else {
            throw UsageError(
                "--schedule \"" + item +
                "\": expected 1f1b, gpipe, zb-h1, dualpipe, dualpipev or interleaved[:V]");
        }
    }
    if (result.empty()) {
        throw UsageError("--schedule: no schedule given");
    }
    return result;
}

}  // namespace

int search_command(const std::vector<std::string>& args, CommandIo& io) {
    CommonOptions common;
    std::string topology_file;
    std::string workload_file;
    std::string by = "step_time";
    int top = 10;
    int jobs = 0;
    std::string tp_list = "1,2,4,8";
    std::string pp_list;
    std::string mb_list = "1,2,4";
    std::string schedule_list = "1f1b,interleaved,zb-h1";
    std::string zero_list = "0,1";
    std::string ep_list;
    std::string cp_list;
    std::string fidelity = "fast";
    std::string network = "fair_share";
    std::string mtbf;
    std::string failures;
    std::string checkpoint_cost;
    std::string restart_cost;
    std::string steps = "10000";
    std::int64_t seeds = 0;
    std::int64_t max_seeds = 100'000;
    std::int64_t max_steps = 1'000'000'000;
    std::vector<std::string> stragglers;
    std::string scenario_file;
    po::options_description description("stepsim search options");
    description.add_options()                                                         //
        ("topology", po::value(&topology_file)->required(), "cluster topology spec")  //
        ("workload", po::value(&workload_file)->required(),
         "workload spec: the model, batch and training settings (its layout is replaced)")  //
        ("by", po::value(&by), "rank by step_time (default), goodput or straggler")         //
        ("top", po::value(&top), "layouts to list (default 10; 0: all simulated)")          //
        ("jobs,j", po::value(&jobs), "worker threads (default: all cores)")                 //
        ("tp", po::value(&tp_list), "tensor-parallel sizes (default 1,2,4,8)")              //
        ("pp", po::value(&pp_list), "pipeline sizes (default: powers of 2 up to 64)")       //
        ("micro-batch", po::value(&mb_list), "micro-batch sizes (default 1,2,4)")           //
        ("schedule", po::value(&schedule_list),
         "pipeline schedules: 1f1b, gpipe, zb-h1, dualpipe, dualpipev, interleaved[:V] (default "
         "1f1b,interleaved,zb-h1)")                                   //
        ("zero", po::value(&zero_list), "ZeRO stages (default 0,1)")  //
        ("ep", po::value(&ep_list),
         "expert-parallel sizes of a MoE workload (default: the powers of 2 that divide its "
         "experts, up to 64; 1 for a dense model)")  //
        ("cp", po::value(&cp_list),
         "context-parallel sizes (default 1; with seq_len >= 32768 also the powers of 2 up to "
         "16 whose 2·cp chunks divide seq_len)")                                     //
        ("fidelity", po::value(&fidelity), "step fidelity: fast (default) or full")  //
        ("network", po::value(&network),
         "fair_share (default) or alpha_beta (faster: no contention inside a collective)")     //
        ("mtbf", po::value(&mtbf), "goodput: cluster MTBF, e.g. 3h")                           //
        ("failures", po::value(&failures), "goodput: failures spec (.textproto)")              //
        ("checkpoint-cost", po::value(&checkpoint_cost), "goodput: blocking checkpoint time")  //
        ("restart-cost", po::value(&restart_cost), "goodput: restart time")                    //
        ("steps", po::value(&steps), "goodput: training steps per run (default 10000)")        //
        ("seeds", po::value(&seeds),
         "goodput: runs per layout (default 20); straggler: runs of a stochastic scenario")  //
        ("max-seeds", po::value(&max_seeds), "limit on --seeds (default 100000)")            //
        ("max-steps", po::value(&max_steps), "limit on --steps (default 1000000000)")        //
        ("straggler", po::value(&stragglers)->composing(),
         "straggler: a slowdown as for stepsim whatif, e.g. rank=0:compute=1.3 (repeatable)")  //
        ("scenario", po::value(&scenario_file), "straggler: a scenario spec as for stepsim whatif");
    add_common_options(description, common);
    if (!parse_command_line(args, description, {}, common, io, kUsage)) {
        return 0;
    }
    if (by == "straggler" && stragglers.empty() && scenario_file.empty()) {
        throw UsageError("--by straggler needs --straggler SPEC or --scenario FILE");
    }
    if (by != "step_time" && by != "goodput" && by != "straggler") {
        throw UsageError("--by must be step_time, goodput or straggler, got \"" + by + "\"");
    }
    if (top < 0) {
        throw UsageError("--top must be >= 0");
    }
    if (jobs < 0) {
        throw UsageError("--jobs must be >= 1");
    }
    study::SearchOptions options;
    options.by = by == "goodput"     ? SearchObjective::kGoodput
                 : by == "straggler" ? SearchObjective::kStraggler
                                     : SearchObjective::kStepTime;
    options.step.fidelity = parse_fidelity_flag(fidelity);
    options.step.network = parse_network_flag(network);
    options.jobs = jobs > 0 ? jobs : hardware_threads();

    std::vector<SpecOverride> base_overrides = common.overrides();
    const std::vector<SpecOverride> topology_overrides = take_topology_overrides(base_overrides);
    const Topology topology = load_topology_file(topology_file, topology_overrides);
    // The workload must load as given (its own layout may be anything valid or not for this
    // cluster): errors in it are the user's, reported before any layout is tried.
    const TrainingJob base_job = load_workload_file(workload_file, base_overrides);
    const int gpus = static_cast<int>(topology.gpu_count());

    if (options.by == SearchObjective::kGoodput) {
        if (checkpoint_cost.empty() || restart_cost.empty() || (mtbf.empty() == failures.empty())) {
            throw UsageError(
                "--by goodput needs --checkpoint-cost, --restart-cost and one of --mtbf or "
                "--failures");
        }
        study::SearchGoodput& goodput = options.goodput;
        if (!mtbf.empty()) {
            goodput.base.failures = FailureModel::cluster_mtbf(parse_duration_s(mtbf));
        } else {
            goodput.base.failures = load_failures_file(failures, component_counts(topology)).model;
        }
        goodput.base.checkpoint.save_cost =
            run_time_from_seconds(parse_duration_s(checkpoint_cost));
        goodput.base.restart =
            RestartPolicy::lump(run_time_from_seconds(parse_duration_s(restart_cost)));
        char* end = nullptr;
        goodput.base.steps = std::strtoll(steps.c_str(), &end, 10);
        if (*end != '\0' || goodput.base.steps < 1) {
            throw UsageError("--steps must be a positive integer, got \"" + steps + "\"");
        }
        if (seeds < 0) {
            throw UsageError("--seeds must be >= 1");
        }
        if (goodput.base.steps > max_steps) {
            throw UsageError("--steps " + steps + " is more than the limit of " +
                             std::to_string(max_steps) +
                             " steps per run (--max-steps; raise it with --max-steps N)");
        }
        goodput.seeds = seeds > 0 ? seeds : 20;
    }
    if (options.by == SearchObjective::kStraggler) {
        // As `stepsim whatif --straggler ... --scenario ... --seeds N --threads 1
        // --no-attribution --no-sensitivity` on each layout's job.
        options.scenario = [&](Topology& worker_topology, const TrainingJob& job) {
            Scenario scenario;
            if (!scenario_file.empty()) {
                scenario = load_scenario_file(scenario_file, worker_topology, job);
            }
            for (const std::string& flag : stragglers) {
                scenario.slowdowns.push_back(parse_straggler_flag(flag, worker_topology, job));
            }
            return scenario;
        };
        options.whatif.seeds = seeds > 0 ? seeds : 1;
        options.whatif.threads = 1;
        options.whatif.has_attribution = false;
        options.whatif.has_sensitivity = false;
    }

    // Every layout runs --seeds simulations: refuse a count typed with digits too many here,
    // before any layout is simulated.
    if (max_seeds < 1 || max_steps < 1) {
        throw UsageError("--max-seeds and --max-steps must be at least 1");
    }
    if (seeds > max_seeds) {
        throw UsageError("--seeds " + std::to_string(seeds) + " is more than the limit of " +
                         std::to_string(max_seeds) +
                         " runs per layout (--max-seeds; raise it with --max-seeds N)");
    }

    study::SearchSpace space;
    space.tp = parse_int_list("--tp", tp_list);
    if (!pp_list.empty()) {
        space.pp = parse_int_list("--pp", pp_list);
    }
    space.micro_batch = parse_int_list("--micro-batch", mb_list);
    space.schedules = parse_schedules(schedule_list);
    space.zero_stage = parse_int_list("--zero", zero_list);
    const bool is_moe = base_job.model.is_moe();
    if (!ep_list.empty()) {
        space.ep = parse_int_list("--ep", ep_list);
    } else {
        space.ep.clear();
        for (int ep = 1; ep <= 64 && (ep == 1 || (is_moe && base_job.model.experts % ep == 0));
             ep *= 2) {
            space.ep.push_back(ep);
        }
    }
    if (!cp_list.empty()) {
        space.cp = parse_int_list("--cp", cp_list);
    } else if (base_job.model.seq_len >= kLongContext) {
        // Long context: the powers of 2 up to 16 whose 2·cp load-balanced chunks split the
        // sequence evenly.
        for (int cp = 2; cp <= 16 && base_job.model.seq_len % (2 * cp) == 0; cp *= 2) {
            space.cp.push_back(cp);
        }
    }
    const std::vector<LayoutCandidate> candidates = study::enumerate_layouts(space, gpus);

    study::SearchResult result;
    try {
        result = study::run_search(base_job, topology, candidates, options);
    } catch (const study::SearchRunTooLong& e) {
        // A run too long for the run clock: bad input, not a bug.
        throw UsageError("--steps " + steps + " at this layout's " + std::to_string(e.step_time_s) +
                         " s step: " + e.what() + "; lower --steps");
    }
    result.topology_file = topology_file;
    result.workload_file = workload_file;
    if (common.json) {
        io.emit(to_json(result, static_cast<std::size_t>(top)));
        return 0;
    }
    const std::size_t shown = top == 0
                                  ? result.ranked.size()
                                  : std::min(result.ranked.size(), static_cast<std::size_t>(top));
    const bool is_goodput = options.by == SearchObjective::kGoodput;
    const bool is_straggler = options.by == SearchObjective::kStraggler;
    std::ostringstream out;
    char line[256];
    out << "search: " << base_job.model.name << " on " << gpus << " GPUs (" << topology_file
        << "), ranked by " << by << '\n'
        << candidates.size() << " layouts: " << result.invalid << " invalid, "
        << result.out_of_memory << " out of memory, " << result.ranked.size() << " simulated\n\n";
    std::snprintf(line, sizeof line, "%4s %4s %4s %5s %3s %-14s %4s %12s %6s %10s", "rank", "tp",
                  "pp", "dp", "mb", "schedule", "zero", "step time", "MFU", "mem/GPU");
    out << line;
    if (is_moe) {
        out << "   ep";
    }
    if (result.has_cp) {
        out << "   cp";
    }
    if (is_goodput) {
        std::snprintf(line, sizeof line, " %9s %12s %14s", "goodput", "ckpt every", "step/goodput");
        out << line;
    }
    if (is_straggler) {
        std::snprintf(line, sizeof line, " %14s %9s", "with straggler", "slowdown");
        out << line;
    }
    out << '\n';
    for (std::size_t k = 0; k < shown; ++k) {
        const LayoutCandidate& c = result.candidates[result.ranked[k]];
        const LayoutEvaluation& e = result.evaluations[result.ranked[k]];
        std::snprintf(line, sizeof line, "%4zu %4d %4d %5d %3d %-14s %4d %12s %5.1f%% %10s", k + 1,
                      c.tp, c.pp, c.dp, c.micro_batch, study::schedule_label(c).c_str(),
                      c.zero_stage, format_duration(e.step_time_s).c_str(), 100 * e.mfu,
                      format_size(static_cast<double>(e.memory_per_gpu_bytes)).c_str());
        out << line;
        if (is_moe) {
            std::snprintf(line, sizeof line, " %4d", c.ep);
            out << line;
        }
        if (result.has_cp) {
            std::snprintf(line, sizeof line, " %4d", c.cp);
            out << line;
        }
        if (is_goodput) {
            std::snprintf(line, sizeof line, " %9.4f %12s %14s", e.goodput,
                          format_duration(e.checkpoint_interval_s).c_str(),
                          format_duration(e.effective_step_time_s).c_str());
            out << line;
        }
        if (is_straggler) {
            std::snprintf(line, sizeof line, " %14s %9.4f",
                          format_duration(e.straggler_step_time_s).c_str(), e.slowdown);
            out << line;
        }
        out << '\n';
    }
    io.emit(out.str());
    return 0;
}

}  // namespace stepsim::cli
