// SPDX-License-Identifier: Apache-2.0
// File: overlap_test.cc
// Megatron-Core's overlaps as the step lowering simulates them, each against a closed form on
// hand-built StepCosts: tp_comm_overlap (chunked all-gather / reduce-scatter pipelined with
// the partner GEMM, slowed by the SMs the communication takes), overlap_param_gather,
// overlap_p2p_comm, overlap_grad_reduce and the pipeline engine's per-op host overhead.
// Communication is timed by a toy communicator: one byte takes one nanosecond, whatever the
// collective, so every duration below is a plain sum of compute and message sizes.
#include "stepsim/simulator.h"
#include "stepsim/training_step.h"
#include "stepsim/workload.h"

#include "step/pipeline_schedule.h"
#include "step/step_analysis.h"
#include "step/step_executor.h"
#include "step/step_inputs.h"
#include "step/step_lowering.h"
#include "unit/step/sized_communicator.h"
#include "unit/workload/workload_test_models.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <vector>

using namespace stepsim;

namespace {

using test::ns;
using test::SizedCommunicator;

struct Run {
    LoweredStep lowered;
    TaskTimeline timeline;
    Time step_time{0};
};

Run run(const StepCosts& costs, const RankGroups& groups, const PipelineSchedule& schedule) {
    Run r;
    r.lowered = lower_step(costs, groups, schedule);
    Simulator sim(1);
    SizedCommunicator comm(sim);
    r.timeline = execute_task_graph(sim, r.lowered.graph, comm);
    r.step_time = analyze_step(r.lowered, r.timeline).step_time;
    return r;
}

/// One stage whose GPU has `tp` TP ranks (0..tp-1) and no DP.
RankGroups tp_groups(int tp) {
    RankGroups groups;
    std::vector<RankId> ranks;
    std::vector<std::vector<RankId>> dp;
    for (int t = 0; t < tp; ++t) {
        ranks.emplace_back(static_cast<std::uint32_t>(t));
        dp.push_back({RankId(static_cast<std::uint32_t>(t))});
    }
    groups.stage_ranks.push_back(ranks);
    groups.dp_groups.push_back(dp);
    return groups;
}

/// One stage, DP 2 (ranks 0 and 1), no TP.
RankGroups dp2_groups() {
    RankGroups groups;
    groups.stage_ranks.push_back({RankId(0)});
    groups.dp_groups.push_back({{RankId(0), RankId(1)}});
    return groups;
}

/// One stage, one micro-batch, one layer of forward `forward` and nothing else.
StepCosts one_layer(Time forward) {
    StepCosts costs;
    costs.shape = PipelineShape{1, 1, 1};
    LayerWork layer;
    layer.layer = 0;
    layer.forward = forward;
    costs.virtual_stages.push_back({layer});
    costs.optimizer.assign(1, Time(0));
    return costs;
}

/// p·v chunks of one layer each, F and B per layer.
StepCosts uniform(PipelineShape shape, Time forward, Time backward) {
    StepCosts costs;
    costs.shape = shape;
    for (int vs = 0; vs < shape.stages * shape.chunks; ++vs) {
        LayerWork layer;
        layer.layer = vs;
        layer.forward = forward;
        layer.backward_input = backward;
        costs.virtual_stages.push_back({layer});
    }
    costs.optimizer.assign(static_cast<std::size_t>(shape.stages), Time(0));
    return costs;
}

/// Forward 10 us, of which the partner GEMM G = 8 us; TP 4: a GEMM piece is g = 2 us.
constexpr std::int64_t kF = 10'000;
constexpr std::int64_t kG = 8'000;
constexpr int kTp = 4;

Time tp_layer_step(CollectiveOp op, TpOverlapKind kind, std::int64_t c_bytes, double slowdown) {
    StepCosts costs = one_layer(ns(kF));
    LayerWork& layer = costs.virtual_stages[0][0];
    layer.forward_collectives = {{op, c_bytes}};
    if (kind != TpOverlapKind::kNone) {
        layer.forward_overlaps = {{kind, ns(kG)}};
    }
    costs.tp_overlap_ag_slowdown = slowdown;
    costs.tp_overlap_rs_slowdown = slowdown;
    return run(costs, tp_groups(kTp), *make_pipeline_schedule(PipelineScheduleKind::kOneFOneB))
        .step_time;
}

}  // namespace

