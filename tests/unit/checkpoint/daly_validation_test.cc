// SPDX-License-Identifier: Apache-2.0
// File: daly_validation_test.cc
// The simulation against Daly's closed form for exponential failures.
//
// Model (Daly 2006): failures form a Poisson process of rate 1/M in wall-clock time, also
// during checkpoints and restarts. The run is n = T_s/τ segments of τ compute + δ checkpoint;
// a failure loses the segment in progress and costs a restart R (which a failure can also
// cut). One segment of length w = τ + δ then takes, in expectation,
//   E[S] = w + (e^{w/M} − 1)·(E[X | X < w] + E[R'])      (geometric number of failures)
//   E[X | X < w]·(1 − e^{−w/M}) = M − e^{−w/M}(w + M),   E[R'] = M(e^{R/M} − 1)
//   ⇒ E[S] = M·e^{R/M}·(e^{w/M} − 1),  and  E[W] = n·E[S] = M e^{R/M}(e^{(τ+δ)/M} − 1)·T_s/τ.
// The simulator does exactly this with a lump restart, unlimited spares and a final
// checkpoint, so its mean wall time must match E[W] within the Monte Carlo error: the
// tolerance is 4 standard errors of the sample mean (a false alarm about once in 16,000 runs
// of this test).
//
// The optimum: E[W] is minimised at τ* = M(1 + W₀(−e^{−1−δ/M})) (analytic.h). Near τ*,
// E[W] ∝ e^{w/M}−1)/τ ≈ δ/τ + τ/(2M) + const = const·cosh(ln(τ/τ₀)) to leading order, a
// symmetric valley in ln τ; so a parabola in ln τ fitted to the simulated means over a
// geometric grid around τ* locates the simulated optimum without bias from the valley's
// skew. Common random numbers (seed k has the same failure times at every τ) make the
// curve smooth enough that 5% is far outside the fit's noise.
#include "stepsim/analytic.h"
#include "stepsim/failures.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

using namespace stepsim;
using namespace std::chrono_literals;

namespace {

RunSpec daly_case(double mtbf_s,
                  RunTime delta,
                  RunTime restart,
                  std::int64_t interval_steps,
                  std::int64_t steps) {
    RunSpec spec;
    spec.step_time = 10s;
    spec.steps = steps;
    spec.checkpoint.interval_steps = interval_steps;
    spec.checkpoint.save_cost = delta;
    spec.restart = RestartPolicy::lump(restart);
    spec.failures = FailureModel::cluster_mtbf(mtbf_s);
    return spec;
}

// Least-squares parabola y = a + b·x + c·x²; returns the vertex −b/(2c).
double parabola_vertex(const std::vector<double>& x, const std::vector<double>& y) {
    double s[5] = {0, 0, 0, 0, 0};
    double t[3] = {0, 0, 0};
    for (std::size_t i = 0; i < x.size(); ++i) {
        double p = 1;
        for (int k = 0; k < 5; ++k) {
            s[k] += p;
            if (k < 3) {
                t[k] += p * y[i];
            }
            p *= x[i];
        }
    }
    // Normal equations [s0 s1 s2; s1 s2 s3; s2 s3 s4]·(a, b, c) = t, by Cramer's rule.
    auto det3 = [](double a, double b, double c, double d, double e, double f, double g, double h,
                   double i) {
        return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
    };
    const double d = det3(s[0], s[1], s[2], s[1], s[2], s[3], s[2], s[3], s[4]);
    const double db = det3(s[0], t[0], s[2], s[1], t[1], s[3], s[2], t[2], s[4]);
    const double dc = det3(s[0], s[1], t[0], s[1], s[2], t[1], s[2], s[3], t[2]);
    return -(db / d) / (2 * (dc / d));
}

}  // namespace

TEST_CASE("exponential failures: mean wall time matches Daly's closed form", "[checkpoint][daly]") {
    // M = 1 h, τ = 20 min (120 steps of 10 s), δ = 5 min, R = 10 min, T_s = 30 τ.
    const double m = 3600.0;

    struct Case {
        std::int64_t interval_steps;
        RunTime delta;
        RunTime restart;
    };

    for (const Case c : {Case{120, 5min, 10min}, Case{30, 1min, 0min}, Case{360, 20min, 30min}}) {
        const std::int64_t steps = c.interval_steps * 30;
        const RunSpec spec = daly_case(m, c.delta, c.restart, c.interval_steps, steps);
        const std::int64_t runs = 2000;
        std::vector<double> wall_s;
        for (std::int64_t k = 0; k < runs; ++k) {
            wall_s.push_back(to_seconds(simulate_run(spec, run_seed(11, k)).wall_time));
        }
        const Estimate e = estimate(wall_s);
        const double standard_error = e.ci95 / student_t_975(runs - 1);
        const double tau_s = to_seconds(spec.step_time) * static_cast<double>(c.interval_steps);
        const double expected = analytic::daly_expected_wall_time_s(
            to_seconds(spec.useful_time()), tau_s, to_seconds(c.delta), to_seconds(c.restart), m);
        INFO("tau " << tau_s << " s: simulated " << e.mean << " s ± " << standard_error
                    << " (1 SE), Daly " << expected << " s");
        REQUIRE(std::abs(e.mean - expected) <= 4 * standard_error);
    }
}

TEST_CASE("exponential failures: the simulated optimum interval is within 5% of the exact one",
          "[checkpoint][daly]") {
    // M = 1 h, δ = 2 min, R = 5 min, 10 s steps: τ* = M(1 + W₀(−e^{−1−1/30})) ≈ 14.4 min.
    const double m = 3600.0;
    const RunTime delta = 2min;
    const double exact_s = analytic::daly_exact_optimal_interval_s(to_seconds(delta), m);
    CheckpointSweepSpec sweep;
    sweep.base = daly_case(m, delta, 5min, 1, 6 * 8640);  // 6 days of useful work
    sweep.failure_rates = {sweep.base.failures};
    sweep.seeds = 150;
    sweep.threads = 2;
    // Geometric grid: τ*·2^{i/4}, i = −4..4 (τ*/2 .. 2τ*), in whole steps.
    for (int i = -4; i <= 4; ++i) {
        sweep.interval_steps.push_back(std::llround(exact_s * std::exp2(i / 4.0) / 10.0));
    }
    const std::vector<SweepPoint> points = run_checkpoint_sweep(sweep, {}, {});
    std::vector<double> log_tau;
    std::vector<double> wall_s;
    for (const SweepPoint& p : points) {
        if (p.kind == SweepPointKind::kGrid) {
            log_tau.push_back(std::log(10.0 * static_cast<double>(p.interval_steps)));
            wall_s.push_back(p.summary.wall_time_s.mean);
        }
    }
    const double simulated_s = std::exp(parabola_vertex(log_tau, wall_s));
    INFO("simulated optimum " << simulated_s << " s, exact " << exact_s << " s");
    REQUIRE(std::abs(simulated_s - exact_s) <= 0.05 * exact_s);
}
