// SPDX-License-Identifier: Apache-2.0
// Stragglers against quantities derived here (docs/models/stragglers.md).
//
// DP only (tp = pp = 1), one gradient bucket, no overlap, rank r computing f× slower: every
// replica's backward ends at C_r, the all-reduce starts at max_r C_r and takes A, then each
// rank runs its optimizer O_r:
//     T_step = max_r (C_r) + A + max_r (O_r) = f·(C + O) + A = f·T_free + A
// (C + O = T_free, the communication-free step), i.e. the slow rank's compute plus the
// all-reduce; every other rank's own time C + A + O is shorter: T_step = max_r T_r.
//
// 1F1B, communication free, p stages, m micro-batches: op o of stage s starts when the stage's
// previous op and the op it needs (forward of the stage before, backward of the stage after,
// same micro-batch) have ended; the step ends with every stage's optimizer:
//     T = max_s (end of the last backward on s + O_s)
// This recurrence over the schedule's op order, with stage k's F, B and O scaled by f, is the
// critical-path prediction the simulated slowdown must equal (per-task rounding <= 0.5 ps).
//
// Persistent lognormal slowdowns X_r (mean 1, CV c), one per rank per run, on a DP-only
// communication-free step: T = T_0 · max_r X_r, so E[T] = T_0 · E[max of N lognormals], with
//     E[max] = ∫_0^∞ (1 − Φ((ln x − μ)/σ)^N) dx,  σ² = ln(1 + c²), μ = −σ²/2,
// and the mean over S seeds is within 4 standard errors of it.
#include "stepsim/collective.h"
#include "stepsim/error.h"
#include "stepsim/network.h"
#include "stepsim/perturbed_step.h"
#include "stepsim/random.h"
#include "stepsim/spec.h"
#include "stepsim/stragglers.h"
#include "stepsim/training_step.h"

#include "unit/workload/workload_test_models.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>

using namespace stepsim;

