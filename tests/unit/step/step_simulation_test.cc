// SPDX-License-Identifier: Apache-2.0
// simulate_step() on small clusters, against quantities computed independently.
//
// DP only (tp = pp = 1), one gradient bucket, no overlap:
//     T_step = T_step(communication free) + T_allreduce(gradient bytes over the DP group)
// where T_allreduce is the CollectiveExecutor's time for that all-reduce run alone on the same
// topology, and the free step is the same step with every communication taking zero time.
// With overlap and one bucket per layer, only the tail is exposed: the buckets of the last
// layers to finish (here the first layer and the embedding remainder) and nothing else.
// Fast fidelity (uncontended collectives memoized) equals full chunk-level fidelity when
// nothing contends: TP stays on each server's NVLink bridge, and the two TP ranks' pipeline
// messages take disjoint NIC paths.
#include "stepsim/collective.h"
#include "stepsim/network.h"
#include "stepsim/spec.h"
#include "stepsim/training_step.h"

#include "unit/workload/workload_test_models.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>

using namespace stepsim;

namespace {

using test::alone_s;
using test::four_gpus;

/// DP4, one micro-batch of 4 sequences of 4096 tokens: a layer's backward (about 1.1 ms on
/// an H100) outlasts its gradient all-reduce over PCIe + NDR (about 0.75 ms for 25 MB), so
/// with overlap the DP stream keeps up with the backward.
TrainingJob dp_job() {
    TrainingJob job = test::make_job(test::gpt_model(4, 1024, 16, 4096, 8192), 16, 1, 1, 4);
    job.training.micro_batch = 4;
    return job;
}

}  // namespace

TEST_CASE("DP only, no overlap: step = compute + gradient all-reduce", "[workload][step]") {
    const Topology topology = four_gpus();
    TrainingJob job = dp_job();
    job.layout.is_grad_reduce_overlapped = false;
    job.layout.grad_bucket_bytes = std::int64_t{1} << 40;  // one bucket
    StepOptions free;
    free.is_communication_free = true;
    const StepResult compute_only = simulate_step(job, topology, free);
    const StepResult step = simulate_step(job, topology);
    const double all_reduce_s =
        alone_s(topology, CollectiveOp::kAllReduce, {RankId(0), RankId(1), RankId(2), RankId(3)},
                stage_gradient_bytes(job, 0));
    // Each figure is an integer number of picoseconds: allow one for the conversions.
    REQUIRE(step.step_time_s == Approx(compute_only.step_time_s + all_reduce_s).margin(2e-12));
    REQUIRE(step.stages[0].breakdown.dp_s == Approx(all_reduce_s).margin(2e-12));
    REQUIRE(step.stages[0].breakdown.total_s() == Approx(step.step_time_s).margin(1e-12));
}

TEST_CASE("DP with overlap exposes only the tail of the gradient reduction", "[workload][step]") {
    const Topology topology = four_gpus();
    TrainingJob job = dp_job();
    job.layout.grad_bucket_bytes = 1;  // a bucket per layer
    StepOptions free;
    free.is_communication_free = true;
    const double compute_s = simulate_step(job, topology, free).step_time_s;
    const StepResult overlapped = simulate_step(job, topology);
    job.layout.is_grad_reduce_overlapped = false;
    const StepResult serial = simulate_step(job, topology);

    const std::vector<RankId> group{RankId(0), RankId(1), RankId(2), RankId(3)};
    const std::int64_t total = stage_gradient_bytes(job, 0);
    const std::int64_t layer_bytes = layer_parameter_count(job.model) * 2;  // bf16 gradients
    const std::int64_t edge_bytes = total - job.model.layers * layer_bytes;
    const double layer_s = alone_s(topology, CollectiveOp::kAllReduce, group, layer_bytes);
    const double edge_s = alone_s(topology, CollectiveOp::kAllReduce, group, edge_bytes);

    // Without overlap every bucket is exposed, one after another.
    REQUIRE(serial.step_time_s ==
            Approx(compute_s + job.model.layers * layer_s + edge_s).margin(1e-11));
    // With overlap: at least the last bucket, at most the last two (the first layer's bucket
    // may still be running when the embedding's gradient is ready).
    const double exposed = overlapped.step_time_s - compute_s;
    REQUIRE(exposed >= edge_s - 1e-11);
    REQUIRE(exposed <= layer_s + edge_s + 1e-11);
    REQUIRE(overlapped.stages[0].breakdown.dp_s == Approx(exposed).margin(1e-11));
}

