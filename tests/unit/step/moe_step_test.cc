// SPDX-License-Identifier: Apache-2.0
// MoE layers in the simulated step (docs/models/moe.md): the dispatch and combine all-to-alls
// over the EP group block the compute stream, so the step's `ep` time is m · layers · the sum
// of the four all-to-alls timed alone; they show on the timeline around the experts' compute;
// a load skew makes both the experts' compute and the all-to-alls slower.
#include "stepsim/collective.h"
#include "stepsim/training_step.h"

#include "unit/workload/workload_test_models.h"

#include <catch2/catch.hpp>

#include <string>

using namespace stepsim;

namespace {

/// 2 MoE layers (4 experts, top-2) on the 4-GPU example (two servers of two), DP 4 = EP 4.
TrainingJob moe_job() {
    const ModelConfig m =
        test::with_experts(test::llama_model("moe", 2, 1024, 2816, 16, 16, 1024, 8192), 4, 2, 1024);
    TrainingJob job = test::make_job(m, 8, 1, 1, 4);
    job.layout.ep = 4;
    job.layout.is_grad_reduce_overlapped = false;
    return job;
}

}  // namespace

TEST_CASE("MoE: the EP all-to-alls block the compute stream", "[step][moe]") {
    const Topology topology = test::four_gpus();
    const TrainingJob job = moe_job();
    StepOptions options;
    options.keeps_timeline = true;
    const StepResult step = simulate_step(job, topology, options);
    const MoeCosts moe = layer_costs(job, 0).moe;
    const std::vector<RankId> group{RankId(0), RankId(1), RankId(2), RankId(3)};
    const auto alone = [&](std::int64_t bytes) {
        return test::alone_s(topology, CollectiveOp::kAllToAll, group, bytes);
    };
    // Per micro-batch and layer: forward dispatch + combine, backward both again.
    const double per_layer = alone(moe.dispatch_bytes) + alone(moe.combine_bytes) +
                             alone(moe.backward_dispatch_bytes) + alone(moe.backward_combine_bytes);
    const double expected = static_cast<double>(microbatches(job)) * 2 * per_layer;
    REQUIRE(expected > 0);
    // Each all-to-all's time is a whole number of picoseconds: one ps each at most.
    CHECK(step.stages[0].breakdown.ep_s == Approx(expected).margin(1e-12 * 32));
    CHECK(step.stages[0].breakdown.total_s() == Approx(step.step_time_s).margin(1e-12));

    // The free-communication step has none of it.
    StepOptions free;
    free.is_communication_free = true;
    CHECK(simulate_step(job, topology, free).stages[0].breakdown.ep_s == 0);

    // Timeline of micro-batch 0, layer 0, forward: dispatch, the experts, then the combine.
    std::vector<std::string> order;
    for (const TimelineSlice& slice : step.timeline) {
        if (slice.task >= 0 && slice.name.find("mb0 L0") != std::string::npos &&
            slice.stream == "compute") {
            order.push_back(slice.category + ":" + slice.name);
        }
    }
    REQUIRE(order.size() >= 4);
    CHECK(order[0].rfind("compute:F", 0) == 0);  // attention, router
    CHECK(order[1].rfind("ep:ep alltoall", 0) == 0);
    CHECK(order[2].rfind("compute:F", 0) == 0);  // routed experts
    CHECK(order[3].rfind("ep:ep alltoall", 0) == 0);
}

TEST_CASE("MoE: a skewed router slows the experts and the all-to-alls", "[step][moe]") {
    const Topology topology = test::four_gpus();
    TrainingJob job = moe_job();
    const StepResult balanced = simulate_step(job, topology);
    job.training.expert_skew = 1.5;
    const StepResult skewed = simulate_step(job, topology);
    CHECK(layer_costs(job, 0).moe.load_imbalance_factor > 1.2);
    CHECK(skewed.stages[0].breakdown.compute_s > balanced.stages[0].breakdown.compute_s);
    CHECK(skewed.stages[0].breakdown.ep_s > balanced.stages[0].breakdown.ep_s);
    // Same seed, same step; the model FLOPs do not see the imbalance.
    CHECK(simulate_step(job, topology).step_time_s == skewed.step_time_s);
    CHECK(skewed.model_flops_per_step == balanced.model_flops_per_step);
}

TEST_CASE("MoE: every replica simulated (exact) gives the folded step", "[step][moe]") {
    // The 4 DP replicas form one EP group; each simulated replica runs the same all-to-all
    // over ranks 0-3 (its own position in it), so the exact step equals the folded one.
    const Topology topology = test::four_gpus();
    const TrainingJob job = moe_job();
    const StepResult folded = simulate_step(job, topology);
    StepOptions exact;
    exact.is_exact = true;
    const StepResult every = simulate_step(job, topology, exact);
    CHECK(every.step_time_s == Approx(folded.step_time_s).epsilon(1e-9));
    CHECK(every.cluster.ep_s == Approx(folded.cluster.ep_s).epsilon(1e-9));
}