namespace {

using test::alone_s;
using test::four_gpus;

TrainingJob dp_job() {
    TrainingJob job = test::make_job(test::gpt_model(4, 1024, 16, 4096, 8192), 16, 1, 1, 4);
    job.training.micro_batch = 4;
    job.layout.is_grad_reduce_overlapped = false;
    job.layout.grad_bucket_bytes = std::int64_t{1} << 40;  // one bucket
    return job;
}

TrainingJob pipeline_job(int m) {
    TrainingJob job = test::make_job(test::gpt_model(8, 1024, 16, 2048, 8192), m, 1, 4, 1);
    job.layout.schedule = PipelineScheduleKind::kOneFOneB;
    return job;
}

Slowdown compute_slowdown(std::vector<std::int32_t> ranks, double factor) {
    Slowdown s;
    s.element = "test";
    s.ranks = std::move(ranks);
    s.compute_factor = factor;
    return s;
}

PerturbedStepResult run(const TrainingJob& job,
                        const Topology& topology,
                        const Scenario& scenario,
                        const StepOptions& options,
                        std::uint64_t seed = 1) {
    return simulate_perturbed_step(job, topology, options,
                                   make_perturbation(scenario, job, topology, seed));
}

/// Per stage: one micro-batch's forward and backward, and the optimizer, from a timeline.
struct StageTimes {
    std::vector<double> forward_s, backward_s, optimizer_s;
};

StageTimes stage_times(const StepResult& r, int p) {
    StageTimes t;
    t.forward_s.assign(static_cast<std::size_t>(p), 0);
    t.backward_s.assign(static_cast<std::size_t>(p), 0);
    t.optimizer_s.assign(static_cast<std::size_t>(p), 0);
    for (const TimelineSlice& slice : r.timeline) {
        const auto s = static_cast<std::size_t>(slice.stage);
        const double d = slice.end_s - slice.start_s;
        if (slice.name.rfind("F mb0 ", 0) == 0) {
            t.forward_s[s] += d;
        } else if (slice.name.rfind("B mb0 ", 0) == 0) {
            t.backward_s[s] += d;
        } else if (slice.name == "optimizer") {
            t.optimizer_s[s] += d;
        }
    }
    return t;
}

/// The 1F1B recurrence (see the header): the step time for per-stage F, B, O.
double one_f_one_b_step_s(const StageTimes& t, int p, int m) {
    // Op order per stage, as Narayanan et al. SC'21 / Megatron run it.
    std::vector<std::vector<std::pair<int, bool>>> order(static_cast<std::size_t>(p));
    for (int s = 0; s < p; ++s) {
        const int warmup = std::min(p - s - 1, m);
        auto& ops = order[static_cast<std::size_t>(s)];
        for (int mb = 0; mb < warmup; ++mb) {
            ops.emplace_back(mb, true);
        }
        for (int i = 0; i < m - warmup; ++i) {
            ops.emplace_back(warmup + i, true);
            ops.emplace_back(i, false);
        }
        for (int mb = m - warmup; mb < m; ++mb) {
            ops.emplace_back(mb, false);
        }
    }
    std::map<std::tuple<int, int, bool>, double> end;  // (stage, mb, forward) -> end
    std::vector<std::size_t> next(static_cast<std::size_t>(p), 0);
    std::vector<double> free_at(static_cast<std::size_t>(p), 0);
    bool progressed = true;
    while (progressed) {
        progressed = false;
        for (int s = 0; s < p; ++s) {
            auto& i = next[static_cast<std::size_t>(s)];
            while (i < order[static_cast<std::size_t>(s)].size()) {
                const auto [mb, forward] = order[static_cast<std::size_t>(s)][i];
                double ready = free_at[static_cast<std::size_t>(s)];
                const int other = forward ? s - 1 : s + 1;
                if (other >= 0 && other < p) {
                    const auto it = end.find({other, mb, forward});
                    if (it == end.end()) {
                        break;
                    }
                    ready = std::max(ready, it->second);
                } else if (!forward) {
                    const auto it = end.find({s, mb, true});
                    ready = std::max(ready, it->second);
                }
                const double d = forward ? t.forward_s[static_cast<std::size_t>(s)]
                                         : t.backward_s[static_cast<std::size_t>(s)];
                end[{s, mb, forward}] = ready + d;
                free_at[static_cast<std::size_t>(s)] = ready + d;
                ++i;
                progressed = true;
            }
        }
    }
    double step = 0;
    for (int s = 0; s < p; ++s) {
        step = std::max(step, free_at[static_cast<std::size_t>(s)] +
                                  t.optimizer_s[static_cast<std::size_t>(s)]);
    }
    return step;
}

/// E[max of n lognormals of mean 1, CV c] by the trapezoid rule on (1 − F(x)^n).
double expected_max_lognormal(int n, double cv) {
    const double sigma = std::sqrt(std::log1p(cv * cv));
    const double mu = -sigma * sigma / 2;
    const auto cdf = [&](double x) {
        return 0.5 * std::erfc(-(std::log(x) - mu) / (sigma * std::sqrt(2.0)));
    };
    const double upper = std::exp(mu + 12 * sigma);
    const int steps = 200000;
    const double h = upper / steps;
    double sum = 0;
    for (int i = 1; i <= steps; ++i) {
        const double x = i * h;
        const double w = i == steps ? 0.5 : 1.0;
        sum += w * (1 - std::pow(cdf(x), n));
    }
    return (sum + 0.5 * 1.0) * h;  // the integrand is 1 at x = 0
}

}  // namespace

TEST_CASE("the symmetric perturbation is simulate_step", "[straggler]") {
    const Topology topology = four_gpus();
    for (const TrainingJob& job : {dp_job(), pipeline_job(8)}) {
        const StepResult plain = simulate_step(job, topology);
        const PerturbedStepResult folded =
            simulate_perturbed_step(job, topology, {}, StepPerturbation::symmetric(job.layout.dp));
        REQUIRE(folded.step.step_time_s == plain.step_time_s);
        REQUIRE(folded.step.cluster.bubble_s == Approx(plain.cluster.bubble_s).margin(1e-12));
        REQUIRE(folded.step.cluster.dp_s == Approx(plain.cluster.dp_s).margin(1e-12));
        REQUIRE(folded.step.fingerprint == plain.fingerprint);
        // An empty scenario is the same step.
        REQUIRE(run(job, topology, Scenario{}, {}).step.step_time_s == plain.step_time_s);
    }
}

