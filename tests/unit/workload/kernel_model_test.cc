// SPDX-License-Identifier: Apache-2.0
// File: kernel_model_test.cc
// The per-kernel compute model (docs/models/compute.md §2) against hand-computed cases on a
// made-up GPU: 100 SMs, 1 PFLOP/s peak, gemm_fraction 1, so one SM does 1e13 FLOP/s and a
// tile's wave takes 2·tm·tn·k·per_sm / (1e13 · efficiency) seconds. Tiles (m×n, efficiency,
// blocks per SM): 256×128 1.00 1, 128×256 1.00 1, 128×128 0.93 2, 256×64 / 64×256 0.88 2,
// 128×64 / 64×128 0.80 3, 64×64 0.65 4. Every expected value below is worked out by hand in
// the comments; the model must pick the same tile and give the same number.
#include "stepsim/kernels.h"
#include "stepsim/workload.h"

#include <catch2/catch.hpp>

#include <memory>

using namespace stepsim;

namespace {

/// 100 SMs, 1e15 FLOP/s, HBM so fast that every GEMM below is math-bound.
GpuSpec math_gpu() {
    GpuSpec gpu;
    gpu.name = "toy";
    gpu.peak_bf16_flops_per_s = 1e15;
    gpu.hbm_bytes = 80'000'000'000;
    gpu.hbm_Bps = 1e18;
    gpu.efficiency = {1.0, 0.5, 1.0};
    gpu.sm_count = 100;
    gpu.launch_overhead_s = 0.0;
    return gpu;
}

Kernel gemm(std::int64_t m, std::int64_t n, std::int64_t k) {
    Kernel g;
    g.kind = KernelKind::kGemm;
    g.name = "fc1";
    g.m = m;
    g.n = n;
    g.k = k;
    return g;
}

// One wave of the 256×128 tile with K = 1024: 2·256·128·1024 = 67,108,864 FLOPs per SM at
// 1e13 FLOP/s.
constexpr double kOneWave256x128 = 6.7108864e-6;
// One wave of the 128×64 tile (3 blocks per SM, efficiency 0.80) with K = 1024:
// 2·128·64·1024·3 = 50,331,648 FLOPs / (1e13 · 0.80) = 6.291456e-6 s.
constexpr double kOneWave128x64 = 6.291456e-6;

}  // namespace

TEST_CASE("GEMM: a GEMM that fits in one wave costs one wave of its best tile; K rounds up to 32",
          "[workload][kernel]") {
    // One SM (sm_rate = 1e15): m = 256, n = 128, K = 1000 → 1024 (no split-K: 1000 / 512 = 1).
    // 256×128: 1 tile on 1 slot, 1 wave: 2·256·128·1024 / 1e15 = 6.7108864e-8 s.
    // 128×128: 2 tiles on 2 slots: 67,108,864 / (1e15·0.93) = 7.216e-8 s. 256×64: 2 on 2:
    // 67,108,864 / 0.88e15 = 7.626e-8 s. 128×64: 4 on 3 slots, 2 waves: 1.258e-7 s.
    // 64×64: 8 on 4, 2 waves: 2 · 33,554,432 / 0.65e15 = 1.032e-7 s.
    GpuSpec one_sm = math_gpu();
    one_sm.sm_count = 1;
    REQUIRE(kernel_model_time_s(one_sm, gemm(256, 128, 1000)) == Approx(6.7108864e-8));
    // K = 992 = 31·32 is not rounded: 2·256·128·992 / 1e15.
    REQUIRE(kernel_model_time_s(one_sm, gemm(256, 128, 992)) ==
            Approx(2.0 * 256 * 128 * 992 / 1e15));
    // On 100 SMs everything fits in one wave, and the wave is shortest for the 64×64 tile
    // (4 blocks of 2·64·64·1024 FLOPs per SM at 0.65): 33,554,432 / 6.5e12 = 5.16222e-6 s,
    // vs 256×128's 6.7108864e-6 s and 128×64's 2·128·64·1024·3 / 8e12 = 6.291456e-6 s.
    const GpuSpec gpu = math_gpu();
    REQUIRE(kernel_model_time_s(gpu, gemm(256, 128, 1000)) == Approx(33'554'432.0 / 6.5e12));
}

