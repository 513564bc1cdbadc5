// SPDX-License-Identifier: Apache-2.0
// File: fuzz_drivers.h
// One driver per fuzz target: feeds an arbitrary input through a spec loader's whole
// load-and-validate path (and the cheap derived figures a command computes next). Bad input
// must end in SpecError or UnitError; any other exception, a sanitizer report or an output
// invariant broken (a NaN, a negative time or size) is a bug. Shared by the libFuzzer targets
// (tests/fuzz/*_fuzz.cc) and the corpus replay in the normal suite (tests/unit/robustness).
#pragma once

#include "stepsim/chakra.h"
#include "stepsim/error.h"
#include "stepsim/failures.h"
#include "stepsim/kernels.h"
#include "stepsim/perturbed_step.h"
#include "stepsim/spec.h"
#include "stepsim/stragglers.h"
#include "stepsim/sweep.h"
#include "stepsim/topology.h"
#include "stepsim/trace.h"
#include "stepsim/units.h"
#include "stepsim/workload.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stepsim::fuzz {

/// A broken output invariant (not SpecError/UnitError, so it reaches the fuzzer as a crash).
class InvariantViolation : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

inline void require(bool condition, const std::string& what) {
    if (!condition) {
        throw InvariantViolation("fuzz invariant broken: " + what);
    }
}

inline void require_finite_nonnegative(double x, const std::string& what) {
    require(std::isfinite(x) && x >= 0, what + " = " + std::to_string(x));
}

/// Topologies up to this size are also summarized (routes between all GPU pairs), as
/// `stepsim topology` does; larger ones stop after loading to keep an execution fast.
inline constexpr std::size_t kMaxSummarizedNodes = 96;

inline void check_topology(const Topology& topology) {
    for (std::uint32_t i = 0; i < topology.link_count(); ++i) {
        const Link& link = topology.link(LinkId{i});
        require(link.latency >= Time::zero(), "negative link latency");
        require(std::isfinite(link.bandwidth_Bps) && link.bandwidth_Bps > 0,
                "link bandwidth not positive and finite");
    }
    if (topology.node_count() > kMaxSummarizedNodes) {
        return;
    }
    Router router(topology);
    const TopologySummary summary = summarize(topology, router);
    for (const auto& [tier, bandwidth_Bps] : summary.injection_Bps_by_tier) {
        require_finite_nonnegative(bandwidth_Bps, "injection bandwidth of " + tier);
    }
}

/// `overrides` followed by `limits`: a spec's own limits block cannot raise them.
inline std::vector<SpecOverride> with_limits(std::span<const SpecOverride> overrides,
                                             std::initializer_list<SpecOverride> limits) {
    std::vector<SpecOverride> all(overrides.begin(), overrides.end());
    all.insert(all.end(), limits.begin(), limits.end());
    return all;
}

/// load_topology_text on the input, under limits small enough to keep one execution within
/// milliseconds (the default limits are exercised by tests/specs/bad/too-*.textproto).
inline void drive_topology(std::string_view text, std::span<const SpecOverride> overrides = {}) {
    const std::vector<SpecOverride> all =
        with_limits(overrides, {{"limits.max_devices", "20000"},
                                {"limits.max_directed_links", "200000"},
                                {"limits.max_count", "20000"}});
    try {
        check_topology(load_topology_text(text, "fuzz.textproto", all));
    } catch (const SpecError&) {}
}

inline void check_workload(const TrainingJob& job) {
    require(microbatches(job) > 0, "microbatches not positive");
    require(tokens_per_step(job) > 0, "tokens_per_step not positive");
    require(parameter_count(job.model) > 0, "parameter_count not positive");
    require_finite_nonnegative(model_flops_per_step(job), "model_flops_per_step");
    require_finite_nonnegative(hardware_flops_per_step(job), "hardware_flops_per_step");
    require(pipeline_message_bytes(job) >= 0, "pipeline_message_bytes negative");
    const LayerCosts costs = layer_costs(job);
    require(compute_time_s(job.gpu, costs.forward) >= 0, "forward time negative");
    for (int stage = 0; stage < job.layout.pp; ++stage) {
        const MemoryBreakdown memory = memory_per_gpu(job, stage);
        require(memory.total_bytes() >= 0, "memory negative");
        require(stage_gradient_bytes(job, stage) >= 0, "gradient bytes negative");
    }
}

