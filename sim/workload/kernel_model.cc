// SPDX-License-Identifier: Apache-2.0
// File: kernel_model.cc
// The per-kernel compute model (docs/models/compute.md §2): GEMM time from tile and wave
// quantization over the GPU's SMs under a math/memory roofline, with split-K for GEMMs too
// small to fill the GPU; fused attention from a throughput curve in head dimension and
// sequence length; memory-bound kernels from their bytes; a launch overhead per kernel; a
// measured profile in place of the model where it has the kernel. The scalar model of the
// first wave (one fraction per kind of work) is kept as ComputeModel::kScalar.
#include "stepsim/error.h"
#include "stepsim/kernels.h"
#include "stepsim/workload.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace stepsim {

std::string_view to_string(KernelKind kind) {
    switch (kind) {
        case KernelKind::kGemm:
            return "gemm";
        case KernelKind::kAttention:
            return "attention";
        case KernelKind::kMemory:
            return "memory";
    }
    return "?";
}

std::string_view to_string(Dtype dtype) {
    return dtype == Dtype::kFp8 ? "fp8" : "bf16";
}

std::string_view to_string(AttentionKernel kernel) {
    return kernel == AttentionKernel::kFlash3 ? "flash3" : "flash2";
}

std::string_view to_string(ComputeModel model) {
    return model == ComputeModel::kScalar ? "scalar" : "kernel";
}

double Kernel::flops() const {
    const auto b = static_cast<double>(batch);
    const auto mm = static_cast<double>(m);
    const auto nn = static_cast<double>(n);
    const auto kk = static_cast<double>(k);
    switch (kind) {
        case KernelKind::kGemm:
            return 2.0 * mm * nn * kk * b;
        case KernelKind::kAttention:
            return 4.0 * b * mm * nn * kk * (is_backward ? 2.0 : 1.0);
        case KernelKind::kMemory:
            return 0.0;
    }
    return 0.0;
}

double AttentionCurve::fraction(std::int64_t head_dim, std::int64_t seq_len) const {
    const double d = std::clamp(static_cast<double>(head_dim), 64.0, 128.0);
    const double max_fraction =
        max_fraction_d64 + (max_fraction_d128 - max_fraction_d64) * (d - 64.0) / 64.0;
    const auto s = static_cast<double>(std::max<std::int64_t>(1, seq_len));
    return max_fraction * s / (s + half_seq);
}

std::optional<double> KernelProfile::find(const Kernel& kernel) const {
    for (const KernelProfileEntry& e : entries) {
        if (e.kind != kernel.kind || e.dtype != kernel.dtype) {
            continue;
        }
        bool match = false;
        switch (kernel.kind) {
            case KernelKind::kGemm:
                match = e.m == kernel.m && e.n == kernel.n && e.k == kernel.k &&
                        e.batch == kernel.batch;
                break;
            case KernelKind::kAttention:
                match = e.m == kernel.m && e.n == kernel.n && e.k == kernel.k &&
                        e.batch == kernel.batch && e.is_backward == kernel.is_backward &&
                        e.is_causal == kernel.is_causal;
                break;
            case KernelKind::kMemory:
                match = e.name == kernel.name && std::abs(e.bytes - kernel.bytes) <= 0.5;
                break;
        }
        if (match) {
            return e.time_s;
        }
    }
    return std::nullopt;
}

double GpuSpec::peak_flops_per_s(Dtype dtype) const {
    return dtype == Dtype::kFp8 && peak_fp8_flops_per_s > 0.0 ? peak_fp8_flops_per_s
                                                              : peak_bf16_flops_per_s;
}

void WorkAmount::add(const Kernel& kernel) {
    if (kernel.kind == KernelKind::kMemory) {
        memory_bytes += kernel.bytes * kernel.repeat;
    } else if (kernel.kind == KernelKind::kAttention || kernel.is_attention_core) {
        attention_flops += kernel.flops() * kernel.repeat;
    } else {
        gemm_flops += kernel.flops() * kernel.repeat;
    }
    kernels.push_back(kernel);
}

WorkAmount& WorkAmount::operator+=(const WorkAmount& other) {
    gemm_flops += other.gemm_flops;
    attention_flops += other.attention_flops;
    memory_bytes += other.memory_bytes;
    kernels.insert(kernels.end(), other.kernels.begin(), other.kernels.end());
    return *this;
}

WorkAmount operator+(WorkAmount a, const WorkAmount& b) {
    a += b;
    return a;
}

