// SPDX-License-Identifier: Apache-2.0
// File: kernels.h
// The GPU kernels a training step is made of, and how long each takes on a GPU: GEMMs from
// their (m, n, k) through tile and wave quantization and a math/memory roofline; fused
// (flash) attention from its FLOPs at an efficiency that depends on head dimension and
// sequence length; memory-bound kernels from the bytes they move; a launch overhead per kernel.
// A measured kernel profile, when given, replaces the model for the kernels it lists.
// Formulas, constants and their sources: docs/models/compute.md. Nothing here knows protobuf;
// sim/spec/kernel_profile_loader.cc reads profiles.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stepsim {

enum class KernelKind : std::uint8_t {
    kGemm,       ///< C[m×n] = A[m×k]·B[k×n], `batch` independent products
    kAttention,  ///< fused (flash) attention over `batch` = micro-batch · heads per rank
    kMemory,     ///< element-wise / reduction kernel bound by HBM bandwidth
};

enum class Dtype : std::uint8_t { kBf16, kFp8 };

/// Fused attention kernels (docs/models/compute.md §2.3). Unfused attention is not a kernel of
/// its own: it lowers to two batched GEMMs and a softmax memory kernel.
enum class AttentionKernel : std::uint8_t {
    kFlash2,  ///< FlashAttention-2 (Dao 2023): any GPU
    kFlash3,  ///< FlashAttention-3 / cuDNN fused attention: Hopper and later
};

std::string_view to_string(KernelKind kind);
std::string_view to_string(Dtype dtype);
std::string_view to_string(AttentionKernel kernel);

/// One kernel launch (or `repeat` identical ones).
struct Kernel {
    KernelKind kind = KernelKind::kGemm;
    /// What it computes, a static string: "qkv", "proj", "fc1", "fc2", "logits",
    /// "attention_scores", "attention_context", "flash_attention", "layernorm", ... Profiles
    /// match memory kernels by it.
    std::string_view name;
    Dtype dtype = Dtype::kBf16;
    /// GEMM: C[m×n] = A[m×k]·B[k×n]. Attention: m = query length, n = key length,
    /// k = head dimension.
    std::int64_t m = 0;
    std::int64_t n = 0;
    std::int64_t k = 0;
    std::int64_t batch = 1;    ///< independent products (batched GEMM; attention b·heads)
    bool is_backward = false;  ///< attention: the backward kernel (2.5× the forward FLOPs)
    bool is_causal = true;     ///< attention: causal mask (half the score tiles skipped)
    AttentionKernel attention = AttentionKernel::kFlash2;  ///< attention: the kernel family
    bool is_attention_core = false;  ///< counted as attention FLOPs (Q·Kᵀ, softmax·V), not GEMM
    double bytes = 0.0;              ///< memory kernels: HBM bytes read + written
    double repeat = 1.0;             ///< identical launches (scaled work)

    /// FLOPs one launch does, counted as Megatron counts them: 2·m·n·k·batch for a GEMM; for
    /// attention 4·batch·m·n·k forward (Q·Kᵀ and P·V, the causal mask not exploited) and twice
    /// that backward; 0 for memory kernels.
    double flops() const;
};

/// Measured kernel times (docs/models/compute.md §2.5): a row matches a kernel of the same
/// kind, dtype and shape (GEMM: m, n, k, batch; attention: m, n, k, batch, backward, causal;
/// memory: name and bytes).
struct KernelProfileEntry {
    KernelKind kind = KernelKind::kGemm;
    std::string name;  ///< memory kernels only
    Dtype dtype = Dtype::kBf16;
    std::int64_t m = 0;
    std::int64_t n = 0;
    std::int64_t k = 0;
    std::int64_t batch = 1;
    bool is_backward = false;
    bool is_causal = true;
    double bytes = 0.0;
    double time_s = 0.0;
    std::string source;  ///< citation
};

struct KernelProfile {
    std::string gpu;  ///< the GPU it was measured on (checked against the workload's)
    std::string file;
    std::vector<KernelProfileEntry> entries;

    /// Measured seconds of one launch of `kernel`, or nullopt when no row matches.
    std::optional<double> find(const Kernel& kernel) const;
};

/// Fused-attention throughput on one GPU for one kernel family: the achieved fraction of peak
/// approaches `max_fraction` as the sequence grows, halfway there at `half_seq` tokens:
/// fraction(s) = max_fraction · s / (s + half_seq), for head dimensions 64 and 128
/// (interpolated linearly between, clamped outside).
struct AttentionCurve {
    double max_fraction_d64 = 0.0;
    double max_fraction_d128 = 0.0;
    double half_seq = 0.0;

    double fraction(std::int64_t head_dim, std::int64_t seq_len) const;
};

}  // namespace stepsim