/// load_workload_text on the input, then the figures `stepsim workload` derives.
inline void drive_workload(std::string_view text, std::span<const SpecOverride> overrides = {}) {
    const std::vector<SpecOverride> all = with_limits(
        overrides, {{"limits.max_gpus", "100000"}, {"limits.max_microbatches", "10000"}});
    try {
        check_workload(load_workload_text(text, "fuzz.textproto", all));
    } catch (const SpecError&) {}
}

/// A cluster of known size, so that classes scaling with a component count resolve.
inline ComponentCounts fuzz_component_counts() {
    ComponentCounts counts;
    counts.gpus = 16'384;
    counts.hosts = 2'048;
    counts.nics = 16'384;
    counts.switches = 1'024;
    counts.links = 32'768;
    return counts;
}

/// load_failures_text on the input.
inline void drive_failures(std::string_view text, std::span<const SpecOverride> overrides = {}) {
    try {
        const FailureSpec spec =
            load_failures_text(text, "fuzz.textproto", fuzz_component_counts(), overrides);
        for (const FailureClass& c : spec.model.classes) {
            require(c.count >= 0, "negative component count");
            if (c.distribution == FailureDistribution::kExponential) {
                require(c.mtbf_s > 0 && !std::isnan(c.mtbf_s), "mtbf not positive");
            } else {
                require(c.weibull_shape > 0 && c.weibull_scale_s > 0, "weibull not positive");
            }
        }
    } catch (const SpecError&) {}
}

/// Every parse_* function on the input, with the invariants units.h promises, and the
/// table formatters on what parsed.
inline void drive_units(std::string_view text) {
    try {
        const double s = parse_duration_s(text);
        require_finite_nonnegative(s, "parse_duration_s");
        format_duration(s);
    } catch (const UnitError&) {}
    try {
        require(parse_time(text) >= Time::zero(), "parse_time negative");
    } catch (const UnitError&) {}
    try {
        const std::int64_t bytes = parse_size_bytes(text);
        require(bytes >= 0, "parse_size_bytes negative");
        format_size(static_cast<double>(bytes));
    } catch (const UnitError&) {}
    try {
        const double rate = parse_bandwidth_Bps(text);
        require(std::isfinite(rate) && rate > 0, "parse_bandwidth_Bps not positive");
        format_bandwidth(rate);
    } catch (const UnitError&) {}
    try {
        require_finite_nonnegative(parse_flops(text), "parse_flops");
    } catch (const UnitError&) {}
    try {
        const double rate = parse_flops_per_s(text);
        require(std::isfinite(rate) && rate > 0, "parse_flops_per_s not positive");
    } catch (const UnitError&) {}
}

/// The bundled specs the override target edits, read once.
struct OverrideBases {
    std::vector<std::string> topologies;
    std::vector<std::string> workloads;
    std::string failures;
};

/// A recorded trace, plain or gzip (by its magic bytes, as `whatif --replay` reads files):
/// read (small limits), and when it reads, replayed with every attribution. Bad input ends in
/// SpecError; every reported time is finite and non-negative.
inline void drive_trace(std::string_view bytes) {
    TraceLimits limits;
    limits.max_events = 20'000;
    limits.max_json_bytes = 1 << 20;
    try {
        const Trace trace = parse_trace_bytes(bytes, "fuzz.json", limits);
        if (trace.events.size() > 2'000) {
            return;  // keep an execution fast
        }
        const ReplayResult r = replay_trace(trace, nullptr);
        require(std::isfinite(r.slowdown) && r.slowdown >= 0, "replay slowdown");
        require_finite_nonnegative(r.replayed_step_time_s, "replayed_step_time_s");
        require_finite_nonnegative(r.ideal_step_time_s, "ideal_step_time_s");
        require_finite_nonnegative(r.recorded_step_time_s, "recorded_step_time_s");
        for (const ReplayAttribution& a : r.by_worker) {
            require_finite_nonnegative(a.step_time_s, "attribution step_time_s");
        }
        require(std::isfinite(r.m_s) && std::isfinite(r.m_w), "M_S and M_W finite");
    } catch (const SpecError&) {}
}

inline std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    require(static_cast<bool>(in), "cannot read " + path.string());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

inline const OverrideBases& override_bases(const std::filesystem::path& source_dir) {
    static const OverrideBases bases = [&] {
        OverrideBases b;
        b.topologies = {read_text(source_dir / "topologies/explicit-4gpu.textproto"),
                        read_text(source_dir / "topologies/dgx-h100-16.textproto")};
        b.workloads = {read_text(source_dir / "workloads/tiny-dp.textproto"),
                       read_text(source_dir / "workloads/tiny-pp.textproto")};
        b.failures = read_text(source_dir / "workloads/failures-llama3.textproto");
        return b;
    }();
    return bases;
}

