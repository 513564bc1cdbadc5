// SPDX-License-Identifier: Apache-2.0
// File: validation_tables.cc
// The published tables `stepsim validate` predicts, and their rows: each table's source, the
// bundled specs its rows start from, its metric; each row's shape, layout, batch and published
// figure. A new table is one entry in kTables and its rows in kRows (docs/validation.md).
#include "stepsim/error.h"
#include "stepsim/study/validation.h"

#include <string>

namespace stepsim::study {

namespace {

constexpr ValidationTable kTables[] = {
    {"sc21", "Megatron-LM weak scaling (Narayanan et al., SC'21, Table 1)",
     "Narayanan et al., SC'21 (arXiv 2104.04473), Table 1; reference.md §3a",
     "topologies/dgx-a100-selene.textproto", "workloads/megatron/gpt-weak-scaling.textproto",
     ValidationMetric::kMegatronTflops, false, true, "", "", false},
    {"mt-nlg", "MT-NLG 530B on 280 / 350 / 420 DGX A100 (seconds per iteration)",
     "Smith et al. 2022 (arXiv 2201.11990); compute-reference.md §6",
     "topologies/dgx-a100-selene.textproto", "workloads/megatron/mt-nlg-530b.textproto",
     ValidationMetric::kStepTime, false, false, "", "", false},
    {"bloom", "BLOOM-176B on 384 A100-80GB, Jean Zay (seconds per iteration)",
     "bigscience train/tr11-176B-ml README (iteration 85376); compute-reference.md §6",
     "topologies/jean-zay-a100.textproto", "workloads/megatron/bloom-176b.textproto",
     ValidationMetric::kStepTime, false, false, "", "", false},
    {"opt", "OPT-175B on 992 A100-80GB (\"up to\" TFLOP/s per GPU, hardware FLOPs)",
     "Zhang et al. 2022 (arXiv 2205.01068) §2.4; compute-reference.md §6",
     "topologies/dgx-a100-selene.textproto", "workloads/megatron/opt-175b.textproto",
     ValidationMetric::kHardwareTflops, true, false, "", "", false},
    {"llama3", "Llama 3 405B on 8,192 / 16,384 H100 (TFLOP/s per GPU, model FLOPs)",
     "Llama 3 Herd of Models (arXiv 2407.21783) §3.3, Table 4; compute-reference.md §5",
     "topologies/dgx-h100-1024.textproto", "workloads/llama3-405b.textproto",
     ValidationMetric::kModelTflops, true, false, "fabric[0].fat_tree.tiers=3",
     "parallelism.schedule=INTERLEAVED;parallelism.virtual_stages=2", true},
    // MLPerf Training GPT-3 175B on H100 in FP8, one table per round: v3.0 is the table the
    // (H100, Megatron-Core 2024 FP8) constant was fitted on; v3.1 (same layout, 3x the DP) and
    // v4.0 (PP6, interleave 8, newer software) are predictions (docs/validation.md).
    {"mlperf", "MLPerf GPT-3 175B, H100 FP8, v3.0 (seconds per step; the FP8 constant's fit)",
     "MLCommons training_results v3.0, NVIDIA+CoreWeave GPT-3 config and MLLOG; "
     "compute-reference.md §6",
     "topologies/dgx-h100-1024.textproto", "workloads/mlperf/gpt3-175b-h100-3584.textproto",
     ValidationMetric::kStepTime, true, false, "fabric[0].fat_tree.tiers=3", "", false},
    {"mlperf-v3.1", "MLPerf GPT-3 175B, H100 FP8, v3.1 (seconds per step)",
     "MLCommons training_results v3.1, NVIDIA Eos GPT-3 config and MLLOG; "
     "compute-reference.md §6",
     "topologies/dgx-h100-1024.textproto", "workloads/mlperf/gpt3-175b-h100-10752.textproto",
     ValidationMetric::kStepTime, true, false, "fabric[0].fat_tree.tiers=3", "", false},
    {"mlperf-v4", "MLPerf GPT-3 175B, H100 FP8, v4.0 (seconds per step)",
     "MLCommons training_results v4.0, NVIDIA GPT-3 config and MLLOG; compute-reference.md §6",
     "topologies/dgx-h100-1024.textproto", "workloads/mlperf/gpt3-175b-h100-11616.textproto",
     ValidationMetric::kStepTime, true, false, "fabric[0].fat_tree.tiers=3", "", false},
};

// sc21: Narayanan et al., SC'21, Table 1, as reference.md §3a transcribes it: hidden, layers,
// heads, TP, PP, DP = GPUs / (TP·PP), global batch, achieved TFLOP/s per GPU. Sequence 2048 and
// vocabulary 51,200 come from the base workload. The other tables' shapes are in their
// workload files; here only the layout, the batch and the published figure.
constexpr ValidationRow kRows[] = {
    {"sc21", "1.7B", 2304, 24, 24, 1, 1, 32, 512, 137, false},
    {"sc21", "3.6B", 3072, 30, 32, 2, 1, 32, 512, 138, false},
    {"sc21", "7.5B", 4096, 36, 32, 4, 1, 32, 512, 142, false},
    {"sc21", "18B", 6144, 40, 48, 8, 1, 32, 1024, 135, false},
    {"sc21", "39B", 8192, 48, 64, 8, 2, 32, 1536, 138, false},
    {"sc21", "76B", 10240, 60, 80, 8, 4, 32, 1792, 140, false},
    {"sc21", "145B", 12288, 80, 96, 8, 8, 24, 2304, 148, false},
    {"sc21", "310B", 16384, 96, 128, 8, 16, 15, 2160, 155, false},
    {"sc21", "530B", 20480, 105, 128, 8, 35, 9, 2520, 163, false},
    {"sc21", "1T", 25600, 128, 160, 8, 64, 6, 3072, 163, false},
    // MT-NLG: 60.1 / 50.2 / 44.4 s per iteration at DP 8 / 10 / 12.
    {"mt-nlg", "mt-nlg-280", 20480, 105, 128, 8, 35, 8, 1920, 60.1, false},
    {"mt-nlg", "mt-nlg-350", 20480, 105, 128, 8, 35, 10, 1920, 50.2, false},
    {"mt-nlg", "mt-nlg-420", 20480, 105, 128, 8, 35, 12, 1920, 44.4, false},
    // BLOOM: 104.70 s per iteration (iteration 85376).
    {"bloom", "bloom-176b", 14336, 70, 112, 4, 12, 8, 2048, 104.70, false},
    // OPT: "up to 147 TFLOP/s per GPU"; 992 GPUs = TP 8 x DP 124, ~2M tokens (992 x 2048).
    {"opt", "opt-175b", 12288, 96, 96, 8, 1, 124, 992, 147, false},
    // Llama 3: 430 and 400 TFLOP/s per GPU at 8,192 and 16,384 GPUs, 16M tokens per step.
    {"llama3", "llama3-405b-8k", 16384, 126, 128, 8, 16, 64, 2048, 430, false},
    {"llama3", "llama3-405b-16k", 16384, 126, 128, 8, 16, 128, 2048, 400, true},
    // MLPerf: 2.646 / 0.959 / 0.924 s per step (evaluations excluded), each row minutes of CPU.
    {"mlperf", "mlperf-3584", 12288, 96, 96, 4, 8, 112, 2688, 2.646, true},
    {"mlperf-v3.1", "mlperf-10752", 12288, 96, 96, 4, 8, 336, 2688, 0.959, true},
    {"mlperf-v4", "mlperf-11616", 12288, 96, 96, 4, 6, 484, 2904, 0.924, true},
};

}  // namespace

std::span<const ValidationTable> validation_tables() {
    return kTables;
}

std::span<const ValidationRow> validation_rows() {
    return kRows;
}

const ValidationTable& validation_table(std::string_view id) {
    for (const ValidationTable& table : kTables) {
        if (table.id == id) {
            return table;
        }
    }
    throw InternalError("validate: no table " + std::string(id));
}

}  // namespace stepsim::study
