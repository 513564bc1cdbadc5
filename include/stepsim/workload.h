// SPDX-License-Identifier: Apache-2.0
// File: workload.h
// A training job as plain data (model shape, training settings, 3D-parallel layout, GPU) and the
// model math on it: per-layer FLOPs and bytes for one micro-batch on one tensor-parallel rank,
// parameter counts, memory per GPU per ZeRO stage and recompute mode, and the GPU library with
// its compute-efficiency model. Formulas and sources: docs/models/compute.md. Nothing here
// knows protobuf; sim/spec/workload_loader.cc turns a workload spec into a TrainingJob.
#pragma once

#include "stepsim/collective.h"
#include "stepsim/error.h"
#include "stepsim/kernels.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stepsim {

// ---------------------------------------------------------------------------------------------
// GPUs

/// How kernels are timed (docs/models/compute.md §2).
enum class ComputeModel : std::uint8_t {
    kKernel,  ///< per kernel: GEMM tiles and waves, attention curves, bytes, launch overhead
    kScalar,  ///< one achieved fraction per kind of work, shape-blind (the first wave's model)
};

std::string_view to_string(ComputeModel model);

/// Achieved fractions. With the kernel model, gemm_fraction is the sustained fraction of peak
/// of a large, perfectly quantized GEMM (the per-GPU constant) and attention_fraction is
/// unused (the attention curves below take its place); memory_fraction is the achieved share
/// of HBM bandwidth in both models.
struct GpuEfficiency {
    double gemm_fraction = 0.75;       ///< large bf16 GEMMs (QKV, projections, MLP, logits)
    double attention_fraction = 0.55;  ///< fused attention kernels (scalar model only)
    double memory_fraction = 0.80;     ///< element-wise work: achieved / peak HBM bandwidth
};

struct GpuSpec {
    std::string name;                    ///< library key, e.g. "H100-SXM"
    double peak_bf16_flops_per_s = 0.0;  ///< dense (no sparsity) bf16 tensor-core peak
    std::int64_t hbm_bytes = 0;          ///< HBM capacity as on the datasheet (decimal GB)
    double hbm_Bps = 0.0;                ///< peak HBM bandwidth
    GpuEfficiency efficiency;
    int sm_count = 0;                   ///< streaming multiprocessors (waves of GEMM tiles)
    double boost_clock_hz = 0.0;        ///< the clock behind the tensor-core peak
    double peak_fp8_flops_per_s = 0.0;  ///< dense fp8 peak; 0 when the GPU has no fp8
    double launch_overhead_s = 2e-6;    ///< per kernel: launch and ramp (kernel model)
    /// Best measured large-GEMM throughput over peak (Maximum Achievable Matmul FLOPS); the
    /// library's gemm_fraction is this times kSustainedFractionOfMamf.
    double mamf_fraction = 0.0;
    /// The same for fp8 GEMMs (0: no fp8 measurement; the bf16 fraction is used).
    double mamf_fraction_fp8 = 0.0;
    /// Sustained fraction of the fp8 peak of a large fp8 GEMM (kernel model); 0: gemm_fraction.
    double fp8_gemm_fraction = 0.0;
    AttentionCurve flash2;  ///< FlashAttention-2 throughput (kernel model)
    AttentionCurve flash3;  ///< FlashAttention-3 / cuDNN; all zero: not supported
    ComputeModel compute_model = ComputeModel::kKernel;
    std::shared_ptr<const KernelProfile> kernel_profile;  ///< measured times, may be null

    /// Peak of `dtype` (fp8 falls back to bf16 on a GPU without fp8).
    double peak_flops_per_s(Dtype dtype) const;
};

/// The bundled GPUs: "A100-80GB-SXM", "H100-SXM", "H200", "B200", "H800" (figures and citations in
/// docs/models/compute.md). Returned by value, in that order.
std::vector<GpuSpec> gpu_library();
/// Looks a GPU up by name (case-insensitive; "-" and "_" are interchangeable);
/// std::nullopt when the library has no such GPU.
std::optional<GpuSpec> find_gpu(std::string_view name);

/// Work of one task: its kernels, and the totals by how they are counted.
struct WorkAmount {
    double gemm_flops = 0.0;       ///< matrix multiplies with weights
    double attention_flops = 0.0;  ///< Q·Kᵀ and softmax·V
    double memory_bytes = 0.0;     ///< HBM traffic of memory-bound element-wise kernels
    /// The kernels behind the totals. Empty for work given only as totals (tests, custom
    /// costs): the kernel model then times the totals as one large GEMM, one attention at the
    /// scalar fraction and one memory kernel, without launch overheads.
    std::vector<Kernel> kernels;