TEST_CASE("DP only: one slow rank makes T_step = f·T_free + all-reduce = max_r T_r",
          "[straggler]") {
    const Topology topology = four_gpus();
    const TrainingJob job = dp_job();
    StepOptions free;
    free.is_communication_free = true;
    const StepResult compute_only = simulate_step(job, topology, free);
    const double all_reduce_s =
        alone_s(topology, CollectiveOp::kAllReduce, {RankId(0), RankId(1), RankId(2), RankId(3)},
                stage_gradient_bytes(job, 0));
    for (const double f : {1.0, 1.1, 1.5, 2.0}) {
        Scenario scenario;
        scenario.slowdowns.push_back(compute_slowdown({2}, f));
        const PerturbedStepResult r = run(job, topology, scenario, {});
        // The slow rank's own time and any other rank's own time.
        const double slow_rank_s = f * compute_only.step_time_s + all_reduce_s;
        const double fast_rank_s = compute_only.step_time_s + all_reduce_s;
        const double expected_s = std::max(slow_rank_s, fast_rank_s);
        // Each of the ~40 compute tasks rounds its scaled duration to the ps (<= 0.5 ps each).
        REQUIRE(r.step.step_time_s ==
                Approx(expected_s).margin(static_cast<double>(r.step.tasks) * 1e-12));
        // The slow replica is simulated on its own; the other three fold into one (all four
        // when the factor is 1).
        REQUIRE(r.replicas.size() == (f > 1.0 ? 2U : 1U));
        if (f > 1.0) {
            REQUIRE(r.step.step_time_s > fast_rank_s);
        }
    }
}

TEST_CASE("a 1F1B straggler slows the step by what the critical path predicts", "[straggler]") {
    const Topology topology = four_gpus();
    const int p = 4;
    const int m = 6;
    const TrainingJob job = pipeline_job(m);
    StepOptions options;
    options.is_communication_free = true;
    options.keeps_timeline = true;
    const PerturbedStepResult baseline = run(job, topology, Scenario{}, options);
    const StageTimes times = stage_times(baseline.step, p);
    // The recurrence reproduces the undisturbed step.
    REQUIRE(one_f_one_b_step_s(times, p, m) == Approx(baseline.step.step_time_s).margin(1e-9));
    // The last stage carries the logits: it is the bottleneck; stage 1 has slack.
    REQUIRE(times.forward_s[3] + times.backward_s[3] > times.forward_s[1] + times.backward_s[1]);
    std::map<int, double> growth_s;
    for (const int k : {1, 3}) {
        const double f = 1.05;
        StageTimes slowed = times;
        slowed.forward_s[static_cast<std::size_t>(k)] *= f;
        slowed.backward_s[static_cast<std::size_t>(k)] *= f;
        slowed.optimizer_s[static_cast<std::size_t>(k)] *= f;
        const double predicted_s = one_f_one_b_step_s(slowed, p, m);
        Scenario scenario;
        scenario.slowdowns.push_back(compute_slowdown({k}, f));
        const PerturbedStepResult r = run(job, topology, scenario, options);
        REQUIRE(r.step.step_time_s ==
                Approx(predicted_s).margin(static_cast<double>(r.step.tasks) * 1e-12));
        growth_s[k] = r.step.step_time_s - baseline.step.step_time_s;
        REQUIRE(growth_s[k] > 0);
    }
    // Same factor, less growth where the stage had slack.
    REQUIRE(growth_s[1] < growth_s[3]);
}

TEST_CASE("persistent lognormal slowdowns: E[T] = T_0·E[max of N lognormals]", "[straggler]") {
    const Topology topology = four_gpus();
    const TrainingJob job = dp_job();
    StepOptions free;
    free.is_communication_free = true;
    const double t0 = simulate_step(job, topology, free).step_time_s;
    const double cv = 0.1;
    const int n = 4;
    const int seeds = 400;
    Scenario scenario;
    ComputeJitter jitter;
    jitter.distribution = JitterDistribution::kLognormal;
    jitter.cv = cv;
    jitter.is_per_run = true;
    scenario.jitter = jitter;
    std::vector<double> samples;
    for (int k = 0; k < seeds; ++k) {
        samples.push_back(run(job, topology, scenario, free, run_seed(7, k)).step.step_time_s / t0);
    }
    double mean = 0;
    for (const double x : samples) {
        mean += x;
    }
    mean /= seeds;
    double variance = 0;
    for (const double x : samples) {
        variance += (x - mean) * (x - mean);
    }
    const double standard_error = std::sqrt(variance / (seeds - 1) / seeds);
    const double expected = expected_max_lognormal(n, cv);
    REQUIRE(expected > 1.0);
    REQUIRE(std::abs(mean - expected) < 4 * standard_error);
}

