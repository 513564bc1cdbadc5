// SPDX-License-Identifier: Apache-2.0
// File: workload_loader_test.cc
// Workload specs: defaults, units, the GPU library and overrides, custom GPUs, located errors,
// and the bundled examples (each loads, validates and fits its cluster's HBM).
#include "stepsim/error.h"
#include "stepsim/spec.h"
#include "stepsim/workload.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace {

const char* const kMinimal = R"(
model { layers: 4 hidden: 1024 heads: 16 seq_len: 512 vocab: 1000 }
training { global_batch: 8 }
hardware { gpu: "a100-80gb-sxm" }
)";

std::string first_error(const std::string& text, std::vector<stepsim::SpecOverride> set = {}) {
    try {
        stepsim::load_workload_text(text, "w.textproto", set);
    } catch (const stepsim::SpecError& e) {
        return e.diagnostics().at(0).to_string();
    }
    return "";
}

}  // namespace

TEST_CASE("a minimal workload gets the documented defaults", "[spec]") {
    const stepsim::TrainingJob job = stepsim::load_workload_text(kMinimal, "w.textproto");
    REQUIRE(job.model.ffn_hidden == 4 * 1024);
    REQUIRE(job.model.kv_heads == 16);
    REQUIRE(job.model.has_bias);
    REQUIRE(job.model.has_tied_embeddings);
    REQUIRE(job.training.micro_batch == 1);
    REQUIRE(job.training.is_flash_attention);
    REQUIRE(job.layout.tp == 1);
    REQUIRE(job.layout.pp == 1);
    REQUIRE(job.layout.dp == 1);
    REQUIRE(job.layout.grad_bucket_bytes == 25 * 1024 * 1024);
    REQUIRE(job.layout.is_grad_reduce_overlapped);
    REQUIRE(job.layout.schedule == stepsim::PipelineScheduleKind::kOneFOneB);
    REQUIRE(job.layout.order[0] == stepsim::ParallelDim::kTp);
    REQUIRE(job.gpu.name == "A100-80GB-SXM");
}

TEST_CASE("units, rank order, overrides and a custom GPU", "[spec]") {
    const std::string text = R"(
model { layers: 4 hidden: 1024 heads: 16 seq_len: 512 vocab: 1000 }
training { global_batch: 8 data_loader_time: "20ms" }
parallelism { grad_bucket: "40MiB" rank_order: "dp-tp-pp" dp: 4 }
hardware { gpu: "a100-80gb-sxm" }
)";
    const std::vector<stepsim::SpecOverride> set = {
        stepsim::parse_override("parallelism.tp=2"),
        stepsim::parse_override("parallelism.schedule=GPIPE"),
        stepsim::parse_override("hardware.gemm_efficiency=0.6")};
    const stepsim::TrainingJob job = stepsim::load_workload_text(text, "w.textproto", set);
    REQUIRE(job.layout.grad_bucket_bytes == 40 * 1024 * 1024);
    REQUIRE(job.layout.order[0] == stepsim::ParallelDim::kDp);
    REQUIRE(job.layout.tp == 2);
    REQUIRE(job.layout.schedule == stepsim::PipelineScheduleKind::kGPipe);
    REQUIRE(job.gpu.efficiency.gemm_fraction == 0.6);
    REQUIRE(job.training.data_loader_s == Approx(0.02));

    const char* custom = R"(
model { layers: 2 hidden: 256 heads: 4 seq_len: 128 vocab: 100 }
training { global_batch: 2 }
hardware { peak_bf16: "100TFLOPS" hbm_capacity: "16GiB" hbm_bandwidth: "1TBps" }
)";
    const stepsim::TrainingJob c = stepsim::load_workload_text(custom, "c.textproto");
    REQUIRE(c.gpu.name == "custom");
    REQUIRE(c.gpu.peak_bf16_flops_per_s == 100e12);
    REQUIRE(c.gpu.hbm_bytes == 16LL << 30);
    REQUIRE(c.gpu.hbm_Bps == 1e12);
}

TEST_CASE("workload errors are located at the field", "[spec]") {
    // Line 4 is the hardware block; "gpu" starts at column 12.
    std::string text = kMinimal;
    text.replace(text.find("a100-80gb-sxm"), 13, "V100");
    REQUIRE(first_error(text).rfind("w.textproto:4:12: error: unknown gpu \"V100\"", 0) == 0);
    const char* no_gpu = R"(
model { layers: 2 hidden: 256 heads: 4 seq_len: 128 vocab: 100 }
training { global_batch: 2 }
hardware { peak_bf16: "100TFLOPS" }
)";
    REQUIRE(first_error(no_gpu).find("a custom gpu (no hardware.gpu) needs hbm_capacity") !=
            std::string::npos);
    REQUIRE(first_error(kMinimal, {stepsim::parse_override("parallelism.tp=5")}) ==
            "<command line>: error: tp (5) must divide heads (16) evenly");
}

TEST_CASE("the bundled workloads load and fit their clusters", "[spec]") {
    struct Example {
        const char* file;
        int gpus;
        std::int64_t microbatches;
    };

    // gpt3-175b: 1536 / (1 x 8) = 192; llama3-70b: 512 / 32 = 16; llama3-405b: 2048 / 128 =
    // 16; tiny-dp: 64 / (4 x 16) = 1; tiny-pp: 32 / (2 x 2) = 8.
    const Example examples[] = {{"gpt3-175b", 1024, 192},
                                {"llama3-70b", 1024, 16},
                                {"llama3-405b", 16384, 16},
                                {"tiny-dp", 16, 1},
                                {"tiny-pp", 16, 8}};
    for (const Example& e : examples) {
        const std::string path =
            std::string(STEPSIM_SOURCE_DIR) + "/workloads/" + e.file + ".textproto";
        INFO(path);
        const stepsim::TrainingJob job = stepsim::load_workload_file(path);
        REQUIRE(job.layout.world_size() == e.gpus);
        REQUIRE(stepsim::microbatches(job) == e.microbatches);
        REQUIRE_NOTHROW(stepsim::validate_job_against_cluster(job, e.gpus, false, path));
    }
}