    double flops() const { return gemm_flops + attention_flops; }

    /// Appends `kernel` and adds its FLOPs or bytes (times its repeat) to the totals.
    void add(const Kernel& kernel);

    WorkAmount& operator+=(const WorkAmount& other);
};

WorkAmount operator+(WorkAmount a, const WorkAmount& b);
/// Scales the totals and every kernel's repeat count.
WorkAmount operator*(double factor, WorkAmount work);

/// Where the time of some work went on one GPU.
struct KernelTiming {
    double time_s = 0.0;
    double gemm_s = 0.0;       ///< GEMMs with weights
    double attention_s = 0.0;  ///< attention core (fused kernel, or unfused GEMMs + softmax)
    double memory_s = 0.0;     ///< memory-bound kernels (launch overhead excluded)
    double launch_s = 0.0;     ///< per-kernel launch overheads
    double kernels = 0.0;      ///< launches timed (repeat counts included)
    double kernels_from_profile = 0.0;  ///< of which from the measured profile

    KernelTiming& operator+=(const KernelTiming& other);
};

KernelTiming operator*(double factor, KernelTiming timing);
KernelTiming operator+(KernelTiming a, const KernelTiming& b);

/// Seconds one launch of `kernel` takes on `gpu` by the kernel model (no profile, no launch
/// overhead): GEMMs by tiles and waves under a math/memory roofline, attention by its curve,
/// memory kernels by bytes.
double kernel_model_time_s(const GpuSpec& gpu, const Kernel& kernel);

/// The time of `work` on `gpu`, split by kind, with the profile's times where it has them.
KernelTiming time_work(const GpuSpec& gpu, const WorkAmount& work);

/// Seconds one GPU needs for `work`: time_work(gpu, work).time_s. With the scalar model:
/// gemm / (peak · gemm_fraction) + attention / (peak · attention_fraction) + bytes / (hbm_Bps ·
/// memory_fraction). Kernels run one after another.
double compute_time_s(const GpuSpec& gpu, const WorkAmount& work);

// ---------------------------------------------------------------------------------------------
// Job description

enum class NormKind : std::uint8_t { kLayerNorm, kRmsNorm };
enum class PositionEmbedding : std::uint8_t { kLearned, kRotary };

/// Routed experts per MoE layer a job may have (the load model keeps a share per expert).
/// Published MoE models use up to 256; fine-grained designs (PEER) a million.
inline constexpr int kMaxExperts = 1 << 20;

/// Transformer shape, dense or mixture-of-experts (experts > 1: every layer from
/// `dense_layers` on replaces its MLP by a router, `shared_experts` always-on experts and
/// `experts` routed experts of which each token uses `top_k`; docs/models/moe.md).
struct ModelConfig {
    std::string name;
    int layers = 0;
    std::int64_t hidden = 0;      ///< h
    std::int64_t ffn_hidden = 0;  ///< f (4h for GPT; 3.5h-ish for SwiGLU models)
    bool is_gated = false;        ///< SwiGLU/GeGLU MLP: three h×f matrices instead of two
    int heads = 0;                ///< a (query heads)
    int kv_heads = 0;             ///< GQA key/value heads; == heads for multi-head attention
    std::int64_t seq_len = 0;     ///< s
    std::int64_t vocab = 0;       ///< V
    bool has_bias = true;         ///< linear-layer biases (GPT: yes, Llama: no)
    NormKind norm = NormKind::kLayerNorm;
    PositionEmbedding position_embedding = PositionEmbedding::kLearned;
    bool has_tied_embeddings = true;  ///< output layer reuses the input embedding
    bool has_dropout = true;  ///< dropout masks are stored (Korthikanti's 34sbh counts them)
    int experts = 1;          ///< routed experts per MoE layer (1 = dense; <= kMaxExperts)
    int top_k = 1;            ///< routed experts each token goes to
    std::int64_t expert_ffn_hidden = 0;  ///< f_e of each expert's MLP (gated like the MLP)
    int shared_experts = 0;              ///< experts every token goes through (DeepSeek: 1)
    /// Megatron's --moe-expert-capacity-factor: each expert takes at most
    /// tokens·top_k·factor/experts tokens of each source rank, the rest are dropped before
    /// the exchange; 0 = dropless.
    double capacity_factor = 0.0;
    int dense_layers = 0;  ///< leading layers that keep the dense MLP (DeepSeek-V3: 3)

