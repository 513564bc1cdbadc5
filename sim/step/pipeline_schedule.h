// SPDX-License-Identifier: Apache-2.0
// File: pipeline_schedule.h
// Pipeline schedules as pure policies: for p stages, m micro-batches and v model chunks per
// stage, the ordered list of (micro-batch, chunk, F | B | W) operations each stage runs. No
// time, no network: the step executor turns the lists into tasks and times them, and the
// bubble is measured from that timeline. One schedule per file (gpipe.cc, one_f_one_b.cc,
// interleaved_one_f_one_b.cc, zero_bubble_h1.cc, dual_pipe.cc, dual_pipe_v.cc). See
// docs/models/training-step.md.
#pragma once

#include "stepsim/workload.h"

#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
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
    int chunk = 0;  ///< local chunk on the stage, 0..v-1; virtual stage: virtual_stage_of()
    PipelineOpKind kind = PipelineOpKind::kForward;
    /// DualPipe's overlapped pair: this forward runs interleaved with the backward right after
    /// it (and that backward's W when it follows at once), one hiding the other's EP
    /// all-to-alls (DeepSeek-V3 §3.2.1, Figure 4).
    bool is_paired = false;

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

    /// Virtual stages (model chunks in forward order, DualPipe's two copies counted apart):
    /// p·v.
    virtual int virtual_stage_count(const PipelineShape& shape) const {
        return shape.stages * shape.chunks;
    }

    /// Virtual stage of local chunk `chunk` on `stage`: chunk·p + stage.
    virtual int virtual_stage_of(int stage, int chunk, const PipelineShape& shape) const {
        return virtual_stage(stage, chunk, shape.stages);
    }

    /// The stage holding virtual stage `vs`: vs % p.
    virtual int stage_of(int vs, const PipelineShape& shape) const { return vs % shape.stages; }

    /// The first and last virtual stage micro-batch `microbatch` runs through (its forward
    /// goes first → last, one virtual stage after the other): 0 and p·v − 1.
    virtual std::pair<int, int> route(int microbatch, const PipelineShape& shape) const {
        static_cast<void>(microbatch);
        return {0, virtual_stage_count(shape) - 1};
    }

    /// Chunks per stage the schedule supports for this shape: throws UserError
    /// for a shape it cannot build (v != 1 outside interleaving, m % p != 0 for interleaving).
    virtual void check_shape(const PipelineShape& shape) const;
    /// Ops of every stage, in execution order: result[stage] lists each (micro-batch, chunk)
    /// whose route passes the chunk once as F, once as B and, when splits_backward(), once as
    /// W.
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

/// DualPipe (DeepSeek-V3, arXiv 2412.19437 §3.2.1; the deepseek-ai/DualPipe reference): two
/// copies of the model, p stages each (p even); rank s holds stage s of copy 0 (local chunk 0)
/// and stage p−1−s of copy 1 (chunk 1). Micro-batches 0..m/2−1 enter copy 0 at rank 0,
/// m/2..m−1 copy 1 at rank p−1. The order per rank is the reference implementation's eight
/// phases; in the steady state a forward of one direction and a backward of the other run
/// as an overlapped pair (is_paired). Needs m even and m >= 2p, chunks == 2.
class DualPipeSchedule final : public PipelineSchedule {
public:
    std::string_view name() const override { return "dualpipe"; }

    bool splits_backward() const override { return true; }

    void check_shape(const PipelineShape& shape) const override;
    int virtual_stage_of(int stage, int chunk, const PipelineShape& shape) const override;
    int stage_of(int vs, const PipelineShape& shape) const override;
    std::pair<int, int> route(int microbatch, const PipelineShape& shape) const override;

protected:
    std::vector<std::vector<PipelineOp>> build_checked(const PipelineShape& shape) const override;
};

/// DualPipeV (the "cut-in-half" DualPipe of the deepseek-ai/DualPipe reference): one model
/// copy in 2p chunks; rank s holds chunk s (local 0) and chunk 2p−1−s (local 1), so a
/// micro-batch runs down the ranks and back up (a V). Same eight phases as DualPipe with
/// every micro-batch through both chunks. Needs m >= 2p, chunks == 2.
class DualPipeVSchedule final : public PipelineSchedule {
public:
    std::string_view name() const override { return "dualpipev"; }

    bool splits_backward() const override { return true; }

    void check_shape(const PipelineShape& shape) const override;
    int virtual_stage_of(int stage, int chunk, const PipelineShape& shape) const override;
    int stage_of(int vs, const PipelineShape& shape) const override;

protected:
    std::vector<std::vector<PipelineOp>> build_checked(const PipelineShape& shape) const override;
};

namespace detail {

/// One rank's ops in the DualPipe reference's eight phases, for `ranks` ranks of one
/// direction (DualPipe: p/2; DualPipeV: p), `microbatches` per phase (DualPipe: m/2;
/// DualPipeV: m) and this rank's index `rank` among them. Chunks are phases: 0 is the one
/// fed from this rank's own end. Micro-batches count per phase from 0.
std::vector<PipelineOp> dual_pipe_rank_ops(int ranks, int microbatches, int rank);

}  // namespace detail

std::unique_ptr<PipelineSchedule> make_pipeline_schedule(PipelineScheduleKind kind);

}  // namespace stepsim
