// SPDX-License-Identifier: Apache-2.0
// File: collective_costs.cc
// Alpha-beta-gamma closed forms of the collective algorithms in sim/collective: ring,
// pipelined chain, NCCL double binary tree, Rabenseifner halving-doubling, recursive doubling,
// direct, hierarchical. Thakur, Rabenseifner & Gropp, "Optimization of collective
// communication operations in MPICH", IJHPCA 19(1) 2005; NCCL src/graph/tuning.cc.
#include "stepsim/analytic.h"
#include "stepsim/error.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace stepsim::analytic {

namespace {

void require_group(std::int64_t n) {
    if (n < 1) {
        throw UserError("group size must be >= 1, got " + std::to_string(n));
    }
}

std::int64_t floor_log2(std::int64_t n) {
    std::int64_t log = 0;
    while ((std::int64_t{2} << log) <= n) {
        ++log;
    }
    return log;
}

double nd(std::int64_t n) {
    return static_cast<double>(n);
}

}  // namespace

double ring_reduce_scatter_time_s(std::int64_t n,
                                  double size_bytes,
                                  const CollectiveCost& cost,
                                  std::int64_t chunks_per_segment) {
    require_group(n);
    const double k = nd(std::max<std::int64_t>(1, chunks_per_segment));
    const double c = size_bytes / (nd(n) * k);
    return nd(n - 1) * k * (cost.alpha_s + c * (cost.beta_s_per_byte + cost.gamma_s_per_byte));
}

double ring_all_gather_time_s(std::int64_t n,
                              double size_bytes,
                              const CollectiveCost& cost,
                              std::int64_t chunks_per_segment) {
    require_group(n);
    const double k = nd(std::max<std::int64_t>(1, chunks_per_segment));
    const double c = size_bytes / (nd(n) * k);
    return nd(n - 1) * k * (cost.alpha_s + c * cost.beta_s_per_byte);
}

double ring_all_reduce_time_s(std::int64_t n,
                              double size_bytes,
                              const CollectiveCost& cost,
                              std::int64_t chunks_per_segment) {
    return ring_reduce_scatter_time_s(n, size_bytes, cost, chunks_per_segment) +
           ring_all_gather_time_s(n, size_bytes, cost, chunks_per_segment);
}

double pipelined_chain_time_s(std::int64_t hops,
                              double size_bytes,
                              const CollectiveCost& cost,
                              std::int64_t chunks,
                              bool is_reduce) {
    if (hops <= 0) {
        return 0;
    }
    const double k = nd(std::max<std::int64_t>(1, chunks));
    const double c = size_bytes / k;
    const double per_byte = cost.beta_s_per_byte + (is_reduce ? cost.gamma_s_per_byte : 0.0);
    return (nd(hops) + k - 1) * (cost.alpha_s + c * per_byte);
}

std::int64_t binary_tree_height(std::int64_t n) {
    require_group(n);
    std::int64_t height = 0;
    while ((std::int64_t{1} << height) < n) {
        ++height;
    }
    return height;
}

double double_binary_tree_all_reduce_time_s(std::int64_t n,
                                            double size_bytes,
                                            const CollectiveCost& cost,
                                            std::int64_t chunks) {
    if (n <= 1) {
        return 0;
    }
    const double h = nd(binary_tree_height(n));
    const double k = nd(std::max<std::int64_t>(1, chunks));
    const double c = size_bytes / (2 * k);
    return (2 * h + k - 1) * (cost.alpha_s + c * cost.beta_s_per_byte) +
           2 * h * c * cost.gamma_s_per_byte;
}

double halving_doubling_all_reduce_time_s(std::int64_t n,
                                          double size_bytes,
                                          const CollectiveCost& cost) {
    require_group(n);
    if (n == 1) {
        return 0;
    }
    const std::int64_t log_p = floor_log2(n);
    const double p = std::ldexp(1.0, static_cast<int>(log_p));
    const double e = (nd(n) > p) ? 1.0 : 0.0;
    return (2 * nd(log_p) + 2 * e) * cost.alpha_s +
           (2 * (p - 1) / p + 2 * e) * size_bytes * cost.beta_s_per_byte +
           ((p - 1) / p + e) * size_bytes * cost.gamma_s_per_byte;
}

double halving_reduce_scatter_time_s(std::int64_t n,
                                     double size_bytes,
                                     const CollectiveCost& cost) {
    require_group(n);
    return nd(floor_log2(n)) * cost.alpha_s +
           nd(n - 1) / nd(n) * size_bytes * (cost.beta_s_per_byte + cost.gamma_s_per_byte);
}

double doubling_all_gather_time_s(std::int64_t n, double size_bytes, const CollectiveCost& cost) {
    require_group(n);
    return nd(floor_log2(n)) * cost.alpha_s + nd(n - 1) / nd(n) * size_bytes * cost.beta_s_per_byte;
}

