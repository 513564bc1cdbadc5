// SPDX-License-Identifier: Apache-2.0
// File: job_validation_test.cc
// validate_job reports each ill-formed setting against its spec field; the cluster checks
// throw SpecError with the arithmetic (and the memory breakdown) in the message.
#include "stepsim/error.h"
#include "stepsim/workload.h"

#include "workload_test_models.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using stepsim::TrainingJob;
using stepsim::test::gpt_model;
using stepsim::test::make_job;

namespace {

bool has_problem(const TrainingJob& job, const std::string& field, const std::string& part) {
    for (const stepsim::JobProblem& problem : stepsim::validate_job(job)) {
        if (problem.field_path == field && problem.message.find(part) != std::string::npos) {
            return true;
        }
    }
    return false;
}

}  // namespace

TEST_CASE("a well-formed job has no problems", "[workload]") {
    TrainingJob job = make_job(gpt_model(96, 12288, 96), 1536, 8, 16, 8);
    job.layout.schedule = stepsim::PipelineScheduleKind::kInterleaved;
    job.layout.virtual_stages = 2;
    REQUIRE(stepsim::validate_job(job).empty());
}

TEST_CASE("validate_job names the field and the numbers", "[workload]") {
    const TrainingJob good = make_job(gpt_model(96, 12288, 96), 1536, 8, 16, 8);
    TrainingJob job = good;
    job.layout.tp = 16;
    job.layout.dp = 4;
    job.model.heads = 40;  // 12288 / 40 is not whole either
    REQUIRE(has_problem(job, "model.heads", "heads (40) must divide hidden (12288) evenly"));
    REQUIRE(has_problem(job, "parallelism.tp", "tp (16) must divide heads (40) evenly"));

    job = make_job(stepsim::test::llama_gqa_model(), 64, 16, 1, 4);
    REQUIRE(has_problem(job, "parallelism.tp", "tp (16) must divide kv_heads (8) evenly"));

    job = good;
    job.layout.pp = 64;
    job.layout.dp = 2;
    job.layout.schedule = stepsim::PipelineScheduleKind::kInterleaved;
    job.layout.virtual_stages = 2;
    REQUIRE(has_problem(job, "parallelism.pp", "128 model chunks need at least as many layers"));

    job = good;
    job.training.global_batch = 1000;
    job.training.micro_batch = 3;
    REQUIRE(has_problem(job, "training.global_batch",
                        "global_batch (1000) must be divisible by micro_batch x dp (3 x 8 = 24)"));

    job = good;
    job.training.global_batch = 8 * 20;  // m = 20, not a multiple of pp = 16
    job.layout.schedule = stepsim::PipelineScheduleKind::kInterleaved;
    job.layout.virtual_stages = 2;
    REQUIRE(has_problem(job, "training.global_batch",
                        "micro-batches per pipeline (20) must be a multiple of pp (16)"));
    job.layout.schedule = stepsim::PipelineScheduleKind::kOneFOneB;
    REQUIRE(has_problem(job, "parallelism.virtual_stages", "needs the interleaved schedule"));

    job = good;
    job.layout.zero_stage = 4;
    REQUIRE(has_problem(job, "parallelism.zero_stage", "must be 0, 1, 2 or 3, got 4"));

    job = good;
    job.model.experts = 8;
    job.model.expert_ffn_hidden = job.model.ffn_hidden;
    job.layout.ep = 3;
    REQUIRE(has_problem(job, "parallelism.ep", "must divide experts (8) evenly"));
}

TEST_CASE("cluster checks: GPU count and HBM capacity", "[workload]") {
    TrainingJob job = make_job(gpt_model(96, 12288, 96), 1536, 8, 16, 8);
    REQUIRE_NOTHROW(stepsim::validate_job_against_cluster(job, 1024, false));
    try {
        stepsim::validate_job_against_cluster(job, 512, false, "w.textproto");
        FAIL("expected a SpecError");
    } catch (const stepsim::SpecError& e) {
        REQUIRE(std::string(e.what()).find(
                    "tp x pp x dp (8 x 16 x 8 = 1024) must equal the topology's gpu count (512)") !=
                std::string::npos);
        REQUIRE(e.diagnostics().at(0).location.file == "w.textproto");
    }
    // GPT-3 175B on 8 GPUs without model parallelism cannot fit: 16 bytes/param alone is
    // 2.8 TB against 80 GB.
    job = make_job(gpt_model(96, 12288, 96), 8, 1, 1, 8);
    try {
        stepsim::validate_job_against_cluster(job, 8, false);
        FAIL("expected a SpecError");
    } catch (const stepsim::SpecError& e) {
        const std::string message = e.what();
        REQUIRE(message.find("out of memory") != std::string::npos);
        REQUIRE(message.find("optimizer") != std::string::npos);
    }
    REQUIRE_NOTHROW(stepsim::validate_job_against_cluster(job, 8, true));
}