TEST_CASE("GEMM: 100 tiles fill one wave; 101 tiles need a second (wave quantization)",
          "[workload][kernel]") {
    const GpuSpec gpu = math_gpu();
    // m = 2560, n = 1280, K = 1024: 10·10 = 100 tiles of 256×128 on 100 SMs, one wave:
    // 6.7108864e-6 s. (128×128: 200 tiles on 200 slots, 7.216e-6 s; 128×64: 400 tiles on 300
    // slots, 2 waves, 1.258e-5 s; 64×64: 800 on 400, 2 waves, 1.032e-5 s.) No split-K:
    // tiles == slots.
    const double full = kernel_model_time_s(gpu, gemm(2560, 1280, 1024));
    REQUIRE(full == Approx(kOneWave256x128));
    // m = 256·101 = 25856, n = 128: 101 tiles of 256×128 on 100 SMs, 2 waves: 1.34217728e-5 s.
    // The 128×64 tile does better: 202·2 = 404 tiles on 300 slots, 2 waves, 2 · 6.291456e-6 =
    // 1.2582912e-5 s (128×128: 202 tiles on 200 slots, 2 waves, 1.443e-5 s; 64×64: 808 on
    // 400, 3 waves, 1.549e-5 s; 128×256: 202 tiles on 100 slots, 3 waves, 2.013e-5 s).
    const double spilled = kernel_model_time_s(gpu, gemm(25856, 128, 1024));
    REQUIRE(spilled == Approx(2.0 * kOneWave128x64));
    // The same 101 tiles' FLOPs as one wave would take 1.01 waves; quantization costs 1.875×.
    REQUIRE(spilled / full == Approx(1.875));
}

TEST_CASE("GEMM: one row past the tile costs a whole extra tile row (tile quantization)",
          "[workload][kernel]") {
    const GpuSpec gpu = math_gpu();
    // m = 2561, n = 1280, K = 1000 (→ 1024, no split: tiles ≥ slots for every tile).
    // 256×128: 11·10 = 110 tiles on 100 slots, 2 waves = 1.34217728e-5 s.
    // 128×256: 21·5 = 105 on 100, 2 waves, same. 128×128: 21·10 = 210 on 200, 2 waves,
    // 1.443e-5 s. 128×64: 21·20 = 420 on 300, 2 waves = 1.2582912e-5 s; 64×128: 41·10 = 410 on
    // 300, 2 waves, the same. 64×64: 41·20 = 820 on 400, 3 waves, 1.549e-5 s.
    const double padded = kernel_model_time_s(gpu, gemm(2561, 1280, 1000));
    REQUIRE(padded == Approx(2.0 * kOneWave128x64));
    // vs m = 2560: one wave of 256×128, 6.7108864e-6 s. 0.04% more rows, 87.5% more time.
    REQUIRE(padded / kernel_model_time_s(gpu, gemm(2560, 1280, 1000)) == Approx(1.875));
}

TEST_CASE("GEMM: a GEMV-like shape is timed by the bytes it moves", "[workload][kernel]") {
    GpuSpec gpu = math_gpu();
    gpu.hbm_Bps = 1e12;
    gpu.efficiency.memory_fraction = 0.5;  // 5e11 B/s achieved
    // m = 4096, n = 1, K = 4096, bf16: A 4096·4096·2 + B 4096·1·2 + C 4096·1·2 bytes =
    // 33,554,432 + 8,192 + 8,192 = 33,570,816 B at 5e11 B/s = 6.7141632e-5 s. Math of the
    // 256×128 tile, no split: 16 tiles, 1 wave, 2·256·128·4096 / 1e13 = 2.68e-5 s < memory;
    // split-K only adds fp32 partial bytes, so the roofline's memory side is the answer.
    const double t = kernel_model_time_s(gpu, gemm(4096, 1, 4096));
    REQUIRE(t == Approx(33'570'816.0 / 5e11));
    // fp8 operands halve A and B: 16,777,216 + 4,096 + 8,192 (bf16 result) = 16,789,504 B.
    Kernel fp8 = gemm(4096, 1, 4096);
    fp8.dtype = Dtype::kFp8;
    REQUIRE(kernel_model_time_s(gpu, fp8) == Approx(16'789'504.0 / 5e11));
}

