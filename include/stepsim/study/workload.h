// SPDX-License-Identifier: Apache-2.0
// File: workload.h
// The workload study: what follows from a loaded job without simulating it: parameters,
// micro-batches, model and hardware FLOPs beside 6·N·D, one layer's and the edges' work and
// times on one TP rank, the TP and pipeline message sizes, the MoE experts' work and
// all-to-all volumes, memory per GPU per stage and the closed-form bubble; with a GPU count,
// the job checked against the cluster first. No argv, no JSON: `stepsim workload` prints;
// sim/report/workload_json.cc serializes.
#pragma once

#include "stepsim/workload.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stepsim::study {

struct WorkloadStudyOptions {
    /// When given, the job is checked against a cluster of this many GPUs (tp·cp·pp·dp = N,
    /// fits in HBM unless `allows_oom`).
    std::optional<int> gpus;
    bool allows_oom = false;
    /// Where the spec came from: reported with the result, and the location of a job-vs-
    /// cluster error (the study reads no file).
    std::string workload_file;
};

/// Some work and its time on the job's GPU at its efficiencies (compute_time_s()).
struct TimedWork {
    WorkAmount work;
    double time_s = 0;
};

/// One layer (the first), one micro-batch, one TP rank.
struct WorkloadLayer {
    TimedWork forward;
    TimedWork backward_input;
    TimedWork backward_weight;
    TimedWork recompute;
    std::vector<TpCollective> forward_collectives;
    std::vector<TpCollective> backward_collectives;
    std::int64_t activation_bytes = 0;
};

/// The embedding and the output layer, one micro-batch, one TP rank.
struct WorkloadEdges {
    TimedWork embedding_forward;
    TimedWork logits_forward;
    TimedWork logits_backward_input;
    TimedWork logits_backward_weight;
};

/// The routed experts of one MoE layer (the last) on the busiest EP rank, one micro-batch
/// (docs/models/moe.md).
struct WorkloadMoe {
    int moe_layers = 0;
    std::int64_t active_parameters = 0;
    TimedWork experts_forward;
    TimedWork experts_backward_input;
    TimedWork experts_backward_weight;
    std::int64_t dispatch_bytes = 0;  ///< forward, per EP rank (backward the same)
    std::int64_t combine_bytes = 0;
    double load_imbalance_factor = 1.0;
    double kept_fraction = 1.0;
};

struct WorkloadStage {
    int layers = 0;
    std::int64_t parameters_per_gpu = 0;
    std::int64_t in_flight_chunk_microbatches = 0;  ///< at the schedule's peak
    MemoryBreakdown memory_per_gpu;                 ///< at the schedule's peak
};

struct WorkloadStudyResult {
    std::string workload_file;
    TrainingJob job;         ///< as loaded: model, GPU, layout and training
    std::string rank_order;  ///< "tp-dp-pp" (cp left out when cp = 1)
    std::int64_t parameters = 0;
    std::int64_t microbatches = 0;  ///< per pipeline
    std::int64_t tokens_per_step = 0;
    std::int64_t microbatch_tokens_per_rank = 0;  ///< tokens per GPU per micro-batch (cp)
    double model_flops_per_step = 0;
    double hardware_flops_per_step = 0;
    double six_n_d_flops = 0;  ///< 6 · active parameters · tokens
    WorkloadLayer layer;
    WorkloadEdges edges;
    std::optional<WorkloadMoe> moe;  ///< MoE models only
    std::int64_t pipeline_message_bytes = 0;
    double bubble_rate_closed_form = 0;  ///< the schedule's bubble, rate of the whole step
    std::vector<WorkloadStage> stages;   ///< per pipeline stage
    int most_loaded_stage = 0;
};

/// Checks `job` against a cluster of options.gpus GPUs when given (SpecError located at
/// options.workload_file), then derives the numbers above.
WorkloadStudyResult run_workload_study(const TrainingJob& job, const WorkloadStudyOptions& options);

}  // namespace stepsim::study
