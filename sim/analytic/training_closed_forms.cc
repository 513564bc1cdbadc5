// SPDX-License-Identifier: Apache-2.0
// File: training_closed_forms.cc
// Closed forms of a training step: Megatron's FLOPs and parameter formulas, 6ND, pipeline
// bubbles per schedule and Korthikanti's activation memory (sources in analytic.h and
// docs/models/compute.md).
#include "stepsim/analytic.h"
#include "stepsim/error.h"

#include <algorithm>
#include <stdexcept>

namespace stepsim::analytic {

namespace {

void check_pipeline(std::int64_t p, std::int64_t m) {
    if (p < 1 || m < 1) {
        throw UserError("pipeline bubble: p and m must be >= 1");
    }
}

}  // namespace

double megatron_flops_per_iteration(double batch,
                                    double seq_len,
                                    double layers,
                                    double hidden,
                                    double vocab,
                                    bool is_full_recompute) {
    const double base = batch * seq_len * layers * hidden * hidden;
    if (is_full_recompute) {
        return 96.0 * base * (1.0 + seq_len / (6.0 * hidden) + vocab / (16.0 * hidden * layers));
    }
    return 72.0 * base * (1.0 + seq_len / (6.0 * hidden) + vocab / (12.0 * hidden * layers));
}

double megatron_parameter_count(double layers, double hidden, double vocab, double seq_len) {
    return 12.0 * layers * hidden * hidden *
           (1.0 + 13.0 / (12.0 * hidden) + (vocab + seq_len) / (12.0 * layers * hidden));
}

double six_n_d_flops(double parameters, double tokens) {
    return 6.0 * parameters * tokens;
}

double one_f_one_b_bubble_rate(std::int64_t p, std::int64_t m) {
    check_pipeline(p, m);
    return static_cast<double>(p - 1) / static_cast<double>(m + p - 1);
}

double one_f_one_b_bubble_fraction_of_ideal(std::int64_t p, std::int64_t m) {
    check_pipeline(p, m);
    return static_cast<double>(p - 1) / static_cast<double>(m);
}

double interleaved_bubble_rate(std::int64_t p, std::int64_t m, std::int64_t v) {
    check_pipeline(p, m);
    if (v < 1) {
        throw UserError("interleaved bubble: v must be >= 1");
    }
    return static_cast<double>(p - 1) / static_cast<double>(v * m + p - 1);
}

double interleaved_bubble_fraction_of_ideal(std::int64_t p, std::int64_t m, std::int64_t v) {
    check_pipeline(p, m);
    if (v < 1) {
        throw UserError("interleaved bubble: v must be >= 1");
    }
    return static_cast<double>(p - 1) / static_cast<double>(v * m);
}

double dual_pipe_bubble_time(std::int64_t stages,
                             double forward_s,
                             double backward_input_s,
                             double backward_weight_s) {
    if (stages < 2 || stages % 2 != 0) {
        throw UserError("dualpipe bubble: stages must be even and >= 2");
    }
    if (!(forward_s > 0.0) || !(backward_input_s > 0.0) || !(backward_weight_s >= 0.0)) {
        throw UserError("dualpipe bubble: pass times must be positive");
    }
    const double overlapped_pair = forward_s + backward_input_s;        // F&B, nothing to hide
    const double full_backward = backward_input_s + backward_weight_s;  // B
    return (static_cast<double>(stages) / 2.0 - 1.0) *
           (overlapped_pair + full_backward - 3.0 * backward_weight_s);
}

double dual_pipe_bubble_rate(std::int64_t stages,
                             std::int64_t chunk_microbatches,
                             double forward_s,
                             double backward_input_s,
                             double backward_weight_s) {
    check_pipeline(stages, chunk_microbatches);
    const double bubble = std::max(
        0.0, dual_pipe_bubble_time(stages, forward_s, backward_input_s, backward_weight_s));
    const double work = static_cast<double>(chunk_microbatches) *
                        (forward_s + backward_input_s + backward_weight_s);
    return bubble / (work + bubble);
}

double zero_bubble_h1_bubble_rate(std::int64_t p,
                                  std::int64_t m,
                                  double forward_s,
                                  double backward_input_s,
                                  double backward_weight_s) {
    check_pipeline(p, m);
    if (!(forward_s > 0.0) || !(backward_input_s > 0.0) || !(backward_weight_s >= 0.0)) {
        throw UserError("zb-h1 bubble: pass times must be positive");
    }
    const double bubble =
        static_cast<double>(p - 1) * (forward_s + backward_input_s - backward_weight_s);
    const double work = static_cast<double>(m) * (forward_s + backward_input_s + backward_weight_s);
    return bubble / (work + bubble);
}

double korthikanti_activation_bytes(double seq_len,
                                    double micro_batch,
                                    double hidden,
                                    double heads,
                                    double tp,
                                    bool is_sequence_parallel,
                                    bool is_selective_recompute,
                                    bool is_full_recompute) {
    const double sbh = seq_len * micro_batch * hidden;
    if (is_full_recompute) {
        return is_sequence_parallel ? 2.0 * sbh / tp : 2.0 * sbh;
    }
    const double attention = is_selective_recompute ? 0.0 : 5.0 * heads * seq_len / (hidden * tp);
    if (is_sequence_parallel) {
        return sbh * (34.0 / tp + attention);
    }
    return sbh * (10.0 + 24.0 / tp + attention);
}

}  // namespace stepsim::analytic