TEST_CASE("GEMM: split-K makes a small-output, long-K GEMM use the idle SMs",
          "[workload][kernel]") {
    const GpuSpec gpu = math_gpu();
    // m = 256, n = 128, K = 8192. Without split-K the best tile is 256×128, one tile on one SM:
    // 2·256·128·8192 / 1e13 = 5.3687e-5 s (64×64: 8 tiles, 2·64·64·8192·4 / 6.5e12 =
    // 4.130e-5 s). With split-K (≤ 16 splits: K / 512; ≤ slots / tiles) the best is 64×64:
    // 8 tiles × 16 splits = 128 blocks ≤ 400 slots, 1 wave of K = 512:
    // 2·64·64·512·4 / (1e13 · 0.65) = 16,777,216 / 6.5e12 = 2.58111e-6 s (128×64 split 16:
    // 3.146e-6 s; 256×128 split 16: 3.355e-6 s). The fp32 partials, 8·256·128·16 = 4 MiB, are
    // free at this HBM bandwidth.
    const double split = kernel_model_time_s(gpu, gemm(256, 128, 8192));
    REQUIRE(split == Approx(16'777'216.0 / 6.5e12));
    REQUIRE(split < 0.1 * (2.0 * 256 * 128 * 8192 / 1e13));
    // K = 511 cannot be split (511 / 512 = 0): 256×128 tile, K → 512, 1 wave: 3.3554432e-6 s;
    // 64×64 without split: 8 tiles on 400 slots, 1 wave: 2.58111e-6 s, the same as above (the
    // model charges a full SM's 4 blocks per wave).
    REQUIRE(kernel_model_time_s(gpu, gemm(256, 128, 511)) == Approx(16'777'216.0 / 6.5e12));
}

TEST_CASE("GEMM: batched products multiply the tiles", "[workload][kernel]") {
    const GpuSpec gpu = math_gpu();
    // batch 100 of 256×128×1024: 100 tiles of 256×128, one wave, as the 2560×1280 case.
    Kernel g = gemm(256, 128, 1024);
    g.batch = 100;
    REQUIRE(kernel_model_time_s(gpu, g) == Approx(kOneWave256x128));
    REQUIRE(g.flops() == Approx(2.0 * 256 * 128 * 1024 * 100));
}

TEST_CASE("GEMM on a GPU without an SM count is a plain roofline", "[workload][kernel]") {
    GpuSpec gpu = math_gpu();
    gpu.sm_count = 0;
    gpu.efficiency.gemm_fraction = 0.5;
    // 2·1000·1000·1000 = 2e9 FLOPs at 5e14 FLOP/s = 4e-6 s, no quantization.
    REQUIRE(kernel_model_time_s(gpu, gemm(1000, 1000, 1000)) == Approx(4e-6));
}

TEST_CASE("attention curve interpolates in head dimension and saturates in sequence length",
          "[workload][kernel]") {
    const AttentionCurve curve{0.4, 0.6, 1000.0};
    // fraction = max(d)·s/(s + 1000), max(64) = 0.4, max(128) = 0.6, linear between.
    REQUIRE(curve.fraction(64, 1000) == Approx(0.4 * 0.5));
    REQUIRE(curve.fraction(128, 3000) == Approx(0.6 * 0.75));
    REQUIRE(curve.fraction(96, 1000) == Approx(0.5 * 0.5));
    REQUIRE(curve.fraction(80, 9000) == Approx(0.45 * 0.9));
    // Clamped outside [64, 128].
    REQUIRE(curve.fraction(32, 1000) == Approx(0.2));
    REQUIRE(curve.fraction(256, 1000) == Approx(0.3));
}