TEST_CASE("per-operation jitter: same seed, same step; another seed, another step", "[straggler]") {
    const Topology topology = four_gpus();
    const TrainingJob job = pipeline_job(4);
    Scenario scenario;
    ComputeJitter jitter;
    jitter.cv = 0.05;
    scenario.jitter = jitter;
    const PerturbedStepResult a = run(job, topology, scenario, {}, 11);
    const PerturbedStepResult b = run(job, topology, scenario, {}, 11);
    const PerturbedStepResult c = run(job, topology, scenario, {}, 12);
    REQUIRE(a.step.step_time_s == b.step.step_time_s);
    REQUIRE(a.step.fingerprint == b.step.fingerprint);
    REQUIRE(a.step.step_time_s != c.step.step_time_s);
    // Gamma and empirical draws are reproducible too.
    scenario.jitter->distribution = JitterDistribution::kGamma;
    scenario.jitter->gamma_shape = 400;
    REQUIRE(run(job, topology, scenario, {}, 3).step.fingerprint ==
            run(job, topology, scenario, {}, 3).step.fingerprint);
}

TEST_CASE("a straggler never shortens a step on the contention-free network", "[straggler]") {
    // Metamorphic: start times are monotone in durations when nothing shares bandwidth.
    const Topology topology = four_gpus();
    TrainingJob dp_pp = test::make_job(test::gpt_model(4, 1024, 16, 2048, 8192), 8, 1, 2, 2);
    dp_pp.layout.schedule = PipelineScheduleKind::kOneFOneB;
    StepOptions options;
    options.network = NetworkKind::kAlphaBeta;
    const double baseline_s = run(dp_pp, topology, Scenario{}, options).step.step_time_s;
    RandomStream rng(stream_seed(2024, "straggler-metamorphic"));
    for (int trial = 0; trial < 12; ++trial) {
        Scenario scenario;
        const int count = 1 + static_cast<int>(rng.uniform_int(3));
        for (int i = 0; i < count; ++i) {
            scenario.slowdowns.push_back(compute_slowdown(
                {static_cast<std::int32_t>(rng.uniform_int(4))}, 1.0 + rng.uniform()));
        }
        const double t = run(dp_pp, topology, scenario, options).step.step_time_s;
        INFO("trial " << trial);
        REQUIRE(t >= baseline_s);
    }
}

TEST_CASE("a degraded link slows exactly the collectives that cross it", "[straggler]") {
    // DP only, no overlap, one bucket: T = T_free + A, so T_slow − T = A_slow − A, where A_slow
    // is the all-reduce alone on the topology with ib-2's bandwidth divided by the factor.
    Topology topology = four_gpus();
    const TrainingJob job = dp_job();
    const std::vector<RankId> all = {RankId(0), RankId(1), RankId(2), RankId(3)};
    const std::int64_t bytes = stage_gradient_bytes(job, 0);
    const double base_step_s = run(job, topology, Scenario{}, {}).step.step_time_s;
    const double base_ar_s = alone_s(topology, CollectiveOp::kAllReduce, all, bytes);
    const Slowdown slow = parse_straggler_flag("link=nic2<->ib-switch:comm=4", topology, job);
    REQUIRE(slow.links.size() == 2);
    Scenario scenario;
    scenario.slowdowns.push_back(slow);
    double slow_ar_s = 0;
    double slow_step_s = 0;
    {
        LinkEdits edits(topology, scenario.slowdowns);
        slow_ar_s = alone_s(topology, CollectiveOp::kAllReduce, all, bytes);
        slow_step_s = run(job, topology, scenario, {}).step.step_time_s;
    }
    REQUIRE(slow_ar_s > base_ar_s);
    REQUIRE(slow_step_s - base_step_s == Approx(slow_ar_s - base_ar_s).margin(1e-11));
    // The edits are undone when LinkEdits goes: the baseline again.
    REQUIRE(run(job, topology, Scenario{}, {}).step.step_time_s == base_step_s);
}