double recursive_doubling_all_reduce_time_s(std::int64_t n,
                                            double size_bytes,
                                            const CollectiveCost& cost) {
    require_group(n);
    if (n == 1) {
        return 0;
    }
    const std::int64_t log_p = floor_log2(n);
    const double e = (n > (std::int64_t{1} << log_p)) ? 1.0 : 0.0;
    return (nd(log_p) + 2 * e) * (cost.alpha_s + size_bytes * cost.beta_s_per_byte) +
           (nd(log_p) + e) * size_bytes * cost.gamma_s_per_byte;
}

double direct_reduce_scatter_time_s(std::int64_t n,
                                    double size_bytes,
                                    const CollectiveCost& cost,
                                    bool is_port_limited) {
    require_group(n);
    if (n == 1) {
        return 0;
    }
    const double f = is_port_limited ? nd(n - 1) : 1.0;
    const double block = size_bytes / nd(n);
    return cost.alpha_s + f * block * cost.beta_s_per_byte +
           nd(n - 1) * block * cost.gamma_s_per_byte;
}

double direct_all_gather_time_s(std::int64_t n,
                                double size_bytes,
                                const CollectiveCost& cost,
                                bool is_port_limited) {
    require_group(n);
    if (n == 1) {
        return 0;
    }
    const double f = is_port_limited ? nd(n - 1) : 1.0;
    return cost.alpha_s + f * size_bytes / nd(n) * cost.beta_s_per_byte;
}

double direct_all_reduce_time_s(std::int64_t n,
                                double size_bytes,
                                const CollectiveCost& cost,
                                bool is_port_limited) {
    return direct_reduce_scatter_time_s(n, size_bytes, cost, is_port_limited) +
           direct_all_gather_time_s(n, size_bytes, cost, is_port_limited);
}

double direct_all_to_all_time_s(std::int64_t n,
                                double size_bytes,
                                const CollectiveCost& cost,
                                bool is_port_limited) {
    return direct_all_gather_time_s(n, size_bytes, cost, is_port_limited);
}

double direct_all_to_all_two_level_time_s(std::int64_t nodes,
                                          std::int64_t ranks_per_node,
                                          double size_bytes,
                                          const CollectiveCost& intra,
                                          const CollectiveCost& inter) {
    require_group(nodes);
    require_group(ranks_per_node);
    const double block = size_bytes / nd(nodes * ranks_per_node);
    const double inside =
        ranks_per_node > 1 ? intra.alpha_s + nd(ranks_per_node - 1) * block * intra.beta_s_per_byte
                           : 0.0;
    const double across =
        nodes > 1 ? inter.alpha_s + nd((nodes - 1) * ranks_per_node) * block * inter.beta_s_per_byte
                  : 0.0;
    return std::max(inside, across);
}

double direct_broadcast_time_s(std::int64_t n,
                               double size_bytes,
                               const CollectiveCost& cost,
                               bool is_port_limited) {
    require_group(n);
    if (n == 1) {
        return 0;
    }
    const double f = is_port_limited ? nd(n - 1) : 1.0;
    return cost.alpha_s + f * size_bytes * cost.beta_s_per_byte;
}

double direct_reduce_time_s(std::int64_t n,
                            double size_bytes,
                            const CollectiveCost& cost,
                            bool is_port_limited) {
    if (n <= 1) {
        return 0;
    }
    return direct_broadcast_time_s(n, size_bytes, cost, is_port_limited) +
           nd(n - 1) * size_bytes * cost.gamma_s_per_byte;
}

double send_recv_time_s(double size_bytes, const CollectiveCost& cost) {
    return cost.alpha_s + size_bytes * cost.beta_s_per_byte;
}

double hierarchical_all_reduce_time_s(std::int64_t nodes,
                                      std::int64_t ranks_per_node,
                                      double size_bytes,
                                      const CollectiveCost& intra,
                                      const CollectiveCost& inter,
                                      std::int64_t pieces) {
    require_group(nodes);
    require_group(ranks_per_node);
    const double k = nd(std::max<std::int64_t>(1, pieces));
    const double piece = size_bytes / k;
    const double t1 = ring_reduce_scatter_time_s(ranks_per_node, piece, intra);
    const double t2 = ring_all_reduce_time_s(nodes, piece / nd(ranks_per_node), inter);
    const double t3 = ring_all_gather_time_s(ranks_per_node, piece, intra);
    return t1 + t2 + t3 + (k - 1) * std::max({t1, t2, t3});
}

namespace {

void require_pairs(std::int64_t n, const std::vector<double>& pair_bytes) {
    require_group(n);
    if (pair_bytes.size() != static_cast<std::size_t>(n * n)) {
        throw UserError("pair volumes need n·n = " + std::to_string(n * n) + " entries, got " +
                        std::to_string(pair_bytes.size()));
    }
}

}  // namespace