TEST_CASE("flash attention time: FA FLOPs, halved when causal, 2.5x backward",
          "[workload][kernel]") {
    GpuSpec gpu = math_gpu();
    gpu.flash2 = {0.4, 0.6, 1000.0};
    gpu.flash3 = {0.5, 0.8, 1000.0};
    Kernel a;
    a.kind = KernelKind::kAttention;
    a.name = "flash_attention";
    a.m = 1000;
    a.n = 1000;
    a.k = 96;
    a.batch = 2;
    a.is_causal = true;
    // FA forward FLOPs: 4·2·1000·1000·96 = 7.68e8, causal halves: 3.84e8, at 1e15 · 0.25
    // (fraction(96, 1000) = 0.5 · 1000/2000) = 1.536e-6 s.
    REQUIRE(kernel_model_time_s(gpu, a) == Approx(1.536e-6));
    a.is_backward = true;  // 2.5× the forward FLOPs
    REQUIRE(kernel_model_time_s(gpu, a) == Approx(3.84e-6));
    a.is_causal = false;  // no halving
    REQUIRE(kernel_model_time_s(gpu, a) == Approx(7.68e-6));
    // FlashAttention-3's curve: fraction(96, 1000) = 0.65 · 0.5 = 0.325.
    a.is_backward = false;
    a.is_causal = true;
    a.attention = AttentionKernel::kFlash3;
    REQUIRE(kernel_model_time_s(gpu, a) == Approx(3.84e8 / (1e15 * 0.325)));
    // A GPU without FlashAttention-3 falls back to FlashAttention-2's curve.
    gpu.flash3 = {};
    REQUIRE(kernel_model_time_s(gpu, a) == Approx(1.536e-6));
}

TEST_CASE("attention FLOPs follow Megatron's 4·b·s²·h/t, causal mask not exploited",
          "[workload][kernel]") {
    // b = 2, s = 2048, h = 4096, a = 32 heads, t = 4: per rank batch = b·a/t = 16 products of
    // s×s with head dimension h/a = 128.
    const double b = 2;
    const double s = 2048;
    const double h = 4096;
    const double t = 4;
    Kernel a;
    a.kind = KernelKind::kAttention;
    a.m = 2048;
    a.n = 2048;
    a.k = 128;
    a.batch = 16;
    a.is_causal = true;
    REQUIRE(a.flops() == Approx(4.0 * b * s * s * h / t));
    a.is_backward = true;
    REQUIRE(a.flops() == Approx(8.0 * b * s * s * h / t));
    // Unfused: Q·Kᵀ and P·V as batched GEMMs give the same total.
    Kernel scores;
    scores.kind = KernelKind::kGemm;
    scores.m = 2048;
    scores.n = 2048;
    scores.k = 128;
    scores.batch = 16;
    Kernel context = scores;
    context.n = 128;
    context.k = 2048;
    REQUIRE(scores.flops() + context.flops() == Approx(4.0 * b * s * s * h / t));
}

TEST_CASE("memory kernels are timed by bytes at the achieved HBM fraction", "[workload][kernel]") {
    GpuSpec gpu = math_gpu();
    gpu.hbm_Bps = 2e12;
    gpu.efficiency.memory_fraction = 0.8;
    Kernel norm;
    norm.kind = KernelKind::kMemory;
    norm.name = "layernorm";
    norm.bytes = 3.2e8;
    // 3.2e8 B / (2e12 · 0.8) = 2e-4 s.
    REQUIRE(kernel_model_time_s(gpu, norm) == Approx(2e-4));
    REQUIRE(norm.flops() == 0.0);
}

namespace {

struct ToyWork {
    // The 100-tile GEMM above: one wave of 256×128, 6.7108864e-6 s, 2·2560·1280·1024 =
    // 6,710,886,400 FLOPs.
    Kernel g = gemm(2560, 1280, 1024);
    Kernel core;  // the same shape as an attention-core GEMM
    Kernel attention;
    Kernel norm;

    ToyWork() {
        core = gemm(2560, 1280, 1024);
        core.name = "attention_scores";
        core.is_attention_core = true;
        attention.kind = KernelKind::kAttention;
        attention.name = "flash_attention";
        attention.m = 1000;
        attention.n = 1000;
        attention.k = 96;
        attention.batch = 2;
        norm.kind = KernelKind::kMemory;
        norm.name = "layernorm";
        norm.bytes = 1e12;  // 1e-6 s at the toy GPU's 1e18 B/s
    }
};

}  // namespace