TEST_CASE(
    "tp_comm_overlap all-gather: only the first chunk is exposed while chunks are shorter "
    "than GEMM pieces",
    "[workload][overlap]") {
    const auto ag = CollectiveOp::kAllGather;
    // Not overlapped: F + C.
    REQUIRE(tp_layer_step(ag, TpOverlapKind::kNone, 4'000, 1.0) == ns(kF + 4'000));
    // C = 4 us → chunk c = C/tp = 1 us < g = G/tp = 2 us: the other compute (F − G), the first
    // chunk, then the four GEMM pieces back to back, each later chunk hidden behind the piece
    // before: (F − G) + C/tp + G = 2 + 1 + 8 = 11 us.
    REQUIRE(tp_layer_step(ag, TpOverlapKind::kGatherBefore, 4'000, 1.0) ==
            ns(kF - kG + 4'000 / kTp + kG));
    // C = 16 us → c = 4 us > g: the chunks back to back, then the last GEMM piece:
    // (F − G) + C + G/tp = 2 + 16 + 2 = 20 us (exposed: C − (G − G/tp) = 10 us).
    REQUIRE(tp_layer_step(ag, TpOverlapKind::kGatherBefore, 16'000, 1.0) ==
            ns(kF - kG + 16'000 + kG / kTp));
    // c == g: still 2 + 2 + 8 = 12 us (the boundary of both forms).
    REQUIRE(tp_layer_step(ag, TpOverlapKind::kGatherBefore, 8'000, 1.0) ==
            ns(kF - kG + 8'000 / kTp + kG));
}

TEST_CASE(
    "tp_comm_overlap reduce-scatter: only the last chunk is exposed while chunks are "
    "shorter than GEMM pieces",
    "[workload][overlap]") {
    const auto rs = CollectiveOp::kReduceScatter;
    REQUIRE(tp_layer_step(rs, TpOverlapKind::kNone, 4'000, 1.0) == ns(kF + 4'000));
    // c = 1 us < g = 2 us: (F − G) + G + C/tp = 2 + 8 + 1 = 11 us.
    REQUIRE(tp_layer_step(rs, TpOverlapKind::kScatterAfter, 4'000, 1.0) ==
            ns(kF - kG + kG + 4'000 / kTp));
    // c = 4 us > g: the first GEMM piece, then the chunks back to back:
    // (F − G) + G/tp + C = 2 + 2 + 16 = 20 us.
    REQUIRE(tp_layer_step(rs, TpOverlapKind::kScatterAfter, 16'000, 1.0) ==
            ns(kF - kG + kG / kTp + 16'000));
}

TEST_CASE("tp_comm_overlap bulk: the collective runs whole beside the GEMM",
          "[workload][overlap]") {
    const auto rs = CollectiveOp::kReduceScatter;
    // max(G, C) after the other compute: 2 + max(8, 4) = 10 us; 2 + max(8, 16) = 18 us.
    REQUIRE(tp_layer_step(rs, TpOverlapKind::kBulk, 4'000, 1.0) == ns(kF));
    REQUIRE(tp_layer_step(rs, TpOverlapKind::kBulk, 16'000, 1.0) == ns(kF - kG + 16'000));
}

TEST_CASE("tp_comm_overlap: the GEMM is slowed by sm / (sm - k) for k communication SMs",
          "[workload][overlap]") {
    const auto ag = CollectiveOp::kAllGather;
    // k = 12 of 132 SMs: 132 / 120 = 1.1, each piece 2.2 us: 2 + 1 + 4 · 2.2 = 11.8 us.
    REQUIRE(tp_layer_step(ag, TpOverlapKind::kGatherBefore, 4'000, 132.0 / 120.0) ==
            ns(kF - kG + 1'000 + 8'800));
    const auto rs = CollectiveOp::kReduceScatter;
    REQUIRE(tp_layer_step(rs, TpOverlapKind::kScatterAfter, 4'000, 132.0 / 120.0) ==
            ns(kF - kG + 8'800 + 1'000));

    // From a job: the slowdowns are 132 / (132 − sms) on H100 (132 SMs), 1 with no SMs taken,
    // and 1 when the overlap is off.
    TrainingJob job = test::make_job(test::gpt_model(4, 4096, 32), 8, 4, 1, 2);
    job.layout.is_sequence_parallel = true;
    REQUIRE(detail::step_costs_of(job).tp_overlap_ag_slowdown == 1.0);
    job.layout.is_tp_comm_overlapped = true;
    job.layout.tp_comm_overlap_ag_sms = 1;
    job.layout.tp_comm_overlap_rs_sms = 16;
    StepCosts costs = detail::step_costs_of(job);
    REQUIRE(job.gpu.sm_count == 132);
    REQUIRE(costs.tp_overlap_ag_slowdown == Approx(132.0 / 131.0));
    REQUIRE(costs.tp_overlap_rs_slowdown == Approx(132.0 / 116.0));
    job.layout.tp_comm_overlap_ag_sms = 0;
    job.layout.tp_comm_overlap_rs_sms = 0;
    costs = detail::step_costs_of(job);
    REQUIRE(costs.tp_overlap_ag_slowdown == 1.0);
    REQUIRE(costs.tp_overlap_rs_slowdown == 1.0);
    // Communication that takes every SM leaves none for the GEMM: a job problem, not a GEMM
    // that runs at full speed.
    REQUIRE(validate_job(job).empty());
    job.layout.tp_comm_overlap_rs_sms = 132;
    const std::vector<JobProblem> problems = validate_job(job);
    REQUIRE(problems.size() == 1);
    REQUIRE(problems[0].field_path == "parallelism.tp_comm_overlap_rs_sms");
    REQUIRE(problems[0].message ==
            "tp_comm_overlap_rs_sms (132) leaves no SMs for the GEMM: H100-SXM has 132");
    job.layout.tp_comm_overlap_rs_sms = 0;
    // Each of a layer's four collectives gets its partner: AG→qkv, RS←proj, AG→fc1, RS←fc2.
    const LayerWork& layer = costs.virtual_stages[0][1];  // [0] is the embedding
    REQUIRE(layer.forward_overlaps.size() == 4);
    REQUIRE(layer.forward_overlaps[0].kind == TpOverlapKind::kGatherBefore);
    REQUIRE(layer.forward_overlaps[1].kind == TpOverlapKind::kScatterAfter);
    Time partners{0};
    for (const TpOverlap& o : layer.forward_overlaps) {
        REQUIRE(o.gemm > Time(0));
        partners += o.gemm;
    }
    REQUIRE(partners < layer.forward);
}

TEST_CASE("overlap_param_gather: buckets hide behind the forward; none after the optimizer",
          "[workload][overlap]") {
    // Two layers of forward F = 10 us, each its own bucket of W bytes (bucket size W),
    // ZeRO-1 over DP 2, optimizer 5 us. The gathers run back to back on the ZeRO stream from
    // the start; layer 0 waits for bucket 0, layer 1 for bucket 1.
    const auto costs_with = [](std::int64_t w, bool overlapped) {
        StepCosts costs;
        costs.shape = PipelineShape{1, 1, 1};
        std::vector<LayerWork> layers(2);
        for (int i = 0; i < 2; ++i) {
            layers[static_cast<std::size_t>(i)].layer = i;
            layers[static_cast<std::size_t>(i)].forward = ns(10'000);
            layers[static_cast<std::size_t>(i)].weight_bytes = w;
        }
        costs.virtual_stages.push_back(layers);
        costs.optimizer.assign(1, ns(5'000));
        costs.zero_stage = 1;
        costs.grad_bucket_bytes = w;
        costs.zero_gather_bytes = {2 * w};
        costs.is_param_gather_overlapped = overlapped;
        return costs;
    };
    const auto schedule = make_pipeline_schedule(PipelineScheduleKind::kOneFOneB);
    // W = 4 us < F: only the first bucket is exposed: W + 2F + optimizer = 4 + 20 + 5 = 29 us.
    const Run hidden = run(costs_with(4'000, true), dp2_groups(), *schedule);
    REQUIRE(hidden.step_time == ns(4'000 + 20'000 + 5'000));
    // No gather after the optimizer: the step ends with it.
    const TaskId optimizer = hidden.lowered.optimizer_tasks[0];
    REQUIRE(hidden.timeline.end[optimizer.index()] == hidden.step_time);
    int gathers = 0;
    for (std::size_t i = 0; i < hidden.lowered.graph.size(); ++i) {
        const Task& task = hidden.lowered.graph.task(TaskId(static_cast<std::uint32_t>(i)));
        if (task.kind == TaskKind::kCollective && task.comm == CommKind::kZero) {
            ++gathers;
            REQUIRE(hidden.timeline.end[i] <= hidden.timeline.start[optimizer.index()]);
        }
    }
    REQUIRE(gathers == 2);
    // W = 15 us > F: layer 1 waits for the second bucket: 2W + F + optimizer = 30 + 10 + 5.
    REQUIRE(run(costs_with(15'000, true), dp2_groups(), *schedule).step_time ==
            ns(30'000 + 10'000 + 5'000));
    // Not overlapped: the whole 2W gather after the optimizer: 2F + optimizer + 2W.
    REQUIRE(run(costs_with(4'000, false), dp2_groups(), *schedule).step_time ==
            ns(20'000 + 5'000 + 8'000));
}

TEST_CASE("overlap_p2p_comm false: every send occupies the sender's compute stream",
          "[workload][overlap]") {
    // 2-stage 1F1B, F = 10 us, B = 20 us, messages S = 1 us. Blocking sends (the sender's
    // stream waits, stage 0 sends after each F, stage 1 after each B): each stage's steady
    // period is F + B + S and the two stages never wait for each other after the warm-up, so
    // step = F + S (warm-up) + m·(F + B + S) (stage 1) + B (stage 0's last B)
    //      = (m + 1)·(F + B + S).
    const auto schedule = make_pipeline_schedule(PipelineScheduleKind::kOneFOneB);
    const Time f = ns(10'000);
    const Time b = ns(20'000);
    const std::int64_t s = 1'000;
    for (const int m : {2, 4, 8}) {
        StepCosts costs = uniform({2, m, 1}, f, b);
        costs.pipeline_message_bytes = s;
        costs.is_p2p_overlapped = false;
        const Time blocking = run(costs, RankGroups::single_pipeline(2), *schedule).step_time;
        REQUIRE(blocking == Time((m + 1) * (f + b + ns(s)).count()));
        // Overlapped sends: the message latency still lies on the 2-stage critical path, but
        // senders no longer wait: never slower, and with m = 2 exactly one S less:
        // F1 [0, F], stage 1 F1 at F + S, B1 → its gradient at 2F + 2S + B, stage 0's B1, ...
        // step = 3(F + B) + 2S.
        costs.is_p2p_overlapped = true;
        const Time overlapped = run(costs, RankGroups::single_pipeline(2), *schedule).step_time;
        REQUIRE(overlapped <= blocking);
        if (m == 2) {
            REQUIRE(overlapped == Time(3 * (f + b).count() + 2 * ns(s).count()));
        }
    }
}

TEST_CASE("overlap_p2p_comm on the interleaved schedule: blocking sends cost every send",
          "[workload][overlap]") {
    // Interleaved, p = 2, v = 2, m = 4, F = 10 us, B = 20 us. Free messages:
    // (v·m + p − 1)·(F + B) = 9 · 30 = 270 us. Each stage sends after all but its last
    // virtual stage's F and first virtual stage's B: 2·m·(p·v − 1)/p = 12 sends per stage, so
    // blocking sends of S add at most 12·S per stage on top of the latency overlapped sends
    // already expose.
    const auto schedule = make_pipeline_schedule(PipelineScheduleKind::kInterleaved);
    StepCosts costs = uniform({2, 4, 2}, ns(10'000), ns(20'000));
    REQUIRE(run(costs, RankGroups::single_pipeline(2), *schedule).step_time == ns(270'000));
    costs.pipeline_message_bytes = 1'000;
    const Time overlapped = run(costs, RankGroups::single_pipeline(2), *schedule).step_time;
    costs.is_p2p_overlapped = false;
    const Run blocking = run(costs, RankGroups::single_pipeline(2), *schedule);
    REQUIRE(overlapped > ns(270'000));
    REQUIRE(blocking.step_time > overlapped);
    REQUIRE(blocking.step_time <= overlapped + ns(12 * 1'000));
    // Every send sits on its sender's compute stream.
    int sends = 0;
    for (std::size_t i = 0; i < blocking.lowered.graph.size(); ++i) {
        const Task& task = blocking.lowered.graph.task(TaskId(static_cast<std::uint32_t>(i)));
        if (task.kind == TaskKind::kSendRecv) {
            ++sends;
            REQUIRE(std::find(blocking.lowered.compute_streams.begin(),
                              blocking.lowered.compute_streams.end(),
                              task.stream) != blocking.lowered.compute_streams.end());
        }
    }
    REQUIRE(sends == 2 * 12);
}

TEST_CASE("overlap_grad_reduce: buckets reduced as the backward produces them, or all after it",
          "[workload][overlap]") {
    // One stage, DP 2, two layers: F = 10 us, B = 20 us, each layer's gradient R bytes (its
    // own bucket), optimizer 0.
    const auto costs_with = [](std::int64_t r, bool overlapped) {
        StepCosts costs;
        costs.shape = PipelineShape{1, 1, 1};
        std::vector<LayerWork> layers(2);
        for (int i = 0; i < 2; ++i) {
            layers[static_cast<std::size_t>(i)].layer = i;
            layers[static_cast<std::size_t>(i)].forward = ns(10'000);
            layers[static_cast<std::size_t>(i)].backward_input = ns(20'000);
            layers[static_cast<std::size_t>(i)].gradient_bytes = r;
        }
        costs.virtual_stages.push_back(layers);
        costs.optimizer.assign(1, Time(0));
        costs.grad_bucket_bytes = r;
        costs.is_grad_reduce_overlapped = overlapped;
        return costs;
    };
    const auto schedule = make_pipeline_schedule(PipelineScheduleKind::kOneFOneB);
    // Overlapped, R = 5 us < B: layer 1's bucket reduces during layer 0's backward; only the
    // last bucket is exposed: 2F + 2B + R = 20 + 40 + 5 = 65 us.
    REQUIRE(run(costs_with(5'000, true), dp2_groups(), *schedule).step_time ==
            ns(20'000 + 40'000 + 5'000));
    // Overlapped, R = 30 us > B: the first bucket starts after layer 1's backward and the two
    // run back to back: 2F + B + 2R = 20 + 20 + 60 = 100 us.
    REQUIRE(run(costs_with(30'000, true), dp2_groups(), *schedule).step_time ==
            ns(20'000 + 20'000 + 60'000));
    // Not overlapped: both buckets after the whole backward: 2F + 2B + 2R = 70 us.
    REQUIRE(run(costs_with(5'000, false), dp2_groups(), *schedule).step_time ==
            ns(20'000 + 40'000 + 10'000));
    // The flag reaches the costs from the job (Megatron's --overlap-grad-reduce, default on).
    TrainingJob job = test::make_job(test::gpt_model(4, 1024, 16), 8, 1, 1, 2);
    REQUIRE(detail::step_costs_of(job).is_grad_reduce_overlapped);
    job.layout.is_grad_reduce_overlapped = false;
    REQUIRE_FALSE(detail::step_costs_of(job).is_grad_reduce_overlapped);
}

TEST_CASE("pipeline_op_overhead: (m + p - 1)·2·δ more on a uniform 1F1B pipeline",
          "[workload][overlap]") {
    // Uniform 1F1B with free communication: step = (m + p − 1)·(F + B). The host overhead δ
    // runs on the compute stream before every F and B, so each op is δ longer and the step is
    // (m + p − 1)·(F + B + 2δ): (m + p − 1)·2δ more.
    const auto schedule = make_pipeline_schedule(PipelineScheduleKind::kOneFOneB);
    const Time f = ns(10'000);
    const Time b = ns(20'000);
    const Time delta = ns(3'000);
    for (const auto& [p, m] : std::vector<std::pair<int, int>>{{2, 4}, {4, 8}, {3, 3}}) {
        StepCosts costs = uniform({p, m, 1}, f, b);
        const Time base = run(costs, RankGroups::single_pipeline(p), *schedule).step_time;
        REQUIRE(base == Time((m + p - 1) * (f + b).count()));
        costs.pipeline_op_overhead = delta;
        const Time with = run(costs, RankGroups::single_pipeline(p), *schedule).step_time;
        REQUIRE(with - base == Time((m + p - 1) * 2 * delta.count()));
    }
    // From a job: only pipelined jobs get it.
    TrainingJob job = test::make_job(test::gpt_model(4, 1024, 16), 8, 1, 2, 1);
    job.training.pipeline_op_overhead_s = 0.019;
    REQUIRE(detail::step_costs_of(job).pipeline_op_overhead == from_seconds(0.019));
    job.layout.pp = 1;
    job.layout.dp = 2;
    REQUIRE(detail::step_costs_of(job).pipeline_op_overhead == Time(0));
}

TEST_CASE("tp_comm_overlap on a DGX H100 job: concurrent TP slices, less exposed TP time",
          "[workload][overlap]") {
    // 8-way TP with sequence parallelism inside one server, DP 2 across the two servers.
    const Topology topology = load_topology_file(std::filesystem::path(STEPSIM_SOURCE_DIR) /
                                                 "topologies" / "dgx-h100-16.textproto");
    TrainingJob job = test::make_job(test::gpt_model(2, 4096, 32, 2048, 51200), 4, 8, 1, 2);
    job.layout.is_sequence_parallel = true;
    StepOptions options;
    options.keeps_timeline = true;
    const StepResult plain = simulate_step(job, topology, options);
    job.layout.is_tp_comm_overlapped = true;
    job.layout.tp_comm_overlap_ag_sms = 0;
    job.layout.tp_comm_overlap_rs_sms = 0;
    const StepResult free_sms = simulate_step(job, topology, options);
    job.layout.tp_comm_overlap_ag_sms = 1;
    job.layout.tp_comm_overlap_rs_sms = 16;
    const StepResult overlapped = simulate_step(job, topology, options);
    INFO(plain.step_time_s << " " << free_sms.step_time_s << " " << overlapped.step_time_s);
    // Hiding communication shortens the step; SMs given to it lengthen it again.
    REQUIRE(free_sms.step_time_s < plain.step_time_s);
    REQUIRE(free_sms.stages[0].breakdown.tp_s < plain.stages[0].breakdown.tp_s);
    REQUIRE(overlapped.step_time_s > free_sms.step_time_s);
    // Without overlap every TP slice is on the compute stream; with it, some run on their
    // own stream while a compute slice of the same rank runs.
    const auto concurrent_tp = [](const StepResult& r) {
        int count = 0;
        for (const TimelineSlice& tp : r.timeline) {
            if (tp.category != "tp" || tp.stream == "compute") {
                continue;
            }
            for (const TimelineSlice& c : r.timeline) {
                if (c.rank == tp.rank && c.stream == "compute" && c.category == "compute" &&
                    c.start_s < tp.end_s && tp.start_s < c.end_s) {
                    ++count;
                    break;
                }
            }
        }
        return count;
    };
    REQUIRE(concurrent_tp(plain) == 0);
    REQUIRE(concurrent_tp(overlapped) > 0);
}

TEST_CASE("scatter_gather_p2p: the receiver all-gathers each message before the op using it",
          "[workload][overlap]") {
    // 2-stage 1F1B, F = 10 us, B = 20 us, free messages, receive all-gather R = 1 us before
    // stage 1's forwards and stage 0's backwards. Stage 1 runs m·(R + F + B) back to back
    // after stage 0's first F, then stage 0's last backward takes R + B:
    // step = F + m·(R + F + B) + R + B = (m + 1)·(F + B) + (m + 1)·R.
    const auto schedule = make_pipeline_schedule(PipelineScheduleKind::kOneFOneB);
    const Time f = ns(10'000);
    const Time b = ns(20'000);
    const std::int64_t r = 1'000;
    for (const int m : {2, 4, 8}) {
        StepCosts costs = uniform({2, m, 1}, f, b);
        costs.receive_collectives = {{CollectiveOp::kAllGather, r}};
        const Time step = run(costs, RankGroups::single_pipeline(2), *schedule).step_time;
        REQUIRE(step == Time((m + 1) * (f + b + ns(r)).count()));
    }
    // From a job: TP 2 without sequence parallelism sends 1/tp of the b·s·h·2 activation and
    // all-gathers the whole; with sequence parallelism (or the flag off) neither.
    TrainingJob job = test::make_job(test::gpt_model(4, 1024, 16, 512), 8, 2, 2, 1);
    const std::int64_t activation = 1 * 512 * 1024 * 2;
    StepCosts costs = detail::step_costs_of(job);
    REQUIRE(costs.pipeline_message_bytes == activation / 2);
    REQUIRE(costs.receive_collectives.size() == 1);
    REQUIRE(costs.receive_collectives[0].op == CollectiveOp::kAllGather);
    REQUIRE(costs.receive_collectives[0].size_bytes == activation);
    job.layout.is_p2p_scatter_gather = false;
    costs = detail::step_costs_of(job);
    REQUIRE(costs.pipeline_message_bytes == activation);
    REQUIRE(costs.receive_collectives.empty());
    job.layout.is_p2p_scatter_gather = true;
    job.layout.is_sequence_parallel = true;
    costs = detail::step_costs_of(job);
    REQUIRE(costs.pipeline_message_bytes == activation / 2);
    REQUIRE(costs.receive_collectives.empty());
}
