// SPDX-License-Identifier: Apache-2.0
// File: checkpoint_command.cc
// `stepsim checkpoint`: flags -> a CheckpointSweepSpec -> the checkpoint interval study
// (sim/study/checkpoint.cc: the sweep over intervals and failure rates, the best interval and
// its band beside Young's and Daly's, the refined optimum) -> a table or the JSON of
// sim/report/checkpoint_json.cc; optionally the resumable CSV (sim/report/checkpoint_csv.cc)
// and an SVG plot. Model: docs/models/failures-checkpoints.md.
#include "stepsim/checkpoint_csv.h"
#include "stepsim/failures.h"
#include "stepsim/parallel.h"
#include "stepsim/report.h"
#include "stepsim/results_json.h"
#include "stepsim/spec.h"
#include "stepsim/study/checkpoint.h"
#include "stepsim/units.h"

#include "checkpoint_plot.h"
#include "command.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <sstream>

namespace po = boost::program_options;

namespace stepsim::cli {

namespace {

constexpr const char* kUsage =
    "stepsim checkpoint [--topology T] (--step-time X | --workload W) (--steps N | --work T | "
    "--tokens N --tokens-per-step N) (--failures F | --mtbf M | --mtbf-sweep LIST) "
    "(--checkpoint-cost C | --checkpoint-size B --write-bandwidth-per-node BW "
    "[--write-bandwidth-total BW]) --restart-cost R [--intervals START:STOP:STEP|LIST] "
    "[--seeds N] [--threads N] [--json] [--csv FILE] [--plot FILE.svg]";

struct Options {
    std::string topology;
    std::string workload;
    std::string failures;
    std::string step_time;
    std::string steps;
    std::string work;
    std::string tokens;
    std::string tokens_per_step;
    std::string mtbf;
    std::string mtbf_sweep;
    std::string checkpoint_cost;
    std::string checkpoint_size;
    std::string write_bandwidth_per_node;
    std::string write_bandwidth_total;
    std::string async_write;
    std::string restart_cost;
    std::string repair_time;
    std::int64_t spare_nodes = -1;
    std::string validation_interval;
    std::string validation_cost;
    std::string intervals;
    std::int64_t gpus = 0;
    std::int64_t gpus_per_host = 8;
    std::int64_t nics_per_gpu = 1;
    std::int64_t seeds = 100;
    std::uint64_t seed = 1;
    int threads = 0;
    std::int64_t max_seeds = 1'000'000;
    double max_segments = 1e10;
    std::string csv;
    std::string plot;
};

double positive_duration(const std::string& flag, const std::string& text) {
    const double seconds = parse_duration_s(text);
    if (!(seconds > 0)) {
        throw UsageError(flag + " must be positive, got \"" + text + "\"");
    }
    return seconds;
}

// "1000", "1.5e6", "16M", "15.6T" (k M G T decimal multipliers) -> a positive integer count.
std::int64_t parse_count(const std::string& flag, const std::string& text) {
    char* end = nullptr;
    double value = std::strtod(text.c_str(), &end);
    const std::string suffix(end);
    if (suffix == "k" || suffix == "K") {
        value *= 1e3;
    } else if (suffix == "M") {
        value *= 1e6;
    } else if (suffix == "G" || suffix == "B") {
        value *= 1e9;
    } else if (suffix == "T") {
        value *= 1e12;
    } else if (!suffix.empty() || end == text.c_str()) {
        throw UsageError(flag + " \"" + text + "\": expected a count such as 1000, 2.5e6 or 16M");
    }
    if (!(value >= 1) || value > 9e18) {
        throw UsageError(flag + " must be a positive count, got \"" + text + "\"");
    }
    return std::llround(value);
}

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> items;
    std::string item;
    std::istringstream in(text);
    while (std::getline(in, item, ',')) {
        if (!item.empty()) {
            items.push_back(item);
        }
    }
    return items;
}

// "5min:4h:5min" (start:stop:step, stop included) or "10min,30min,1h" -> ascending distinct
// whole-step intervals.
std::vector<std::int64_t> parse_intervals(const std::string& text, RunTime step_time) {
    std::vector<double> seconds;
    const std::size_t colon = text.find(':');
    if (colon != std::string::npos) {
        const std::size_t colon2 = text.find(':', colon + 1);
        if (colon2 == std::string::npos) {
            throw UsageError("--intervals \"" + text + "\": expected START:STOP:STEP");
        }
        const double start = positive_duration("--intervals start", text.substr(0, colon));
        const double stop =
            positive_duration("--intervals stop", text.substr(colon + 1, colon2 - colon - 1));
        const double step = positive_duration("--intervals step", text.substr(colon2 + 1));
        if (stop < start) {
            throw UsageError("--intervals \"" + text + "\": stop is before start");
        }
        const auto count = static_cast<std::int64_t>(std::floor((stop - start) / step + 1e-9));
        if (count > 100000) {
            throw UsageError("--intervals \"" + text + "\": more than 100,000 intervals");
        }
        for (std::int64_t i = 0; i <= count; ++i) {
            seconds.push_back(start + static_cast<double>(i) * step);
        }
    } else {
        for (const std::string& item : split_list(text)) {
            seconds.push_back(positive_duration("--intervals", item));
        }
    }
    if (seconds.empty()) {
        throw UsageError("--intervals: no interval given");
    }
    std::vector<std::int64_t> steps;
    for (double s : seconds) {
        if (s < to_seconds(step_time)) {
            throw UsageError("--intervals: interval " + format_duration(s) +
                             " is shorter than one step (" +
                             format_duration(to_seconds(step_time)) + ")");
        }
        steps.push_back(interval_to_steps(s, step_time));
    }
    std::sort(steps.begin(), steps.end());
    steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
    return steps;
}

struct ColumnUnit {
    const char* name;
    double seconds;
};

/// h from 2 h, min from 2 min, else s.
ColumnUnit column_unit(double max_s) {
    if (max_s >= 7200) {
        return {"h", 3600};
    }
    if (max_s >= 120) {
        return {"min", 60};
    }
    return {"s", 1};
}

std::string in_unit(double seconds, const ColumnUnit& unit) {
    char text[32];
    std::snprintf(text, sizeof text, "%.4g", seconds / unit.seconds);
    return text;
}

std::string table_report(const study::CheckpointStudyResult& result) {
    const CheckpointSweepSpec& spec = result.spec;
    const std::vector<RateStudy>& studies = result.rates;
    const double step_s = to_seconds(spec.base.step_time);
    std::ostringstream out;
    char line[512];
    std::snprintf(line, sizeof line,
                  "run: %lld steps of %s (%s useful), checkpoint %s%s, restart %s, %lld seeds\n",
                  static_cast<long long>(spec.base.steps), format_duration(step_s).c_str(),
                  format_duration(to_seconds(spec.base.useful_time())).c_str(),
                  format_duration(to_seconds(spec.base.checkpoint.save_cost)).c_str(),
                  spec.base.checkpoint.is_async ? " (async snapshot)" : "",
                  format_duration(to_seconds(spec.base.restart.total())).c_str(),
                  static_cast<long long>(spec.seeds));
    out << line;
    for (const RateStudy& study : studies) {
        out << "\ncluster MTBF " << format_duration(study.mtbf_s) << '\n';
        // One unit per column, picked from the column's largest value.
        double max_interval_s = 0;
        double max_wall_s = 0;
        double max_lost_s = 0;
        for (const SweepPoint& p : study.grid) {
            max_interval_s =
                std::max(max_interval_s, static_cast<double>(p.interval_steps) * step_s);
            max_wall_s = std::max(max_wall_s, p.summary.wall_time_s.mean);
            max_lost_s = std::max(
                {max_lost_s, p.summary.checkpoint_s, p.summary.rework_s, p.summary.restart_s});
        }
        const ColumnUnit interval_unit = column_unit(max_interval_s);
        const ColumnUnit wall_unit = column_unit(max_wall_s);
        const ColumnUnit lost_unit = column_unit(max_lost_s);
        const auto head = [](const char* name, const ColumnUnit& unit) {
            return std::string(name) + " (" + unit.name + ")";
        };
        std::snprintf(line, sizeof line, "  %14s %8s %18s %15s %16s %12s %13s %9s\n",
                      head("interval", interval_unit).c_str(), "steps", "goodput (95% CI)",
                      head("wall time", wall_unit).c_str(), head("checkpoint", lost_unit).c_str(),
                      head("rework", lost_unit).c_str(), head("restart", lost_unit).c_str(),
                      "failures");
        out << line;
        auto row = [&](const SweepPoint& p, const char* mark) {
            const RunSummary& s = p.summary;
            std::snprintf(
                line, sizeof line, "%s %14s %8lld %9.4f ± %6.4f %15s %16s %12s %13s %9.1f\n", mark,
                in_unit(static_cast<double>(p.interval_steps) * step_s, interval_unit).c_str(),
                static_cast<long long>(p.interval_steps), s.goodput.mean, s.goodput.ci95,
                in_unit(s.wall_time_s.mean, wall_unit).c_str(),
                in_unit(s.checkpoint_s, lost_unit).c_str(), in_unit(s.rework_s, lost_unit).c_str(),
                in_unit(s.restart_s, lost_unit).c_str(), s.failures);
            out << line;
        };
        for (std::size_t i = 0; i < study.grid.size(); ++i) {
            row(study.grid[i], i == study.best ? "*" : " ");
        }
        const SweepPoint& best = study.grid[study.best];
        const std::string band =
            study.band_low_s == study.band_high_s
                ? std::string("no other interval of the grid is indistinguishable")
                : "indistinguishable from " + in_unit(study.band_low_s, interval_unit) + " to " +
                      in_unit(study.band_high_s, interval_unit) + " " + interval_unit.name;
        const auto interval_text = [&](double seconds) {
            return in_unit(seconds, interval_unit) + " " + interval_unit.name;
        };
        std::snprintf(line, sizeof line, "  best: %s, goodput %.4f ± %.4f; %s\n",
                      interval_text(static_cast<double>(best.interval_steps) * step_s).c_str(),
                      best.summary.goodput.mean, best.summary.goodput.ci95, band.c_str());
        out << line;
        auto formula = [&](const char* name, double interval_s, const SweepPoint& p,
                           bool disagrees) {
            std::snprintf(line, sizeof line, "  %-6s %s (simulated at %s): goodput %.4f ± %.4f%s\n",
                          name, interval_text(interval_s).c_str(),
                          interval_text(static_cast<double>(p.interval_steps) * step_s).c_str(),
                          p.summary.goodput.mean, p.summary.goodput.ci95,
                          disagrees ? "  DISAGREES with the simulation" : "");
            out << line;
        };
        formula("young:", study.young_interval_s, study.young, study.young_disagrees);
        formula("daly:", study.daly_interval_s, study.daly, study.daly_disagrees);
        const study::RefinedOptimum& ref =
            result.refined[static_cast<std::size_t>(&study - studies.data())];
        if (ref.is_refined) {
            std::snprintf(
                line, sizeof line,
                "  refined: %s, goodput %.4f ± %.4f (golden-section search between %s "
                "and %s, same seeds, %d more points); indistinguishable from %s to %s\n",
                interval_text(static_cast<double>(ref.point.interval_steps) * step_s).c_str(),
                ref.point.summary.goodput.mean, ref.point.summary.goodput.ci95,
                interval_text(ref.bracket_low_s).c_str(), interval_text(ref.bracket_high_s).c_str(),
                ref.evaluations, interval_text(ref.band_low_s).c_str(),
                interval_text(ref.band_high_s).c_str());
            out << line;
        }
        if (!study.caveats.empty()) {
            out << "  formula assumptions violated:";
            for (std::size_t i = 0; i < study.caveats.size(); ++i) {
                out << (i ? ", " : " ") << study.caveats[i];
            }
            out << '\n';
        }
    }
    return out.str();
}

}  // namespace

