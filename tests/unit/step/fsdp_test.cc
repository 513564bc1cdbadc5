// SPDX-License-Identifier: Apache-2.0
// File: fsdp_test.cc
// ZeRO-3 / FSDP as the step lowering simulates it, against closed forms: the gather before
// every use with a prefetch depth (hidden behind the layer before when prefetching, exposed
// without), the per-layer reduce-scatter after every backward, the gather volume of a step
// and the memory with sharded parameters. Communication in the lowering tests is timed by a
// toy communicator (one byte takes one nanosecond).
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
#include <vector>

using namespace stepsim;

namespace {

using test::ns;
using test::SizedCommunicator;

constexpr int kLayers = 4;
constexpr std::int64_t kF = 10'000;  // forward per layer, ns
constexpr std::int64_t kB = 20'000;  // backward per layer, ns

/// One stage, DP 2, one micro-batch, kLayers layers; each gathers `w` bytes and
/// reduce-scatters `g` bytes.
StepCosts fsdp_layers(std::int64_t w, std::int64_t g, int prefetch) {
    StepCosts costs;
    costs.shape = PipelineShape{1, 1, 1};
    std::vector<LayerWork> layers;
    for (int i = 0; i < kLayers; ++i) {
        LayerWork layer;
        layer.layer = i;
        layer.forward = ns(kF);
        layer.backward_input = ns(kB);
        layer.weight_bytes = w;
        layer.gradient_bytes = g;
        layers.push_back(layer);
    }
    costs.virtual_stages.push_back(layers);
    costs.optimizer.assign(1, Time(0));
    costs.zero_stage = 3;
    costs.gradient_op = CollectiveOp::kReduceScatter;
    costs.fsdp_prefetch_layers = prefetch;
    return costs;
}

StepAnalysis run(const StepCosts& costs) {
    RankGroups groups;
    groups.stage_ranks.push_back({RankId(0)});
    groups.dp_groups.push_back({{RankId(0), RankId(1)}});
    const auto schedule = make_pipeline_schedule(PipelineScheduleKind::kOneFOneB);
    const LoweredStep lowered = lower_step(costs, groups, *schedule);
    Simulator sim(1);
    SizedCommunicator comm(sim);
    return analyze_step(lowered, execute_task_graph(sim, lowered.graph, comm));
}

double fsdp_s(const StepAnalysis& a) {
    return to_seconds(a.stages[0].breakdown[static_cast<std::size_t>(TimeCategory::kFsdp)]);
}

}  // namespace

