// SPDX-License-Identifier: Apache-2.0
// File: context_parallel_test.cc
// Context parallelism: the ring attention's exposed communication against its closed form
// (a + (cp−1)·max(a, c) forward; the backward ring carries K/V and dK/dV and returns dK/dV
// after the last block), the all-gather variant (not overlapped), the per-rank FLOPs,
// activations and K/V bytes of a job, the rank groups (CP ring, gradient group dp·cp) and a
// whole step on a topology. Communication in the lowering tests is timed by a toy
// communicator (one byte takes one nanosecond), so every duration is a plain sum.
#include "stepsim/simulator.h"
#include "stepsim/training_step.h"
#include "stepsim/workload.h"

#include "step/pipeline_schedule.h"
#include "step/step_analysis.h"
#include "step/step_executor.h"
#include "step/step_inputs.h"
#include "step/step_lowering.h"
#include "unit/step/sized_communicator.h"
#include "unit/workload/workload_test_models.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <set>
#include <vector>

using namespace stepsim;

namespace {

using test::ns;
using test::SizedCommunicator;

struct Run {
    LoweredStep lowered;
    TaskTimeline timeline;
    StepAnalysis analysis;
};

Run run(const StepCosts& costs, const RankGroups& groups) {
    Run r;
    const auto schedule = make_pipeline_schedule(PipelineScheduleKind::kOneFOneB);
    r.lowered = lower_step(costs, groups, *schedule);
    Simulator sim(1);
    SizedCommunicator comm(sim);
    r.timeline = execute_task_graph(sim, r.lowered.graph, comm);
    r.analysis = analyze_step(r.lowered, r.timeline);
    return r;
}

/// One stage, one GPU per TP rank (no TP), a CP ring of `cp` GPUs.
RankGroups cp_groups(int cp) {
    RankGroups groups;
    groups.stage_ranks.push_back({RankId(0)});
    groups.dp_groups.push_back({{RankId(0)}});
    std::vector<RankId> ring;
    for (int c = 0; c < cp; ++c) {
        ring.emplace_back(static_cast<std::uint32_t>(c));
    }
    groups.cp_rings.push_back({ring});
    return groups;
}

constexpr int kCp = 4;
constexpr std::int64_t kRest = 5'000;   // the layer's other forward work, ns
constexpr std::int64_t kBlock = 2'000;  // one attention block forward, ns

/// One layer, one micro-batch: forward = rest + cp blocks; backward (optional) likewise.
StepCosts cp_layer(CpCommType type,
                   std::int64_t chunk_bytes,
                   std::int64_t backward_rest = 0,
                   std::int64_t backward_block = 0) {
    StepCosts costs;
    costs.shape = PipelineShape{1, 1, 1};
    LayerWork layer;
    layer.layer = 0;
    const int blocks = type == CpCommType::kP2p ? kCp : 1;
    layer.forward = ns(kRest + blocks * kBlock);
    layer.backward_input = ns(backward_rest + blocks * backward_block);
    layer.cp.type = type;
    layer.cp.blocks = blocks;
    layer.cp.forward_block = ns(kBlock);
    layer.cp.backward_block = ns(backward_block);
    layer.cp.kv_chunk_bytes = chunk_bytes;
    costs.virtual_stages.push_back({layer});
    costs.optimizer.assign(1, Time(0));
    return costs;
}

/// When the forward op (the first op) finished.
Time forward_end(const Run& r) {
    return r.timeline.end[r.lowered.ops[0][0].last.index()];
}

double cp_exposed_s(const Run& r) {
    return to_seconds(r.analysis.stages[0].breakdown[static_cast<std::size_t>(TimeCategory::kCp)]);
}

}  // namespace

