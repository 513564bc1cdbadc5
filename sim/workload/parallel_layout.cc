// SPDX-License-Identifier: Apache-2.0
// File: parallel_layout.cc
// The 3D-parallel grid: rank order, micro-batch count and how layers are split into pipeline
// chunks (docs/models/compute.md, "Layout").
#include "stepsim/error.h"
#include "stepsim/workload.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

namespace stepsim {

std::string_view to_string(PipelineScheduleKind kind) {
    switch (kind) {
        case PipelineScheduleKind::kGPipe:
            return "gpipe";
        case PipelineScheduleKind::kOneFOneB:
            return "1f1b";
        case PipelineScheduleKind::kInterleaved:
            return "interleaved";
        case PipelineScheduleKind::kZeroBubbleH1:
            return "zb-h1";
        case PipelineScheduleKind::kDualPipe:
            return "dualpipe";
        case PipelineScheduleKind::kDualPipeV:
            return "dualpipev";
    }
    return "unknown";
}

std::string_view to_string(Recompute mode) {
    switch (mode) {
        case Recompute::kNone:
            return "none";
        case Recompute::kSelective:
            return "selective";
        case Recompute::kFull:
            return "full";
    }
    return "unknown";
}

std::string_view to_string(ParallelDim dim) {
    switch (dim) {
        case ParallelDim::kTp:
            return "tp";
        case ParallelDim::kDp:
            return "dp";
        case ParallelDim::kPp:
            return "pp";
        case ParallelDim::kCp:
            return "cp";
    }
    return "unknown";
}

std::string_view to_string(CpCommType type) {
    return type == CpCommType::kAllGather ? "all_gather" : "p2p";
}

namespace {

int size_of(const ParallelLayout& layout, ParallelDim dim) {
    switch (dim) {
        case ParallelDim::kTp:
            return layout.tp;
        case ParallelDim::kDp:
            return layout.dp;
        case ParallelDim::kPp:
            return layout.pp;
        case ParallelDim::kCp:
            return layout.cp;
    }
    return 0;
}

int& coordinate(RankCoordinates& c, ParallelDim dim) {
    switch (dim) {
        case ParallelDim::kTp:
            return c.tp;
        case ParallelDim::kDp:
            return c.dp;
        case ParallelDim::kCp:
            return c.cp;
        case ParallelDim::kPp:
            break;
    }
    return c.pp;
}

void check_order(const ParallelLayout& layout) {
    const auto& o = layout.order;
    for (std::size_t i = 0; i < o.size(); ++i) {
        for (std::size_t j = i + 1; j < o.size(); ++j) {
            if (o[i] == o[j]) {
                throw UserError("rank order must name tp, cp, dp and pp once each");
            }
        }
    }
    if (layout.tp < 1 || layout.dp < 1 || layout.pp < 1 || layout.cp < 1) {
        throw UserError("tp, cp, dp and pp must be >= 1");
    }
}

}  // namespace

int rank_of(const ParallelLayout& layout, const RankCoordinates& coordinates) {
    check_order(layout);
    RankCoordinates c = coordinates;
    int rank = 0;
    int stride = 1;
    for (const ParallelDim dim : layout.order) {
        const int index = coordinate(c, dim);
        const int size = size_of(layout, dim);
        if (index < 0 || index >= size) {
            throw InternalError("rank_of: " + std::string(to_string(dim)) + " index " +
                                std::to_string(index) + " outside [0, " + std::to_string(size) +
                                ")");
        }
        rank += index * stride;
        stride *= size;
    }
    return rank;
}

RankCoordinates coordinates_of(const ParallelLayout& layout, int rank) {
    check_order(layout);
    if (rank < 0 || rank >= layout.world_size()) {
        throw InternalError("coordinates_of: rank " + std::to_string(rank) + " outside [0, " +
                            std::to_string(layout.world_size()) + ")");
    }
    RankCoordinates c;
    int rest = rank;
    for (const ParallelDim dim : layout.order) {
        const int size = size_of(layout, dim);
        coordinate(c, dim) = rest % size;
        rest /= size;
    }
    return c;
}

std::int64_t microbatches(const TrainingJob& job) {
    const std::int64_t per_pipeline = job.training.micro_batch * job.layout.dp;
    if (per_pipeline <= 0) {
        throw UserError("microbatches: micro_batch and dp must be positive");
    }
    return job.training.global_batch / per_pipeline;
}

std::int64_t tokens_per_step(const TrainingJob& job) {
    return job.training.global_batch * job.model.seq_len;
}

std::int64_t microbatch_tokens_per_rank(const TrainingJob& job) {
    return job.training.micro_batch * job.model.seq_len / std::max(1, job.layout.cp);
}

std::int64_t model_chunk_count(const ParallelLayout& layout) {
    const auto pp = static_cast<std::int64_t>(layout.pp);
    switch (layout.schedule) {
        case PipelineScheduleKind::kDualPipe:
            return pp;
        case PipelineScheduleKind::kDualPipeV:
            return 2 * pp;
        default:
            return pp * layout.virtual_stages;
    }
}

int chunks_per_stage(const ParallelLayout& layout) {
    switch (layout.schedule) {
        case PipelineScheduleKind::kDualPipe:
        case PipelineScheduleKind::kDualPipeV:
            return 2;
        default:
            return layout.virtual_stages;
    }
}

std::vector<int> stage_chunks(const ParallelLayout& layout, int stage) {
    if (stage < 0 || stage >= layout.pp) {
        throw InternalError("stage_chunks: stage " + std::to_string(stage) + " outside [0, " +
                            std::to_string(layout.pp) + ")");
    }
    switch (layout.schedule) {
        case PipelineScheduleKind::kDualPipe:
            return {stage, layout.pp - 1 - stage};
        case PipelineScheduleKind::kDualPipeV:
            return {stage, 2 * layout.pp - 1 - stage};
        default: {
            std::vector<int> chunks;
            for (int c = 0; c < layout.virtual_stages; ++c) {
                chunks.push_back(c * layout.pp + stage);
            }
            return chunks;
        }
    }
}

std::vector<int> chunk_layers(const ModelConfig& model, const ParallelLayout& layout) {
    const std::int64_t chunks = model_chunk_count(layout);
    if (chunks < 1 || model.layers < chunks) {
        throw UserError("chunk_layers: " + std::to_string(model.layers) + " layers cannot fill " +
                        std::to_string(chunks) + " chunks");
    }
    const auto count = static_cast<int>(chunks);  // at most model.layers
    const int base = (model.layers + count - 1) / count;
    std::vector<int> layers(static_cast<std::size_t>(count), base);
    int deficit = base * count - model.layers;
    // Take the deficit from the ends inwards: first, last, second, second-to-last, ...
    for (int i = 0; deficit > 0; ++i) {
        const int index = (i % 2 == 0) ? i / 2 : count - 1 - i / 2;
        --layers[static_cast<std::size_t>(index)];
        --deficit;
    }
    return layers;
}

int stage_layers(const ModelConfig& model, const ParallelLayout& layout, int stage) {
    if (stage < 0 || stage >= layout.pp) {
        throw InternalError("stage_layers: stage " + std::to_string(stage) + " outside [0, " +
                            std::to_string(layout.pp) + ")");
    }
    const std::vector<int> layers = chunk_layers(model, layout);
    int total = 0;
    for (const int c : stage_chunks(layout, stage)) {
        total += layers[static_cast<std::size_t>(c)];
    }
    return total;
}

std::vector<int> stage_layer_indices(const ModelConfig& model,
                                     const ParallelLayout& layout,
                                     int stage) {
    const std::vector<int> layers = chunk_layers(model, layout);
    std::vector<int> first(layers.size() + 1, 0);
    for (std::size_t c = 0; c < layers.size(); ++c) {
        first[c + 1] = first[c] + layers[c];
    }
    std::vector<int> indices;
    for (const int c : stage_chunks(layout, stage)) {
        for (int l = first[static_cast<std::size_t>(c)]; l < first[static_cast<std::size_t>(c) + 1];
             ++l) {
            indices.push_back(l);
        }
    }
    return indices;
}

}  // namespace stepsim
