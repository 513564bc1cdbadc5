// SPDX-License-Identifier: Apache-2.0
// File: pipeline_schedule.h
// Pipeline schedules as pure policies: for p stages, m micro-batches and v model chunks per
// stage, the ordered list of (micro-batch, chunk, F | B | W) operations each stage runs. No
// time, no network: the step executor turns the lists into tasks and times them, and the
// bubble is measured from that timeline. One schedule per file (gpipe.cc, one_f_one_b.cc,
// interleaved_one_f_one_b.cc, zero_bubble_h1.cc). See docs/models/training-step.md.
#pragma once

#include "stepsim/workload.h"

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace stepsim {

enum class PipelineOpKind : std::uint8_t {
    kForward,   ///< F: forward of one chunk for one micro-batch
    kBackward,  ///< B: backward (input and weight gradients, or input only when split)
    kWeight,    ///< W: weight gradients, only in schedules that split the backward
};

/// "F", "B", "W"
std::string_view to_string(PipelineOpKind kind);

struct PipelineOp {
    int microbatch = 0;
    int chunk = 0;  ///< local chunk on the stage, 0..v-1; virtual stage = chunk·p + stage
    PipelineOpKind kind = PipelineOpKind::kForward;

    friend bool operator==(const PipelineOp&, const PipelineOp&) = default;
};

/// The shape a schedule is built for.
struct PipelineShape {
    int stages = 1;        ///< p
    int microbatches = 1;  ///< m
    int chunks = 1;        ///< v (model chunks per stage)
};

/// Virtual stage (position in the forward chain) of a local chunk: chunk·p + stage
/// (Megatron-LM's interleaved assignment; chunk_layers() in workload.h uses the same).
constexpr int virtual_stage(int stage, int chunk, int stages) {
    return chunk * stages + stage;
}

class PipelineSchedule {
public:
    virtual ~PipelineSchedule() = default;
    virtual std::string_view name() const = 0;

    /// True when B is backward-for-inputs only and W ops carry the weight gradients.
    virtual bool splits_backward() const { return false; }

    /// Chunks per stage the schedule supports for this shape: throws UserError
    /// for a shape it cannot build (v != 1 outside interleaving, m % p != 0 for interleaving).
    virtual void check_shape(const PipelineShape& shape) const;
    /// Ops of every stage, in execution order: result[stage] lists each (micro-batch, chunk)
    /// once as F, once as B and, when splits_backward(), once as W.
    std::vector<std::vector<PipelineOp>> build(const PipelineShape& shape) const;

protected:
    virtual std::vector<std::vector<PipelineOp>> build_checked(
        const PipelineShape& shape) const = 0;
};

/// GPipe (Huang et al. 2019): all forwards, then all backwards.
class GPipeSchedule final : public PipelineSchedule {
public:
    std::string_view name() const override { return "gpipe"; }

protected:
    std::vector<std::vector<PipelineOp>> build_checked(const PipelineShape& shape) const override;
};

/// 1F1B / PipeDream-Flush (Narayanan et al. 2021 §2.2.1): p-s-1 warm-up forwards, then one
/// forward and one backward alternately, then the remaining backwards.
class OneFOneBSchedule final : public PipelineSchedule {
public:
    std::string_view name() const override { return "1f1b"; }

protected:
    std::vector<std::vector<PipelineOp>> build_checked(const PipelineShape& shape) const override;
};

/// Interleaved 1F1B with v chunks per stage (Narayanan et al. 2021 §2.2.2, Megatron-LM's
/// forward_backward_pipelining_with_interleaving): needs m % p == 0.
class InterleavedOneFOneBSchedule final : public PipelineSchedule {
public:
    std::string_view name() const override { return "interleaved"; }

    void check_shape(const PipelineShape& shape) const override;

protected:
    std::vector<std::vector<PipelineOp>> build_checked(const PipelineShape& shape) const override;
};

/// ZB-H1 (Qi et al. 2024, "Zero Bubble Pipeline Parallelism"): backward split into B and W;
/// 1F1B's memory limit (at most p - s micro-batches between F and B on stage s); W fills the
/// time a stage would otherwise wait.
class ZeroBubbleH1Schedule final : public PipelineSchedule {
public:
    std::string_view name() const override { return "zb-h1"; }

    bool splits_backward() const override { return true; }

protected:
    std::vector<std::vector<PipelineOp>> build_checked(const PipelineShape& shape) const override;
};

std::unique_ptr<PipelineSchedule> make_pipeline_schedule(PipelineScheduleKind kind);

}  // namespace stepsim
