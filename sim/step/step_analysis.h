// SPDX-License-Identifier: Apache-2.0
// File: step_analysis.h
// Reads a step's simulated timeline back: where each stage's time went (compute, recompute,
// exposed communication by kind, pipeline bubble, other idle), how many micro-batches of
// activations each stage held at its peak, and the critical path. Every figure is measured
// from task start and end times, never from a formula.
#pragma once

#include "stepsim/training_step.h"

#include "step_executor.h"
#include "step_lowering.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace stepsim {

enum class TimeCategory : std::uint8_t {
    kCompute,    ///< forward, backward, weight-gradient and optimizer kernels
    kRecompute,  ///< activation recomputation
    kTp,         ///< exposed tensor-parallel collectives (they block the compute stream)
    kPp,         ///< waiting while a pipeline message is on the wire
    kDp,         ///< waiting for gradient reduction
    kZero,       ///< waiting for ZeRO 1-2 parameter all-gathers
    kEp,         ///< waiting for MoE all-to-alls (token dispatch and combine)
    kCp,         ///< waiting for context parallelism's K/V exchange
    kFsdp,       ///< waiting for ZeRO-3 (FSDP) per-layer gathers and reduce-scatters
    kBubble,     ///< waiting for another stage's compute (warm-up, drain, imbalance)
    kOtherIdle,  ///< data loading and anything else
};

inline constexpr std::size_t kTimeCategories = 11;

/// "compute", "recompute", "tp", "pp", "dp", "zero", "ep", "cp", "fsdp", "bubble", "other_idle"
std::string_view to_string(TimeCategory category);

/// Time per category; the entries of one stage sum to the step time.
using TimeBreakdown = std::array<Time, kTimeCategories>;

/// An idle stretch of a compute stream and what it was blamed on.
struct IdleGap {
    Time start{0};
    Time end{0};
    TimeCategory category = TimeCategory::kBubble;
};

struct StageAnalysis {
    TimeBreakdown breakdown{};
    std::vector<IdleGap> gaps;  ///< in time order
    Time busy_until{0};         ///< end of the stage's last task (any stream)
    /// Most micro-batches (in model chunks) whose forward had started and whose backward had
    /// not finished at one moment on this stage.
    int peak_in_flight_chunks = 0;
};

/// A stretch of the critical path: consecutive tasks of one stage and category, merged.
struct CriticalPathSegment {
    int stage = 0;
    std::string kind;  ///< "compute", "recompute", "optimizer", "tp", "pp", "dp", "zero", ...
    Time time{0};
};

struct StepAnalysis {
    Time step_time{0};
    std::vector<StageAnalysis> stages;
    /// Time on the critical path by (stage, kind), in order of first appearance (earliest
    /// first); sums to step_time.
    std::vector<CriticalPathSegment> critical_path;
};

StepAnalysis analyze_step(const LoweredStep& lowered, const TaskTimeline& timeline);

/// The public breakdown (seconds) of a measured one.
StepBreakdown to_step_breakdown(const TimeBreakdown& times);

/// A timeline slice's category: the communication kind, or compute / recompute / optimizer /
/// data_loader.
std::string slice_category(const Task& task);

}  // namespace stepsim