TEST_CASE("ring attention forward: a + (cp-1)·max(a, c), exposed (cp-1)·max(0, c-a)",
          "[step][context_parallel]") {
    // (The backward blocks take no time here, so the backward ring is all exposed: (cp−1)
    // transfers of K/V + dK/dV, 2c each, and dK/dV home, c: 7c.)
    // c = 1 us < a = 2 us: every transfer hides behind the block before it.
    Run fast = run(cp_layer(CpCommType::kP2p, 1'000), cp_groups(kCp));
    REQUIRE(forward_end(fast) == ns(kRest + kCp * kBlock));
    REQUIRE(fast.analysis.step_time == ns(kRest + kCp * kBlock + 7 * 1'000));
    REQUIRE(cp_exposed_s(fast) == Approx(to_seconds(ns(7 * 1'000))));
    // c = 5 us > a: blocks 1..3 wait c − a = 3 us each.
    Run slow = run(cp_layer(CpCommType::kP2p, 5'000), cp_groups(kCp));
    REQUIRE(forward_end(slow) == ns(kRest + kBlock + (kCp - 1) * 5'000));
    REQUIRE(cp_exposed_s(slow) == Approx(to_seconds(ns((kCp - 1) * (5'000 - kBlock) + 7 * 5'000))));
    // c == a: the boundary of both forms.
    REQUIRE(forward_end(run(cp_layer(CpCommType::kP2p, kBlock), cp_groups(kCp))) ==
            ns(kRest + kCp * kBlock));
    // 2(cp − 1) + 1 ring transfers (forward, backward, dK/dV home), each a send to the next
    // rank with the other ranks' sends mirrored.
    int transfers = 0;
    for (const Task& task : slow.lowered.graph.tasks()) {
        if (task.kind == TaskKind::kSendRecv && task.comm == CommKind::kContextParallel) {
            ++transfers;
            const CommRequest& comm = slow.lowered.graph.request(task.request);
            REQUIRE(comm.request.op == CollectiveOp::kSendRecv);
            REQUIRE(comm.request.ranks == std::vector<RankId>{RankId(0), RankId(1)});
            REQUIRE(comm.mirrors.size() == kCp - 1);
            REQUIRE(comm.mirrors.back().ranks == std::vector<RankId>{RankId(3), RankId(0)});
        }
    }
    REQUIRE(transfers == 2 * (kCp - 1) + 1);
}

TEST_CASE("ring attention backward: K/V + dK/dV per step, dK/dV back to its owner at the end",
          "[step][context_parallel]") {
    constexpr std::int64_t kBackRest = 4'000;
    constexpr std::int64_t kBackBlock = 3'000;
    // Step transfers carry 2c: c = 1 us → 2 us < b = 3 us, hidden; the tail c = 1 us exposed.
    Run hidden = run(cp_layer(CpCommType::kP2p, 1'000, kBackRest, kBackBlock), cp_groups(kCp));
    const std::int64_t forward = kRest + kCp * kBlock;
    REQUIRE(hidden.analysis.step_time == ns(forward + kBackRest + kCp * kBackBlock + 1'000));
    // c = 4 us → 8 us > b: b + (cp−1)·2c + c backward.
    Run exposed = run(cp_layer(CpCommType::kP2p, 4'000, kBackRest, kBackBlock), cp_groups(kCp));
    const std::int64_t forward_slow = kRest + kBlock + (kCp - 1) * 4'000;
    REQUIRE(exposed.analysis.step_time ==
            ns(forward_slow + kBackRest + kBackBlock + (kCp - 1) * 8'000 + 4'000));
    // Exposed CP time: forward (cp−1)(c−a), backward (cp−1)(2c−b) + c.
    REQUIRE(cp_exposed_s(exposed) ==
            Approx(to_seconds(
                ns((kCp - 1) * (4'000 - kBlock) + (kCp - 1) * (8'000 - kBackBlock) + 4'000))));
}

TEST_CASE("all-gather context parallelism: K/V gathered before, dK/dV scattered after, exposed",
          "[step][context_parallel]") {
    constexpr std::int64_t kChunk = 1'000;
    Run r = run(cp_layer(CpCommType::kAllGather, kChunk, 4'000, 3'000), cp_groups(kCp));
    // The all-gather and reduce-scatter buffers hold all cp chunks (nccl-tests sizes): the toy
    // communicator takes cp·c for each. Forward: rest + AG + block; backward: AG + block + RS
    // + rest.
    const std::int64_t whole = kCp * kChunk;
    REQUIRE(r.analysis.step_time == ns(kRest + whole + kBlock + whole + 3'000 + whole + 4'000));
    REQUIRE(cp_exposed_s(r) == Approx(to_seconds(ns(3 * whole))));
}

TEST_CASE("context parallelism splits a layer's tokens, FLOPs and activations over cp ranks",
          "[step][context_parallel]") {
    TrainingJob base = test::make_job(test::llama_gqa_model(), 64, 8, 4, 2);
    base.layout.is_sequence_parallel = true;
    TrainingJob cp = base;
    cp.layout.cp = 4;
    const LayerCosts one = layer_costs(base);
    const LayerCosts split = layer_costs(cp);
    REQUIRE(microbatch_tokens_per_rank(cp) == 8192 / 4);
    // GEMMs and element-wise work scale with the rank's tokens; attention with s/cp queries
    // against all s keys: 1/cp of the Megatron-counted attention FLOPs.
    REQUIRE(split.forward.gemm_flops == Approx(one.forward.gemm_flops / 4));
    REQUIRE(split.forward.attention_flops == Approx(one.forward.attention_flops / 4));
    REQUIRE(split.backward_input.attention_flops == Approx(one.backward_input.attention_flops / 4));
    REQUIRE(split.forward.memory_bytes == Approx(one.forward.memory_bytes / 4));
    REQUIRE(split.forward_collectives[0].size_bytes == one.forward_collectives[0].size_bytes / 4);
    REQUIRE(layer_activation_bytes(cp) == layer_activation_bytes(base) / 4);
    REQUIRE(pipeline_message_bytes(cp) == pipeline_message_bytes(base) / 4);
    // The ring: cp blocks of s/cp × s/cp (causal-equivalent); K/V bytes of one chunk:
    // 2 (K, V) × 2048 tokens × (8 KV heads / tp 8 × 128) × 2 bytes.
    REQUIRE(split.cp.ranks == 4);
    REQUIRE(split.cp.blocks == 4);
    REQUIRE(split.cp.kv_chunk_bytes == 2 * 2048 * 128 * 2);
    bool found = false;
    for (const Kernel& k : split.forward.kernels) {
        if (k.kind == KernelKind::kAttention) {
            found = true;
            REQUIRE(k.m == 2048);
            REQUIRE(k.n == 2048);
            REQUIRE(k.repeat == 4.0);
            REQUIRE(k.is_causal);
        }
    }
    REQUIRE(found);
    // The all-gather variant: one kernel of s/cp queries against s keys, same FLOPs.
    cp.layout.cp_comm = CpCommType::kAllGather;
    const LayerCosts gathered = layer_costs(cp);
    REQUIRE(gathered.cp.blocks == 1);
    REQUIRE(gathered.forward.attention_flops == Approx(split.forward.attention_flops));
    // Model FLOPs do not depend on how the work is split.
    REQUIRE(model_flops_per_step(cp) == model_flops_per_step(base));
    // The optimizer state is sharded over dp·cp with the distributed optimizer.
    base.layout.zero_stage = 1;
    cp.layout.zero_stage = 1;
    REQUIRE(memory_per_gpu(cp, 0, 1).optimizer_bytes ==
            (memory_per_gpu(base, 0, 1).optimizer_bytes + 3) / 4);
}

TEST_CASE("rank groups: the CP ring sits right outside TP, gradients reduce over dp·cp",
          "[step][context_parallel]") {
    ParallelLayout layout;
    layout.tp = 2;
    layout.cp = 4;
    layout.pp = 2;
    layout.dp = 3;
    REQUIRE(layout.world_size() == 48);
    // Default order tp-cp-dp-pp.
    REQUIRE(rank_of(layout, {1, 2, 1, 3}) == 1 + 2 * (3 + 4 * (2 + 3 * 1)));
    const RankCoordinates c = coordinates_of(layout, 45);
    REQUIRE(rank_of(layout, c) == 45);
    const RankGroups groups = detail::rank_groups_of(layout);
    REQUIRE(groups.cp_rings.size() == 2);
    REQUIRE(groups.cp_rings[0][0] ==
            std::vector<RankId>{RankId(0), RankId(2), RankId(4), RankId(6)});
    REQUIRE(groups.cp_rings[1][1] ==
            std::vector<RankId>{RankId(25), RankId(27), RankId(29), RankId(31)});
    REQUIRE(groups.dp_groups[0][0].size() == 12);
    const std::set<RankId> members(groups.dp_groups[1][1].begin(), groups.dp_groups[1][1].end());
    REQUIRE(members.size() == 12);
    for (const RankId r : members) {
        const RankCoordinates x = coordinates_of(layout, static_cast<int>(r.value));
        REQUIRE(x.tp == 1);
        REQUIRE(x.pp == 1);
    }
}

TEST_CASE("a context-parallel step on a topology: cp_s against the ring's closed form",
          "[step][context_parallel]") {
    // 16 GPUs: TP 2 x CP 4 x DP 2, one stage (the CP ring inside a server, on NVLink). A 16k
    // sequence keeps every ring step shorter than its attention block, so only the dK/dV
    // going home after the backward blocks is exposed; with a tiny sequence the blocks are
    // short and the steps show too.
    const Topology topology = load_topology_file(std::filesystem::path(STEPSIM_SOURCE_DIR) /
                                                 "topologies" / "dgx-h100-16.textproto");
    ModelConfig model = test::llama_7b_model();
    model.layers = 2;
    model.seq_len = 16384;
    TrainingJob job = test::make_job(model, 4, 2, 1, 2);
    job.layout.cp = 4;
    StepOptions options;
    StepResult long_seq = simulate_step(job, topology, options);
    REQUIRE(long_seq.cluster.cp_s > 0.0);
    REQUIRE(long_seq.stages[0].breakdown.total_s() == Approx(long_seq.step_time_s));
    const auto estimate = [](const StepResult& r) {
        for (const StepEstimate& e : r.estimates) {
            if (e.name == "cp") {
                return e;
            }
        }
        FAIL("no cp estimate");
        return StepEstimate{};
    };
    REQUIRE(estimate(long_seq).simulated_s == long_seq.stages[0].breakdown.cp_s);
    REQUIRE(estimate(long_seq).closed_form_s ==
            Approx(long_seq.stages[0].breakdown.cp_s).epsilon(0.25));
    job.model.seq_len = 256;
    StepResult short_seq = simulate_step(job, topology, options);
    REQUIRE(short_seq.cluster.cp_s > 0.0);
    // The closed form times each transfer alone (α + S/B of the slowest hop); the simulation
    // runs it on the network with its mirrors' contention ignored (fast fidelity).
    REQUIRE(estimate(short_seq).simulated_s == Approx(short_seq.stages[0].breakdown.cp_s));
    REQUIRE(estimate(short_seq).closed_form_s ==
            Approx(short_seq.stages[0].breakdown.cp_s).epsilon(0.25));
}
