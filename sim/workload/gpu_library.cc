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
#include <utility>
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

namespace {

/// Builds a library entry; every figure is cited in docs/models/compute.md §1-2.
GpuSpec make_gpu(std::string name,
                 double peak_bf16,
                 std::int64_t hbm_bytes,
                 double hbm_Bps,
                 double mamf_fraction,
                 double attention_fraction,
                 int sm_count,
                 double boost_clock_hz,
                 double peak_fp8,
                 AttentionCurve flash2,
                 AttentionCurve flash3,
                 double mamf_fraction_fp8 = 0.0) {
    GpuSpec gpu;
    gpu.name = std::move(name);
    gpu.peak_bf16_flops_per_s = peak_bf16;
    gpu.hbm_bytes = hbm_bytes;
    gpu.hbm_Bps = hbm_Bps;
    // Attention: the scalar model's fraction (FlashAttention-2 fwd+bwd, Dao 2023); memory:
    // the achieved share of HBM bandwidth of streaming kernels (~85%, STREAM-like copies).
    gpu.mamf_fraction = mamf_fraction;
    gpu.mamf_fraction_fp8 = mamf_fraction_fp8;
    gpu.fp8_gemm_fraction = mamf_fraction_fp8 * kSustainedFractionOfMamf;
    gpu.efficiency =
        GpuEfficiency{mamf_fraction * kSustainedFractionOfMamf, attention_fraction, 0.85};
    gpu.sm_count = sm_count;
    gpu.boost_clock_hz = boost_clock_hz;
    gpu.peak_fp8_flops_per_s = peak_fp8;
    gpu.flash2 = flash2;
    gpu.flash3 = flash3;
    return gpu;
}

}  // namespace

std::vector<GpuSpec> gpu_library() {
    // mamf_fraction: the best large bf16 GEMM throughput over peak, from the Maximum
    // Achievable Matmul FLOPS measurements (stas00/ml-engineering, compute/accelerator:
    // A100 271.2 of 312, H100 794.5 of 989, "H200 is the same", B200 1745 of 2250 TFLOP/s);
    // gemm_fraction is that times the sustained share fitted on SC'21 (workload.h). fp8 MAMF:
    // H100 1402.6 of 1979, H200 1453.4, B200 3432.5 of 4500 TFLOP/s (same source).
    // Attention curves: FlashAttention-2 causal fwd+bwd (Dao 2023, A100 and H100 figures) and
    // FlashAttention-3 forward with FA2's backward at 1.6× (Shah et al. 2024), fitted to
    // max_fraction · s / (s + half_seq) per head dimension (docs/models/compute.md §2.3).
    const AttentionCurve a100_flash2{0.571, 0.628, 550};
    const AttentionCurve hopper_flash2{0.295, 0.334, 515};
    const AttentionCurve hopper_flash3{0.475, 0.566, 530};
    std::vector<GpuSpec> library;
    // NVIDIA A100 Tensor Core GPU datasheet (2021): 312 TFLOPS bf16 dense, 80GB HBM2e,
    // 2,039 GB/s (SXM); 108 SMs at 1410 MHz boost; no fp8.
    library.push_back(make_gpu("A100-80GB-SXM", 312 * kTera, 80 * kGB, 2039e9, 271.2 / 312, 0.70,
                               108, 1410e6, 0.0, a100_flash2, AttentionCurve{}));
    // NVIDIA H100 Tensor Core GPU datasheet: 989 TFLOPS bf16 dense, 1,979 fp8 dense, 80GB
    // HBM3, 3.35 TB/s (SXM5); 132 SMs, 1830 MHz behind the tensor-core peak.
    library.push_back(make_gpu("H100-SXM", 989 * kTera, 80 * kGB, 3.35e12, 794.5 / 989, 0.55, 132,
                               1830e6, 1979 * kTera, hopper_flash2, hopper_flash3, 1402.6 / 1979));
    // NVIDIA H200 datasheet: H100's compute, 141GB HBM3e at 4.8 TB/s.
    library.push_back(make_gpu("H200", 989 * kTera, 141 * kGB, 4.8e12, 794.5 / 989, 0.55, 132,
                               1830e6, 1979 * kTera, hopper_flash2, hopper_flash3, 1453.4 / 1979));
    // NVIDIA DGX B200 / HGX B200 datasheets (per GPU, 1/8 of the 8-GPU figures): 2.25 PFLOPS
    // bf16 dense, 4.5 fp8 dense, 180GB HBM3e, 8 TB/s; 148 SMs at 1965 MHz. Attention curves
    // are Hopper's (no Blackwell measurement cited: U).
    library.push_back(make_gpu("B200", 2250 * kTera, 180 * kGB, 8e12, 1745.0 / 2250, 0.55, 148,
                               1965e6, 4500 * kTera, hopper_flash2, hopper_flash3, 3432.5 / 4500));
    // H800 (the export variant of the H100 SXM that DeepSeek-V3 trained on): the H100 SXM's
    // SMs, clocks, tensor-core peaks and HBM3, with NVLink cut to 400 GB/s (the NVLink
    // figure lives in the topology, topologies/dgx-h800-2048.textproto). No official spec
    // sheet was read (compute-reference "not confirmed"); DeepSeek-V3 §3.2.2 gives 132 SMs.
    library.push_back(make_gpu("H800", 989 * kTera, 80 * kGB, 3.35e12, 794.5 / 989, 0.55, 132,
                               1830e6, 1979 * kTera, hopper_flash2, hopper_flash3, 1402.6 / 1979));
    return library;
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

}  // namespace stepsim