/// The input's first byte picks a bundled spec; each following line is a --set argument,
/// parsed with parse_override (malformed ones must be SpecErrors) and applied while loading.
inline void drive_overrides(std::string_view input, const std::filesystem::path& source_dir) {
    if (input.empty()) {
        return;
    }
    const unsigned choice = static_cast<unsigned char>(input.front()) % 5;
    input.remove_prefix(1);
    std::vector<SpecOverride> overrides;
    while (!input.empty()) {
        const std::size_t newline = input.find('\n');
        const std::string_view line = input.substr(0, newline);
        try {
            overrides.push_back(parse_override(line));
        } catch (const SpecError&) {}
        if (newline == std::string_view::npos) {
            break;
        }
        input.remove_prefix(newline + 1);
    }
    const OverrideBases& bases = override_bases(source_dir);
    if (choice < 2) {
        drive_topology(bases.topologies[choice], overrides);
    } else if (choice < 4) {
        drive_workload(bases.workloads[choice - 2], overrides);
    } else {
        drive_failures(bases.failures, overrides);
    }
}

// ---- scenario (issue 5; workloads/scenario.proto) ------------------------------------------

/// The cluster and job a scenario is resolved against: topologies/dgx-h100-16 (2 nodes x 8
/// H100) and workloads/tiny-pp (TP2 x PP4 x DP2), loaded once.
struct ScenarioBase {
    Topology topology;
    TrainingJob job;
};

inline ScenarioBase& scenario_base(const std::filesystem::path& source_dir) {
    static ScenarioBase base{load_topology_file(source_dir / "topologies/dgx-h100-16.textproto"),
                             load_workload_file(source_dir / "workloads/tiny-pp.textproto")};
    return base;
}

/// What load_scenario_text promises about a loaded scenario: every rank inside the job, every
/// link inside the cluster, factors positive and finite.
inline void check_scenario(const Scenario& scenario, const Topology& topology, int world) {
    const auto check_ranks = [&](const std::vector<std::int32_t>& ranks, const char* what) {
        for (const std::int32_t r : ranks) {
            require(r >= 0 && r < world, std::string(what) + " rank outside the job");
        }
    };
    for (const Slowdown& s : scenario.slowdowns) {
        check_ranks(s.ranks, "slowdown");
        for (const std::uint32_t l : s.links) {
            require(l < topology.link_count(), "slowdown link outside the cluster");
        }
        require(std::isfinite(s.compute_factor) && s.compute_factor > 0, "compute factor");
        require(std::isfinite(s.link_factor) && s.link_factor > 0, "link factor");
    }
    if (scenario.jitter) {
        check_ranks(scenario.jitter->ranks, "jitter");
    }
    if (scenario.random_stragglers) {
        require(
            scenario.random_stragglers->count >= 0 && scenario.random_stragglers->count <= world,
            "random straggler count");
    }
    if (scenario.episodes) {
        check_ranks(scenario.episodes->ranks, "episodes");
        require(std::isfinite(scenario.episodes->mean_interval_s) &&
                    scenario.episodes->mean_interval_s > 0,
                "episode mean interval");
    }
}

/// The links' bandwidths and states, to check that loading restored the topology.
inline std::vector<std::pair<double, bool>> link_states(const Topology& topology) {
    std::vector<std::pair<double, bool>> states;
    for (std::uint32_t i = 0; i < topology.link_count(); ++i) {
        const Link& link = topology.link(LinkId{i});
        states.emplace_back(link.bandwidth_Bps, link.is_up);
    }
    return states;
}

