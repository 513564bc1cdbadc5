// SPDX-License-Identifier: Apache-2.0
// File: fuzz_drivers.h
// One driver per fuzz target: feeds an arbitrary input through a spec loader's whole
// load-and-validate path (and the cheap derived figures a command computes next). Bad input
// must end in SpecError or UnitError; any other exception, a sanitizer report or an output
// invariant broken (a NaN, a negative time or size) is a bug. Shared by the libFuzzer targets
// (tests/fuzz/*_fuzz.cc) and the corpus replay in the normal suite (tests/unit/fuzz_regression).
#pragma once

#include "stepsim/error.h"
#include "stepsim/failures.h"
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

/// Trace-event JSON: read (small limits), and when it reads, replayed with every
/// attribution. Bad input ends in SpecError; every reported time is finite and non-negative.
inline void drive_trace(std::string_view text) {
    TraceLimits limits;
    limits.max_events = 20'000;
    limits.max_json_bytes = 1 << 20;
    try {
        const Trace trace = parse_trace_json(text, "fuzz.json", limits);
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
        // arithmetic on a string, which the runner reports per point (stepsim::UserError).
        for (const SweepFilter& filter : sweep.skip) {
            try {
                filter.when.is_true(variables);
            } catch (const stepsim::UserError&) {}
        }
        if (sweep.cost) {
            try {
                sweep.cost->evaluate(variables);
            } catch (const stepsim::UserError&) {}
        }
        require(!sweep.command_args(point).empty(), "empty command line");
    }
    sweep.identity();
}

}  // namespace stepsim::fuzz
