// SPDX-License-Identifier: Apache-2.0
// The symmetry the step simulation folds (docs/models/training-step.md, "Symmetry"): DP
// replicas that are alike are simulated once. The reference is StepOptions::is_exact, which
// simulates every replica and times every collective group itself.
//
// Cluster used below (built in code): four one-GPU servers, two per leaf switch, one spine;
//
//     gpu0 gpu1   gpu2 gpu3      GPU -PCIe 63 GB/s- NIC -IB 50 GB/s- leaf
//       \  /        \  /
//      leaf A      leaf B        each leaf has ONE 50 GB/s uplink to the spine: 2:1
//          \       /             oversubscribed, and shared by both replicas' messages
//           spine
//
// TP1 PP2 DP2 in Megatron's order (rank = dp + 2·pp): stage 0 on gpu0, gpu1 (leaf A), stage 1
// on gpu2, gpu3 (leaf B); replica 0 sends gpu0 <-> gpu2, replica 1 gpu1 <-> gpu3, both over the
// spine. Swapping the two servers of each leaf maps replica 0 onto replica 1: symmetric.
#include "stepsim/perturbed_step.h"
#include "stepsim/spec.h"
#include "stepsim/training_step.h"

#include "unit/workload/workload_test_models.h"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace stepsim;