/// load_scenario_text on the input against the bundled 16-GPU cluster and job; then what
/// `stepsim whatif` does next short of simulating: apply and undo the link edits, and draw one
/// run's perturbation and time a few compute tasks through its hook (every replica and stage,
/// at the step's start and 10 ms in).
inline void drive_scenario(std::string_view text, const std::filesystem::path& source_dir) {
    ScenarioBase& base = scenario_base(source_dir);
    const std::vector<std::pair<double, bool>> before = link_states(base.topology);
    Scenario scenario;
    try {
        scenario = load_scenario_text(text, "fuzz.textproto", base.topology, base.job);
    } catch (const SpecError&) {
        require(link_states(base.topology) == before, "a rejected scenario left links edited");
        return;
    }
    require(link_states(base.topology) == before, "loading a scenario left links edited");
    check_scenario(scenario, base.topology, base.job.layout.world_size());
    {
        LinkEdits edits(base.topology, scenario.slowdowns);
        for (std::uint32_t i = 0; i < base.topology.link_count(); ++i) {
            const Link& link = base.topology.link(LinkId{i});
            require(!link.is_up || (std::isfinite(link.bandwidth_Bps) && link.bandwidth_Bps > 0),
                    "edited link bandwidth not positive and finite");
        }
    }
    require(link_states(base.topology) == before, "LinkEdits did not restore the links");
    const StepPerturbation perturbation =
        make_perturbation(scenario, base.job, base.topology, scenario.seed);
    perturbation.validate(base.job.layout.dp);
    if (!perturbation.compute_duration) {
        return;
    }
    const Time duration = from_seconds(0.01);
    for (const int replica : perturbation.replicas) {
        for (int stage = 0; stage < base.job.layout.pp; ++stage) {
            for (const Time start : {Time::zero(), from_seconds(0.01)}) {
                const ComputeTaskInfo task{replica, stage, static_cast<std::uint32_t>(stage)};
                const Time took = perturbation.compute_duration(task, start, duration);
                require(took >= Time::zero(), "perturbed compute time negative");
            }
        }
    }
}

// ---- sweep (workloads/sweep.proto) ---------------------------------------------------------

/// How many points drive_sweep enumerates (variables, filters, cost, seed, command line).
inline constexpr std::int64_t kEnumeratedSweepPoints = 8;