TEST_CASE("fast fidelity equals full chunk-level fidelity when nothing contends",
          "[workload][step]") {
    const Topology topology = four_gpus();
    // TP2 inside each server, PP2 across them, 8 micro-batches.
    TrainingJob job = test::make_job(test::gpt_model(4, 2048, 16, 2048, 32000), 8, 2, 2, 1);
    for (const PipelineScheduleKind kind :
         {PipelineScheduleKind::kOneFOneB, PipelineScheduleKind::kGPipe}) {
        job.layout.schedule = kind;
        StepOptions fast;
        StepOptions full;
        full.fidelity = StepFidelity::kFull;
        const StepResult a = simulate_step(job, topology, fast);
        const StepResult b = simulate_step(job, topology, full);
        INFO(to_string(kind));
        REQUIRE(a.step_time_s == b.step_time_s);
        REQUIRE(a.stages[0].breakdown.tp_s == b.stages[0].breakdown.tp_s);
        REQUIRE(a.stages[1].breakdown.pp_s == b.stages[1].breakdown.pp_s);
        REQUIRE(a.stages[0].breakdown.tp_s > 0);
        REQUIRE(b.events > a.events);  // full really ran the collectives chunk by chunk
    }
}

TEST_CASE("step results are consistent", "[workload][step]") {
    const Topology topology = four_gpus();
    TrainingJob job = test::make_job(test::gpt_model(4, 2048, 16, 2048, 32000), 16, 2, 2, 1);
    StepOptions options;
    options.keeps_timeline = true;
    const StepResult result = simulate_step(job, topology, options);
    for (const StageResult& stage : result.stages) {
        REQUIRE(stage.breakdown.total_s() == Approx(result.step_time_s).epsilon(1e-9));
    }
    double path_s = 0;
    for (const CriticalPathEntry& entry : result.critical_path) {
        path_s += entry.time_s;
    }
    REQUIRE(path_s == Approx(result.step_time_s).epsilon(1e-9));
    // MFU = model FLOPs / (step · GPUs · peak).
    REQUIRE(result.mfu == Approx(model_flops_per_step(job) /
                                 (result.step_time_s * 4 * job.gpu.peak_bf16_flops_per_s)));
    REQUIRE(result.tokens_per_s == Approx(16.0 * 2048 / result.step_time_s));
    REQUIRE(result.bubble_ratio == Approx(1.0 / 16));  // (p-1)/m
    REQUIRE_FALSE(result.timeline.empty());
    // Deterministic: the same inputs give the same trajectory.
    REQUIRE(simulate_step(job, topology, options).fingerprint == result.fingerprint);
}

TEST_CASE("the step does not depend on how many threads time its collectives", "[workload][step]") {
    // TP2 x PP2 x DP4 on 16 GPUs: TP all-reduces, DP gradient all-reduces of several bucket
    // sizes and the embedding/logits remainders, each a distinct isolated run. Timed up front
    // on 1, 2 or 3 threads, the memoized times, and so every output, are the same.
    const Topology topology = load_topology_file(std::filesystem::path(STEPSIM_SOURCE_DIR) /
                                                 "topologies" / "dgx-h100-16.textproto");
    const TrainingJob job = test::make_job(test::gpt_model(4, 2048, 16, 2048, 32000), 16, 2, 2, 4);
    StepOptions one;
    const StepResult reference = simulate_step(job, topology, one);
    REQUIRE(reference.cluster.dp_s > 0);
    REQUIRE(reference.cluster.tp_s > 0);
    for (const int threads : {2, 3}) {
        StepOptions options;
        options.threads = threads;
        const StepResult result = simulate_step(job, topology, options);
        INFO(threads << " threads");
        REQUIRE(result.step_time_s == reference.step_time_s);
        REQUIRE(result.fingerprint == reference.fingerprint);
        REQUIRE(result.events == reference.events);
        for (std::size_t s = 0; s < result.stages.size(); ++s) {
            REQUIRE(result.stages[s].breakdown.dp_s == reference.stages[s].breakdown.dp_s);
            REQUIRE(result.stages[s].breakdown.tp_s == reference.stages[s].breakdown.tp_s);
        }
    }
}
