// SPDX-License-Identifier: Apache-2.0
// File: analytic.h
// Closed-form models, in plain doubles (seconds, bytes, bytes/s). They depend on nothing and
// are used by tests (to compute expected values) and by reports (analytic columns beside the
// simulated ones). Sources are cited per formula and in docs/models/*.md.
#pragma once

#include <cstdint>
#include <vector>

namespace stepsim::analytic {

// =============================================================================================
// Collectives (sim/analytic/collective_costs.cc; docs/models/collectives.md)
//
// n ranks, S bytes per rank's buffer, alpha = latency per message (route latency),
// beta = seconds per byte on the path, gamma = seconds per byte reduced. "Chunks" are the
// pieces a message is pipelined in; each chunk pays alpha (the textbook per-message model).
// Every formula is exact for the plans of sim/collective on uncontended homogeneous links,
// except where a comment says "approximate".

struct CollectiveCost {
    double alpha_s = 0;
    double beta_s_per_byte = 0;
    double gamma_s_per_byte = 0;
};

/// Ring reduce-scatter, k chunks per segment of S/n:
/// (n−1)·k·(alpha + c·(beta + gamma)), c = S/(n·k). Thakur et al. 2005; NCCL tuning.cc nsteps.
double ring_reduce_scatter_time_s(std::int64_t n,
                                  double size_bytes,
                                  const CollectiveCost& cost,
                                  std::int64_t chunks_per_segment = 1);
/// Ring all-gather: (n−1)·k·(alpha + c·beta), c = S/(n·k).
double ring_all_gather_time_s(std::int64_t n,
                              double size_bytes,
                              const CollectiveCost& cost,
                              std::int64_t chunks_per_segment = 1);
/// Ring all-reduce = reduce-scatter + all-gather:
/// 2(n−1)·k·alpha + 2(n−1)/n·S·beta + (n−1)/n·S·gamma.
double ring_all_reduce_time_s(std::int64_t n,
                              double size_bytes,
                              const CollectiveCost& cost,
                              std::int64_t chunks_per_segment = 1);
/// Pipelined chain of `hops` links, S bytes in k chunks of c = S/k (ring broadcast; with
/// is_reduce, ring reduce): (hops + k − 1)·(alpha + c·beta [+ c·gamma]).
double pipelined_chain_time_s(std::int64_t hops,
                              double size_bytes,
                              const CollectiveCost& cost,
                              std::int64_t chunks,
                              bool is_reduce);

/// Height (edges from the root to the deepest leaf) of NCCL's binary tree on n ranks (the
/// in-order tree of src/graph/trees.cc, whose root has one child): ceil(log2 n) for n >= 2.
std::int64_t binary_tree_height(std::int64_t n);
/// NCCL double binary tree all-reduce, each tree carrying S/2 in k chunks of c = S/(2k),
/// reduce up the tree then broadcast down, pipelined: (2H + k − 1)·(alpha + c·beta) + 2H·c·gamma
/// with H = binary_tree_height(n). Exact for gamma = 0; the gamma term is approximate (an
/// interior node reduces up to two children's chunks per level). Latency ∝ 2·log2(n) as in
/// NCCL tuning.cc; Sanders, Speck & Träff 2009.
double double_binary_tree_all_reduce_time_s(std::int64_t n,
                                            double size_bytes,
                                            const CollectiveCost& cost,
                                            std::int64_t chunks);

/// Rabenseifner all-reduce (recursive halving reduce-scatter, recursive doubling all-gather),
/// p = largest power of two <= n, e = 1 when n > p (the n − p extra ranks fold into partners
/// first and get the result back last):
/// (2·log2 p + 2e)·alpha + (2(p−1)/p + 2e)·S·beta + ((p−1)/p + e)·S·gamma. Thakur,
/// Rabenseifner & Gropp 2005.
double halving_doubling_all_reduce_time_s(std::int64_t n,
                                          double size_bytes,
                                          const CollectiveCost& cost);
/// Recursive halving reduce-scatter (n a power of two): log2 n·alpha + (n−1)/n·S·(beta+gamma).
double halving_reduce_scatter_time_s(std::int64_t n, double size_bytes, const CollectiveCost& cost);
/// Recursive doubling all-gather (n a power of two): log2 n·alpha + (n−1)/n·S·beta.
double doubling_all_gather_time_s(std::int64_t n, double size_bytes, const CollectiveCost& cost);
/// Recursive doubling all-reduce (whole buffer exchanged each step), p and e as above:
/// (log2 p + 2e)·(alpha + S·beta) + (log2 p + e)·S·gamma.
double recursive_doubling_all_reduce_time_s(std::int64_t n,
                                            double size_bytes,
                                            const CollectiveCost& cost);

/// Direct (one-shot) collectives: every rank sends to every rank at once. `is_port_limited`:
/// each GPU's n−1 concurrent flows share one port of bandwidth 1/beta (a GPU behind a switch,
/// max-min shared); false: each pair has its own link (full mesh, or a contention-free
/// model). Reductions of the n−1 incoming pieces run one after another on the receiver.
///   reduce-scatter: alpha + f·S/n·beta + (n−1)·S/n·gamma, f = n−1 (port) or 1 (mesh)
///   all-gather:     alpha + f·S/n·beta
///   all-reduce:     the two in sequence
///   all-to-all:     alpha + f·S/n·beta
///   broadcast:      alpha + f·S·beta
///   reduce:         alpha + f·S·beta + (n−1)·S·gamma
///   send/recv:      alpha + S·beta
double direct_reduce_scatter_time_s(std::int64_t n,
                                    double size_bytes,
                                    const CollectiveCost& cost,
                                    bool is_port_limited);
double direct_all_gather_time_s(std::int64_t n,
                                double size_bytes,
                                const CollectiveCost& cost,
                                bool is_port_limited);
double direct_all_reduce_time_s(std::int64_t n,
                                double size_bytes,
                                const CollectiveCost& cost,
                                bool is_port_limited);
double direct_all_to_all_time_s(std::int64_t n,
                                double size_bytes,
                                const CollectiveCost& cost,
                                bool is_port_limited);
double direct_broadcast_time_s(std::int64_t n,
                               double size_bytes,
                               const CollectiveCost& cost,
                               bool is_port_limited);
double direct_reduce_time_s(std::int64_t n,
                            double size_bytes,
                            const CollectiveCost& cost,
                            bool is_port_limited);
double send_recv_time_s(double size_bytes, const CollectiveCost& cost);

/// Hierarchical all-reduce on `nodes` servers × `ranks_per_node` GPUs: ring reduce-scatter
/// inside each server, ring all-reduce of each GPU's 1/ranks_per_node share across servers
/// (one ring per rail), ring all-gather inside each server; the buffer is pipelined in
/// `pieces`, each piece going through the three phases:
///   T = t1 + t2 + t3 + (pieces − 1)·max(t1, t2, t3), ti = phase i on S/pieces.
/// Exact for pieces = 1; approximate (a flow-shop bound) for more.
double hierarchical_all_reduce_time_s(std::int64_t nodes,
                                      std::int64_t ranks_per_node,
                                      double size_bytes,
                                      const CollectiveCost& intra,
                                      const CollectiveCost& inter,
                                      std::int64_t pieces);

/// All-to-all with per-pair volumes: `pair_bytes` is n×n row-major, entry i·n + j what member
/// i sends to member j (the diagonal is ignored). The closed forms below take it; the uniform
/// all-to-all of S bytes per member is pair_bytes = S/n off the diagonal.
///
/// Direct (every pair at once): T = α + β·max over members of max(bytes out, bytes in) when
/// the flows of a member share its port (port-limited), α + β·max pair otherwise. The
/// port-limited form is the lower bound every schedule obeys; max-min sharing reaches it when
/// the busiest port's flows are the last to finish (uniform volumes, one hot receiver).
double direct_all_to_all_skewed_time_s(std::int64_t n,
                                       const std::vector<double>& pair_bytes,
                                       const CollectiveCost& cost,
                                       bool is_port_limited);
/// Direct all-to-all of S bytes per member on `nodes` servers × `ranks_per_node` GPUs when the
/// GPU's links inside a server and across servers are separate ports (NVLink beside the NIC):
/// all n−1 blocks of c = S/n leave at once, (ranks_per_node−1) over the intra-server port and
/// (nodes−1)·ranks_per_node over the NIC, so T = max(α_intra + β_intra·(ppn−1)·c,
/// α_inter + β_inter·(nodes−1)·ppn·c) (each term 0 when it has no block).
double direct_all_to_all_two_level_time_s(std::int64_t nodes,
                                          std::int64_t ranks_per_node,
                                          double size_bytes,
                                          const CollectiveCost& intra,
                                          const CollectiveCost& inter);
/// Pairwise exchange (MPI's): n−1 steps, in step s member i sends to i+s and receives from
/// i−s (mod n), each step after the previous one of both ends:
///   T = Σ_{s=1}^{n−1} (α + β·max_i pair_bytes(i, i+s)).
/// Exact for uniform volumes and when each step's largest transfer lies on one member's chain
/// (one hot receiver); an upper bound otherwise.
double pairwise_all_to_all_time_s(std::int64_t n,
                                  const std::vector<double>& pair_bytes,
                                  const CollectiveCost& cost);
/// Hierarchical all-to-all on `nodes` servers × `ranks_per_node` GPUs (group index
/// v·ranks_per_node + l for server v, local index l): (1) inside each server, GPU (v, l) hands
/// GPU (v, l') everything it has for local index l' on every server; (2) across servers, on
/// rail l', GPU (v, l') sends GPU (w, l') what its server has for (w, l'), after all of its
/// phase-1 receives. T = α_intra + β_intra·P1 + α_inter + β_inter·P2 with P1, P2 each phase's
/// busiest port (port-limited) or largest message (not). Exact for uniform volumes and one
/// hot receiver on rail-optimized servers; an upper bound otherwise.
double hierarchical_all_to_all_time_s(std::int64_t nodes,
                                      std::int64_t ranks_per_node,
                                      const std::vector<double>& pair_bytes,
                                      const CollectiveCost& intra,
                                      const CollectiveCost& inter,
                                      bool is_port_limited);
/// The uniform pair matrix: `size_bytes`/n from every member to every other.
std::vector<double> uniform_pair_bytes(std::int64_t n, double size_bytes);

// ============================================================================ end collectives

// =============================================================================================
// Checkpoint intervals and expected wall time under failures (issue 6;
// sim/analytic/checkpoint_interval.cc; docs/models/failures-checkpoints.md).
// Sources: Young, CACM 17(9), 1974; Daly, FGCS 22(3), 2006. Notation: δ = checkpoint write
// time, M = mean time between (job-interrupting) failures, R = restart time, τ = useful compute
// between checkpoints, T_s = total useful compute. All functions throw UserError
// on non-positive δ, M or τ, or negative R or T_s.

/// Young's first-order optimum: τ = √(2·δ·M).
double young_interval_s(double checkpoint_cost_s, double mtbf_s);

/// Daly's higher-order optimum (Daly 2006, eq. 37): for δ < 2M,
/// τ = √(2δM)·[1 + (1/3)·√(δ/(2M)) + (1/9)·(δ/(2M))] − δ; for δ >= 2M, τ = M.
double daly_interval_s(double checkpoint_cost_s, double mtbf_s);

/// Expected wall time of one segment of w seconds (compute plus checkpoint) that must run
/// without a failure, restarting after each failure with cost R (failures also strike during
/// restarts): M·e^{R/M}·(e^{w/M} − 1).
double expected_segment_time_s(double segment_s, double restart_cost_s, double mtbf_s);

/// Daly's expected wall time for exponential failures (Poisson in wall-clock time, failures
/// also during checkpoints and restarts; each failure costs R and loses the segment):
/// T_w = M·e^{R/M}·(e^{(τ+δ)/M} − 1)·T_s/τ, i.e. expected_segment_time_s(τ + δ)·T_s/τ.
double daly_expected_wall_time_s(double work_s,
                                 double interval_s,
                                 double checkpoint_cost_s,
                                 double restart_cost_s,
                                 double mtbf_s);

/// Principal branch W₀ of Lambert's W function, for x >= −1/e (Halley iteration, to double
/// precision). Throws InternalError for x < −1/e.
double lambert_w0(double x);

/// The exact minimiser of daly_expected_wall_time_s over τ (continuous T_s/τ):
/// d/dτ [(e^{(τ+δ)/M} − 1)/τ] = 0  ⇔  e^{(τ+δ)/M}·(1 − τ/M) = 1
/// ⇔  τ = M·(1 + W₀(−e^{−1−δ/M})). Independent of R and T_s.
double daly_exact_optimal_interval_s(double checkpoint_cost_s, double mtbf_s);

// =============================================================================================
// Training step (sim/analytic/training_closed_forms.cc; docs/models/compute.md)
//
// B global batch (sequences), s sequence length, l layers, h hidden size, V vocabulary,
// p pipeline stages, m micro-batches per pipeline, v model chunks per device.

/// Megatron-LM FLOPs per iteration (Narayanan et al. SC'21, arXiv 2104.04473, §5.1), GPT
/// layers (4h MLP, multi-head attention), forward + backward, no recompute:
/// 72·B·s·l·h²·(1 + s/(6h) + V/(12·h·l)). With full recompute (one more forward of every
/// layer, not of the logits): 96·B·s·l·h²·(1 + s/(6h) + V/(16·h·l)).
double megatron_flops_per_iteration(double batch,
                                    double seq_len,
                                    double layers,
                                    double hidden,
                                    double vocab,
                                    bool is_full_recompute);

/// Megatron-LM parameter count (same paper, §5.1): 12·l·h²·(1 + 13/(12h) + (V+s)/(12·l·h)).
double megatron_parameter_count(double layers, double hidden, double vocab, double seq_len);

/// Kaplan et al. 2020 training-compute estimate: 6·N·D (N parameters, D tokens).
double six_n_d_flops(double parameters, double tokens);

/// GPipe and 1F1B bubble as a rate of the total: (p−1)/(m+p−1) (reference.md §1).
double one_f_one_b_bubble_rate(std::int64_t p, std::int64_t m);
/// GPipe and 1F1B bubble as a fraction of the ideal time: (p−1)/m (Narayanan SC'21 §2.2.1).
double one_f_one_b_bubble_fraction_of_ideal(std::int64_t p, std::int64_t m);
/// Interleaved 1F1B with v chunks per device, rate of the total: (p−1)/(v·m+p−1).
double interleaved_bubble_rate(std::int64_t p, std::int64_t m, std::int64_t v);
/// Interleaved 1F1B, fraction of the ideal time: (p−1)/(v·m) (Narayanan SC'21 §2.2.2).
double interleaved_bubble_fraction_of_ideal(std::int64_t p, std::int64_t m, std::int64_t v);
/// ZB-H1 (Qi et al. 2024, sail-sg/zero-bubble-pipeline-parallelism): bubble time
/// (p−1)·(T_F + T_B − T_W) against m·(T_F + T_B + T_W) of work per stage; as a rate:
/// (p−1)(F+B−W) / (m(F+B+W) + (p−1)(F+B−W)). With F = B = W: (p−1)/(3m+p−1), about a third
/// of one_f_one_b_bubble_rate when m >> p.
double zero_bubble_h1_bubble_rate(std::int64_t p,
                                  std::int64_t m,
                                  double forward_s,
                                  double backward_input_s,
                                  double backward_weight_s);

/// DualPipe and DualPipeV (DeepSeek-V3, arXiv 2412.19437, Table 2; reference.md §1): bubble
/// (PP/2 − 1)(F&B + B − 3W) for PP stages of one model copy (even), F&B the time of an
/// overlapped forward-and-backward pair and B a full backward. With nothing to overlap F&B =
/// T_F + T_B and B = T_B + T_W (T_B the backward for inputs), so the bubble is
/// (PP/2 − 1)(T_F + 2·T_B − 2·T_W) for chunk times T_F, T_B, T_W. `chunk_microbatches`:
/// chunk passes per rank per step (m for DualPipe, 2m for DualPipeV); rate of the total:
/// bubble / (chunk_microbatches·(T_F+T_B+T_W) + bubble).
double dual_pipe_bubble_time(std::int64_t stages,
                             double forward_s,
                             double backward_input_s,
                             double backward_weight_s);
double dual_pipe_bubble_rate(std::int64_t stages,
                             std::int64_t chunk_microbatches,
                             double forward_s,
                             double backward_input_s,
                             double backward_weight_s);

/// Korthikanti et al. 2022 (arXiv 2205.05198) Table 2: activation bytes per transformer layer
/// per micro-batch on one GPU, GPT layer (16-bit activations, dropout, unfused attention),
/// a heads, t tensor-parallel ranks, b micro-batch:
///   no SP, no recompute:   s·b·h·(10 + 24/t + 5·a·s/(h·t))
///   SP:                    s·b·h·(34/t + 5·a·s/(h·t))
///   selective recompute:   drops the 5·a·s/(h·t) term
///   full recompute:        2·s·b·h (divided by t with SP)
double korthikanti_activation_bytes(double seq_len,
                                    double micro_batch,
                                    double hidden,
                                    double heads,
                                    double tp,
                                    bool is_sequence_parallel,
                                    bool is_selective_recompute,
                                    bool is_full_recompute);

// ========================================================================= end training step

}  // namespace stepsim::analytic