TEST_CASE("WorkAmount: totals follow the kernels, operator* scales repeats", "[workload][kernel]") {
    const ToyWork toy;
    WorkAmount work;
    work.add(toy.g);
    work.add(toy.core);
    work.add(toy.attention);
    Kernel norms = toy.norm;
    norms.repeat = 3.0;
    work.add(norms);
    REQUIRE(work.kernels.size() == 4);
    REQUIRE(work.gemm_flops == Approx(6'710'886'400.0));
    // The attention-core GEMM and the fused kernel (4·2·1000·1000·96) count as attention.
    REQUIRE(work.attention_flops == Approx(6'710'886'400.0 + 7.68e8));
    REQUIRE(work.memory_bytes == Approx(3e12));

    const WorkAmount half = 0.5 * work;
    REQUIRE(half.gemm_flops == Approx(0.5 * work.gemm_flops));
    REQUIRE(half.attention_flops == Approx(0.5 * work.attention_flops));
    REQUIRE(half.memory_bytes == Approx(1.5e12));
    REQUIRE(half.kernels[3].repeat == Approx(1.5));
    REQUIRE(half.kernels[0].repeat == Approx(0.5));

    WorkAmount sum = work + half;
    REQUIRE(sum.kernels.size() == 8);
    REQUIRE(sum.gemm_flops == Approx(1.5 * work.gemm_flops));
    // The totals still equal what the kernels add up to.
    double gemm_flops = 0.0;
    double bytes = 0.0;
    for (const Kernel& k : sum.kernels) {
        if (k.kind == KernelKind::kGemm && !k.is_attention_core) {
            gemm_flops += k.flops() * k.repeat;
        }
        if (k.kind == KernelKind::kMemory) {
            bytes += k.bytes * k.repeat;
        }
    }
    REQUIRE(sum.gemm_flops == Approx(gemm_flops));
    REQUIRE(sum.memory_bytes == Approx(bytes));
}

TEST_CASE("time_work: per-kind times, a launch overhead per launch, repeats included",
          "[workload][kernel]") {
    GpuSpec gpu = math_gpu();
    gpu.flash2 = {0.4, 0.6, 1000.0};
    gpu.launch_overhead_s = 3e-6;
    const ToyWork toy;
    WorkAmount work;
    work.add(toy.g);
    work.add(toy.core);
    work.add(toy.attention);
    Kernel norms = toy.norm;
    norms.repeat = 3.0;
    work.add(norms);
    const KernelTiming t = time_work(gpu, work);
    // GEMM: 6.7108864e-6 s. Attention: the core GEMM 6.7108864e-6 + the fused kernel
    // 1.536e-6 s. Memory: 3 × 1e12 B / 1e18 = 3e-6 s. Launches: 1 + 1 + 1 + 3 = 6 × 3e-6.
    REQUIRE(t.gemm_s == Approx(kOneWave256x128));
    REQUIRE(t.attention_s == Approx(kOneWave256x128 + 1.536e-6));
    REQUIRE(t.memory_s == Approx(3e-6));
    REQUIRE(t.kernels == Approx(6.0));
    REQUIRE(t.launch_s == Approx(18e-6));
    REQUIRE(t.kernels_from_profile == 0.0);
    REQUIRE(t.time_s == Approx(t.gemm_s + t.attention_s + t.memory_s + t.launch_s));
    REQUIRE(compute_time_s(gpu, work) == Approx(t.time_s));
    // Twice the work: twice every part, twice the launches.
    const KernelTiming t2 = time_work(gpu, 2.0 * work);
    REQUIRE(t2.time_s == Approx(2.0 * t.time_s));
    REQUIRE(t2.kernels == Approx(12.0));
    REQUIRE(t2.launch_s == Approx(36e-6));
    // A zero repeat launches nothing.
    const KernelTiming none = time_work(gpu, 0.0 * work);
    REQUIRE(none.time_s == 0.0);
    REQUIRE(none.kernels == 0.0);
}

TEST_CASE("time_work: the scalar model ignores the kernels", "[workload][kernel]") {
    GpuSpec gpu = math_gpu();
    gpu.flash2 = {0.4, 0.6, 1000.0};
    gpu.launch_overhead_s = 3e-6;
    gpu.efficiency = {0.5, 0.25, 0.5};
    gpu.compute_model = ComputeModel::kScalar;
    const ToyWork toy;
    WorkAmount work;
    work.add(toy.g);
    work.add(toy.attention);
    work.add(toy.norm);
    const KernelTiming t = time_work(gpu, work);
    // 6,710,886,400 / 5e14 + 7.68e8 / 2.5e14 + 1e12 / 5e17, no launch overhead, no
    // quantization, no attention curve.
    REQUIRE(t.gemm_s == Approx(6'710'886'400.0 / 5e14));
    REQUIRE(t.attention_s == Approx(7.68e8 / 2.5e14));
    REQUIRE(t.memory_s == Approx(2e-6));
    REQUIRE(t.launch_s == 0.0);
    REQUIRE(t.kernels == 0.0);
    REQUIRE(t.time_s == Approx(6'710'886'400.0 / 5e14 + 7.68e8 / 2.5e14 + 2e-6));
}

TEST_CASE("time_work: a profile row replaces the model for the matching kernel only",
          "[workload][kernel]") {
    GpuSpec gpu = math_gpu();
    gpu.flash2 = {0.4, 0.6, 1000.0};
    gpu.launch_overhead_s = 1e-6;
    auto profile = std::make_shared<KernelProfile>();
    profile->gpu = "toy";
    KernelProfileEntry row;
    row.kind = KernelKind::kGemm;
    row.m = 2560;
    row.n = 1280;
    row.k = 1024;
    row.time_s = 1e-3;
    row.source = "test";
    profile->entries.push_back(row);
    KernelProfileEntry norm_row;
    norm_row.kind = KernelKind::kMemory;
    norm_row.name = "layernorm";
    norm_row.bytes = 1e12;
    norm_row.time_s = 5e-4;
    profile->entries.push_back(norm_row);
    gpu.kernel_profile = profile;

    const ToyWork toy;
    WorkAmount work;
    Kernel twice = toy.g;
    twice.repeat = 2.0;
    work.add(twice);                   // matches: 2 × 1e-3 s
    work.add(gemm(2560, 1280, 2048));  // other K: modelled, 2 · 6.7108864e-6 s
    Kernel fp8 = toy.g;                // other dtype: modelled
    fp8.dtype = Dtype::kFp8;
    work.add(fp8);
    work.add(toy.norm);            // matches by name and bytes: 5e-4 s
    Kernel other_norm = toy.norm;  // same bytes, other name: modelled, 1e-6 s
    other_norm.name = "rmsnorm";
    work.add(other_norm);
    const KernelTiming t = time_work(gpu, work);
    REQUIRE(t.kernels == Approx(6.0));
    REQUIRE(t.kernels_from_profile == Approx(3.0));
    REQUIRE(t.gemm_s == Approx(2e-3 + 2.0 * kOneWave256x128 + kOneWave256x128));
    REQUIRE(t.memory_s == Approx(5e-4 + 1e-6));
    REQUIRE(t.launch_s == Approx(6e-6));  // measured kernels still pay a launch each
    // The profile's find() itself.
    REQUIRE(profile->find(toy.g) == Approx(1e-3));
    REQUIRE_FALSE(profile->find(fp8).has_value());
    REQUIRE_FALSE(profile->find(other_norm).has_value());
}

TEST_CASE("the GPU library's SM counts and clocks give its tensor-core peaks",
          "[workload][kernel]") {
    // peak = SMs · clock · dense bf16 FLOPs per SM per clock: 2048 on Ampere (A100: 108 SMs at
    // 1410 MHz = 311.9 TFLOP/s), 4096 on Hopper (H100/H200: 132 SMs at 1830 MHz = 989.4).
    const GpuSpec a100 = *find_gpu("A100-80GB-SXM");
    REQUIRE(a100.sm_count == 108);
    REQUIRE(a100.sm_count * a100.boost_clock_hz * 2048 ==
            Approx(a100.peak_bf16_flops_per_s).epsilon(0.001));
    for (const char* name : {"H100-SXM", "H200"}) {
        const GpuSpec hopper = *find_gpu(name);
        REQUIRE(hopper.sm_count == 132);
        REQUIRE(hopper.sm_count * hopper.boost_clock_hz * 4096 ==
                Approx(hopper.peak_bf16_flops_per_s).epsilon(0.001));
        REQUIRE(hopper.flash3.max_fraction_d128 > hopper.flash2.max_fraction_d128);
        REQUIRE(hopper.peak_flops_per_s(Dtype::kFp8) == Approx(2.0 * 989e12).epsilon(0.001));
    }
    REQUIRE(find_gpu("B200")->sm_count == 148);
    // A100 has neither FlashAttention-3 nor fp8 (fp8 falls back to the bf16 peak).
    REQUIRE(a100.flash3.max_fraction_d128 == 0.0);
    REQUIRE(a100.peak_flops_per_s(Dtype::kFp8) == a100.peak_bf16_flops_per_s);
    for (const GpuSpec& gpu : gpu_library()) {
        REQUIRE(gpu.compute_model == ComputeModel::kKernel);
        REQUIRE(gpu.launch_overhead_s > 0.0);
        REQUIRE(gpu.efficiency.gemm_fraction > 0.5);
        REQUIRE(gpu.efficiency.gemm_fraction < 1.0);
    }
}

TEST_CASE("a layer's kernels add up to its totals and time_work times them", "[workload][kernel]") {
    // GPT layer, TP 4 with sequence parallelism, flash and unfused attention: every
    // WorkAmount's totals equal the sum over its kernels, and the model times them kernel by
    // kernel (time = parts + one launch per kernel).
    for (const bool flash : {true, false}) {
        TrainingJob job;
        job.model.layers = 4;
        job.model.hidden = 4096;
        job.model.ffn_hidden = 16384;
        job.model.heads = 32;
        job.model.kv_heads = 32;
        job.model.seq_len = 2048;
        job.model.vocab = 51200;
        job.training.global_batch = 8;
        job.training.micro_batch = 2;
        job.training.is_flash_attention = flash;
        job.layout.tp = 4;
        job.layout.is_sequence_parallel = true;
        job.gpu = *find_gpu("H100-SXM");
        const LayerCosts costs = layer_costs(job);
        for (const WorkAmount* w :
             {&costs.forward, &costs.backward_input, &costs.backward_weight}) {
            double gemm_flops = 0.0;
            double attention_flops = 0.0;
            double bytes = 0.0;
            double launches = 0.0;
            for (const Kernel& k : w->kernels) {
                launches += k.repeat;
                if (k.kind == KernelKind::kMemory) {
                    bytes += k.bytes * k.repeat;
                } else if (k.kind == KernelKind::kAttention || k.is_attention_core) {
                    attention_flops += k.flops() * k.repeat;
                } else {
                    gemm_flops += k.flops() * k.repeat;
                }
            }
            REQUIRE(w->gemm_flops == Approx(gemm_flops));
            REQUIRE(w->attention_flops == Approx(attention_flops));
            REQUIRE(w->memory_bytes == Approx(bytes));
            const KernelTiming t = time_work(job.gpu, *w);
            REQUIRE(t.kernels == Approx(launches));
            REQUIRE(t.launch_s == Approx(launches * job.gpu.launch_overhead_s));
            REQUIRE(t.time_s == Approx(t.gemm_s + t.attention_s + t.memory_s + t.launch_s));
        }
        // Megatron's per-layer forward FLOPs per rank: 24·b·s·h²/t in weight GEMMs and
        // 4·b·s²·h/t in the attention core.
        const double b = 2;
        const double s = 2048;
        const double h = 4096;
        REQUIRE(costs.forward.gemm_flops == Approx(24.0 * b * s * h * h / 4));
        REQUIRE(costs.forward.attention_flops == Approx(4.0 * b * s * s * h / 4));
        REQUIRE(costs.backward_input.attention_flops == Approx(8.0 * b * s * s * h / 4));
    }
}