TEST_CASE("what-if: attribution, sweep and sensitivity", "[straggler]") {
    Topology topology = four_gpus();
    const TrainingJob job = pipeline_job(6);
    Scenario scenario;
    scenario.slowdowns.push_back(compute_slowdown({1}, 1.2));
    scenario.slowdowns.back().element = "rank 1";
    scenario.slowdowns.push_back(compute_slowdown({3}, 1.2));
    scenario.slowdowns.back().element = "rank 3";
    StepOptions step;
    step.is_communication_free = true;
    WhatIfOptions options;
    options.threads = 2;
    options.sweep = StragglerSweep{SweepKind::kFactor, 1.0, 1.2, 0.1};
    const WhatIfResult r = run_whatif(job, topology, scenario, step, options);
    REQUIRE(r.slowdown >= 1.0);
    REQUIRE(r.attribution.size() == 2);
    // Each element alone costs no more than both together; the bottleneck stage costs more.
    for (const AttributionEntry& a : r.attribution) {
        REQUIRE(a.step_time_s <= r.scenario_step_time_s.mean);
    }
    REQUIRE(r.attribution[0].step_time_s < r.attribution[1].step_time_s);
    REQUIRE(r.sweep.size() == 3);
    REQUIRE(r.sweep[0].step_time_s.mean == r.baseline_step_time_s);
    REQUIRE(r.sweep[2].step_time_s.mean == r.scenario_step_time_s.mean);
    REQUIRE(r.sweep[1].step_time_s.mean > r.sweep[0].step_time_s.mean);
    // The sensitivity ranking: one entry per stage, the simulated 1% check beside each; the
    // critical-path estimate is first order in the slowdown.
    int stages = 0;
    for (const SensitivityEntry& s : r.sensitivity) {
        if (s.element.rfind("stage ", 0) == 0) {
            ++stages;
            REQUIRE(s.simulated_s_per_percent ==
                    Approx(s.critical_path_s_per_percent).epsilon(0.35).margin(1e-7));
        }
    }
    REQUIRE(stages == 4);
    // Threads do not change results.
    options.threads = 1;
    const WhatIfResult one = run_whatif(job, topology, scenario, step, options);
    REQUIRE(one.scenario_step_time_s.mean == r.scenario_step_time_s.mean);
    REQUIRE(one.sweep[1].step_time_s.mean == r.sweep[1].step_time_s.mean);
}