    bool is_moe() const { return experts > 1; }

    /// Layer `layer` (global index) has routed experts.
    bool is_moe_layer(int layer) const { return is_moe() && layer >= dense_layers; }

    int moe_layer_count() const { return is_moe() ? std::max(0, layers - dense_layers) : 0; }

    std::int64_t head_dim() const { return hidden / heads; }

    std::int64_t kv_dim() const { return head_dim() * kv_heads; }  ///< width of K (and of V)
};

enum class Recompute : std::uint8_t {
    kNone,
    kSelective,  ///< recompute the attention core (Korthikanti et al. 2022 §5)
    kFull,       ///< keep only each layer's input; re-run the layer's forward in backward
};

enum class GradientPrecision : std::uint8_t { kBf16, kFp32 };

struct TrainingConfig {
    std::int64_t global_batch = 0;  ///< sequences per optimizer step
    std::int64_t micro_batch = 1;   ///< sequences per micro-batch (b)
    Recompute recompute = Recompute::kNone;
    /// bf16 weights and activations always; gradients as below; fp32 master weights and two
    /// fp32 Adam moments (12 bytes/parameter of optimizer state).
    GradientPrecision gradient_precision = GradientPrecision::kBf16;
    /// FlashAttention-style fused attention: the s×s scores are never stored.
    bool is_flash_attention = true;
    /// The fused kernel when is_flash_attention (FlashAttention-3 needs Hopper or later; on an
    /// older GPU FlashAttention-2 is used).
    AttentionKernel attention_kernel = AttentionKernel::kFlash2;
    /// Precision of the transformer layers' linear GEMMs (QKV, projection, MLP): FP8 runs them
    /// on the fp8 tensor cores (Transformer Engine's delayed scaling), with a cast of each
    /// GEMM input and an fp8 copy of the weights; the logits and attention stay bf16.
    Dtype gemm_dtype = Dtype::kBf16;
    double packing_utilization_fraction = 1.0;  ///< real tokens / allocated tokens
    double data_loader_s = 0.0;                 ///< exposed data-loading time per step
    /// Host work of the pipeline engine before every forward and backward op of a pipelined
    /// job (DeepSpeed's instruction interpreter; 0 for Megatron's own schedules).
    double pipeline_op_overhead_s = 0.0;
    /// MoE load imbalance: expert e gets a share of the routed tokens ∝ 1/(rank_e + 1)^skew,
    /// rank_e a permutation of the experts drawn from `expert_skew_seed`; 0 = balanced.
    double expert_skew = 0.0;
    std::uint64_t expert_skew_seed = 1;
};

enum class ParallelDim : std::uint8_t { kTp, kDp, kPp, kCp };
/// kDualPipe and kDualPipeV: DeepSeek-V3's bidirectional schedules (docs/models/dualpipe.md):
/// every pipeline rank holds two model chunks (chunks_per_stage() == 2).
enum class PipelineScheduleKind : std::uint8_t {
    kGPipe,
    kOneFOneB,
    kInterleaved,
    kZeroBubbleH1,
    kDualPipe,   ///< two model copies, rank s holds stage s of one and stage pp-1-s of the other
    kDualPipeV,  ///< one copy cut in 2·pp chunks, rank s holds chunks s and 2·pp-1-s (a V)
};

std::string_view to_string(PipelineScheduleKind kind);
std::string_view to_string(Recompute mode);
std::string_view to_string(ParallelDim dim);

/// How context-parallel ranks exchange keys and values (Transformer Engine's cp_comm_type;
/// docs/models/context-parallel.md).
enum class CpCommType : std::uint8_t {
    /// Ring of point-to-point transfers, each overlapped with the attention block on the chunk
    /// already held (Megatron-Core's default, TE "p2p").
    kP2p,
    /// All-gather of the whole sequence's K and V before attention, not overlapped; the key and
    /// value gradients are reduce-scattered after the backward (Llama 3, TE "all_gather").
    kAllGather,
};

std::string_view to_string(CpCommType type);

