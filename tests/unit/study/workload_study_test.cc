// SPDX-License-Identifier: Apache-2.0
// File: workload_study_test.cc
// The workload study on the bundled tiny-pp job (GPT 1.3B, tp 2 · pp 4 · dp 2, 1F1B, global
// batch 32, micro-batch 2, s 2048): m = 32 / (2 · 2) = 8 micro-batches per pipeline, 65,536
// tokens per step, the 1F1B bubble rate (p−1)/(m+p−1) = 3/11, 6·N·D FLOPs, every time the
// kernel model's time of its work; a MoE job has its experts' block and a dense one none; a
// job that does not fit the GPU count is a located JobClusterMismatch.
#include "stepsim/error.h"
#include "stepsim/json_path.h"
#include "stepsim/results_json.h"
#include "stepsim/spec.h"
#include "stepsim/study/workload.h"

#include <catch2/catch.hpp>

#include <string>

using namespace stepsim;

namespace {

const std::string kWorkloads = std::string(STEPSIM_SOURCE_DIR) + "/workloads/";

}  // namespace

TEST_CASE("workload study: tiny-pp's numbers against their closed forms", "[study][workload]") {
    const TrainingJob job = load_workload_file(kWorkloads + "tiny-pp.textproto");
    study::WorkloadStudyOptions options;
    options.workload_file = "tiny-pp";
    const study::WorkloadStudyResult r = study::run_workload_study(job, options);
    CHECK(r.workload_file == "tiny-pp");
    CHECK(r.rank_order == "tp-dp-pp");
    CHECK(r.microbatches == 8);
    CHECK(r.tokens_per_step == 32 * 2048);
    CHECK(r.microbatch_tokens_per_rank == 2 * 2048);
    CHECK(r.parameters == parameter_count(job.model));
    CHECK(r.six_n_d_flops ==
          Approx(6.0 * static_cast<double>(active_parameter_count(job.model)) * 32.0 * 2048.0));
    CHECK(r.bubble_rate_closed_form == Approx(3.0 / 11.0));
    CHECK(r.layer.forward.time_s == compute_time_s(job.gpu, r.layer.forward.work));
    CHECK(r.layer.backward_input.time_s == compute_time_s(job.gpu, r.layer.backward_input.work));
    CHECK(r.edges.logits_forward.time_s == compute_time_s(job.gpu, r.edges.logits_forward.work));
    // tp 2 without sequence parallelism or with it: TP collectives on every layer.
    CHECK_FALSE(r.layer.forward_collectives.empty());
    CHECK_FALSE(r.moe.has_value());
    REQUIRE(r.stages.size() == 4);
    int layers = 0;
    for (std::size_t s = 0; s < r.stages.size(); ++s) {
        layers += r.stages[s].layers;
        CHECK(r.stages[s].memory_per_gpu.total_bytes() ==
              memory_per_gpu(job, static_cast<int>(s)).total_bytes());
    }
    CHECK(layers == 24);
    CHECK(r.most_loaded_stage == most_loaded_stage(job));

    const std::string json = to_json(r);
    CHECK(json_lookup(json, "microbatches").value() == "8");
    CHECK(json_lookup(json, "stages[3].stage").value() == "3");
    CHECK_FALSE(json_lookup(json, "moe").has_value());
}

TEST_CASE("workload study: a MoE job has its experts' block", "[study][workload]") {
    const TrainingJob job = load_workload_file(kWorkloads + "mixtral-8x7b.textproto");
    const study::WorkloadStudyResult r = study::run_workload_study(job, {});
    REQUIRE(r.moe.has_value());
    CHECK(r.moe->moe_layers == job.model.moe_layer_count());
    CHECK(r.moe->active_parameters == active_parameter_count(job.model));
    CHECK(r.moe->active_parameters < r.parameters);
    CHECK(r.moe->dispatch_bytes > 0);
    CHECK(json_lookup(to_json(r), "moe.experts").value() == std::to_string(job.model.experts));
}

TEST_CASE("workload study: a job that does not fit the GPU count is located", "[study][workload]") {
    const std::string file = kWorkloads + "tiny-pp.textproto";
    const TrainingJob job = load_workload_file(file);
    study::WorkloadStudyOptions options;
    options.workload_file = file;
    options.gpus = 16;
    CHECK_NOTHROW(study::run_workload_study(job, options));
    options.gpus = 24;
    CHECK_THROWS_AS(study::run_workload_study(job, options), JobClusterMismatch);
    CHECK_THROWS_WITH(study::run_workload_study(job, options), Catch::Contains(file + ":"));
}