TEST_CASE("scenario specs: selectors resolve, bad input is located", "[straggler][spec]") {
    Topology topology = four_gpus();
    const TrainingJob job = dp_job();
    const Scenario ok = load_scenario_text(R"(
description: "mixed"
seed: 5
slowdown { select { node: 1 } factor: 1.5 }
slowdown { select { ranks: "0-1" } factor: 2 applies_to: BOTH }
slowdown { select { links { node: 0 kind: "inter-node" } } factor: 3 }
jitter { distribution: GAMMA shape: 100 }
episodes { mean_interval: "10ms" duration: "1ms" factor: 3 select { rank: 0 } }
)",
                                           "ok.textproto", topology, job);
    REQUIRE(ok.seed == 5);
    REQUIRE(ok.slowdowns.size() == 3);
    REQUIRE(ok.slowdowns[0].ranks == std::vector<std::int32_t>{2, 3});
    REQUIRE(ok.slowdowns[1].compute_factor == 2);
    REQUIRE(ok.slowdowns[1].link_factor == 2);
    REQUIRE(!ok.slowdowns[1].links.empty());
    REQUIRE(ok.slowdowns[2].links.size() == 4);  // ib-0 and ib-1, both directions
    REQUIRE(ok.episodes->ranks == std::vector<std::int32_t>{0});
    // Episodes and jitter run and never produce negative times.
    REQUIRE(run(job, topology, ok, {}).step.step_time_s > 0);

    const auto error_of = [&](const std::string& text) {
        try {
            load_scenario_text(text, "bad.textproto", topology, job);
        } catch (const SpecError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK_THAT(error_of("slowdown { select { rank: 9 } factor: 1.2 }"),
               Catch::Contains("bad.textproto:1:") && Catch::Contains("rank 9 is outside 0..3"));
    CHECK_THAT(error_of("slowdown { select { rank: 1 } factor: 0 }"),
               Catch::Contains("factor must be > 0"));
    CHECK_THAT(error_of("slowdown { select { node: 7 } factor: 1.1 }"),
               Catch::Contains("node 7 names no server"));
    CHECK_THAT(error_of("slowdown { select { link: \"gpu0->nowhere\" } factor: 2 }"),
               Catch::Contains("unknown device \"nowhere\""));
    CHECK_THAT(error_of("slowdown { select { link: \"nic2<->ib-switch\" } down: true }"),
               Catch::Contains("partition the cluster"));
    CHECK_THAT(error_of("jitter { distribution: GAMMA shape: -1 }"),
               Catch::Contains("gamma shape must be > 0"));
    CHECK_THAT(error_of("jitter { cv: 0.1 }"), Catch::Contains("jitter needs distribution"));
    CHECK_THAT(error_of("slowdown { select { rank: 1 } factor: nan }"),
               Catch::Contains("factor must be > 0"));
    REQUIRE_THROWS_AS(parse_straggler_flag("rank=17:compute=1.3", topology, job), SpecError);
    REQUIRE_THROWS_AS(parse_straggler_flag("rank=1:compute=-1", topology, job), SpecError);
    REQUIRE(parse_straggler_flag("rank=1:compute=1.3", topology, job).ranks ==
            std::vector<std::int32_t>{1});
}

TEST_CASE("a slow link on another TP rank's GPUs is on the timed path", "[straggler]") {
    // TP2 × DP2 on two servers: TP groups {0,1} and {2,3} on NVLink, DP groups {0,2} and {1,3}
    // over IB. Slowing ib-3 (nic3 <-> switch) slows only the DP all-reduce of TP rank 1, which
    // fast fidelity times in place of TP rank 0's: T_slow − T = A_slow({1,3}) − A({1,3}).
    Topology topology = four_gpus();
    TrainingJob job = test::make_job(test::gpt_model(4, 1024, 16, 4096, 8192), 16, 2, 1, 2);
    job.training.micro_batch = 4;
    job.layout.is_grad_reduce_overlapped = false;
    job.layout.grad_bucket_bytes = std::int64_t{1} << 40;
    const std::vector<RankId> group = {RankId(1), RankId(3)};
    const std::int64_t bytes = stage_gradient_bytes(job, 0);
    const double base_step_s = run(job, topology, Scenario{}, {}).step.step_time_s;
    const double base_ar_s = alone_s(topology, CollectiveOp::kAllReduce, group, bytes);
    Scenario scenario;
    scenario.slowdowns.push_back(
        parse_straggler_flag("link=nic3<->ib-switch:comm=4", topology, job));
    LinkEdits edits(topology, scenario.slowdowns);
    const double slow_ar_s = alone_s(topology, CollectiveOp::kAllReduce, group, bytes);
    const PerturbedStepResult slow = run(job, topology, scenario, {});
    REQUIRE(slow_ar_s > base_ar_s);
    REQUIRE(slow.step.step_time_s - base_step_s == Approx(slow_ar_s - base_ar_s).margin(1e-11));
}

TEST_CASE("what-if with context parallelism: a slow GPU on any CP rank slows its stage",
          "[straggler]") {
    // TP2 CP2 PP2 DP2 on two DGX H100 servers (order tp-cp-dp-pp: rank = t + 2c + 4d + 8s).
    // A CP group, like a TP group, runs at its slowest member, so a 1.5× GPU on CP rank 1
    // (rank 2) costs what the same GPU on CP rank 0 (rank 0) does, and more than nothing.
    Topology topology = load_topology_file(std::filesystem::path(STEPSIM_SOURCE_DIR) /
                                           "topologies" / "dgx-h100-16.textproto");
    TrainingJob job = test::make_job(test::gpt_model(4, 2048, 16, 2048, 32000), 16, 2, 2, 2);
    job.layout.cp = 2;
    job.layout.is_sequence_parallel = true;
    job.training.is_flash_attention = true;
    const StepOptions step;
    WhatIfOptions options;
    Scenario on_cp0;
    on_cp0.slowdowns.push_back(compute_slowdown({0}, 1.5));
    Scenario on_cp1;
    on_cp1.slowdowns.push_back(compute_slowdown({2}, 1.5));
    const WhatIfResult a = run_whatif(job, topology, on_cp0, step, options);
    const WhatIfResult b = run_whatif(job, topology, on_cp1, step, options);
    REQUIRE(a.baseline_step_time_s == simulate_step(job, topology).step_time_s);
    REQUIRE(b.slowdown > 1.0);
    REQUIRE(b.scenario_step_time_s.mean == a.scenario_step_time_s.mean);
}