struct ParallelLayout {
    int tp = 1;
    int pp = 1;
    int dp = 1;
    /// Context parallelism: each micro-batch's sequence is split over cp ranks (2·cp chunks,
    /// rank i holding chunks i and 2·cp−1−i for causal load balance); only attention
    /// communicates. Gradients are reduced over the dp·cp ranks of a stage (Megatron's
    /// data-parallel group with CP), and the distributed optimizer shards over them.
    int cp = 1;
    CpCommType cp_comm = CpCommType::kP2p;
    /// ZeRO-3: layers whose parameters are all-gathered ahead of the one running (1: the next
    /// layer's gather overlaps the current layer's compute; 0: none, each gather is exposed).
    int fsdp_prefetch_layers = 1;
    bool is_sequence_parallel = false;
    int virtual_stages = 1;  ///< v model chunks per pipeline rank (interleaved schedule only)
    int zero_stage = 0;      ///< 0 none, 1 optimizer, 2 + gradients, 3 + weights (FSDP)
    std::int64_t grad_bucket_bytes = 25 * 1024 * 1024;
    /// Megatron's --overlap-grad-reduce: each gradient bucket is reduced as soon as the last
    /// micro-batch's backward has produced it; otherwise all buckets after the backward.
    bool is_grad_reduce_overlapped = true;
    /// --overlap-param-gather (distributed optimizer, zero_stage 1-2): the updated parameters
    /// are all-gathered bucket by bucket during the next step's forward, each bucket before
    /// its first layer runs; otherwise all at once after the optimizer step.
    bool is_param_gather_overlapped = false;
    /// --tp-comm-overlap (needs sequence parallelism): each all-gather / reduce-scatter is
    /// split in tp chunks pipelined with the pieces of the GEMM it feeds or consumes; the
    /// GEMM pieces run on the SMs the communication leaves free.
    bool is_tp_comm_overlapped = false;
    int tp_comm_overlap_ag_sms = 1;   ///< SMs an overlapped all-gather takes (ring exchange)
    int tp_comm_overlap_rs_sms = 16;  ///< SMs an overlapped reduce-scatter takes (pipeline)
    /// --overlap-p2p-communication: pipeline sends run beside compute; otherwise the sender's
    /// compute stream waits for each send (batched blocking send/recv).
    bool is_p2p_overlapped = true;
    /// Megatron's scatter/gather of pipeline messages without sequence parallelism: each TP
    /// rank sends 1/tp of the activation and the receivers all-gather it over NVLink.
    bool is_p2p_scatter_gather = true;
    /// Rank order, innermost (consecutive global ranks) first. Default: TP inside a node, then
    /// CP, DP, PP (Megatron-Core's order tp-cp-ep-dp-pp without experts).
    std::array<ParallelDim, 4> order = {ParallelDim::kTp, ParallelDim::kCp, ParallelDim::kDp,
                                        ParallelDim::kPp};
    PipelineScheduleKind schedule = PipelineScheduleKind::kOneFOneB;

    /// Expert parallelism: the routed experts of a MoE layer are split over `ep` GPUs taken
    /// from the data-parallel dimension (same tp and pp coordinates, ep consecutive DP
    /// indices); tokens reach their experts by all-to-all over that group.
    int ep = 1;
    /// SMs the EP all-to-all kernels hold through the step (DeepSeek-V3 §3.2.2: 20 of the
    /// H800's 132 for DualPipe); the step's compute tasks run on the rest, each
    /// sm_count / (sm_count − ep_comm_sms) times longer. 0: none.
    int ep_comm_sms = 0;

    int world_size() const { return tp * cp * pp * dp; }

    /// Ranks a stage's gradients are reduced over and its ZeRO state is sharded over: dp·cp.
    int gradient_group_size() const { return dp * cp; }
};

/// Where a global rank sits in the 4D grid.
struct RankCoordinates {
    int tp = 0;
    int dp = 0;
    int pp = 0;  ///< pipeline stage
    int cp = 0;  ///< context-parallel rank (which pair of sequence chunks)
};

/// Global rank (0 .. world_size-1) of `coordinates` under `layout.order`.
int rank_of(const ParallelLayout& layout, const RankCoordinates& coordinates);
/// Inverse of rank_of; throws InternalError for a rank outside the world.
RankCoordinates coordinates_of(const ParallelLayout& layout, int rank);

