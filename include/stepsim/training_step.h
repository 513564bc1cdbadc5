// SPDX-License-Identifier: Apache-2.0
// File: training_step.h
// Simulates one training step of a job on a cluster and says where the time goes: step time,
// per-stage and cluster breakdown (compute, recompute, exposed TP/PP/DP/ZeRO communication,
// pipeline bubble, other idle), bubble fraction and ratio, MFU/HFU, tokens/s, memory, the
// critical path, and a closed-form estimate beside each simulated figure.
//
// What is simulated (docs/models/training-step.md): one representative pipeline, the p GPUs
// of TP rank 0 in DP replica 0, each running its schedule's ops on a compute stream. The other
// TP ranks of a stage and the other DP replicas do the same work at the same times
// (symmetry), so their compute is not simulated again; they appear as the peers of every
// collective and, with StepFidelity::kFull, as mirrored traffic on the shared network. The
// symmetry of DP replicas is checked (route colours of their GPUs, routes of their pipeline
// messages): replicas that differ are simulated each, one per class of alike replicas; with
// StepOptions::is_exact every replica is.
#pragma once

#include "stepsim/collective.h"
#include "stepsim/network.h"
#include "stepsim/topology.h"
#include "stepsim/workload.h"

#include <cstdint>
#include <string>
#include <vector>

namespace stepsim {

enum class StepFidelity : std::uint8_t {
    /// Pipeline messages on the shared network (chunk level, contending); TP, DP and ZeRO
    /// collectives timed by an uncontended chunk-level run of the same collective, memoized
    /// per shape (exact when nothing else uses their links at that time).
    kFast,
    /// Every collective and message on the shared network, chunk level, with the other TP
    /// ranks' pipeline messages and DP collectives mirrored so that all traffic contends.
    kFull,
};

/// "fast", "full"
std::string_view to_string(StepFidelity fidelity);

struct StepOptions {
    StepFidelity fidelity = StepFidelity::kFast;
    NetworkKind network = NetworkKind::kFairShare;
    CollectiveOptions collective;
    /// Every communication takes zero time (what-if: perfect network).
    bool is_communication_free = false;
    /// Fast fidelity: collectives of groups with the same shape (server pattern and pairwise
    /// route latency, hops and bottleneck) share one uncontended run; false runs each group.
    bool is_memoized_by_shape = true;
    /// Simulate every DP replica's pipeline (dp·pp compute streams) and time every collective
    /// group itself (no sharing by shape), instead of folding alike replicas into one. In
    /// full fidelity all replicas' traffic then shares one network; in fast fidelity each
    /// replica's pipeline messages run on a network of their own, as the folded replica's do.
    bool is_exact = false;
    /// Fast fidelity: a pipelined collective of many pieces (a double binary tree, a chunked
    /// ring, a chain) is timed from three short uncontended runs with the same piece size, by
    /// its fill and per-piece period, when they show one (docs/models/training-step.md,
    /// "Pipelined collectives by fill and period"; measured error <= 6e-5). Off by default:
    /// trees and rings under fair sharing show no period and run whole anyway. is_exact turns
    /// it off.
    bool is_pipeline_extrapolated = false;
    /// Keep every task's slice in StepResult::timeline (for --trace).
    bool keeps_timeline = false;
    /// Fast fidelity: threads that time the distinct uncontended collectives before the step
    /// runs. The result does not depend on it.
    int threads = 1;
};

/// Seconds per category; for one rank the entries sum to the step time.
struct StepBreakdown {
    double compute_s = 0;     ///< forward, backward, weight-gradient, optimizer kernels
    double recompute_s = 0;   ///< activation recomputation
    double tp_s = 0;          ///< exposed tensor-parallel communication
    double pp_s = 0;          ///< exposed pipeline send/recv
    double dp_s = 0;          ///< exposed DP gradient reduction
    double zero_s = 0;        ///< exposed ZeRO 1-2 parameter all-gathers
    double ep_s = 0;          ///< exposed MoE all-to-alls (token dispatch and combine)
    double cp_s = 0;          ///< exposed context-parallel K/V exchange (ring or all-gather)
    double fsdp_s = 0;        ///< exposed ZeRO-3 per-layer gathers and reduce-scatters
    double bubble_s = 0;      ///< waiting for other stages (warm-up, drain, imbalance)
    double other_idle_s = 0;  ///< data loading, anything else