WorkAmount operator*(double factor, WorkAmount work) {
    work.gemm_flops *= factor;
    work.attention_flops *= factor;
    work.memory_bytes *= factor;
    for (Kernel& kernel : work.kernels) {
        kernel.repeat *= factor;
    }
    return work;
}

KernelTiming& KernelTiming::operator+=(const KernelTiming& other) {
    time_s += other.time_s;
    gemm_s += other.gemm_s;
    attention_s += other.attention_s;
    memory_s += other.memory_s;
    launch_s += other.launch_s;
    kernels += other.kernels;
    kernels_from_profile += other.kernels_from_profile;
    return *this;
}

KernelTiming operator+(KernelTiming a, const KernelTiming& b) {
    a += b;
    return a;
}

KernelTiming operator*(double factor, KernelTiming t) {
    t.time_s *= factor;
    t.gemm_s *= factor;
    t.attention_s *= factor;
    t.memory_s *= factor;
    t.launch_s *= factor;
    t.kernels *= factor;
    t.kernels_from_profile *= factor;
    return t;
}

namespace {

/// A thread-block tile cuBLAS picks among (NVIDIA, "Matrix Multiplication Background User's
/// Guide": 256×128 and 128×256 are the most efficient, 64×64 the least). `efficiency` is the
/// tile's math rate relative to the best tile (operand reuse falls with the tile's size);
/// `per_sm` is how many such blocks an SM holds at once (they share its tensor cores).
/// Efficiencies and residency are this model's assumptions (docs/models/compute.md §2.1).
struct GemmTile {
    std::int64_t m;
    std::int64_t n;
    double efficiency;
    int per_sm;
};

constexpr std::array<GemmTile, 8> kTiles = {{
    {256, 128, 1.00, 1},
    {128, 256, 1.00, 1},
    {128, 128, 0.93, 2},
    {256, 64, 0.88, 2},
    {64, 256, 0.88, 2},
    {128, 64, 0.80, 3},
    {64, 128, 0.80, 3},
    {64, 64, 0.65, 4},
}};

/// The K loop advances in steps of this many elements (one MMA pipeline stage).
constexpr std::int64_t kKStep = 32;
/// Split-K keeps at least this many elements of K per split.
constexpr std::int64_t kMinSplitK = 512;

std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
    return (a + b - 1) / b;
}

double dtype_bytes(Dtype dtype) {
    return dtype == Dtype::kFp8 ? 1.0 : 2.0;
}

void check_gpu(const GpuSpec& gpu) {
    const GpuEfficiency& e = gpu.efficiency;
    if (!(gpu.peak_bf16_flops_per_s > 0.0) || !(gpu.hbm_Bps > 0.0) || !(e.gemm_fraction > 0.0) ||
        !(e.attention_fraction > 0.0) || !(e.memory_fraction > 0.0)) {
        throw UserError("compute_time_s: GPU \"" + gpu.name +
                        "\" needs positive peak, bandwidth and efficiencies");
    }
}

double gemm_time_s(const GpuSpec& gpu, const Kernel& g) {
    if (g.m <= 0 || g.n <= 0 || g.k <= 0 || g.batch <= 0) {
        return 0.0;
    }
    const double memory_Bps = gpu.hbm_Bps * gpu.efficiency.memory_fraction;
    const double element = dtype_bytes(g.dtype);
    const auto batch = static_cast<double>(g.batch);
    // Operands read once, the bf16 result written once.
    const double io_bytes =
        batch * (element * (static_cast<double>(g.m) * static_cast<double>(g.k) +
                            static_cast<double>(g.k) * static_cast<double>(g.n)) +
                 2.0 * static_cast<double>(g.m) * static_cast<double>(g.n));
    const double fraction = g.dtype == Dtype::kFp8 && gpu.fp8_gemm_fraction > 0.0
                                ? gpu.fp8_gemm_fraction
                                : gpu.efficiency.gemm_fraction;
    const double peak = gpu.peak_flops_per_s(g.dtype) * fraction;
    if (gpu.sm_count <= 0) {
        // A custom GPU without an SM count: no quantization, only the roofline.
        return std::max(g.flops() / peak, io_bytes / memory_Bps);
    }
    const double sm_rate = peak / gpu.sm_count;
    double best = std::numeric_limits<double>::infinity();
    for (const GemmTile& tile : kTiles) {
        const std::int64_t tiles = ceil_div(g.m, tile.m) * ceil_div(g.n, tile.n) * g.batch;
        const std::int64_t slots = static_cast<std::int64_t>(gpu.sm_count) * tile.per_sm;
        // Split K over idle SMs when the tiles leave most of them empty; each split writes
        // and the reduction reads an fp32 partial of the output.
        std::int64_t max_split = 1;
        if (tiles < slots) {
            max_split = std::max<std::int64_t>(1, std::min(slots / tiles, g.k / kMinSplitK));
        }
        for (std::int64_t split = 1; split <= max_split; ++split) {
            const std::int64_t k_part = ceil_div(ceil_div(g.k, split), kKStep) * kKStep;
            const std::int64_t waves = ceil_div(tiles * split, slots);
            const double tile_flops = 2.0 * static_cast<double>(tile.m * tile.n * k_part);
            const double math_s =
                static_cast<double>(waves) * tile_flops * tile.per_sm / (sm_rate * tile.efficiency);
            const double partial_bytes = split > 1 ? 2.0 * 4.0 * batch * static_cast<double>(g.m) *
                                                         static_cast<double>(g.n) *
                                                         static_cast<double>(split)
                                                   : 0.0;
            const double memory_s = (io_bytes + partial_bytes) / memory_Bps;
            best = std::min(best, std::max(math_s, memory_s));
        }
    }
    return best;
}

