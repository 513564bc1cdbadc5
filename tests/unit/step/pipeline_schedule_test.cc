// SPDX-License-Identifier: Apache-2.0
// Pipeline schedules, timed with communication made free, on p uniform stages.
//
// With per-micro-batch forward t_f and backward t_b on every stage (Narayanan et al. SC'21
// §2.2), every stage is busy m·v·(t_f + t_b) and idles (p-1)·(t_f + t_b)/v, so
//   GPipe, 1F1B:      bubble_fraction = (p-1) / (m + p - 1)
//   interleaved (v):  bubble_fraction = (p-1) / (v·m + p - 1)
// ZB-H1 with T_F = T_B = T_W (Qi et al. 2024): bubble (p-1)(T_F + T_B - T_W) = (p-1)·T,
// a third of 1F1B's (p-1)·3T. The bubble below is measured from the simulated timeline (idle
// time on each stage's compute stream), never computed from these formulas; all durations are
// integer picoseconds and communication is free, so the equalities are exact.
#include "step/pipeline_schedule.h"

#include "stepsim/simulator.h"

#include "step/step_analysis.h"
#include "step/step_executor.h"
#include "step/step_lowering.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <tuple>
#include <vector>

using namespace stepsim;

namespace {

/// p·v chunks of one layer each, F = forward, B = backward input, W = backward weight.
StepCosts uniform_costs(PipelineShape shape,
                        Time forward,
                        Time backward_input,
                        Time backward_weight) {
    StepCosts costs;
    costs.shape = shape;
    for (int vs = 0; vs < shape.stages * shape.chunks; ++vs) {
        LayerWork layer;
        layer.layer = vs;
        layer.forward = forward;
        layer.backward_input = backward_input;
        layer.backward_weight = backward_weight;
        costs.virtual_stages.push_back({layer});
    }
    costs.optimizer.assign(static_cast<std::size_t>(shape.stages), Time(0));
    return costs;
}

struct Measured {
    StepAnalysis analysis;
    Time step_time{0};
};

Measured run(const PipelineSchedule& schedule, const StepCosts& costs) {
    const LoweredStep lowered =
        lower_step(costs, RankGroups::single_pipeline(costs.shape.stages), schedule);
    Simulator sim(1);
    FreeCommunicator free(sim);
    const TaskTimeline timeline = execute_task_graph(sim, lowered.graph, free);
    Measured measured;
    measured.analysis = analyze_step(lowered, timeline);
    measured.step_time = measured.analysis.step_time;
    return measured;
}

Time bubble(const StageAnalysis& stage) {
    return stage.breakdown[static_cast<std::size_t>(TimeCategory::kBubble)];
}

double bubble_fraction(const Measured& measured, int stage) {
    return static_cast<double>(
               bubble(measured.analysis.stages[static_cast<std::size_t>(stage)]).count()) /
           static_cast<double>(measured.step_time.count());
}

}  // namespace

TEST_CASE("GPipe and 1F1B bubble fraction is (p-1)/(m+p-1) on uniform stages", "[workload]") {
    const Time forward(1'000'000);   // 1 us
    const Time backward(2'000'000);  // 2 us
    for (const auto& [p, m] :
         std::vector<std::pair<int, int>>{{2, 1}, {4, 4}, {4, 8}, {8, 3}, {8, 32}}) {
        const StepCosts costs = uniform_costs({p, m, 1}, forward, backward, Time(0));
        for (const PipelineScheduleKind kind :
             {PipelineScheduleKind::kGPipe, PipelineScheduleKind::kOneFOneB}) {
            const std::unique_ptr<PipelineSchedule> schedule = make_pipeline_schedule(kind);
            INFO(schedule->name() << " p=" << p << " m=" << m);
            const Measured measured = run(*schedule, costs);
            // Step = (m + p - 1)(t_f + t_b) exactly, every stage idles (p-1)(t_f + t_b).
            REQUIRE(measured.step_time == (m + p - 1) * (forward + backward));
            for (int s = 0; s < p; ++s) {
                REQUIRE(bubble(measured.analysis.stages[static_cast<std::size_t>(s)]) ==
                        (p - 1) * (forward + backward));
                REQUIRE(bubble_fraction(measured, s) ==
                        Approx(static_cast<double>(p - 1) / (m + p - 1)).epsilon(1e-12));
            }
        }
    }
}

TEST_CASE("interleaved bubble fraction is (p-1)/(v·m+p-1) on uniform stages", "[workload]") {
    // Per chunk: t_f/v and t_b/v, so a stage's whole model slice still takes t_f + t_b.
    const Time forward(1'000'000);
    const Time backward(2'000'000);
    const InterleavedOneFOneBSchedule schedule;
    for (const auto& [p, m, v] : std::vector<std::tuple<int, int, int>>{
             {2, 4, 2}, {4, 4, 2}, {4, 8, 2}, {4, 12, 3}, {8, 16, 4}}) {
        INFO("p=" << p << " m=" << m << " v=" << v);
        const StepCosts costs = uniform_costs({p, m, v}, forward, backward, Time(0));
        const Measured measured = run(schedule, costs);
        // Step = (v·m + p - 1)(t_f + t_b) per chunk.
        REQUIRE(measured.step_time == (v * m + p - 1) * (forward + backward));
        for (int s = 0; s < p; ++s) {
            REQUIRE(bubble_fraction(measured, s) ==
                    Approx(static_cast<double>(p - 1) / (v * m + p - 1)).epsilon(1e-12));
        }
    }
}

