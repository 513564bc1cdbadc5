// SPDX-License-Identifier: Apache-2.0
// File: spec.h
// Loading specs: text-format protobuf files (.textproto) become validated model objects.
// Every problem in a file is reported at once, as a SpecError whose diagnostics carry
// file:line:col and the field path. Overrides (--set FIELD=VALUE) edit any field by its
// protobuf path before validation, e.g. "fabric[0].fat_tree.oversubscription=2".
#pragma once

#include "stepsim/failures.h"
#include "stepsim/stragglers.h"
#include "stepsim/topology.h"
#include "stepsim/workload.h"

#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stepsim {

/// One --set FIELD=VALUE. `field_path` is a protobuf path: dotted field names, with [i] for
/// an element of a repeated field ("instance[2].count").
struct SpecOverride {
    std::string field_path;
    std::string value;
};

/// Parses "FIELD=VALUE"; throws SpecError (location "<command line>") when malformed.
SpecOverride parse_override(std::string_view text);

/// Whether `field_path` (as in SpecOverride, without a prefix) names a field of a workload spec
/// (workloads/workload.proto) or of a topology spec (topologies/topology.proto): every name
/// exists in its message, [i] exactly after repeated fields, and the last one is a scalar. Index
/// ranges are not checked (they depend on the file). `--set` uses these to send an unprefixed
/// topology path to the topology.
bool is_workload_field_path(std::string_view field_path);
bool is_topology_field_path(std::string_view field_path);

/// Loads, expands (compact form: templates, instances, fabric builders) and validates a
/// topology spec. Throws SpecError with every problem found.
Topology load_topology_file(const std::filesystem::path& path,
                            std::span<const SpecOverride> overrides = {});
/// As load_topology_file, from text; `display_name` is used in messages.
Topology load_topology_text(std::string_view text,
                            std::string_view display_name,
                            std::span<const SpecOverride> overrides = {});

// ---- failures specs (issue 6; workloads/failures.proto) -------------------------------------

/// A loaded failures spec: the failure model for the given cluster, and the spec's restart
/// policy when it has one.
struct FailureSpec {
    std::string description;
    FailureModel model;
    std::optional<RestartPolicy> restart;
};

/// Loads and validates a failures spec; classes without an explicit count take theirs from
/// `counts` (an unknown count is an error located at the class). Throws SpecError with every
/// problem found.
FailureSpec load_failures_file(const std::filesystem::path& path,
                               const ComponentCounts& counts,
                               std::span<const SpecOverride> overrides = {});
/// As load_failures_file, from text; `display_name` is used in messages.
FailureSpec load_failures_text(std::string_view text,
                               std::string_view display_name,
                               const ComponentCounts& counts,
                               std::span<const SpecOverride> overrides = {});

/// Loads and validates a workload spec (workloads/workload.proto): syntax errors, units, the
/// GPU name and every validate_job() problem, located at file:line:col ("<command line>" for
/// fields set by an override). Checks that need the cluster are
/// validate_job_against_cluster()'s (workload.h). Throws SpecError.
TrainingJob load_workload_file(const std::filesystem::path& path,
                               std::span<const SpecOverride> overrides = {});
/// As load_workload_file, from text; `display_name` is used in messages (and a
/// hardware.kernel_profile path is relative to its folder).
TrainingJob load_workload_text(std::string_view text,
                               std::string_view display_name,
                               std::span<const SpecOverride> overrides = {});

/// Loads a measured kernel-time table (workloads/kernel_profile.proto): every row needs a
/// time with a unit and a source; GEMM and attention rows positive m, n, k. Throws SpecError.
KernelProfile load_kernel_profile_file(const std::filesystem::path& path);
/// As load_kernel_profile_file, from text.
KernelProfile load_kernel_profile_text(std::string_view text, std::string_view display_name);

// ---- straggler scenarios (issue 5; workloads/scenario.proto) --------------------------------

/// Loads a straggler scenario and resolves its selectors against `topology` and `job`: an
/// unknown rank, node, stage, replica, device or link, a factor <= 0 or NaN, a bad
/// distribution, or links down that partition the job's GPUs are SpecErrors at file:line:col.
/// The topology is edited during the partition check and restored before returning.
Scenario load_scenario_file(const std::filesystem::path& path,
                            Topology& topology,
                            const TrainingJob& job,
                            std::span<const SpecOverride> overrides = {});
/// As load_scenario_file, from text; `display_name` is used in messages.
Scenario load_scenario_text(std::string_view text,
                            std::string_view display_name,
                            Topology& topology,
                            const TrainingJob& job,
                            std::span<const SpecOverride> overrides = {});
/// One `--straggler SELECTOR:FACTORS` flag, e.g. "rank=17:compute=1.3", "node=3:factor=1.2",
/// "stage=2:compute=1.1", "link=A->B:comm=4", "links=17/inter-node:comm=2", "link=A<->B:down".
/// Throws SpecError (location "<command line>").
Slowdown parse_straggler_flag(std::string_view text, Topology& topology, const TrainingJob& job);

}  // namespace stepsim
