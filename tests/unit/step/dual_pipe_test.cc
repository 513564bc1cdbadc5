// SPDX-License-Identifier: Apache-2.0
// DualPipe and DualPipeV (DeepSeek-V3, arXiv 2412.19437, §3.2.1 and Table 2; reference.md §1),
// timed with communication made free on uniform stages, then with EP all-to-alls of known
// length.
//
// Table 2 gives the bubble (PP/2 − 1)(F&B + B − 3W) for PP stages of one model copy, F&B the
// time of an overlapped forward-and-backward pair, B a full backward, W its weight part. With
// nothing to overlap F&B = T_F + T_B and B = T_B + T_W, and with T_F = T_B = T_W = T:
//   bubble = (PP/2 − 1)(2T + 2T − 3T) = (PP/2 − 1)·T
// on every rank, DualPipe with PP = p (its two copies of p stages on p ranks, each rank
// running m micro-batches' F, B, W of one chunk: 3mT of work) and DualPipeV with PP = 2p
// (2p chunks on p ranks, each rank running 2m chunk passes: 6mT of work). The bubble below
// is measured from the simulated timeline, never computed from the formula; durations are
// integer picoseconds and communication is free, so the equalities are exact.
// Activations (Table 2): PP + 1 chunks in flight, parameters 2× (two chunks per rank).
#include "stepsim/analytic.h"
#include "stepsim/simulator.h"
#include "stepsim/workload.h"

#include "step/pipeline_schedule.h"
#include "step/step_analysis.h"
#include "step/step_executor.h"
#include "step/step_lowering.h"
#include "unit/step/sized_communicator.h"
#include "unit/workload/workload_test_models.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

using namespace stepsim;

namespace {

/// One layer per virtual stage of `schedule` (DualPipe's copies apart), equal F, B, W.
StepCosts uniform_costs(const PipelineSchedule& schedule, PipelineShape shape, Time unit) {
    StepCosts costs;
    costs.shape = shape;
    for (int vs = 0; vs < schedule.virtual_stage_count(shape); ++vs) {
        LayerWork layer;
        layer.layer = vs;
        layer.forward = unit;
        layer.backward_input = unit;
        layer.backward_weight = unit;
        costs.virtual_stages.push_back({layer});
    }
    costs.optimizer.assign(static_cast<std::size_t>(shape.stages), Time(0));
    return costs;
}

using test::SizedCommunicator;

struct Measured {
    LoweredStep lowered;
    TaskTimeline timeline;
    StepAnalysis analysis;
};

Measured run(const PipelineSchedule& schedule,
             const StepCosts& costs,
             const RankGroups& groups,
             bool is_sized = false) {
    Measured measured;
    measured.lowered = lower_step(costs, groups, schedule);
    Simulator sim(1);
    if (is_sized) {
        SizedCommunicator comm(sim);
        measured.timeline = execute_task_graph(sim, measured.lowered.graph, comm);
    } else {
        FreeCommunicator comm(sim);
        measured.timeline = execute_task_graph(sim, measured.lowered.graph, comm);
    }
    measured.analysis = analyze_step(measured.lowered, measured.timeline);
    return measured;
}

Time category(const StageAnalysis& stage, TimeCategory kind) {
    return stage.breakdown[static_cast<std::size_t>(kind)];
}

/// DualPipe's order with the pairs taken apart: every op runs alone.
class UnpairedDualPipe final : public PipelineSchedule {
public:
    std::string_view name() const override { return "dualpipe-unpaired"; }

    bool splits_backward() const override { return true; }

    void check_shape(const PipelineShape& shape) const override { inner_.check_shape(shape); }

    int virtual_stage_of(int stage, int chunk, const PipelineShape& shape) const override {
        return inner_.virtual_stage_of(stage, chunk, shape);
    }

    int stage_of(int vs, const PipelineShape& shape) const override {
        return inner_.stage_of(vs, shape);
    }