/// load_sweep_text on the input, with relative base specs resolved against tests/sweep/ (as
/// the bundled test sweeps are), under a point limit that keeps an execution fast; then the
/// first few points as `stepsim sweep` enumerates them.
inline void drive_sweep(std::string_view text, const std::filesystem::path& source_dir) {
    const std::vector<SpecOverride> limits = {{"limits.max_points", "100000"}};
    SweepSpec sweep;
    try {
        sweep = load_sweep_text(text, "fuzz.textproto", source_dir / "tests/sweep", limits);
    } catch (const SpecError&) {
        return;
    }
    require(sweep.seeds >= 1, "seeds below 1");
    require(sweep.point_count >= 0 && sweep.point_count <= 100'000, "point count");
    const std::int64_t points = std::min(sweep.point_count, kEnumeratedSweepPoints);
    for (std::int64_t point = 0; point < points; ++point) {
        const std::vector<std::size_t> indices = sweep.value_indices(point);
        for (std::size_t i = 0; i < sweep.axes.size(); ++i) {
            require(indices[i] < sweep.axes[i].values.size(), "value index outside its axis");
        }
        require(sweep.seed(point) < (std::uint64_t{1} << 53), "seed above 2^53");
        const SweepExpression::Variables variables = sweep.variables(point);
        // Expressions were checked for unknown names when loaded; what remains for a point is
        // arithmetic on a string, which the runner reports per point (std::invalid_argument).
        for (const SweepFilter& filter : sweep.skip) {
            try {
                filter.when.is_true(variables);
            } catch (const std::invalid_argument&) {}
        }
        if (sweep.cost) {
            try {
                sweep.cost->evaluate(variables);
            } catch (const std::invalid_argument&) {}
        }
        require(!sweep.command_args(point).empty(), "empty command line");
    }
    sweep.identity();
}

// ---- Chakra execution traces (sim/spec/chakra_io.cc, sim/chakra/replay.cc) ------------------

/// The cluster a Chakra trace is replayed on: topologies/dgx-h100-16, loaded once.
inline const Topology& chakra_topology(const std::filesystem::path& source_dir) {
    static const Topology topology =
        load_topology_file(source_dir / "topologies/dgx-h100-16.textproto");
    return topology;
}

/// Graphs up to this size are also replayed (two NPUs running the decoded graph).
inline constexpr std::size_t kMaxReplayedChakraNodes = 256;

/// An input starting with '{' is a PREFIX.comm_groups.json; anything else one NPU's .et file.
/// A file that decodes must encode and decode back to the same graph, and is then replayed as
/// two NPUs running that graph (SPMD, as a training job's ranks do) with communicator group 1
/// = {0, 1}, as `stepsim replay` does: bad input ends in SpecError (reading) or
/// std::invalid_argument (replay), and every reported time is finite and non-negative.
inline void drive_chakra(std::string_view bytes, const std::filesystem::path& source_dir) {
    if (!bytes.empty() && bytes.front() == '{') {
        try {
            for (const auto& [id, ranks] :
                 chakra::parse_comm_groups(bytes, "fuzz.comm_groups.json")) {
                require(id >= 0, "negative group id");
                for (const int rank : ranks) {
                    require(rank >= 0, "negative rank in a group");
                }
            }
        } catch (const SpecError&) {}
        return;
    }
    chakra::Limits limits;
    limits.max_nodes_per_file = 4'096;
    limits.max_record_bytes = 1 << 16;
    chakra::Trace trace;
    try {
        trace = chakra::decode_trace(bytes, "fuzz.0.et", limits);
    } catch (const SpecError&) {
        return;
    }
    require(!trace.nodes.empty(), "a decoded trace without nodes");
    const chakra::Trace again = chakra::decode_trace(chakra::encode_trace(trace), "again.0.et");
    require(again.nodes.size() == trace.nodes.size(), "round trip changed the node count");
    for (std::size_t i = 0; i < trace.nodes.size(); ++i) {
        const chakra::Node& a = trace.nodes[i];
        const chakra::Node& b = again.nodes[i];
        require(a.id == b.id && a.type == b.type && a.data_deps == b.data_deps &&
                    a.ctrl_deps == b.ctrl_deps && a.duration_micros == b.duration_micros &&
                    a.comm_size == b.comm_size && a.comm_type == b.comm_type &&
                    a.duration_ps == b.duration_ps && a.pg_name == b.pg_name,
                "round trip changed node " + std::to_string(a.id));
    }
    if (trace.nodes.size() > kMaxReplayedChakraNodes) {
        return;
    }
    chakra::TraceSet set;
    set.traces = {trace, trace};
    set.traces[1].npu = 1;
    set.groups = {{1, {0, 1}}};
    chakra::ReplayResult result;
    try {
        result = chakra::replay_chakra(set, chakra_topology(source_dir));
    } catch (const std::invalid_argument&) {
        return;
    }
    require_finite_nonnegative(result.total_s, "replay total_s");
    require(result.ranks.size() == 2, "a replay result per NPU");
    for (const chakra::RankReplay& rank : result.ranks) {
        require_finite_nonnegative(rank.total_s, "rank total_s");
        require_finite_nonnegative(rank.compute_s, "rank compute_s");
        require(rank.compute_s <= rank.total_s, "compute longer than the rank's time");
        require(rank.total_s <= result.total_s, "a rank slower than the slowest");
    }
    for (const chakra::CriticalPathStep& step : result.critical_path) {
        require(step.start_s <= step.end_s && step.end_s <= result.total_s,
                "critical-path step outside the replay");
    }
}

// ---- kernel profiles (sim/spec/kernel_profile_loader.cc, workloads/kernel_profile.proto) ----

/// load_kernel_profile_text on the input; then what a workload does with a profile: each row
/// (the first 64) as a kernel, looked up and timed by time_work on an H100 that carries the
/// profile. Every row found, every time finite and positive.
inline void drive_kernel_profile(std::string_view text) {
    KernelProfile profile;
    try {
        profile = load_kernel_profile_text(text, "fuzz.textproto");
    } catch (const SpecError&) {
        return;
    }
    GpuSpec gpu = *find_gpu("H100-SXM");
    auto shared = std::make_shared<const KernelProfile>(std::move(profile));
    gpu.kernel_profile = shared;
    WorkAmount work;
    std::size_t rows = 0;
    for (const KernelProfileEntry& e : shared->entries) {
        require(std::isfinite(e.time_s) && e.time_s > 0, "row time not positive and finite");
        require(std::isfinite(e.bytes) && e.bytes >= 0, "row bytes not finite and non-negative");
        if (rows++ == 64) {
            break;
        }
        Kernel kernel;
        kernel.kind = e.kind;
        kernel.name = e.name;  // lives as long as `shared`
        kernel.dtype = e.dtype;
        kernel.m = e.m;
        kernel.n = e.n;
        kernel.k = e.k;
        kernel.batch = e.batch;
        kernel.is_backward = e.is_backward;
        kernel.is_causal = e.is_causal;
        kernel.bytes = e.bytes;
        const std::optional<double> found = shared->find(kernel);
        require(found && std::isfinite(*found) && *found > 0, "a row does not find itself");
        require(std::isfinite(kernel.flops()) && kernel.flops() >= 0, "kernel flops");
        work.add(kernel);
    }
    const KernelTiming timing = time_work(gpu, work);
    require_finite_nonnegative(timing.time_s, "time_work time_s");
    require(timing.kernels_from_profile == timing.kernels, "a profiled kernel timed by the model");
}

}  // namespace stepsim::fuzz