std::optional<study::CheckpointStudyResult> run_checkpoint_flags(
    const std::vector<std::string>& args, CommandIo& io, bool& is_json) {
    CommonOptions common;
    Options o;
    po::options_description description("stepsim checkpoint options");
    description.add_options()                                                                  //
        ("topology", po::value(&o.topology), "cluster spec: component counts for --failures")  //
        ("workload", po::value(&o.workload),
         "workload spec (with --topology): simulated step time, checkpoint size")            //
        ("step-time", po::value(&o.step_time), "time of one training step, e.g. 12.5s")      //
        ("steps", po::value(&o.steps), "training steps (count, e.g. 250k)")                  //
        ("work", po::value(&o.work), "useful compute time, e.g. 30d (rounded up to steps)")  //
        ("tokens", po::value(&o.tokens), "training tokens, e.g. 15.6T")                      //
        ("tokens-per-step", po::value(&o.tokens_per_step), "tokens per step, e.g. 16M")      //
        ("failures", po::value(&o.failures), "failures spec (.textproto)")                   //
        ("mtbf", po::value(&o.mtbf), "one cluster-level exponential MTBF, e.g. 3h")          //
        ("mtbf-sweep", po::value(&o.mtbf_sweep),
         "cluster MTBFs to sweep, e.g. 1h,3h,8h (scales --failures when given)")     //
        ("gpus", po::value(&o.gpus), "GPU count for --failures without --topology")  //
        ("gpus-per-host", po::value(&o.gpus_per_host), "with --gpus (default 8)")    //
        ("nics-per-gpu", po::value(&o.nics_per_gpu), "with --gpus (default 1)")      //
        ("checkpoint-cost", po::value(&o.checkpoint_cost),
         "time the job stops to checkpoint (async: the snapshot)")                          //
        ("checkpoint-size", po::value(&o.checkpoint_size), "checkpoint bytes, e.g. 2.4TB")  //
        ("write-bandwidth-per-node", po::value(&o.write_bandwidth_per_node),
         "storage write bandwidth per host, e.g. 5GBps")  //
        ("write-bandwidth-total", po::value(&o.write_bandwidth_total),
         "storage write bandwidth in total, e.g. 1TBps")  //
        ("async-write", po::value(&o.async_write),
         "asynchronous checkpoints: background write time after the snapshot")  //
        ("restart-cost", po::value(&o.restart_cost),
         "detection + rescheduling + load + warm-up, in one figure")                              //
        ("spare-nodes", po::value(&o.spare_nodes), "spare hosts (default unlimited)")             //
        ("repair-time", po::value(&o.repair_time), "time to return a failed host to the spares")  //
        ("validation-interval", po::value(&o.validation_interval), "validate every N steps")      //
        ("validation-cost", po::value(&o.validation_cost), "time of one validation")              //
        ("intervals", po::value(&o.intervals),
         "checkpoint intervals (useful compute): START:STOP:STEP or a comma list (default: 17 "
         "on a log grid from Young's interval / 4 to x 4)")                           //
        ("seeds", po::value(&o.seeds), "runs per point (default 100)")                //
        ("max-seeds", po::value(&o.max_seeds), "limit on --seeds (default 1000000)")  //
        ("max-segments", po::value(&o.max_segments),
         "limit on the compute segments simulated, seeds x steps / interval summed over the "
         "points (default 1e10)")                                                   //
        ("seed", po::value(&o.seed), "base seed (default 1)")                       //
        ("threads", po::value(&o.threads), "worker threads (default: all cores)")   //
        ("csv", po::value(&o.csv), "write points to FILE as they finish; resumes")  //
        ("plot", po::value(&o.plot), "write an SVG plot of goodput against interval");
    add_common_options(description, common);
    if (!parse_command_line(args, description, {}, common, io, kUsage)) {
        return std::nullopt;
    }
    is_json = common.json;

    // ---- the run ----
    // --set FIELD=VALUE: "topology." and "failures." prefixes pick those specs; the rest go to
    // the workload when one is given, else to the failures spec.
    std::vector<SpecOverride> topology_overrides;
    std::vector<SpecOverride> workload_overrides;
    std::vector<SpecOverride> failures_overrides;
    for (SpecOverride& override_ : common.overrides()) {
        if (override_.field_path.rfind("topology.", 0) == 0) {
            override_.field_path.erase(0, 9);
            topology_overrides.push_back(std::move(override_));
        } else if (override_.field_path.rfind("failures.", 0) == 0) {
            override_.field_path.erase(0, 9);
            failures_overrides.push_back(std::move(override_));
        } else if (!o.workload.empty()) {
            workload_overrides.push_back(std::move(override_));
        } else {
            failures_overrides.push_back(std::move(override_));
        }
    }
    std::optional<Topology> cluster;
    if (!o.topology.empty()) {
        cluster.emplace(load_topology_file(o.topology, topology_overrides));
    }
    // With a workload: the step time simulated on the cluster (unless --step-time is given)
    // and the checkpoint size of its full model state.
    std::optional<std::int64_t> workload_checkpoint_bytes;
    if (!o.workload.empty()) {
        if (!cluster) {
            throw UsageError("--workload needs --topology (the cluster the step runs on)");
        }
        const study::WorkloadCheckpointFacts facts =
            study::workload_checkpoint_facts(load_workload_file(o.workload, workload_overrides),
                                             *cluster, o.step_time.empty(), o.workload, o.topology);
        if (o.step_time.empty()) {
            o.step_time = format_number(facts.step_time_s) + "s";
        }
        workload_checkpoint_bytes = facts.checkpoint_bytes;
    }
    if (o.step_time.empty()) {
        throw UsageError("give --step-time or --workload (usage: " + std::string(kUsage) + ")");
    }
    CheckpointSweepSpec spec;
    RunSpec& run = spec.base;
    run.step_time = run_time_from_seconds(positive_duration("--step-time", o.step_time));
    if (run.step_time.count() <= 0) {
        throw UsageError("--step-time must be at least 1 ns");
    }
    const int run_sizes =
        !o.steps.empty() + !o.work.empty() + (!o.tokens.empty() || !o.tokens_per_step.empty());
    if (run_sizes != 1) {
        throw UsageError("give exactly one of --steps, --work, or --tokens with --tokens-per-step");
    }
    if (!o.steps.empty()) {
        run.steps = parse_count("--steps", o.steps);
    } else if (!o.work.empty()) {
        const double work_s = positive_duration("--work", o.work);
        run.steps = static_cast<std::int64_t>(std::ceil(work_s / to_seconds(run.step_time) - 1e-9));
    } else {
        if (o.tokens.empty() || o.tokens_per_step.empty()) {
            throw UsageError("--tokens and --tokens-per-step go together");
        }
        const std::int64_t tokens = parse_count("--tokens", o.tokens);
        const std::int64_t per_step = parse_count("--tokens-per-step", o.tokens_per_step);
        run.steps = (tokens + per_step - 1) / per_step;
    }

    // ---- the cluster and its failures ----
    ComponentCounts counts;
    if (cluster) {
        counts = component_counts(*cluster);
    }
    if (o.gpus != 0) {
        if (!o.topology.empty()) {
            throw UsageError("give --topology or --gpus, not both");
        }
        if (o.gpus < 1 || o.gpus_per_host < 1 || o.nics_per_gpu < 0) {
            throw UsageError("--gpus and --gpus-per-host must be positive, --nics-per-gpu >= 0");
        }
        counts.gpus = o.gpus;
        counts.hosts = (o.gpus + o.gpus_per_host - 1) / o.gpus_per_host;
        counts.nics = o.gpus * o.nics_per_gpu;
    }
    std::optional<RestartPolicy> spec_restart;
    FailureModel base_failures;
    const int failure_sources = !o.failures.empty() + !o.mtbf.empty();
    if (failure_sources > 1) {
        throw UsageError("give --failures or --mtbf, not both");
    }
    if (!o.failures.empty()) {
        FailureSpec loaded = load_failures_file(o.failures, counts, failures_overrides);
        base_failures = std::move(loaded.model);
        spec_restart = loaded.restart;
        if (!std::isfinite(base_failures.cluster_mtbf_s())) {
            throw UsageError("--failures " + o.failures + ": no component can fail (all counts 0)");
        }
    } else if (!o.mtbf.empty()) {
        base_failures = FailureModel::cluster_mtbf(positive_duration("--mtbf", o.mtbf));
    } else if (o.mtbf_sweep.empty()) {
        throw UsageError("give --failures, --mtbf or --mtbf-sweep");
    }
    if (!o.mtbf_sweep.empty()) {
        for (const std::string& item : split_list(o.mtbf_sweep)) {
            const double m = positive_duration("--mtbf-sweep", item);
            spec.failure_rates.push_back(o.failures.empty()
                                             ? FailureModel::cluster_mtbf(m)
                                             : base_failures.scaled_to_cluster_mtbf(m));
        }
        if (spec.failure_rates.empty()) {
            throw UsageError("--mtbf-sweep: no MTBF given");
        }
    } else {
        spec.failure_rates.push_back(base_failures);
    }

    // ---- checkpoints, restarts, validation ----
    if (!o.checkpoint_cost.empty() && !o.checkpoint_size.empty()) {
        throw UsageError("give --checkpoint-cost or --checkpoint-size, not both");
    }
    if (!o.checkpoint_cost.empty()) {
        run.checkpoint.save_cost =
            run_time_from_seconds(positive_duration("--checkpoint-cost", o.checkpoint_cost));
    } else if (!o.checkpoint_size.empty() || workload_checkpoint_bytes) {
        if (o.write_bandwidth_per_node.empty()) {
            throw UsageError("--checkpoint-size (or --workload) needs --write-bandwidth-per-node");
        }
        if (!counts.hosts) {
            throw UsageError("--checkpoint-size needs the host count: give --topology or --gpus");
        }
        const double per_node = parse_bandwidth_Bps(o.write_bandwidth_per_node);
        const double total = o.write_bandwidth_total.empty()
                                 ? per_node * static_cast<double>(*counts.hosts)
                                 : parse_bandwidth_Bps(o.write_bandwidth_total);
        const std::int64_t bytes = o.checkpoint_size.empty() ? *workload_checkpoint_bytes
                                                             : parse_size_bytes(o.checkpoint_size);
        if (bytes <= 0) {
            throw UsageError("--checkpoint-size must be positive");
        }
        run.checkpoint.save_cost = checkpoint_write_time(bytes, *counts.hosts, per_node, total);
    } else {
        throw UsageError("give --checkpoint-cost, --checkpoint-size or --workload");
    }
    if (!o.async_write.empty()) {
        run.checkpoint.is_async = true;
        run.checkpoint.background_write =
            run_time_from_seconds(positive_duration("--async-write", o.async_write));
    }
    if (!o.restart_cost.empty()) {
        run.restart = RestartPolicy::lump(run_time_from_seconds(parse_duration_s(o.restart_cost)));
    } else if (spec_restart) {
        run.restart = *spec_restart;
    } else {
        throw UsageError("give --restart-cost (or a restart block in the failures spec)");
    }
    if (o.spare_nodes >= 0) {
        run.restart.spare_nodes = o.spare_nodes;
    } else if (o.spare_nodes != -1) {
        throw UsageError("--spare-nodes must be >= 0");
    }
    if (!o.repair_time.empty()) {
        run.restart.repair_time = run_time_from_seconds(parse_duration_s(o.repair_time));
    }
    if (!o.validation_interval.empty() || !o.validation_cost.empty()) {
        if (o.validation_interval.empty() || o.validation_cost.empty()) {
            throw UsageError("--validation-interval and --validation-cost go together");
        }
        run.validation.interval_steps = parse_count("--validation-interval", o.validation_interval);
        run.validation.cost =
            run_time_from_seconds(positive_duration("--validation-cost", o.validation_cost));
    }

    // ---- the sweep ----
    if (o.intervals.empty()) {
        const study::DefaultIntervalGrid grid =
            study::default_interval_grid(run, spec.failure_rates);
        for (std::size_t i = 0; i < grid.intervals_s.size(); ++i) {
            char item[40];
            std::snprintf(item, sizeof item, "%s%.9gs", i ? "," : "", grid.intervals_s[i]);
            o.intervals += item;
        }
        io.err() << "stepsim checkpoint: no --intervals: " << grid.intervals_s.size()
                 << " intervals from " << format_duration(grid.low_s) << " to "
                 << format_duration(grid.high_s) << " (log grid around Young's interval)\n";
    }
    spec.interval_steps = parse_intervals(o.intervals, run.step_time);
    run.checkpoint.interval_steps = spec.interval_steps.front();
    if (o.seeds < 1) {
        throw UsageError("--seeds must be >= 1, got " + std::to_string(o.seeds));
    }
    if (o.max_seeds < 1 || !(o.max_segments >= 1)) {
        throw UsageError("--max-seeds and --max-segments must be at least 1");
    }
    if (o.seeds > o.max_seeds) {
        throw UsageError("--seeds " + std::to_string(o.seeds) + " is more than the limit of " +
                         std::to_string(o.max_seeds) +
                         " runs per point (--max-seeds; raise it with --max-seeds N)");
    }
    spec.seeds = o.seeds;
    spec.base_seed = o.seed;
    if (o.threads < 0) {
        throw UsageError("--threads must be >= 1");
    }
    spec.threads = o.threads > 0 ? o.threads : hardware_threads();
    study::CheckpointStudyOptions options;
    options.max_segments = o.max_segments;
    options.limit_hint = " (--max-segments; raise it with --max-segments N)";
    std::optional<CheckpointCsv> csv;
    if (!o.csv.empty()) {
        options.resume = [&](const std::vector<SweepPoint>& points) {
            return csv.emplace(o.csv, spec, points).done();
        };
        options.on_point = [&](std::size_t index, const SweepPoint& point) {
            csv->append(index, point);
        };
    }
    study::CheckpointStudyResult result = study::run_checkpoint_study(spec, options);
    if (!o.plot.empty()) {
        std::vector<SweepPoint> optima;
        for (const study::RefinedOptimum& refined : result.refined) {
            optima.push_back(refined.point);
        }
        write_file_atomically(o.plot, goodput_plot_svg(result.rates, run.step_time, optima));
    }
    return result;
}

int checkpoint_command(const std::vector<std::string>& args, CommandIo& io) {
    bool is_json = false;
    const std::optional<study::CheckpointStudyResult> result =
        run_checkpoint_flags(args, io, is_json);
    if (result) {
        io.emit(is_json ? to_json(*result) : table_report(*result));
    }
    return 0;
}

}  // namespace stepsim::cli