namespace {

Topology two_leaves() {
    Topology t;
    std::vector<NodeId> gpus;
    std::vector<NodeId> nics;
    for (int h = 0; h < 4; ++h) {
        gpus.push_back(t.add_node("gpu" + std::to_string(h), NodeKind::kGpu, h));
        nics.push_back(t.add_node("nic" + std::to_string(h), NodeKind::kNic, h));
    }
    const NodeId leaf_a = t.add_node("leaf-a", NodeKind::kSwitch, -1, 1);
    const NodeId leaf_b = t.add_node("leaf-b", NodeKind::kSwitch, -1, 1);
    const NodeId spine = t.add_node("spine", NodeKind::kSwitch, -1, 2);
    for (int h = 0; h < 4; ++h) {
        t.add_duplex_link(gpus[static_cast<std::size_t>(h)], nics[static_cast<std::size_t>(h)],
                          LinkKind::kPcie, Time(500'000), 63e9);
        t.add_duplex_link(nics[static_cast<std::size_t>(h)], h < 2 ? leaf_a : leaf_b,
                          LinkKind::kInfiniBand, Time(1'000'000), 50e9);
    }
    t.add_duplex_link(leaf_a, spine, LinkKind::kInfiniBand, Time(1'000'000), 50e9);
    t.add_duplex_link(leaf_b, spine, LinkKind::kInfiniBand, Time(1'000'000), 50e9);
    return t;
}

/// 8 layers of h = 4096 (16 MiB pipeline messages), 8 micro-batches per replica.
TrainingJob pp2_dp2_job() {
    return test::make_job(test::gpt_model(8, 4096, 32, 2048, 32000), 16, 1, 2, 2);
}

/// The GPU -> NIC link of `rank`.
LinkId pcie_up(const Topology& topology, int rank) {
    for (const LinkId id :
         topology.out_links(topology.gpu(RankId(static_cast<std::uint32_t>(rank))))) {
        if (topology.link(id).kind == LinkKind::kPcie) {
            return id;
        }
    }
    FAIL("no PCIe link");
    return LinkId{};
}

void require_same_stages(const StepResult& a, const StepResult& b) {
    REQUIRE(a.stages.size() == b.stages.size());
    for (std::size_t s = 0; s < a.stages.size(); ++s) {
        INFO("stage " << s);
        const StepBreakdown& x = a.stages[s].breakdown;
        const StepBreakdown& y = b.stages[s].breakdown;
        REQUIRE(x.compute_s == y.compute_s);
        REQUIRE(x.pp_s == y.pp_s);
        REQUIRE(x.dp_s == y.dp_s);
        REQUIRE(x.bubble_s == y.bubble_s);
    }
}

}  // namespace

TEST_CASE("a symmetric cluster: the folded step equals every replica simulated",
          "[step][symmetry]") {
    const Topology topology = two_leaves();
    const TrainingJob job = pp2_dp2_job();
    StepOptions exact;
    exact.is_exact = true;
    const StepResult folded = simulate_step(job, topology);
    const StepResult every = simulate_step(job, topology, exact);
    REQUIRE(folded.simulated_gpus == 2);  // one replica: p compute streams
    REQUIRE(every.simulated_gpus == 4);   // p·dp
    REQUIRE(every.step_time_s == folded.step_time_s);
    require_same_stages(folded, every);
    REQUIRE(every.cluster.pp_s == Approx(folded.cluster.pp_s).epsilon(1e-12));
    REQUIRE(folded.stages[1].breakdown.pp_s + folded.stages[1].breakdown.bubble_s > 0);
}

TEST_CASE("a symmetric DGX cluster: folded and exact give the same step", "[step][symmetry]") {
    // TP2 PP2 DP4 on two DGX H100 servers: each stage on one server, messages over the rails.
    const Topology topology = load_topology_file(std::filesystem::path(STEPSIM_SOURCE_DIR) /
                                                 "topologies" / "dgx-h100-16.textproto");
    const TrainingJob job = test::make_job(test::gpt_model(4, 2048, 16, 2048, 32000), 16, 2, 2, 4);
    StepOptions exact;
    exact.is_exact = true;
    const StepResult folded = simulate_step(job, topology);
    const StepResult every = simulate_step(job, topology, exact);
    REQUIRE(folded.simulated_gpus == 2);
    REQUIRE(every.simulated_gpus == 8);
    REQUIRE(every.step_time_s == folded.step_time_s);
    require_same_stages(folded, every);
    REQUIRE(folded.cluster.dp_s + folded.cluster.tp_s > 0);
}

TEST_CASE("a degraded link makes its replica a class of its own, timed like --exact",
          "[step][symmetry]") {
    // Replica 1's first GPU (rank 1) sends its activations at 1/10 of the PCIe bandwidth:
    // replica 1 is no longer alike replica 0. The check finds it (route colours and message
    // routes differ), so two replicas are simulated, and the result is the exact one.
    Topology topology = two_leaves();
    const TrainingJob job = pp2_dp2_job();
    const StepResult symmetric = simulate_step(job, topology);
    topology.set_link_bandwidth(pcie_up(topology, 1), 6.3e9);
    StepOptions exact;
    exact.is_exact = true;
    const StepResult checked = simulate_step(job, topology);
    const StepResult every = simulate_step(job, topology, exact);
    REQUIRE(checked.simulated_gpus == 4);  // two classes of one replica each
    REQUIRE(checked.step_time_s == every.step_time_s);
    REQUIRE(checked.step_time_s > symmetric.step_time_s);
    // Folding replica 1 into replica 0 would have missed it: replica 0 alone is as fast as
    // the symmetric step on its own pipeline.
    REQUIRE(checked.cluster.pp_s + checked.cluster.bubble_s + checked.cluster.dp_s >
            symmetric.cluster.pp_s + symmetric.cluster.bubble_s + symmetric.cluster.dp_s);
}

TEST_CASE("a straggler: its replica simulated apart, the others folded, equals all simulated",
          "[step][symmetry]") {
    // Replica 1 computes 30% slower. Folding replicas {0, 2, 3} into replica 0 (weight 3) and
    // simulating replica 1 apart gives the step of all four replicas simulated one by one.
    const Topology topology = load_topology_file(std::filesystem::path(STEPSIM_SOURCE_DIR) /
                                                 "topologies" / "dgx-h100-16.textproto");
    const TrainingJob job = test::make_job(test::gpt_model(4, 2048, 16, 2048, 32000), 16, 2, 2, 4);
    const auto slow = [](const ComputeTaskInfo& task, Time, Time duration) {
        return task.replica == 1 ? Time(duration.count() * 13 / 10) : duration;
    };
    StepPerturbation folded;
    folded.replicas = {0, 1};
    folded.replica_weights = {3, 1};
    folded.compute_duration = slow;
    StepPerturbation every;
    every.replicas = {0, 1, 2, 3};
    every.replica_weights = {1, 1, 1, 1};
    every.compute_duration = slow;
    const StepOptions options;
    const PerturbedStepResult a = simulate_perturbed_step(job, topology, options, folded);
    const PerturbedStepResult b = simulate_perturbed_step(job, topology, options, every);
    REQUIRE(a.step.step_time_s == b.step.step_time_s);
    REQUIRE(a.step.cluster.compute_s == Approx(b.step.cluster.compute_s).epsilon(1e-12));
    REQUIRE(a.step.step_time_s > simulate_step(job, topology).step_time_s);
}

TEST_CASE("an oversubscribed uplink shared by replicas: fast folds it, full --exact contends",
          "[step][symmetry]") {
    // Both replicas' messages cross the one leaf-spine uplink. Fast fidelity times each
    // replica's messages on a network of their own (the folded replica's are alone too), so
    // folding is exact there. Full fidelity with --exact puts both replicas' messages on one
    // network: they share the uplink and the step is longer than the folded full step, which
    // does not see the other replica's messages (docs/models/training-step.md, "Symmetry").
    const Topology topology = two_leaves();
    const TrainingJob job = pp2_dp2_job();
    StepOptions fast_exact;
    fast_exact.is_exact = true;
    REQUIRE(simulate_step(job, topology, fast_exact).step_time_s ==
            simulate_step(job, topology).step_time_s);
    StepOptions full;
    full.fidelity = StepFidelity::kFull;
    StepOptions full_exact = full;
    full_exact.is_exact = true;
    const StepResult folded_full = simulate_step(job, topology, full);
    const StepResult exact_full = simulate_step(job, topology, full_exact);
    REQUIRE(exact_full.simulated_gpus == 4);
    REQUIRE(exact_full.step_time_s > folded_full.step_time_s);
    REQUIRE(exact_full.cluster.pp_s > folded_full.cluster.pp_s);
}

TEST_CASE("context parallelism: --exact and the perturbed step copy the CP rings per replica",
          "[step][symmetry]") {
    // TP2 CP2 PP2 DP2 on two DGX H100 servers. Each replica's copy of the lowering moves its
    // CP ring to that replica (every member's DP coordinate), so on the symmetric cluster the
    // exact step (every replica), the symmetric perturbed step and the folded step agree.
    const Topology topology = load_topology_file(std::filesystem::path(STEPSIM_SOURCE_DIR) /
                                                 "topologies" / "dgx-h100-16.textproto");
    TrainingJob job = test::make_job(test::gpt_model(4, 2048, 16, 2048, 32000), 16, 2, 2, 2);
    job.layout.cp = 2;
    job.layout.is_sequence_parallel = true;
    job.training.is_flash_attention = true;
    StepOptions exact;
    exact.is_exact = true;
    const StepResult folded = simulate_step(job, topology);
    const StepResult every = simulate_step(job, topology, exact);
    REQUIRE(every.simulated_gpus == 4);  // p·dp
    REQUIRE(every.step_time_s == folded.step_time_s);
    require_same_stages(folded, every);
    REQUIRE(folded.cluster.cp_s >= 0);
    const PerturbedStepResult symmetric =
        simulate_perturbed_step(job, topology, {}, StepPerturbation::symmetric(2));
    REQUIRE(symmetric.step.step_time_s == folded.step_time_s);
    // Replica 1 computing 30% slower slows the step; simulated apart or with all replicas the
    // same.
    const auto slow = [](const ComputeTaskInfo& task, Time, Time duration) {
        return task.replica == 1 ? Time(duration.count() * 13 / 10) : duration;
    };
    StepPerturbation perturbation;
    perturbation.replicas = {0, 1};
    perturbation.replica_weights = {1, 1};
    perturbation.compute_duration = slow;
    const PerturbedStepResult slower = simulate_perturbed_step(job, topology, {}, perturbation);
    REQUIRE(slower.step.step_time_s > folded.step_time_s);
}