/// A named software stack: the defaults a Megatron release used (docs/models/compute.md §5).
/// Every setting it implies can still be overridden field by field.
enum class SoftwareStack : std::uint8_t {
    kCustom,            ///< no preset: the spec's fields and stepsim's defaults
    kMegatronLm2021,    ///< no overlap, unfused attention, blocking p2p, DP all-reduce after
    kMegatronCore2024,  ///< distributed optimizer, grad/param/TP/p2p overlap, flash attention
    /// Megatron-DeepSpeed (2021-22): Megatron-LM 2021's kernels, DeepSpeed's pipeline engine
    /// (its per-op host overhead is the stack's fitted constant) and ZeRO-1.
    kMegatronDeepSpeed2022,
};

std::string_view to_string(SoftwareStack stack);

/// The fitted constant (docs/validation.md, "Calibration"): the share of its best measured
/// matmul throughput (MAMF) a GPU sustains in end-to-end training, fitted once on SC'21 Table 1
/// (A100, Megatron-LM 2021) and frozen. Every library GPU's gemm_fraction is its MAMF fraction
/// times this.
inline constexpr double kSustainedFractionOfMamf = 0.78;
/// The fitted constant of (A100, Megatron-DeepSpeed 2022): DeepSpeed's pipeline-engine host
/// time per forward or backward op, fitted once on the MT-NLG table and frozen.
inline constexpr double kDeepSpeedPipelineOpOverheadS = 0.019;
/// The fitted constant of (H100, Megatron-Core 2024 with Transformer Engine FP8): the share
/// of its fp8 MAMF a GPU sustains in FP8 GEMMs under this stack (delayed scaling, 2023-24
/// kernels), used instead of kSustainedFractionOfMamf for the fp8 GEMMs of jobs on this stack.
/// Fitted once on the `mlperf` table (MLPerf Training v3.0, 3,584 H100) and frozen
/// (docs/validation.md); the v3.1 and v4.0 rows are predictions.
inline constexpr double kMegatronCoreFp8SustainedFractionOfMamf = 0.59;

struct TrainingJob;
/// Sets the stack's defaults on `job` (flash attention, ZeRO stage, overlap flags); the spec's
/// own fields are applied after.
void apply_stack_defaults(TrainingJob& job);
/// The stack's fitted constants that belong to the GPU: on Megatron-Core 2024, the fp8 GEMM
/// fraction (kMegatronCoreFp8SustainedFractionOfMamf × the GPU's fp8 MAMF fraction). Call it
/// on the library GPU before the spec's own hardware fields.
void apply_stack_gpu_constants(SoftwareStack stack, GpuSpec& gpu);
/// FlashAttention-3 with Megatron-Core 2024 on GPUs that have it, FlashAttention-2 otherwise.
AttentionKernel default_attention_kernel(SoftwareStack stack, const GpuSpec& gpu);

struct TrainingJob {
    SoftwareStack stack = SoftwareStack::kCustom;
    ModelConfig model;
    TrainingConfig training;
    ParallelLayout layout;
    GpuSpec gpu;
    /// Where the spec's fields were written (the workload loader fills it), so that the
    /// cluster checks point at "parallelism.tp" and friends; empty for jobs built in code.
    SpecSource source;
};

// ---------------------------------------------------------------------------------------------
// Derived figures

/// Micro-batches per pipeline per step: global_batch / (micro_batch · dp).
std::int64_t microbatches(const TrainingJob& job);
/// Tokens per step: global_batch · seq_len (allocated, before packing utilization).
std::int64_t tokens_per_step(const TrainingJob& job);
/// Tokens of one micro-batch on one GPU: micro_batch · seq_len / cp.
std::int64_t microbatch_tokens_per_rank(const TrainingJob& job);

/// Distinct model chunks (layer groups in forward order): pp · virtual_stages; DualPipe: pp
/// (each held twice, once per model copy); DualPipeV: 2·pp. In 64 bits: validation calls it
/// before pp and virtual_stages are known to be small (pp 4 x virtual_stages 2^31 - 1 was a
/// signed overflow, a fuzz find).
std::int64_t model_chunk_count(const ParallelLayout& layout);
/// Model chunks per pipeline rank: virtual_stages; 2 with DualPipe and DualPipeV.
int chunks_per_stage(const ParallelLayout& layout);
/// The model chunks pipeline rank `stage` holds, in its local chunk order: c·pp + stage for
/// local chunk c (Megatron's interleaved assignment); DualPipe {stage, pp-1-stage};
/// DualPipeV {stage, 2·pp-1-stage}. Throws InternalError for a stage outside [0, pp).
std::vector<int> stage_chunks(const ParallelLayout& layout, int stage);