double attention_time_s(const GpuSpec& gpu, const Kernel& a, AttentionKernel family) {
    // FlashAttention's own FLOP convention, the one its throughput was measured in: forward
    // 4·batch·s_q·s_k·d, halved under a causal mask, backward 2.5× forward (Dao 2023 §4.1).
    const double forward = 4.0 * static_cast<double>(a.batch) * static_cast<double>(a.m) *
                           static_cast<double>(a.n) * static_cast<double>(a.k) *
                           (a.is_causal ? 0.5 : 1.0);
    const double flops = a.is_backward ? 2.5 * forward : forward;
    const AttentionCurve& curve =
        family == AttentionKernel::kFlash3 && gpu.flash3.max_fraction_d128 > 0.0 ? gpu.flash3
                                                                                 : gpu.flash2;
    double fraction = curve.fraction(a.k, a.n);
    if (!(fraction > 0.0)) {
        fraction = gpu.efficiency.attention_fraction;  // a custom GPU without curves
    }
    return flops / (gpu.peak_flops_per_s(a.dtype) * fraction);
}

}  // namespace

double kernel_model_time_s(const GpuSpec& gpu, const Kernel& kernel) {
    check_gpu(gpu);
    switch (kernel.kind) {
        case KernelKind::kGemm:
            return gemm_time_s(gpu, kernel);
        case KernelKind::kAttention:
            return attention_time_s(gpu, kernel, kernel.attention);
        case KernelKind::kMemory:
            return kernel.bytes / (gpu.hbm_Bps * gpu.efficiency.memory_fraction);
    }
    return 0.0;
}

KernelTiming time_work(const GpuSpec& gpu, const WorkAmount& work) {
    check_gpu(gpu);
    const GpuEfficiency& e = gpu.efficiency;
    KernelTiming t;
    if (gpu.compute_model == ComputeModel::kScalar || work.kernels.empty()) {
        t.gemm_s = work.gemm_flops / (gpu.peak_bf16_flops_per_s * e.gemm_fraction);
        t.attention_s = work.attention_flops / (gpu.peak_bf16_flops_per_s * e.attention_fraction);
        t.memory_s = work.memory_bytes / (gpu.hbm_Bps * e.memory_fraction);
        t.time_s = t.gemm_s + t.attention_s + t.memory_s;
        return t;
    }
    for (const Kernel& kernel : work.kernels) {
        if (!(kernel.repeat > 0.0)) {
            continue;
        }
        double one = 0.0;
        std::optional<double> measured;
        if (gpu.kernel_profile) {
            measured = gpu.kernel_profile->find(kernel);
        }
        if (measured) {
            one = *measured;
            t.kernels_from_profile += kernel.repeat;
        } else {
            one = kernel_model_time_s(gpu, kernel);
        }
        const double seconds = one * kernel.repeat;
        if (kernel.kind == KernelKind::kMemory) {
            // The unfused softmax is part of the attention core.
            (kernel.name == "softmax" ? t.attention_s : t.memory_s) += seconds;
        } else if (kernel.kind == KernelKind::kAttention || kernel.is_attention_core) {
            t.attention_s += seconds;
        } else {
            t.gemm_s += seconds;
        }
        t.launch_s += gpu.launch_overhead_s * kernel.repeat;
        t.kernels += kernel.repeat;
    }
    t.time_s = t.gemm_s + t.attention_s + t.memory_s + t.launch_s;
    return t;
}

double compute_time_s(const GpuSpec& gpu, const WorkAmount& work) {
    return time_work(gpu, work).time_s;
}

}  // namespace stepsim