    std::pair<int, int> route(int microbatch, const PipelineShape& shape) const override {
        return inner_.route(microbatch, shape);
    }

protected:
    std::vector<std::vector<PipelineOp>> build_checked(const PipelineShape& shape) const override {
        std::vector<std::vector<PipelineOp>> ops = inner_.build(shape);
        for (auto& stage_ops : ops) {
            for (PipelineOp& op : stage_ops) {
                op.is_paired = false;
            }
        }
        return ops;
    }

private:
    DualPipeSchedule inner_;
};

}  // namespace

TEST_CASE("DualPipe and DualPipeV bubble is (PP/2-1)(F&B+B-3W) with equal F, B, W", "[step]") {
    const Time unit(1'000'000);  // 1 us
    const DualPipeSchedule dual;
    const DualPipeVSchedule dual_v;
    for (const auto& [p, m, is_v] : std::vector<std::tuple<int, int, bool>>{{2, 4, false},
                                                                            {4, 8, false},
                                                                            {4, 10, false},
                                                                            {8, 16, false},
                                                                            {8, 24, false},
                                                                            {2, 4, true},
                                                                            {4, 8, true},
                                                                            {4, 12, true}}) {
        const PipelineSchedule& schedule =
            is_v ? static_cast<const PipelineSchedule&>(dual_v) : dual;
        INFO(schedule.name() << " p=" << p << " m=" << m);
        const PipelineShape shape{p, m, 2};
        const Measured measured =
            run(schedule, uniform_costs(schedule, shape, unit), RankGroups::single_pipeline(p));
        const int pp_stages = is_v ? 2 * p : p;  // PP of Table 2
        const double formula_s = analytic::dual_pipe_bubble_time(
            pp_stages, to_seconds(unit), to_seconds(unit), to_seconds(unit));
        const Time work = (is_v ? 6 : 3) * m * unit;
        REQUIRE(measured.analysis.step_time == work + from_seconds(formula_s));
        for (int s = 0; s < p; ++s) {
            const StageAnalysis& stage = measured.analysis.stages[static_cast<std::size_t>(s)];
            REQUIRE(category(stage, TimeCategory::kBubble) == from_seconds(formula_s));
            REQUIRE(category(stage, TimeCategory::kCompute) == work);
        }
    }
}

TEST_CASE("DualPipe's closed form: the paper's terms", "[step]") {
    // (PP/2 − 1)(F&B + B − 3W) with F&B = F + B_in, B = B_in + W: PP = 8, F = 2, B_in = 3,
    // W = 1.5 gives 3·(5 + 4.5 − 4.5) = 15.
    REQUIRE(analytic::dual_pipe_bubble_time(8, 2.0, 3.0, 1.5) == Approx(15.0));
    REQUIRE_THROWS_AS(analytic::dual_pipe_bubble_time(3, 1.0, 1.0, 1.0), UserError);
    // Rate of the total: 15 / (m·(F+B+W) + 15).
    REQUIRE(analytic::dual_pipe_bubble_rate(8, 20, 2.0, 3.0, 1.5) ==
            Approx(15.0 / (20 * 6.5 + 15.0)));
}