/// Layers of each model chunk, model_chunk_count() entries; the chunks a stage holds are
/// stage_chunks(). When pp·v does not divide the layers, every
/// chunk gets ceil(layers / (pp·v)) and the deficit is taken one layer at a time from the
/// first chunk, the last chunk, the second, the second-to-last, ... (the first and last
/// stages also hold the embedding and the logits; Llama 3 405B's 126 layers on 16 stages
/// give 7, 8, ..., 8, 7 this way).
std::vector<int> chunk_layers(const ModelConfig& model, const ParallelLayout& layout);
/// Layers on pipeline stage `stage` (sum over its chunks).
int stage_layers(const ModelConfig& model, const ParallelLayout& layout, int stage);
/// Global indices of the layers on pipeline stage `stage`, chunk by chunk (stage_chunks()).
std::vector<int> stage_layer_indices(const ModelConfig& model,
                                     const ParallelLayout& layout,
                                     int stage);

/// Parameters of the whole model: per layer attention (Q, K, V, output) + MLP + two norms,
/// plus the embedding (+ learned positions), the final norm and, when untied, the output
/// layer. GPT-style: 12·l·h² + 13·l·h + (V + s)·h + 2h (the Megatron formula plus the final
/// layer norm, which that formula leaves out).
std::int64_t parameter_count(const ModelConfig& model);
/// Parameters of one transformer layer (all TP ranks together); for a MoE model, of a dense
/// layer.
std::int64_t layer_parameter_count(const ModelConfig& model);
/// Parameters of layer `layer`: a MoE layer has the router (experts·h), the shared and all
/// routed experts instead of the MLP.
std::int64_t layer_parameter_count(const ModelConfig& model, int layer);
/// Parameters one token uses (MoE: the router, shared experts and top_k routed experts per
/// MoE layer instead of all experts): DeepSeek-V3's "37B activated". Equal to
/// parameter_count for a dense model.
std::int64_t active_parameter_count(const ModelConfig& model);
/// Routed-expert parameters held by one GPU of `stage` (experts/ep per MoE layer, split by
/// tp); their gradients and optimizer state shard over the dp/ep expert-data-parallel ranks.
std::int64_t stage_expert_parameter_count(const TrainingJob& job, int stage);

/// Parameters held by one GPU of pipeline stage `stage` (one TP shard; before ZeRO sharding).
/// Column/row-parallel matrices and their split biases are divided by tp; norms and
/// row-parallel biases are replicated; the vocabulary-parallel embedding is on stage 0, the
/// output layer (or the tied embedding's copy when pp > 1) on stage pp-1.
std::int64_t stage_parameter_count(const TrainingJob& job, int stage);

/// One tensor-parallel collective of a layer: op (all-reduce without sequence parallelism;
/// all-gather / reduce-scatter with it) and the nccl-tests size of the full buffer,
/// b·s·h·2 bytes.
struct TpCollective {
    CollectiveOp op = CollectiveOp::kAllReduce;
    std::int64_t size_bytes = 0;
};

/// Context parallelism's exchange of keys and values in one layer for one micro-batch on one
/// GPU (cp > 1; docs/models/context-parallel.md). The attention kernels in LayerCosts are then
/// per rank: with kP2p, `blocks` kernels of s/cp queries against one s/cp chunk of keys each
/// (causal load balance makes every block half a full s/cp × s/cp tile: the size of a causal
/// s/cp diagonal block); with kAllGather one kernel of s/cp queries against all s keys.
struct CpExchange {
    CpCommType type = CpCommType::kP2p;
    int ranks = 1;   ///< cp; 1: no exchange
    int blocks = 1;  ///< attention kernels per forward (and per backward): cp for p2p, else 1
    /// K and V of one rank's share of the sequence (b·s/cp tokens, kv_heads/tp heads, bf16):
    /// what one ring step passes on, and each rank's part of the all-gather.
    std::int64_t kv_chunk_bytes = 0;
};

