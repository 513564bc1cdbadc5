// SPDX-License-Identifier: Apache-2.0
// File: workload_json.cc
// `stepsim workload --json`: a WorkloadStudyResult as JSON.
#include "stepsim/report.h"
#include "stepsim/results_json.h"
#include "stepsim/study/workload.h"

namespace stepsim {

namespace {

void write_work(JsonWriter& json, std::string_view name, const study::TimedWork& w) {
    json.key(name).begin_object();
    json.field("gemm_flops", w.work.gemm_flops);
    json.field("attention_flops", w.work.attention_flops);
    json.field("memory_bytes", w.work.memory_bytes);
    json.field("time_s", w.time_s);
    json.end_object();
}

void write_collectives(JsonWriter& json,
                       std::string_view name,
                       const std::vector<TpCollective>& collectives) {
    json.key(name).begin_array();
    for (const TpCollective& c : collectives) {
        json.begin_object();
        json.field("op", to_string(c.op));
        json.field("size_bytes", c.size_bytes);
        json.end_object();
    }
    json.end_array();
}

void write_layout(JsonWriter& json, const study::WorkloadStudyResult& r) {
    const ParallelLayout& layout = r.job.layout;
    json.key("layout").begin_object();
    json.field("tp", layout.tp);
    json.field("pp", layout.pp);
    json.field("dp", layout.dp);
    json.field("cp", layout.cp);
    json.field("cp_comm_type", to_string(layout.cp_comm));
    json.field("gpus", layout.world_size());
    json.field("sequence_parallel", layout.is_sequence_parallel);
    json.field("virtual_stages", layout.virtual_stages);
    json.field("zero_stage", layout.zero_stage);
    json.field("schedule", to_string(layout.schedule));
    json.field("rank_order", r.rank_order);
    json.field("recompute", to_string(r.job.training.recompute));
    json.end_object();
}

void write_moe(JsonWriter& json, const TrainingJob& job, const study::WorkloadMoe& moe) {
    json.key("moe").begin_object();
    json.field("experts", job.model.experts);
    json.field("top_k", job.model.top_k);
    json.field("ep", job.layout.ep);
    json.field("moe_layers", moe.moe_layers);
    json.field("active_parameters", moe.active_parameters);
    write_work(json, "experts_forward", moe.experts_forward);
    write_work(json, "experts_backward_input", moe.experts_backward_input);
    write_work(json, "experts_backward_weight", moe.experts_backward_weight);
    json.field("dispatch_bytes", moe.dispatch_bytes);
    json.field("combine_bytes", moe.combine_bytes);
    json.field("load_imbalance_factor", moe.load_imbalance_factor);
    json.field("kept_fraction", moe.kept_fraction);
    json.end_object();
}

void write_stage(JsonWriter& json, std::size_t index, const study::WorkloadStage& s) {
    json.begin_object();
    json.field("stage", static_cast<std::int64_t>(index));
    json.field("layers", s.layers);
    json.field("parameters_per_gpu", s.parameters_per_gpu);
    json.field("in_flight_chunk_microbatches", s.in_flight_chunk_microbatches);
    json.key("memory_per_gpu").begin_object();
    write_fields(json, s.memory_per_gpu);
    json.end_object();
    json.end_object();
}

}  // namespace

std::string to_json(const study::WorkloadStudyResult& r) {
    const TrainingJob& job = r.job;
    JsonWriter json;
    json.begin_object();
    json.field("workload", r.workload_file);
    json.field("model", job.model.name);
    json.field("gpu", job.gpu.name);
    write_layout(json, r);
    json.field("parameters", r.parameters);
    json.field("microbatches", r.microbatches);
    json.field("tokens_per_step", r.tokens_per_step);
    json.field("model_flops_per_step", r.model_flops_per_step);
    json.field("hardware_flops_per_step", r.hardware_flops_per_step);
    json.field("six_n_d_flops", r.six_n_d_flops);
    json.key("layer_per_microbatch_per_tp_rank").begin_object();
    write_work(json, "forward", r.layer.forward);
    write_work(json, "backward_input", r.layer.backward_input);
    write_work(json, "backward_weight", r.layer.backward_weight);
    write_work(json, "recompute", r.layer.recompute);
    write_collectives(json, "forward_collectives", r.layer.forward_collectives);
    write_collectives(json, "backward_collectives", r.layer.backward_collectives);
    json.field("activation_bytes", r.layer.activation_bytes);
    json.end_object();
    json.key("edges_per_microbatch_per_tp_rank").begin_object();
    write_work(json, "embedding_forward", r.edges.embedding_forward);
    write_work(json, "logits_forward", r.edges.logits_forward);
    write_work(json, "logits_backward_input", r.edges.logits_backward_input);
    write_work(json, "logits_backward_weight", r.edges.logits_backward_weight);
    json.end_object();
    if (r.moe) {
        write_moe(json, job, *r.moe);
    }
    json.field("pipeline_message_bytes", r.pipeline_message_bytes);
    json.field("bubble_rate_closed_form", r.bubble_rate_closed_form);
    json.key("stages").begin_array();
    for (std::size_t stage = 0; stage < r.stages.size(); ++stage) {
        write_stage(json, stage, r.stages[stage]);
    }
    json.end_array();
    json.field("most_loaded_stage", r.most_loaded_stage);
    json.field("hbm_bytes", job.gpu.hbm_bytes);
    json.end_object();
    return json.str();
}

}  // namespace stepsim
