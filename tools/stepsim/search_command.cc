// SPDX-License-Identifier: Apache-2.0
// File: search_command.cc
// `stepsim search --topology T --workload W [--by step_time|goodput|straggler] [--top N]`:
// enumerate TP × PP × DP × micro-batch × schedule × ZeRO layouts of the workload's model on the
// cluster, prune the invalid ones (validate_job) and those that do not fit in HBM
// (validate_job_against_cluster), simulate one step of the rest on worker threads, and rank
// them. By goodput, each layout's step time goes through the run-level failure/checkpoint
// simulation at Daly's interval, and layouts rank by step time / goodput (the wall time per
// durable step). By straggler, each layout runs `stepsim whatif` in-process with the given
// --straggler/--scenario and ranks by the scenario's mean step time.
#include "stepsim/analytic.h"
#include "stepsim/error.h"
#include "stepsim/report.h"
#include "stepsim/spec.h"
#include "stepsim/stragglers.h"
#include "stepsim/training_step.h"
#include "stepsim/units.h"
#include "stepsim/workload.h"

#include "command.h"
#include "json_lookup.h"
#include "run_command.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <thread>

namespace po = boost::program_options;

namespace stepsim::cli {

namespace {

constexpr const char* kUsage =
    "stepsim search --topology FILE --workload FILE [--by step_time|goodput|straggler] "
    "[--top N] [--jobs N] [--tp LIST] [--pp LIST] [--micro-batch LIST] [--schedule LIST] "
    "[--zero LIST] [--ep LIST] [goodput: --mtbf M | --failures F, --checkpoint-cost C, "
    "--restart-cost R, "
    "--steps N, --seeds N] [straggler: --straggler SPEC... | --scenario FILE, --seeds N] [--json] "
    "[--set FIELD=VALUE]...";

struct Candidate {
    int tp = 1;
    int pp = 1;
    int dp = 1;
    int micro_batch = 1;
    std::string schedule;  ///< the workload.proto enum name
    int virtual_stages = 1;
    int zero_stage = 0;
    int ep = 1;  ///< expert parallelism (MoE workloads)
};

enum class Verdict : std::uint8_t { kSimulated, kInvalid, kOutOfMemory };

struct Evaluation {
    Verdict verdict = Verdict::kInvalid;
    std::string reason;
    double step_time_s = 0;
    double mfu = 0;
    double tokens_per_s = 0;
    std::int64_t memory_per_gpu_bytes = 0;
    double goodput = 0;
    double goodput_ci95 = 0;
    double checkpoint_interval_s = 0;
    double effective_step_time_s = 0;  ///< step time / goodput (or the straggler step time)
    double straggler_step_time_s = 0;
    double slowdown = 0;
};

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

/// "1f1b,interleaved,zb-h1,gpipe" -> (enum name, virtual stages).
std::vector<std::pair<std::string, int>> parse_schedules(const std::string& text) {
    std::vector<std::pair<std::string, int>> result;
    std::istringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        if (item == "1f1b") {
            result.emplace_back("ONE_F_ONE_B", 1);
        } else if (item == "gpipe") {
            result.emplace_back("GPIPE", 1);
        } else if (item == "zb-h1") {
            result.emplace_back("ZB_H1", 1);
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
            result.emplace_back("INTERLEAVED", v);
        } else {
            throw UsageError("--schedule \"" + item +
                             "\": expected 1f1b, gpipe, zb-h1 or interleaved[:V]");
        }
    }
    if (result.empty()) {
        throw UsageError("--schedule: no schedule given");
    }
    return result;
}

std::string schedule_label(const Candidate& c) {
    if (c.schedule == "ONE_F_ONE_B") {
        return "1f1b";
    }
    if (c.schedule == "GPIPE") {
        return "gpipe";
    }
    if (c.schedule == "ZB_H1") {
        return "zb-h1";
    }
    return "interleaved:" + std::to_string(c.virtual_stages);
}

std::vector<SpecOverride> layout_overrides(const Candidate& c) {
    return {{"parallelism.tp", std::to_string(c.tp)},
            {"parallelism.pp", std::to_string(c.pp)},
            {"parallelism.dp", std::to_string(c.dp)},
            {"parallelism.sequence_parallel", c.tp > 1 ? "true" : "false"},
            {"parallelism.schedule", c.schedule},
            {"parallelism.virtual_stages", std::to_string(c.virtual_stages)},
            {"parallelism.zero_stage", std::to_string(c.zero_stage)},
            {"parallelism.ep", std::to_string(c.ep)},
            {"training.micro_batch", std::to_string(c.micro_batch)}};
}

struct GoodputModel {
    bool is_enabled = false;
    RunSpec base;  ///< step_time is each layout's
    std::int64_t seeds = 20;
    std::uint64_t seed = 1;
};

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
    std::string scenario;
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
         "pipeline schedules: 1f1b, gpipe, zb-h1, interleaved[:V] (default "
         "1f1b,interleaved,zb-h1)")                                   //
        ("zero", po::value(&zero_list), "ZeRO stages (default 0,1)")  //
        ("ep", po::value(&ep_list),
         "expert-parallel sizes of a MoE workload (default: the powers of 2 that divide its "
         "experts, up to 64; 1 for a dense model)")                                  //
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
        ("scenario", po::value(&scenario), "straggler: a scenario spec as for stepsim whatif");
    add_common_options(description, common);
    if (!parse_command_line(args, description, {}, common, io, kUsage)) {
        return 0;
    }
    if (by == "straggler" && stragglers.empty() && scenario.empty()) {
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
    StepOptions step_options;
    step_options.fidelity = parse_fidelity_flag(fidelity);
    step_options.network = parse_network_flag(network);

    std::vector<SpecOverride> base_overrides = common.overrides();
    const std::vector<SpecOverride> topology_overrides = take_topology_overrides(base_overrides);
    const Topology topology = load_topology_file(topology_file, topology_overrides);
    // The workload must load as given (its own layout may be anything valid or not for this
    // cluster): errors in it are the user's, reported before any layout is tried.
    const TrainingJob base_job = load_workload_file(workload_file, base_overrides);
    const int gpus = static_cast<int>(topology.gpu_count());

    GoodputModel goodput;
    if (by == "goodput") {
        goodput.is_enabled = true;
        if (checkpoint_cost.empty() || restart_cost.empty() || (mtbf.empty() == failures.empty())) {
            throw UsageError(
                "--by goodput needs --checkpoint-cost, --restart-cost and one of --mtbf or "
                "--failures");
        }
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

    // ---- enumerate ----
    const std::vector<int> tps = parse_int_list("--tp", tp_list);
    std::vector<int> pps;
    if (pp_list.empty()) {
        for (int p = 1; p <= 64; p *= 2) {
            pps.push_back(p);
        }
    } else {
        pps = parse_int_list("--pp", pp_list);
    }
    const std::vector<int> mbs = parse_int_list("--micro-batch", mb_list);
    const std::vector<std::pair<std::string, int>> schedules = parse_schedules(schedule_list);
    const std::vector<int> zeros = parse_int_list("--zero", zero_list);
    const bool is_moe = base_job.model.is_moe();
    std::vector<int> eps;
    if (!ep_list.empty()) {
        eps = parse_int_list("--ep", ep_list);
    } else {
        for (int ep = 1; ep <= 64 && (ep == 1 || (is_moe && base_job.model.experts % ep == 0));
             ep *= 2) {
            eps.push_back(ep);
        }
    }
    std::vector<Candidate> candidates;
    for (int tp : tps) {
        for (int pp : pps) {
            if (tp < 1 || pp < 1 || gpus % (tp * pp) != 0) {
                continue;
            }
            for (int mb : mbs) {
                for (const auto& [schedule, v] : schedules) {
                    if (pp == 1 && schedule != "ONE_F_ONE_B") {
                        continue;  // without a pipeline every schedule is the same
                    }
                    for (int zero : zeros) {
                        const int dp = gpus / (tp * pp);
                        for (int ep : eps) {
                            if (ep < 1 || dp % ep != 0) {
                                continue;  // EP ranks come from data parallelism
                            }
                            candidates.push_back(Candidate{tp, pp, dp, mb, schedule, v, zero, ep});
                        }
                    }
                }
            }
        }
    }

    // ---- evaluate on worker threads ----
    std::vector<Evaluation> evaluations(candidates.size());
    std::atomic<std::size_t> next{0};
    const int threads =
        jobs > 0 ? jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    std::vector<std::thread> workers;
    std::exception_ptr failure;
    std::mutex failure_mutex;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&] {
            try {
                while (true) {
                    const std::size_t i = next.fetch_add(1);
                    if (i >= candidates.size()) {
                        return;
                    }
                    const Candidate& c = candidates[i];
                    Evaluation& e = evaluations[i];
                    std::vector<SpecOverride> overrides = base_overrides;
                    for (SpecOverride& o : layout_overrides(c)) {
                        overrides.push_back(std::move(o));
                    }
                    TrainingJob job;
                    try {
                        job = load_workload_file(workload_file, overrides);
                    } catch (const stepsim::SpecError& error) {
                        e.verdict = Verdict::kInvalid;
                        e.reason = error.diagnostics().front().message;
                        continue;
                    }
                    try {
                        validate_job_against_cluster(job, gpus, false);
                    } catch (const stepsim::SpecError& error) {
                        e.verdict = Verdict::kOutOfMemory;
                        e.reason = error.diagnostics().front().message;
                        continue;
                    }
                    if (by == "straggler") {
                        // The what-if command itself, so that its scenario semantics hold.
                        std::vector<std::string> whatif = {
                            "--topology", topology_file, "--workload",       workload_file,
                            "--fidelity", fidelity,      "--network",        network,
                            "--threads",  "1",           "--no-attribution", "--no-sensitivity",
                            "--json"};
                        for (const SpecOverride& o : topology_overrides) {
                            whatif.push_back("--set");
                            whatif.push_back("topology." + o.field_path + "=" + o.value);
                        }
                        for (const SpecOverride& o : overrides) {
                            whatif.push_back("--set");
                            whatif.push_back(o.field_path + "=" + o.value);
                        }
                        for (const std::string& straggler : stragglers) {
                            whatif.push_back("--straggler");
                            whatif.push_back(straggler);
                        }
                        if (!scenario.empty()) {
                            whatif.push_back("--scenario");
                            whatif.push_back(scenario);
                        }
                        if (seeds > 0) {
                            whatif.push_back("--seeds");
                            whatif.push_back(std::to_string(seeds));
                        }
                        const CommandOutcome outcome = run_command("whatif", whatif);
                        if (outcome.status != 0) {
                            e.verdict = Verdict::kInvalid;
                            e.reason = outcome.error;
                            continue;
                        }
                        const auto number = [&](std::string_view path) {
                            return std::stod(
                                std::string(json_lookup(outcome.output, path).value_or("0")));
                        };
                        e.verdict = Verdict::kSimulated;
                        e.step_time_s = number("baseline_step_time_s");
                        e.straggler_step_time_s = number("scenario_step_time_s");
                        e.slowdown = number("slowdown");
                        e.effective_step_time_s = e.straggler_step_time_s;
                        const StepResult r = simulate_step(job, topology, step_options);
                        e.mfu = r.mfu;
                        e.tokens_per_s = r.tokens_per_s;
                        e.memory_per_gpu_bytes = r.memory_per_gpu.total_bytes();
                        continue;
                    }
                    const StepResult r = simulate_step(job, topology, step_options);
                    e.verdict = Verdict::kSimulated;
                    e.step_time_s = r.step_time_s;
                    e.mfu = r.mfu;
                    e.tokens_per_s = r.tokens_per_s;
                    e.memory_per_gpu_bytes = r.memory_per_gpu.total_bytes();
                    e.effective_step_time_s = r.step_time_s;
                    if (goodput.is_enabled) {
                        RunSpec run = goodput.base;
                        run.step_time = run_time_from_seconds(r.step_time_s);
                        const double interval_s = analytic::daly_interval_s(
                            to_seconds(run.checkpoint.save_cost), run.failures.cluster_mtbf_s());
                        run.checkpoint.interval_steps =
                            std::max<std::int64_t>(1, std::llround(interval_s / r.step_time_s));
                        RunSummary s;
                        try {
                            s = simulate_runs(run, goodput.seed, goodput.seeds);
                        } catch (const std::invalid_argument& e) {
                            // A run too long for the run clock: bad input, not a bug.
                            throw UsageError("--steps " + steps + " at this layout's " +
                                             std::to_string(r.step_time_s) +
                                             " s step: " + e.what() + "; lower --steps");
                        }
                        e.goodput = s.goodput.mean;
                        e.goodput_ci95 = s.goodput.ci95;
                        e.checkpoint_interval_s =
                            static_cast<double>(run.checkpoint.interval_steps) * r.step_time_s;
                        e.effective_step_time_s = r.step_time_s / s.goodput.mean;
                    }
                }
            } catch (...) {
                const std::lock_guard<std::mutex> lock(failure_mutex);
                if (!failure) {
                    failure = std::current_exception();
                }
                next = candidates.size();
            }
        });
    }
    for (std::thread& t : workers) {
        t.join();
    }
    if (failure) {
        std::rethrow_exception(failure);
    }

    // ---- rank ----
    std::vector<std::size_t> ranked;
    std::int64_t invalid = 0;
    std::int64_t oom = 0;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        if (evaluations[i].verdict == Verdict::kSimulated) {
            ranked.push_back(i);
        } else if (evaluations[i].verdict == Verdict::kInvalid) {
            ++invalid;
        } else {
            ++oom;
        }
    }
    std::stable_sort(ranked.begin(), ranked.end(), [&](std::size_t a, std::size_t b) {
        return evaluations[a].effective_step_time_s < evaluations[b].effective_step_time_s;
    });
    const std::size_t shown =
        top == 0 ? ranked.size() : std::min(ranked.size(), static_cast<std::size_t>(top));

    if (common.json) {
        JsonWriter json;
        json.begin_object();
        json.field("topology", topology_file);
        json.field("workload", workload_file);
        json.field("model", base_job.model.name);
        json.field("gpus", gpus);
        json.field("by", by);
        json.field("layouts", static_cast<std::int64_t>(candidates.size()));
        json.field("invalid", invalid);
        json.field("out_of_memory", oom);
        json.field("simulated", static_cast<std::int64_t>(ranked.size()));
        json.key("ranked").begin_array();
        for (std::size_t k = 0; k < shown; ++k) {
            const Candidate& c = candidates[ranked[k]];
            const Evaluation& e = evaluations[ranked[k]];
            json.begin_object();
            json.field("rank", static_cast<std::int64_t>(k + 1));
            json.field("tp", c.tp);
            json.field("pp", c.pp);
            json.field("dp", c.dp);
            json.field("micro_batch", c.micro_batch);
            json.field("schedule", schedule_label(c));
            json.field("zero_stage", c.zero_stage);
            if (is_moe) {
                json.field("ep", c.ep);
            }
            json.field("step_time_s", e.step_time_s);
            json.field("mfu", e.mfu);
            json.field("tokens_per_s", e.tokens_per_s);
            json.field("memory_per_gpu_bytes", e.memory_per_gpu_bytes);
            if (by == "straggler") {
                json.field("straggler_step_time_s", e.straggler_step_time_s);
                json.field("slowdown", e.slowdown);
            }
            if (goodput.is_enabled) {
                json.field("goodput", e.goodput);
                json.field("goodput_ci95", e.goodput_ci95);
                json.field("checkpoint_interval_s", e.checkpoint_interval_s);
                json.field("effective_step_time_s", e.effective_step_time_s);
            }
            json.end_object();
        }
        json.end_array();
        json.end_object();
        io.emit(json.str() + "\n");
        return 0;
    }
    std::ostringstream out;
    char line[256];
    out << "search: " << base_job.model.name << " on " << gpus << " GPUs (" << topology_file
        << "), ranked by " << by << '\n'
        << candidates.size() << " layouts: " << invalid << " invalid, " << oom << " out of memory, "
        << ranked.size() << " simulated\n\n";
    std::snprintf(line, sizeof line, "%4s %4s %4s %5s %3s %-14s %4s %12s %6s %10s", "rank", "tp",
                  "pp", "dp", "mb", "schedule", "zero", "step time", "MFU", "mem/GPU");
    out << line;
    if (is_moe) {
        out << "   ep";
    }
    if (goodput.is_enabled) {
        std::snprintf(line, sizeof line, " %9s %12s %14s", "goodput", "ckpt every", "step/goodput");
        out << line;
    }
    if (by == "straggler") {
        std::snprintf(line, sizeof line, " %14s %9s", "with straggler", "slowdown");
        out << line;
    }
    out << '\n';
    for (std::size_t k = 0; k < shown; ++k) {
        const Candidate& c = candidates[ranked[k]];
        const Evaluation& e = evaluations[ranked[k]];
        std::snprintf(line, sizeof line, "%4zu %4d %4d %5d %3d %-14s %4d %12s %5.1f%% %10s", k + 1,
                      c.tp, c.pp, c.dp, c.micro_batch, schedule_label(c).c_str(), c.zero_stage,
                      format_duration(e.step_time_s).c_str(), 100 * e.mfu,
                      format_size(static_cast<double>(e.memory_per_gpu_bytes)).c_str());
        out << line;
        if (is_moe) {
            std::snprintf(line, sizeof line, " %4d", c.ep);
            out << line;
        }
        if (goodput.is_enabled) {
            std::snprintf(line, sizeof line, " %9.4f %12s %14s", e.goodput,
                          format_duration(e.checkpoint_interval_s).c_str(),
                          format_duration(e.effective_step_time_s).c_str());
            out << line;
        }
        if (by == "straggler") {
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