/// The expert-parallel part of a MoE layer for one micro-batch on one GPU of the most loaded
/// EP rank (the one every all-to-all waits for).
struct MoeCosts {
    WorkAmount forward;          ///< routed experts: grouped GEMMs, activation, (un)permute
    WorkAmount backward_input;   ///< their input gradients
    WorkAmount backward_weight;  ///< their weight gradients
    /// Forward dispatch (tokens to experts) and combine (expert outputs back), as bytes each
    /// EP rank sends in total (its own share included: the nccl-tests convention); backward
    /// sends the gradients the other way: combine-sized dispatch first, then dispatch-sized.
    std::int64_t dispatch_bytes = 0;
    std::int64_t combine_bytes = 0;
    std::int64_t backward_dispatch_bytes = 0;  ///< gradient of the combine (toward experts)
    std::int64_t backward_combine_bytes = 0;   ///< gradient of the dispatch (back to tokens)
    /// ep×ep per-pair bytes (row = sender) for each of the four, when the routing is skewed;
    /// empty when balanced.
    std::vector<std::int64_t> dispatch_pairs;
    std::vector<std::int64_t> combine_pairs;
    std::vector<std::int64_t> backward_dispatch_pairs;
    std::vector<std::int64_t> backward_combine_pairs;
    /// Routed tokens the busiest EP rank receives over the mean (1 balanced).
    double load_imbalance_factor = 1.0;
    /// Routed token-expert pairs kept / routed (capacity factor drops, 1 dropless).
    double kept_fraction = 1.0;
};

/// Each expert's share of the routed tokens (sums to 1): balanced, or with expert_skew the
/// seeded power law. Deterministic in (experts, skew, seed).
std::vector<double> expert_load_shares(const ModelConfig& model, const TrainingConfig& training);

/// Costs of one transformer layer for one micro-batch on one TP rank.
struct LayerCosts {
    WorkAmount forward;
    WorkAmount backward_input;   ///< B: gradients w.r.t. inputs (attention core's backward too)
    WorkAmount backward_weight;  ///< W: gradients w.r.t. weights (for ZB-H1's deferred W)
    WorkAmount recompute;        ///< extra forward work in backward for the recompute mode
    std::vector<TpCollective> forward_collectives;    ///< in order; empty when tp == 1
    std::vector<TpCollective> backward_collectives;   ///< in order; empty when tp == 1
    std::vector<TpCollective> recompute_collectives;  ///< extra ones re-run by recompute
    CpExchange cp;                                    ///< context parallelism (ranks == 1: none)
    /// MoE layers: the routed experts and their all-to-alls (forward/backward above then hold
    /// attention, the router and the shared experts).
    bool is_moe = false;
    MoeCosts moe;
};

/// Costs of the first layer (dense unless a MoE model has no dense layers).
LayerCosts layer_costs(const TrainingJob& job);
/// Costs of layer `layer` (global index): dense or MoE.
LayerCosts layer_costs(const TrainingJob& job, int layer);

/// Costs of the embedding (first stage) and of the output layer + loss (last stage) for one
/// micro-batch on one TP rank. The embedding is a memory-bound lookup; the logits are a
/// 2·b·s·h·V/tp GEMM forward and twice that backward (B and W halves).
struct EdgeCosts {
    WorkAmount embedding_forward;
    WorkAmount embedding_backward;
    WorkAmount logits_forward;
    WorkAmount logits_backward_input;
    WorkAmount logits_backward_weight;
    /// TP collectives of the vocabulary-parallel embedding and output layer (empty when
    /// tp == 1): without sequence parallelism an all-reduce of the embedding output forward
    /// and of the output layer's input gradient backward; with it, reduce-scatter / all-gather
    /// pairs.
    std::vector<TpCollective> embedding_forward_collectives;
    std::vector<TpCollective> embedding_backward_collectives;
    std::vector<TpCollective> logits_forward_collectives;
    std::vector<TpCollective> logits_backward_collectives;
};

EdgeCosts edge_costs(const TrainingJob& job);

/// Bytes one TP rank sends to the next stage per micro-batch (activations forward, their
/// gradient backward): b·s·h·2, divided by tp with sequence parallelism (each rank sends its
/// sequence shard).
std::int64_t pipeline_message_bytes(const TrainingJob& job);

/// Gradient bytes one GPU of `stage` reduces across DP per step (its TP shard, in the gradient
/// precision; all-reduce for ZeRO 0-1, reduce-scatter for ZeRO 2-3).
std::int64_t stage_gradient_bytes(const TrainingJob& job, int stage);

