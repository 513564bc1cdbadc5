// SPDX-License-Identifier: Apache-2.0
// File: step_json.cc
// A simulated step as JSON: the breakdown and memory shapes step-based results share, and the step
// study's result (`stepsim step --json`, the Python module's StepResult.to_json()).
#include "stepsim/report.h"
#include "stepsim/results_json.h"
#include "stepsim/study/step.h"
#include "stepsim/training_step.h"

namespace stepsim {

void write_json(JsonWriter& json, const StepBreakdown& b) {
    json.begin_object();
    json.field("compute_s", b.compute_s);
    json.field("recompute_s", b.recompute_s);
    json.field("tp_s", b.tp_s);
    json.field("pp_s", b.pp_s);
    json.field("dp_s", b.dp_s);
    json.field("zero_s", b.zero_s);
    json.field("ep_s", b.ep_s);
    json.field("cp_s", b.cp_s);
    json.field("fsdp_s", b.fsdp_s);
    json.field("bubble_s", b.bubble_s);
    json.field("other_idle_s", b.other_idle_s);
    json.end_object();
}

void write_fields(JsonWriter& json, const MemoryBreakdown& m) {
    json.field("weights_bytes", m.weights_bytes);
    json.field("gradients_bytes", m.gradients_bytes);
    json.field("optimizer_bytes", m.optimizer_bytes);
    json.field("activations_bytes", m.activations_bytes);
    json.field("transient_bytes", m.transient_bytes);
    json.field("total_bytes", m.total_bytes());
}

namespace {

void write_memory(JsonWriter& json, const MemoryBreakdown& m, std::int64_t hbm_bytes) {
    json.begin_object();
    write_fields(json, m);
    json.field("hbm_bytes", hbm_bytes);
    json.end_object();
}

/// Kernels counted, those timed from the kernel profile and the rest (the kernel model's).
void write_kernel_counts(JsonWriter& json, double kernels, double from_profile) {
    json.field("kernels", kernels);
    json.field("kernels_from_profile", from_profile);
    json.field("kernels_from_model", kernels - from_profile);
}

void write_stage(JsonWriter& json, const StageResult& s, std::int64_t hbm_bytes) {
    json.begin_object();
    json.field("stage", s.stage);
    json.field("rank", static_cast<std::int64_t>(s.rank.value));
    json.field("bubble_fraction", s.bubble_fraction);
    json.field("peak_in_flight_chunks", s.peak_in_flight_chunks);
    json.key("breakdown");
    write_json(json, s.breakdown);
    json.key("memory_bytes");
    write_memory(json, s.memory, hbm_bytes);
    json.key("kernels").begin_object();
    json.field("time_s", s.kernels.time_s);
    json.field("gemm_s", s.kernels.gemm_s);
    json.field("attention_s", s.kernels.attention_s);
    json.field("memory_s", s.kernels.memory_s);
    json.field("launch_s", s.kernels.launch_s);
    write_kernel_counts(json, s.kernels.kernels, s.kernels.kernels_from_profile);
    json.end_object();
    json.end_object();
}

/// The compute model and stack, and the kernels over the simulated GPUs (one per stage) per
/// step.
void write_compute(JsonWriter& json, const StepResult& r) {
    json.begin_object();
    json.field("model", r.compute_model);
    json.field("stack", r.stack);
    json.field("attention_kernel", r.attention_kernel);
    json.field("kernel_profile", r.kernel_profile);
    double kernels = 0;
    double from_profile = 0;
    for (const StageResult& s : r.stages) {
        kernels += s.kernels.kernels;
        from_profile += s.kernels.kernels_from_profile;
    }
    write_kernel_counts(json, kernels, from_profile);
    json.end_object();
}

void write_critical_path(JsonWriter& json, const std::vector<CriticalPathEntry>& path) {
    json.begin_array();
    for (const CriticalPathEntry& e : path) {
        json.begin_object();
        json.field("stage", e.stage);
        json.field("rank", static_cast<std::int64_t>(e.rank.value));
        json.field("kind", e.kind);
        json.field("time_s", e.time_s);
        json.end_object();
    }
    json.end_array();
}

void write_estimates(JsonWriter& json, const std::vector<StepEstimate>& estimates) {
    json.begin_array();
    for (const StepEstimate& e : estimates) {
        json.begin_object();
        json.field("name", e.name);
        json.field("simulated_s", e.simulated_s);
        json.field("closed_form_s", e.closed_form_s);
        json.field("difference_s", e.difference_s);
        json.field("closed_form", e.closed_form);
        json.field("explanation", e.explanation);
        json.end_object();
    }
    json.end_array();
}

/// What was simulated: GPUs, stages, micro-batches, tasks, events and the fingerprint.
void write_simulation(JsonWriter& json, const StepResult& r) {
    json.begin_object();
    json.field("gpus", r.gpus);
    json.field("simulated_gpus", r.simulated_gpus);
    json.field("stages", r.stages_count);
    json.field("microbatches", r.microbatches);
    json.field("chunks", r.chunks);
    json.field("tasks", static_cast<std::uint64_t>(r.tasks));
    json.field("events", r.events);
    json.field("fingerprint", r.fingerprint);
    json.end_object();
}

}  // namespace

std::string to_json(const study::StepStudyResult& result) {
    const StepResult& r = result.step;
    JsonWriter json;
    json.begin_object();
    json.field("topology", result.topology_file);
    json.field("workload", result.workload_file);
    json.field("schedule", r.schedule);
    json.field("fidelity", to_string(r.fidelity));
    json.field("step_time_s", r.step_time_s);
    json.field("bubble_fraction", r.bubble_fraction);
    json.field("bubble_ratio", r.bubble_ratio);
    json.field("mfu", r.mfu);
    json.field("hfu", r.hfu);
    json.field("tokens_per_s", r.tokens_per_s);
    json.field("useful_tokens_per_s", r.useful_tokens_per_s);
    json.field("model_flops_per_step", r.model_flops_per_step);
    json.field("six_n_tokens_flops", r.six_n_tokens_flops);
    json.field("hardware_flops_per_step", r.hardware_flops_per_step);
    json.field("parameters", r.parameters);
    json.key("cluster_breakdown");
    write_json(json, r.cluster);
    json.key("memory_per_gpu_bytes");
    write_memory(json, r.memory_per_gpu, result.hbm_bytes);
    json.field("memory_stage", r.memory_stage);
    json.key("stages").begin_array();
    for (const StageResult& s : r.stages) {
        write_stage(json, s, result.hbm_bytes);
    }
    json.end_array();
    json.key("compute");
    write_compute(json, r);
    json.key("critical_path");
    write_critical_path(json, r.critical_path);
    json.key("estimates");
    write_estimates(json, r.estimates);
    json.key("simulation");
    write_simulation(json, r);
    json.end_object();
    return json.str() + "\n";
}

}  // namespace stepsim