TEST_CASE("DualPipe runs every micro-batch down its copy and back, dependencies kept", "[step]") {
    const DualPipeSchedule dual;
    const DualPipeVSchedule dual_v;
    for (const bool is_v : {false, true}) {
        const PipelineSchedule& schedule =
            is_v ? static_cast<const PipelineSchedule&>(dual_v) : dual;
        const PipelineShape shape{4, 10, 2};
        INFO(schedule.name());
        // Placement: DualPipe rank s holds copy 0's stage s and copy 1's stage p−1−s;
        // DualPipeV rank s holds chunks s and 2p−1−s.
        for (int s = 0; s < shape.stages; ++s) {
            REQUIRE(schedule.stage_of(schedule.virtual_stage_of(s, 0, shape), shape) == s);
            REQUIRE(schedule.stage_of(schedule.virtual_stage_of(s, 1, shape), shape) == s);
            REQUIRE(schedule.virtual_stage_of(s, 1, shape) ==
                    (is_v ? 2 * shape.stages - 1 - s : shape.stages + shape.stages - 1 - s));
        }
        // build() checks every op on each micro-batch's route once per kind in F, B, W order.
        const auto ops = schedule.build(shape);
        std::size_t total = 0;
        for (const auto& stage_ops : ops) {
            total += stage_ops.size();
        }
        REQUIRE(total == static_cast<std::size_t>(3 * shape.microbatches * (is_v ? 8 : 4)));

        // Timed: F on virtual stage k+1 starts after F on k ends, B on k after B on k+1, W
        // after its B, along every micro-batch's route.
        const Measured measured = run(schedule, uniform_costs(schedule, shape, Time(1'000'000)),
                                      RankGroups::single_pipeline(shape.stages));
        std::map<std::tuple<int, int, int>, std::pair<Time, Time>> span;  // (kind, vs, mb)
        for (int s = 0; s < shape.stages; ++s) {
            for (const LoweredOp& op : measured.lowered.ops[static_cast<std::size_t>(s)]) {
                span[{static_cast<int>(op.op.kind),
                      schedule.virtual_stage_of(s, op.op.chunk, shape), op.op.microbatch}] = {
                    measured.timeline.start[op.first.index()],
                    measured.timeline.end[op.last.index()]};
            }
        }
        const int kF = static_cast<int>(PipelineOpKind::kForward);
        const int kB = static_cast<int>(PipelineOpKind::kBackward);
        const int kW = static_cast<int>(PipelineOpKind::kWeight);
        for (int mb = 0; mb < shape.microbatches; ++mb) {
            const auto [first, last] = schedule.route(mb, shape);
            REQUIRE(last - first + 1 == (is_v ? 2 * shape.stages : shape.stages));
            for (int vs = first; vs <= last; ++vs) {
                REQUIRE(span.count({kF, vs, mb}) == 1);
                if (vs > first) {
                    REQUIRE(span[{kF, vs, mb}].first >= span[{kF, vs - 1, mb}].second);
                }
                const Time ready =
                    vs < last ? span[{kB, vs + 1, mb}].second : span[{kF, vs, mb}].second;
                REQUIRE(span[{kB, vs, mb}].first >= ready);
                REQUIRE(span[{kW, vs, mb}].first >= span[{kB, vs, mb}].second);
            }
        }
    }
}

TEST_CASE("DualPipe holds PP+1 chunks of activations and two chunks of parameters", "[step]") {
    const Time unit(1'000'000);
    for (const bool is_v : {false, true}) {
        const std::unique_ptr<PipelineSchedule> schedule = make_pipeline_schedule(
            is_v ? PipelineScheduleKind::kDualPipeV : PipelineScheduleKind::kDualPipe);
        const int p = 4;
        const PipelineShape shape{p, 16, 2};
        const Measured measured =
            run(*schedule, uniform_costs(*schedule, shape, unit), RankGroups::single_pipeline(p));
        // Table 2: PP + 1 (PP = p for DualPipe, 2p stages for DualPipeV), the peak of the
        // first rank; the memory model's closed form uses it for every rank.
        const int expected = (is_v ? 2 * p : p) + 1;
        int peak = 0;
        for (const StageAnalysis& stage : measured.analysis.stages) {
            peak = std::max(peak, stage.peak_in_flight_chunks);
            REQUIRE(stage.peak_in_flight_chunks <= expected);
        }
        REQUIRE(measured.analysis.stages[0].peak_in_flight_chunks == expected);
        REQUIRE(peak == expected);

        TrainingJob job = test::make_job(test::llama_7b_model(), 64, 1, p, 1);
        job.layout.schedule =
            is_v ? PipelineScheduleKind::kDualPipeV : PipelineScheduleKind::kDualPipe;
        REQUIRE(in_flight_chunk_microbatches(job, 0) == expected);
    }
    // Parameters: a DualPipe rank holds stage s of one copy and stage p−1−s of the other,
    // twice a 1F1B rank's layers; DualPipeV's rank s holds chunks s and 2p−1−s of one copy.
    const TrainingJob base = test::make_job(test::llama_7b_model(), 64, 1, 4, 1);
    TrainingJob dual = base;
    dual.layout.schedule = PipelineScheduleKind::kDualPipe;
    TrainingJob dual_v = base;
    dual_v.layout.schedule = PipelineScheduleKind::kDualPipeV;
    std::int64_t one_copy = 0;
    std::int64_t dual_total = 0;
    std::int64_t dual_v_total = 0;
    for (int s = 0; s < 4; ++s) {
        REQUIRE(stage_parameter_count(dual, s) ==
                stage_parameter_count(base, s) + stage_parameter_count(base, 3 - s));
        REQUIRE(stage_layers(dual.model, dual.layout, s) ==
                2 * stage_layers(base.model, base.layout, s));
        one_copy += stage_parameter_count(base, s);
        dual_total += stage_parameter_count(dual, s);
        dual_v_total += stage_parameter_count(dual_v, s);
    }
    REQUIRE(dual_total == 2 * one_copy);
    // One copy, its untied embedding and output layer both on rank 0.
    REQUIRE(dual_v_total == one_copy);
    REQUIRE(stage_chunks(dual_v.layout, 0) == std::vector<int>{0, 7});
}

