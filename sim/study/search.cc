// SPDX-License-Identifier: Apache-2.0
// File: search.cc
// The layout search study: candidates applied to the job struct, pruned, simulated on
// parallel_for workers (each with its own topology copy when a what-if edits links), ranked.
#include "stepsim/study/search.h"

#include "stepsim/analytic.h"
#include "stepsim/error.h"
#include "stepsim/parallel.h"
#include "stepsim/topology.h"

#include <algorithm>
#include <cmath>
#include <optional>

namespace stepsim::study {

std::string_view to_string(SearchObjective objective) {
    switch (objective) {
        case SearchObjective::kStepTime:
            return "step_time";
        case SearchObjective::kGoodput:
            return "goodput";
        case SearchObjective::kStraggler:
            return "straggler";
    }
    return "?";
}

std::string schedule_label(const LayoutCandidate& c) {
    std::string label(to_string(c.schedule));
    if (c.schedule == PipelineScheduleKind::kInterleaved) {
        label += ":" + std::to_string(c.virtual_stages);
    }
    return label;
}

std::vector<LayoutCandidate> enumerate_layouts(const SearchSpace& space, int gpus) {
    std::vector<LayoutCandidate> candidates;
    for (const int tp : space.tp) {
        for (const int pp : space.pp) {
            if (tp < 1 || pp < 1 || gpus % (tp * pp) != 0) {
                continue;
            }
            for (const int mb : space.micro_batch) {
                for (const auto& [schedule, v] : space.schedules) {
                    if (pp == 1 && schedule != PipelineScheduleKind::kOneFOneB) {
                        continue;  // without a pipeline every schedule is the same
                    }
                    for (const int zero : space.zero_stage) {
                        for (const int cp : space.cp) {
                            if (cp < 1 || gpus % (tp * pp * cp) != 0) {
                                continue;  // tp·cp·pp·dp = GPUs
                            }
                            const int dp = gpus / (tp * pp * cp);
                            for (const int ep : space.ep) {
                                if (ep < 1 || dp % ep != 0) {
                                    continue;  // EP ranks come from data parallelism
                                }
                                candidates.push_back(
                                    LayoutCandidate{tp, pp, dp, mb, schedule, v, zero, ep, cp});
                            }
                        }
                    }
                }
            }
        }
    }
    return candidates;
}

TrainingJob with_layout(TrainingJob job, const LayoutCandidate& c) {
    job.layout.tp = c.tp;
    job.layout.pp = c.pp;
    job.layout.dp = c.dp;
    job.layout.is_sequence_parallel = c.tp > 1;
    job.layout.schedule = c.schedule;
    job.layout.virtual_stages = c.virtual_stages;
    job.layout.zero_stage = c.zero_stage;
    job.layout.ep = c.ep;
    job.layout.cp = c.cp;
    job.training.micro_batch = c.micro_batch;
    return job;
}

namespace {

/// One candidate: pruned, or simulated and scored by the objective.
LayoutEvaluation evaluate(const TrainingJob& base,
                          const Topology& topology,
                          std::optional<Topology>& own_topology,
                          const LayoutCandidate& candidate,
                          const SearchOptions& options) {
    LayoutEvaluation e;
    const TrainingJob job = with_layout(base, candidate);
    const std::vector<JobProblem> problems = validate_job(job);
    if (!problems.empty()) {
        e.verdict = LayoutVerdict::kInvalid;
        e.reason = problems.front().message;
        return e;
    }
    try {
        validate_job_against_cluster(job, static_cast<int>(topology.gpu_count()), false);
    } catch (const SpecError& error) {
        e.verdict = LayoutVerdict::kOutOfMemory;
        e.reason = error.diagnostics().front().message;
        return e;
    }
    if (options.by == SearchObjective::kStraggler) {
        // The what-if study edits its topology's links while it runs: a copy per worker.
        if (!own_topology) {
            own_topology.emplace(topology.clone());
        }
        WhatIfResult whatif;
        try {
            const Scenario scenario = options.scenario(*own_topology, job);
            whatif = run_whatif(job, *own_topology, scenario, options.step, options.whatif);
        } catch (const SpecError& error) {
            e.verdict = LayoutVerdict::kInvalid;
            e.reason = error.what();
            return e;
        } catch (const UserError& error) {
            e.verdict = LayoutVerdict::kInvalid;
            e.reason = error.what();
            return e;
        }
        e.step_time_s = whatif.baseline_step_time_s;
        e.straggler_step_time_s = whatif.scenario_step_time_s.mean;
        e.slowdown = whatif.slowdown;
        e.effective_step_time_s = e.straggler_step_time_s;
    }
    const StepResult r = simulate_step(job, topology, options.step);
    e.verdict = LayoutVerdict::kSimulated;
    e.mfu = r.mfu;
    e.tokens_per_s = r.tokens_per_s;
    e.memory_per_gpu_bytes = r.memory_per_gpu.total_bytes();
    if (options.by == SearchObjective::kStraggler) {
        return e;
    }
    e.step_time_s = r.step_time_s;
    e.effective_step_time_s = r.step_time_s;
    if (options.by == SearchObjective::kGoodput) {
        RunSpec run = options.goodput.base;
        run.step_time = run_time_from_seconds(r.step_time_s);
        const double interval_s = analytic::daly_interval_s(to_seconds(run.checkpoint.save_cost),
                                                            run.failures.cluster_mtbf_s());
        run.checkpoint.interval_steps =
            std::max<std::int64_t>(1, std::llround(interval_s / r.step_time_s));
        RunSummary s;
        try {
            s = simulate_runs(run, options.goodput.seed, options.goodput.seeds);
        } catch (const UserError& error) {
            throw SearchRunTooLong(r.step_time_s, error.what());
        }
        e.goodput = s.goodput.mean;
        e.goodput_ci95 = s.goodput.ci95;
        e.checkpoint_interval_s =
            static_cast<double>(run.checkpoint.interval_steps) * r.step_time_s;
        e.effective_step_time_s = r.step_time_s / s.goodput.mean;
    }
    return e;
}

}  // namespace

SearchResult run_search(const TrainingJob& base,
                        const Topology& topology,
                        const std::vector<LayoutCandidate>& candidates,
                        const SearchOptions& options) {
    SearchResult result;
    result.model = base.model.name;
    result.is_moe = base.model.is_moe();
    result.has_cp = std::any_of(candidates.begin(), candidates.end(),
                                [](const LayoutCandidate& c) { return c.cp > 1; });
    result.gpus = static_cast<int>(topology.gpu_count());
    result.by = options.by;
    result.candidates = candidates;
    result.evaluations.resize(candidates.size());
    const int jobs = std::max(1, options.jobs);
    std::vector<std::optional<Topology>> topologies(static_cast<std::size_t>(jobs));
    parallel_for(candidates.size(), jobs, [&](std::size_t i, std::size_t worker) {
        result.evaluations[i] =
            evaluate(base, topology, topologies[worker], candidates[i], options);
    });
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        switch (result.evaluations[i].verdict) {
            case LayoutVerdict::kSimulated:
                result.ranked.push_back(i);
                break;
            case LayoutVerdict::kInvalid:
                ++result.invalid;
                break;
            case LayoutVerdict::kOutOfMemory:
                ++result.out_of_memory;
                break;
        }
    }
    std::stable_sort(result.ranked.begin(), result.ranked.end(), [&](std::size_t a, std::size_t b) {
        return result.evaluations[a].effective_step_time_s <
               result.evaluations[b].effective_step_time_s;
    });
    return result;
}

}  // namespace stepsim::study
