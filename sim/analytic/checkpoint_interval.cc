// SPDX-License-Identifier: Apache-2.0
// File: checkpoint_interval.cc
// Young's and Daly's optimum checkpoint intervals, Daly's expected wall time for exponential
// failures and its exact minimiser (via Lambert W). Young, "A first order approximation to the
// optimum checkpoint interval", CACM 17(9) 1974; Daly, "A higher order estimate of the optimum
// checkpoint interval for restart dumps", FGCS 22(3) 2006 (eq. 37 and the expected wall time).
#include "stepsim/analytic.h"
#include "stepsim/error.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace stepsim::analytic {

namespace {

void require_positive(double value, const char* name) {
    if (!(value > 0) || !std::isfinite(value)) {
        throw UserError(std::string(name) + " must be positive and finite, got " +
                        std::to_string(value));
    }
}

void require_non_negative(double value, const char* name) {
    if (!(value >= 0) || !std::isfinite(value)) {
        throw UserError(std::string(name) + " must be >= 0 and finite, got " +
                        std::to_string(value));
    }
}

}  // namespace

double young_interval_s(double checkpoint_cost_s, double mtbf_s) {
    require_positive(checkpoint_cost_s, "checkpoint cost");
    require_positive(mtbf_s, "MTBF");
    return std::sqrt(2.0 * checkpoint_cost_s * mtbf_s);
}

double daly_interval_s(double checkpoint_cost_s, double mtbf_s) {
    require_positive(checkpoint_cost_s, "checkpoint cost");
    require_positive(mtbf_s, "MTBF");
    const double delta = checkpoint_cost_s;
    const double m = mtbf_s;
    if (delta >= 2.0 * m) {
        return m;
    }
    const double ratio = delta / (2.0 * m);
    return std::sqrt(2.0 * delta * m) * (1.0 + std::sqrt(ratio) / 3.0 + ratio / 9.0) - delta;
}

double expected_segment_time_s(double segment_s, double restart_cost_s, double mtbf_s) {
    require_positive(segment_s, "segment length");
    require_non_negative(restart_cost_s, "restart cost");
    require_positive(mtbf_s, "MTBF");
    // expm1 keeps full precision when w << M.
    return mtbf_s * std::exp(restart_cost_s / mtbf_s) * std::expm1(segment_s / mtbf_s);
}

double daly_expected_wall_time_s(double work_s,
                                 double interval_s,
                                 double checkpoint_cost_s,
                                 double restart_cost_s,
                                 double mtbf_s) {
    require_non_negative(work_s, "work");
    require_positive(interval_s, "interval");
    require_positive(checkpoint_cost_s, "checkpoint cost");
    return expected_segment_time_s(interval_s + checkpoint_cost_s, restart_cost_s, mtbf_s) *
           work_s / interval_s;
}

double lambert_w0(double x) {
    const double minus_inv_e = -std::exp(-1.0);
    if (!(x >= minus_inv_e)) {
        throw InternalError("lambert_w0: argument " + std::to_string(x) + " is below -1/e");
    }
    if (x == 0) {
        return 0;
    }
    // Start: series around the branch point for x near -1/e, log form for large x, else x.
    double w;
    if (x < -0.25) {
        const double p = std::sqrt(2.0 * (std::exp(1.0) * x + 1.0));
        w = -1.0 + p - p * p / 3.0 + 11.0 / 72.0 * p * p * p;
    } else if (x < 3.0) {
        w = std::log1p(x);
    } else {
        const double l = std::log(x);
        w = l - std::log(l);
    }
    for (int i = 0; i < 50; ++i) {
        const double e = std::exp(w);
        const double f = w * e - x;
        const double wp1 = w + 1.0;
        if (wp1 == 0) {
            break;
        }
        // Halley's step for f(w) = w·e^w − x.
        const double step = f / (e * wp1 - (w + 2.0) * f / (2.0 * wp1));
        w -= step;
        if (std::abs(step) <= 1e-15 * (1.0 + std::abs(w))) {
            break;
        }
    }
    return w;
}

double daly_exact_optimal_interval_s(double checkpoint_cost_s, double mtbf_s) {
    require_positive(checkpoint_cost_s, "checkpoint cost");
    require_positive(mtbf_s, "MTBF");
    // With x = τ/M and d = δ/M the optimality condition e^{x+d}(1 − x) = 1 reads
    // h(x) = ln(1 − x) + x + d = 0, and τ = M·(1 + W₀(−e^{−1−d})) solves it. Solving h directly
    // (h(0) = d > 0, h strictly decreasing to −∞ on [0, 1)) avoids the cancellation in
    // 1 + W₀(·) near the branch point when δ << M. Newton steps, kept inside a bisection bracket.
    const double d = checkpoint_cost_s / mtbf_s;
    double low = 0;
    double high = 1;
    double x = std::min(std::sqrt(2.0 * d), 0.5 + 0.5 * (1.0 - std::exp(-1.0 - d)));
    for (int i = 0; i < 200; ++i) {
        const double h = std::log1p(-x) + x + d;
        if (h > 0) {
            low = x;
        } else {
            high = x;
        }
        const double slope = -x / (1.0 - x);
        double next = slope != 0 ? x - h / slope : 0.5 * (low + high);
        if (!(next > low && next < high)) {
            next = 0.5 * (low + high);
        }
        if (std::abs(next - x) <= 1e-16 * x || high - low <= 1e-16 * high) {
            x = next;
            break;
        }
        x = next;
    }
    return mtbf_s * x;
}

}  // namespace stepsim::analytic