TEST_CASE("interleaved holds its warm-up plus one chunk micro-batches in flight", "[workload]") {
    // Megatron-LM's interleaved schedule runs (p-s-1)·2 + (v-1)·p warm-up forwards on stage
    // s, then one more forward before its first backward ends: min(warm-up + 1, v·m) chunks.
    const InterleavedOneFOneBSchedule schedule;
    for (const auto& [p, m, v] : std::vector<std::tuple<int, int, int>>{{4, 8, 2}, {2, 2, 3}}) {
        const StepCosts costs = uniform_costs({p, m, v}, Time(1'000'000), Time(2'000'000), Time(0));
        const Measured measured = run(schedule, costs);
        for (int s = 0; s < p; ++s) {
            INFO("p=" << p << " m=" << m << " v=" << v << " stage " << s);
            REQUIRE(measured.analysis.stages[static_cast<std::size_t>(s)].peak_in_flight_chunks ==
                    std::min((p - s - 1) * 2 + (v - 1) * p + 1, v * m));
        }
    }
}

TEST_CASE("ZB-H1's bubble is a third of 1F1B's when F, B and W take equal time", "[workload]") {
    const Time unit(1'000'000);
    for (const auto& [p, m] :
         std::vector<std::pair<int, int>>{{2, 4}, {4, 4}, {4, 8}, {8, 16}, {8, 24}}) {
        INFO("p=" << p << " m=" << m);
        const StepCosts costs = uniform_costs({p, m, 1}, unit, unit, unit);
        const Measured one_f_one_b = run(OneFOneBSchedule(), costs);  // B carries B + W
        const Measured zero_bubble = run(ZeroBubbleH1Schedule(), costs);
        // 1F1B: (p-1)(F + B + W) = 3(p-1) units; ZB-H1: (p-1)(F + B - W) = (p-1) units.
        REQUIRE(one_f_one_b.step_time == (3 * m + 3 * (p - 1)) * unit);
        REQUIRE(zero_bubble.step_time == (3 * m + (p - 1)) * unit);
        for (int s = 0; s < p; ++s) {
            const Time b1 = bubble(one_f_one_b.analysis.stages[static_cast<std::size_t>(s)]);
            const Time bz = bubble(zero_bubble.analysis.stages[static_cast<std::size_t>(s)]);
            REQUIRE(3 * bz == b1);
        }
    }
}

TEST_CASE("1F1B keeps at most p micro-batches in flight on the first stage, GPipe keeps m",
          "[workload]") {
    const Time forward(1'000'000);
    const Time backward(2'000'000);
    for (const auto& [p, m] : std::vector<std::pair<int, int>>{{4, 8}, {4, 16}, {8, 12}}) {
        INFO("p=" << p << " m=" << m);
        const StepCosts costs = uniform_costs({p, m, 1}, forward, backward, Time(0));
        const Measured gpipe = run(GPipeSchedule(), costs);
        const Measured one_f_one_b = run(OneFOneBSchedule(), costs);
        REQUIRE(gpipe.analysis.stages[0].peak_in_flight_chunks == m);
        REQUIRE(one_f_one_b.analysis.stages[0].peak_in_flight_chunks == p);
        for (int s = 0; s < p; ++s) {
            REQUIRE(
                one_f_one_b.analysis.stages[static_cast<std::size_t>(s)].peak_in_flight_chunks ==
                p - s);
        }
        // ZB-H1 stays within 1F1B's limit.
        const Measured zero_bubble =
            run(ZeroBubbleH1Schedule(), uniform_costs({p, m, 1}, forward, forward, forward));
        REQUIRE(zero_bubble.analysis.stages[0].peak_in_flight_chunks <= p);
    }
}

TEST_CASE("every schedule lists each micro-batch's F, B (and W) once per stage", "[workload]") {
    for (const PipelineScheduleKind kind :
         {PipelineScheduleKind::kGPipe, PipelineScheduleKind::kOneFOneB,
          PipelineScheduleKind::kInterleaved, PipelineScheduleKind::kZeroBubbleH1}) {
        const auto schedule = make_pipeline_schedule(kind);
        const PipelineShape shape{4, 8, kind == PipelineScheduleKind::kInterleaved ? 2 : 1};
        const auto ops = schedule->build(shape);  // build() checks completeness and order
        REQUIRE(ops.size() == 4);
        REQUIRE(ops[0].size() ==
                static_cast<std::size_t>((schedule->splits_backward() ? 3 : 2) * 8 * shape.chunks));
    }
}

TEST_CASE("schedules reject shapes they cannot build", "[workload]") {
    REQUIRE_THROWS_AS(InterleavedOneFOneBSchedule().build({4, 6, 2}), UserError);
    REQUIRE_THROWS_AS(OneFOneBSchedule().build({4, 8, 2}), UserError);
    REQUIRE_THROWS_AS(GPipeSchedule().build({0, 8, 1}), UserError);
}