TEST_CASE("DualPipe's overlapped pairs hide EP all-to-alls behind the other chunk's compute",
          "[step]") {
    // One MoE layer per chunk: 4 us of layer compute and 2 us of experts each way, every
    // all-to-all 1 us (1,000 bytes at 1 ns per byte). Alone, each op waits for its two
    // all-to-alls; in a pair the forward's run while the backward computes and back.
    const int p = 4;
    const PipelineShape shape{p, 16, 2};
    const DualPipeSchedule paired;
    const UnpairedDualPipe unpaired;
    StepCosts costs = uniform_costs(paired, shape, Time(4'000'000));
    for (auto& chunk : costs.virtual_stages) {
        MoeWork& moe = chunk[0].moe;
        moe.is_moe = true;
        moe.forward = moe.backward_input = moe.backward_weight = Time(2'000'000);
        for (EpAllToAll* a2a :
             {&moe.dispatch, &moe.combine, &moe.backward_dispatch, &moe.backward_combine}) {
            a2a->size_bytes = 1'000;
        }
    }
    RankGroups groups = RankGroups::single_pipeline(p);
    for (int s = 0; s < p; ++s) {
        groups.ep_groups.push_back(
            {{RankId(static_cast<std::uint32_t>(s)), RankId(static_cast<std::uint32_t>(100 + s))}});
    }
    const Measured alone = run(unpaired, costs, groups, true);
    const Measured overlapped = run(paired, costs, groups, true);
    Time exposed_alone{0};
    Time exposed_overlapped{0};
    for (int s = 0; s < p; ++s) {
        exposed_alone +=
            category(alone.analysis.stages[static_cast<std::size_t>(s)], TimeCategory::kEp);
        exposed_overlapped +=
            category(overlapped.analysis.stages[static_cast<std::size_t>(s)], TimeCategory::kEp);
    }
    // Alone every all-to-all blocks the compute stream: 4 per micro-batch per rank, 1 us each.
    REQUIRE(exposed_alone == p * shape.microbatches * 4 * Time(1'000'000));
    REQUIRE(exposed_overlapped < exposed_alone / 2);
    REQUIRE(overlapped.analysis.step_time < alone.analysis.step_time);
    // Same work either way.
    for (int s = 0; s < p; ++s) {
        REQUIRE(
            category(overlapped.analysis.stages[static_cast<std::size_t>(s)],
                     TimeCategory::kCompute) ==
            category(alone.analysis.stages[static_cast<std::size_t>(s)], TimeCategory::kCompute));
    }
}

TEST_CASE("DualPipe rejects shapes it cannot build", "[step]") {
    REQUIRE_THROWS_AS(DualPipeSchedule().build({3, 12, 2}), UserError);  // odd stages
    REQUIRE_THROWS_AS(DualPipeSchedule().build({4, 10, 1}), UserError);  // one chunk
    REQUIRE_THROWS_AS(DualPipeSchedule().build({4, 9, 2}), UserError);   // odd micro-batches
    REQUIRE_THROWS_AS(DualPipeSchedule().build({4, 6, 2}), UserError);   // m < 2p
    REQUIRE_THROWS_AS(DualPipeVSchedule().build({4, 7, 2}), UserError);  // m < 2p
    REQUIRE_NOTHROW(DualPipeVSchedule().build({3, 6, 2}));               // 6 stages on 3 ranks
}