std::vector<double> uniform_pair_bytes(std::int64_t n, double size_bytes) {
    require_group(n);
    std::vector<double> pairs(static_cast<std::size_t>(n * n), size_bytes / nd(n));
    for (std::int64_t i = 0; i < n; ++i) {
        pairs[static_cast<std::size_t>(i * n + i)] = 0.0;
    }
    return pairs;
}

double direct_all_to_all_skewed_time_s(std::int64_t n,
                                       const std::vector<double>& pair_bytes,
                                       const CollectiveCost& cost,
                                       bool is_port_limited) {
    require_pairs(n, pair_bytes);
    if (n == 1) {
        return 0;
    }
    const auto at = [&](std::int64_t i, std::int64_t j) {
        return pair_bytes[static_cast<std::size_t>(i * n + j)];
    };
    double busiest = 0.0;
    for (std::int64_t i = 0; i < n; ++i) {
        double out = 0.0;
        double in = 0.0;
        for (std::int64_t j = 0; j < n; ++j) {
            if (j == i) {
                continue;
            }
            if (is_port_limited) {
                out += at(i, j);
                in += at(j, i);
            } else {
                busiest = std::max(busiest, at(i, j));
            }
        }
        busiest = std::max({busiest, out, in});
    }
    return cost.alpha_s + busiest * cost.beta_s_per_byte;
}

double pairwise_all_to_all_time_s(std::int64_t n,
                                  const std::vector<double>& pair_bytes,
                                  const CollectiveCost& cost) {
    require_pairs(n, pair_bytes);
    double total = 0.0;
    for (std::int64_t s = 1; s < n; ++s) {
        double largest = 0.0;
        for (std::int64_t i = 0; i < n; ++i) {
            largest = std::max(largest, pair_bytes[static_cast<std::size_t>(i * n + (i + s) % n)]);
        }
        total += cost.alpha_s + largest * cost.beta_s_per_byte;
    }
    return total;
}

double hierarchical_all_to_all_time_s(std::int64_t nodes,
                                      std::int64_t ranks_per_node,
                                      const std::vector<double>& pair_bytes,
                                      const CollectiveCost& intra,
                                      const CollectiveCost& inter,
                                      bool is_port_limited) {
    require_group(nodes);
    require_group(ranks_per_node);
    const std::int64_t n = nodes * ranks_per_node;
    require_pairs(n, pair_bytes);
    const auto at = [&](std::int64_t v, std::int64_t l, std::int64_t w, std::int64_t m) {
        return pair_bytes[static_cast<std::size_t>((v * ranks_per_node + l) * n +
                                                   w * ranks_per_node + m)];
    };
    // Phase 1 message (v, l) -> (v, l'): everything for local index l' on every server.
    // Phase 2 message (v, l') -> (w, l'): what server v has for (w, l').
    std::vector<double> out1(static_cast<std::size_t>(n), 0.0);
    std::vector<double> in1(static_cast<std::size_t>(n), 0.0);
    std::vector<double> out2(static_cast<std::size_t>(n), 0.0);
    std::vector<double> in2(static_cast<std::size_t>(n), 0.0);
    double largest1 = 0.0;
    double largest2 = 0.0;
    for (std::int64_t v = 0; v < nodes; ++v) {
        for (std::int64_t l = 0; l < ranks_per_node; ++l) {
            for (std::int64_t m = 0; m < ranks_per_node; ++m) {
                double phase1 = 0.0;  // (v, l) -> (v, m)
                for (std::int64_t w = 0; w < nodes; ++w) {
                    phase1 += at(v, l, w, m);
                }
                if (m != l) {
                    out1[static_cast<std::size_t>(v * ranks_per_node + l)] += phase1;
                    in1[static_cast<std::size_t>(v * ranks_per_node + m)] += phase1;
                    largest1 = std::max(largest1, phase1);
                }
            }
            for (std::int64_t w = 0; w < nodes; ++w) {
                if (w == v) {
                    continue;
                }
                double phase2 = 0.0;
                for (std::int64_t k = 0; k < ranks_per_node; ++k) {
                    phase2 += at(v, k, w, l);
                }
                out2[static_cast<std::size_t>(v * ranks_per_node + l)] += phase2;
                in2[static_cast<std::size_t>(w * ranks_per_node + l)] += phase2;
                largest2 = std::max(largest2, phase2);
            }
        }
    }
    double p1 = largest1;
    double p2 = largest2;
    if (is_port_limited) {
        p1 = std::max(*std::max_element(out1.begin(), out1.end()),
                      *std::max_element(in1.begin(), in1.end()));
        p2 = std::max(*std::max_element(out2.begin(), out2.end()),
                      *std::max_element(in2.begin(), in2.end()));
    }
    double total = 0.0;
    if (ranks_per_node > 1) {
        total += intra.alpha_s + p1 * intra.beta_s_per_byte;
    }
    if (nodes > 1) {
        total += inter.alpha_s + p2 * inter.beta_s_per_byte;
    }
    return total;
}

}  // namespace stepsim::analytic
