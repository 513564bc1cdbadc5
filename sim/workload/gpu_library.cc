// SPDX-License-Identifier: Apache-2.0
// File: gpu_library.cc
// The bundled GPUs and the compute-time model: each kind of work runs at its own achieved
// fraction of the datasheet peak (docs/models/compute.md cites every figure).
#include "stepsim/workload.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace stepsim {

namespace {

constexpr double kTera = 1e12;
constexpr std::int64_t kGB = 1'000'000'000;

std::string normalized(std::string_view name) {
    std::string key;
    key.reserve(name.size());
    for (const char c : name) {
        key.push_back(c == '_' ? '-'
                               : static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    return key;
}

}  // namespace

std::vector<GpuSpec> gpu_library() {
    // Efficiency defaults (docs/models/compute.md, "Efficiency model"): large bf16 GEMMs reach
    // ~80% of peak on A100 and ~70-75% on H100-class parts in cuBLAS; fused attention reaches
    // ~70% forward+backward on A100 (FlashAttention-2, Dao 2023, 225 of 312 TFLOP/s) and less
    // of H100's larger peak without Hopper-specific kernels; STREAM-like kernels reach ~80-90%
    // of HBM peak.
    return {
        // NVIDIA A100 Tensor Core GPU datasheet (2021): 312 TFLOPS bf16 dense, 80GB HBM2e,
        // 2,039 GB/s (SXM).
        GpuSpec{"A100-80GB-SXM", 312 * kTera, 80 * kGB, 2039e9, GpuEfficiency{0.80, 0.70, 0.85}},
        // NVIDIA H100 Tensor Core GPU datasheet: 989 TFLOPS bf16 dense (1,979 with sparsity),
        // 80GB HBM3, 3.35 TB/s (SXM5).
        GpuSpec{"H100-SXM", 989 * kTera, 80 * kGB, 3.35e12, GpuEfficiency{0.75, 0.55, 0.85}},
        // NVIDIA H200 datasheet: H100's compute, 141GB HBM3e at 4.8 TB/s.
        GpuSpec{"H200", 989 * kTera, 141 * kGB, 4.8e12, GpuEfficiency{0.75, 0.55, 0.85}},
        // NVIDIA DGX B200 / HGX B200 datasheets (per GPU, 1/8 of the 8-GPU figures):
        // 2.25 PFLOPS bf16 dense (72 PFLOPS FP8 training with sparsity per 8 GPUs), 180GB
        // HBM3e (1,440GB per 8 GPUs), 8 TB/s (64 TB/s per 8 GPUs). Not checked against the
        // datasheet in this repository (docs/models/compute.md marks them U); efficiencies
        // are H100's, as no measured figure is cited.
        GpuSpec{"B200", 2250 * kTera, 180 * kGB, 8e12, GpuEfficiency{0.75, 0.55, 0.85}},
    };
}

std::optional<GpuSpec> find_gpu(std::string_view name) {
    const std::string key = normalized(name);
    for (GpuSpec& gpu : gpu_library()) {
        if (normalized(gpu.name) == key) {
            return gpu;
        }
    }
    return std::nullopt;
}

WorkAmount& WorkAmount::operator+=(const WorkAmount& other) {
    gemm_flops += other.gemm_flops;
    attention_flops += other.attention_flops;
    memory_bytes += other.memory_bytes;
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
    return work;
}

double compute_time_s(const GpuSpec& gpu, const WorkAmount& work) {
    const GpuEfficiency& e = gpu.efficiency;
    if (!(gpu.peak_bf16_flops_per_s > 0.0) || !(gpu.hbm_Bps > 0.0) || !(e.gemm_fraction > 0.0) ||
        !(e.attention_fraction > 0.0) || !(e.memory_fraction > 0.0)) {
        throw std::invalid_argument("compute_time_s: GPU \"" + gpu.name +
                                    "\" needs positive peak, bandwidth and efficiencies");
    }
    return work.gemm_flops / (gpu.peak_bf16_flops_per_s * e.gemm_fraction) +
           work.attention_flops / (gpu.peak_bf16_flops_per_s * e.attention_fraction) +
           work.memory_bytes / (gpu.hbm_Bps * e.memory_fraction);
}

}  // namespace stepsim