/// Model FLOPs per step (forward + backward, no recompute), all GPUs together: per layer
/// 3·(forward GEMMs + attention) plus the logits' 6·B·s·h·V. MoE layers count the active
/// parameters: the router, the shared experts and top_k routed experts per token (no drops,
/// no imbalance), i.e. 6·N_active per token plus attention. For a GPT-style model this is
/// Megatron's 72·B·s·l·h²·(1 + s/(6h) + V/(12·h·l)).
double model_flops_per_step(const TrainingJob& job);
/// Hardware FLOPs per step: model FLOPs plus the recompute mode's extra forward work.
double hardware_flops_per_step(const TrainingJob& job);

// ---------------------------------------------------------------------------------------------
// Memory

/// Bytes on one GPU. Weights bf16 (2 B/param), gradients 2 or 4 B/param, optimizer state
/// 12 B/param (fp32 master + two Adam moments), each divided by dp when the ZeRO stage shards
/// it (1: optimizer, 2: + gradients, 3: + weights).
struct MemoryBreakdown {
    std::int64_t weights_bytes = 0;
    std::int64_t gradients_bytes = 0;
    std::int64_t optimizer_bytes = 0;
    std::int64_t activations_bytes = 0;
    /// Transient buffers: the last stage's fp32 logits for one micro-batch and, with ZeRO-3,
    /// two gathered layers of weights (current + prefetch).
    std::int64_t transient_bytes = 0;

    std::int64_t total_bytes() const {
        return weights_bytes + gradients_bytes + optimizer_bytes + activations_bytes +
               transient_bytes;
    }
};

/// Activation bytes one transformer layer keeps for one micro-batch on one GPU until its
/// backward. Korthikanti et al. 2022, Table 2, generalized to GQA, gated MLPs, no dropout and
/// fused attention: for a GPT layer with dropout and unfused attention this is
/// s·b·h·(10 + 24/t + 5·a·s/(h·t)) without sequence parallelism, s·b·h·(34/t + 5·a·s/(h·t))
/// with it; selective recompute (or fused attention) drops the 5·a·s/(h·t) term; full
/// recompute keeps 2·s·b·h (/t with sequence parallelism).
std::int64_t layer_activation_bytes(const TrainingJob& job);

/// Micro-batches whose activations a stage holds at its peak, counted in model chunks
/// (each chunk = the stage's layers / v): GPipe m; 1F1B and ZB-H1 min(p - stage, m);
/// interleaved min((p - stage - 1)·2 + (v - 1)·p + 1, v·m) (Megatron's warm-up count + 1).
std::int64_t in_flight_chunk_microbatches(const TrainingJob& job, int stage);

/// Memory of one GPU on `stage` with `in_flight_chunk_microbatches` chunks' activations held
/// (use in_flight_chunk_microbatches() for the schedule's peak, or a count measured from a
/// simulated timeline).
MemoryBreakdown memory_per_gpu(const TrainingJob& job,
                               int stage,
                               std::int64_t in_flight_chunk_microbatches);
/// The schedule's peak: memory_per_gpu with in_flight_chunk_microbatches(job, stage).
MemoryBreakdown memory_per_gpu(const TrainingJob& job, int stage);
/// The stage with the largest total at the schedule's peak (the lowest such stage on ties).
int most_loaded_stage(const TrainingJob& job);

// ---------------------------------------------------------------------------------------------
// Validation

/// Checks that need only the job (heads divisible by tp, kv_heads by tp, a layer per chunk,
/// batch divisibility, interleaved m % p, ZeRO stage range, positive sizes). Returns
/// "field: message" problems (field is the spec path, e.g. "parallelism.tp"); empty if fine.
/// The loader turns these into SpecErrors with file locations.
struct JobProblem {
    std::string field_path;
    std::string message;  ///< lower-case, no final period
};

std::vector<JobProblem> validate_job(const TrainingJob& job);

/// Checks against a cluster: tp·pp·dp == gpu_count, and memory of the most loaded stage fits
/// the GPU's HBM unless `allow_oom` (the message carries the breakdown). Throws
/// JobClusterMismatch located at the workload fields involved (`job.source`: parallelism.tp
/// for the GPU count, the parallelism block for memory; the file alone, `workload_file` when
/// the job has no source) and naming `topology_file` when given.
void validate_job_against_cluster(const TrainingJob& job,
                                  int gpu_count,
                                  bool allow_oom,
                                  const std::string& workload_file = {},
                                  const std::string& topology_file = {});

}  // namespace stepsim