    double total_s() const {
        return compute_s + recompute_s + tp_s + pp_s + dp_s + zero_s + ep_s + cp_s + fsdp_s +
               bubble_s + other_idle_s;
    }
};

struct StageResult {
    int stage = 0;
    RankId rank;  ///< the simulated GPU; stands for its tp·dp peers
    StepBreakdown breakdown;
    double bubble_fraction = 0;  ///< bubble_s / step_time_s
    /// Most micro-batches (counted in model chunks) holding activations at once, measured.
    int peak_in_flight_chunks = 0;
    MemoryBreakdown memory;  ///< with the measured in-flight count
    /// The stage's kernels over the step on one of its GPUs (every micro-batch's F, B, W and
    /// recompute, plus the optimizer), by kind, and how many came from the kernel profile.
    KernelTiming kernels;
};

/// A simulated figure beside its closed-form estimate.
struct StepEstimate {
    std::string name;  ///< "step_time", "compute", "tp", "pp", "dp", "bubble"
    double simulated_s = 0;
    double closed_form_s = 0;
    double difference_s = 0;  ///< simulated − closed form
    std::string closed_form;  ///< the formula used
    std::string explanation;  ///< one line: why the two differ
};

struct CriticalPathEntry {
    int stage = 0;
    RankId rank;
    std::string kind;  ///< "compute", "recompute", "optimizer", "tp", "pp", "dp", "zero", ...
    double time_s = 0;
};

/// One task on the timeline (for the Chrome trace).
struct TimelineSlice {
    RankId rank;
    int stage = 0;
    std::string category;  ///< "compute", "recompute", "tp", "pp", "dp", "zero", ...
    std::string stream;    ///< "compute", "dp", "zero", "pp"
    std::string name;      ///< "F mb3 L17", "tp allreduce mb3 L17", ...
    double start_s = 0;
    double end_s = 0;
    // The task behind the slice (for Chakra export); task is -1 for idle gaps.
    std::int64_t task = -1;
    std::vector<std::uint32_t> dependencies;  ///< task indices it waited for
    std::string op;  ///< "compute", or the communication's op ("allreduce", "sendrecv", ...)
    std::int64_t size_bytes = 0;   ///< communication: CollectiveRequest::size_bytes
    std::vector<RankId> group;     ///< communication: ranks in ring order; sendrecv {src, dst}
    std::int64_t duration_ps = 0;  ///< compute: the modelled duration
};

struct StepResult {
    double step_time_s = 0;
    std::vector<StageResult> stages;  ///< one per pipeline stage
    StepBreakdown cluster;            ///< mean over all GPUs
    /// Cluster bubble time over step time (mean over GPUs of bubble_s / step_time_s).
    double bubble_fraction = 0;
    /// The schedule's bubble as a fraction of the ideal time: (p−1)/m for GPipe and 1F1B,
    /// (p−1)/(v·m) interleaved, (p−1)(F+B−W)/(m(F+B+W)) for ZB-H1 (Narayanan et al. SC'21).
    double bubble_ratio = 0;
    double mfu = 0;           ///< model FLOPs per step / (step time · GPUs · peak)
    double hfu = 0;           ///< hardware FLOPs (with recompute) / (step time · GPUs · peak)
    double tokens_per_s = 0;  ///< allocated tokens per second
    double useful_tokens_per_s = 0;  ///< tokens_per_s · packing utilization
    double model_flops_per_step = 0;
    double hardware_flops_per_step = 0;
    double six_n_tokens_flops = 0;  ///< 6 · active parameters · tokens (all for dense models)
    std::int64_t parameters = 0;
    MemoryBreakdown memory_per_gpu;  ///< the most loaded stage
    int memory_stage = 0;
    std::vector<CriticalPathEntry> critical_path;
    /// How kernels were timed: "kernel" or "scalar", the software stack, the attention kernel
    /// ("flash2", "flash3" or "unfused") and the kernel profile's file ("" for none).
    std::string compute_model;
    std::string stack;
    std::string attention_kernel;
    std::string kernel_profile;
    std::vector<StepEstimate> estimates;

    // What was simulated.
    int gpus = 0;
    int simulated_gpus = 0;  ///< compute streams simulated (stages × simulated replicas)
    int stages_count = 0;
    int microbatches = 0;
    int chunks = 1;
    std::string schedule;
    StepFidelity fidelity = StepFidelity::kFast;
    std::size_t tasks = 0;
    std::uint64_t events = 0;
    std::uint64_t fingerprint = 0;
    std::vector<TimelineSlice> timeline;  ///< filled when StepOptions::keeps_timeline
};

/// Simulates one step. Throws JobClusterMismatch when the job does not fit the topology
/// (tp·pp·dp != GPUs) and UserError when the schedule cannot run the shape; validate_job()
/// first for spec-level messages.
StepResult simulate_step(const TrainingJob& job,
                         const Topology& topology,
                         const StepOptions& options = {});

}  // namespace stepsim