TEST_CASE("FSDP prefetch: only the first gather and the last reduce-scatter are exposed",
          "[step][fsdp]") {
    // W = 4 us < F: gather k+1 runs under layer k (forward and backward alike), so the step is
    // W + L·(F + B) + G, G the last layer's reduce-scatter (the optimizer waits for it).
    const StepAnalysis a = run(fsdp_layers(4'000, 3'000, 1));
    REQUIRE(a.step_time == ns(4'000 + kLayers * (kF + kB) + 3'000));
    REQUIRE(fsdp_s(a) == Approx(to_seconds(ns(4'000 + 3'000))));
    // Without prefetch every gather waits for the previous layer to finish: 2L·W exposed.
    const StepAnalysis none = run(fsdp_layers(4'000, 3'000, 0));
    REQUIRE(none.step_time == ns(2 * kLayers * 4'000 + kLayers * (kF + kB) + 3'000));
    // W = 15 us > F with prefetch 1: forward is gather-bound (each gather waits only for the
    // one before on the stream and for the use two back): the forward pass ends at L·W + F;
    // backward gathers are shorter than B, so the backward is B per layer after its first
    // gather, which was issued behind the last forward gather.
    const StepAnalysis slow = run(fsdp_layers(15'000, 3'000, 1));
    REQUIRE(slow.step_time ==
            ns(std::max<std::int64_t>(kLayers * 15'000 + kF, (kLayers + 1) * 15'000) +
               kLayers * kB + 3'000));
}

TEST_CASE("ZeRO-3 gather volume and reduce-scatters of a step against the closed form",
          "[step][fsdp]") {
    // GPT 4 layers, h 1024, TP 2, PP 2, DP 4, 4 micro-batches.
    TrainingJob job = test::make_job(test::gpt_model(4, 1024, 16), 16, 2, 2, 4);
    job.layout.zero_stage = 3;
    const StepCosts costs = detail::step_costs_of(job);
    const RankGroups groups = detail::rank_groups_of(job.layout);
    const auto schedule = make_pipeline_schedule(job.layout.schedule);
    const LoweredStep lowered = lower_step(costs, groups, *schedule);
    const std::int64_t layer_weight_bytes = layer_parameter_count(job.model) / 2 * 2;
    const std::int64_t m = microbatches(job);
    std::int64_t gather_bytes = 0;
    std::int64_t gathers = 0;
    std::int64_t scatters = 0;
    std::int64_t scatter_bytes = 0;
    std::int64_t dp_tasks = 0;
    for (const Task& task : lowered.graph.tasks()) {
        if (task.kind == TaskKind::kCompute) {
            continue;
        }
        const CollectiveRequest& request = lowered.graph.request(task.request).request;
        if (task.comm == CommKind::kFsdp && request.op == CollectiveOp::kAllGather) {
            ++gathers;
            gather_bytes += request.size_bytes;
            REQUIRE(request.ranks.size() == 4);
        } else if (task.comm == CommKind::kFsdp) {
            REQUIRE(request.op == CollectiveOp::kReduceScatter);
            ++scatters;
            scatter_bytes += request.size_bytes;
        } else if (task.comm == CommKind::kDataParallel) {
            ++dp_tasks;
        }
    }
    // Per stage and micro-batch: every layer gathered before its forward and before its
    // backward; 2 layers per stage, 2 stages: 2·2·2·m gathers of one layer's TP shard (bf16).
    REQUIRE(gathers == 2 * 2 * 2 * m);
    REQUIRE(gather_bytes == 2 * 2 * 2 * m * layer_weight_bytes);
    // Per GPU on the wire, a ring all-gather moves (n−1)/n of each: 2·L_stage·m·W·3/4.
    // Every layer's gradient (and the edge work's) reduce-scattered in every micro-batch, the
    // stage's whole gradient each time; no bucketed DP reduction after the backward.
    REQUIRE(scatter_bytes == m * (stage_gradient_bytes(job, 0) + stage_gradient_bytes(job, 1)));
    REQUIRE(scatters >= 2 * 2 * m);
    REQUIRE(dp_tasks == 0);
}

TEST_CASE("ZeRO-3 memory: sharded weights, gradients and optimizer; gathered layers transient",
          "[step][fsdp]") {
    TrainingJob job = test::make_job(test::gpt_model(8, 2048, 16), 32, 2, 2, 8);
    job.layout.zero_stage = 3;
    const std::int64_t params = stage_parameter_count(job, 0);
    const std::int64_t layer_shard = layer_parameter_count(job.model) / 2;
    for (const int prefetch : {0, 1, 3}) {
        job.layout.fsdp_prefetch_layers = prefetch;
        const MemoryBreakdown m = memory_per_gpu(job, 0, 1);
        REQUIRE(m.weights_bytes == (params * 2 + 7) / 8);
        REQUIRE(m.gradients_bytes == (params * 2 + 7) / 8);
        REQUIRE(m.optimizer_bytes == (params * 12 + 7) / 8);
        // prefetch + 1 gathered layers of bf16 weights and one layer's bf16 gradient before
        // its reduce-scatter (stage 0 holds no logits).
        REQUIRE(m.transient_bytes == (prefetch + 1) * layer_shard * 2 + layer_shard * 2);
    }
    // With context parallelism the shards are over dp·cp.
    job.layout.cp = 2;
    job.layout.dp = 4;
    REQUIRE(memory_per_gpu(job, 0, 1).weights_bytes == (params * 2 + 7) / 8);
}
