// SPDX-License-Identifier: Apache-2.0
// File: failure_process_test.cc
// The failure process: common random numbers and the distributions.
//
// - A class's failure times depend only on (seed, class name): the same seed gives the same
//   times, and adding another class leaves them unchanged (its own stream).
// - n exponential components of MTBF m form a Poisson process of rate n/m: the mean gap is
//   m/n, with standard error (m/n)/√k over k gaps.
// - The first failure of n fresh Weibull(k, λ) components is their minimum, which is
//   Weibull(k, λ·n^{−1/k}), of mean λ·n^{−1/k}·Γ(1 + 1/k) and standard deviation
//   λ·n^{−1/k}·√(Γ(1 + 2/k) − Γ(1 + 1/k)²). Tolerances: 4 standard errors.
#include "failures/failure_process.h"

#include "stepsim/failures.h"
#include "stepsim/random.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

using namespace stepsim;

namespace {

std::vector<double> failure_times_s(const FailureModel& model,
                                    std::uint64_t seed,
                                    int count,
                                    std::size_t only_class = SIZE_MAX) {
    RandomStreams streams(seed);
    detail::FailureProcess process(
        model, [&](const std::string& name) -> RandomStream& { return streams.get(name); });
    std::vector<double> times;
    while (static_cast<int>(times.size()) < count) {
        const auto failure = process.next();
        if (only_class == SIZE_MAX || failure.class_index == only_class) {
            times.push_back(to_seconds(failure.time));
        }
    }
    return times;
}

FailureClass weibull_class(std::string name, std::int64_t count, double shape, double scale_s) {
    FailureClass c;
    c.name = std::move(name);
    c.count = count;
    c.distribution = FailureDistribution::kWeibull;
    c.weibull_shape = shape;
    c.weibull_scale_s = scale_s;
    return c;
}

}  // namespace

TEST_CASE("failure times depend only on the seed and the class", "[checkpoint]") {
    FailureModel one = FailureModel::cluster_mtbf(3600.0);
    const auto a = failure_times_s(one, 42, 50);
    REQUIRE(failure_times_s(one, 42, 50) == a);
    REQUIRE(failure_times_s(one, 43, 50) != a);
    FailureModel two = one;
    two.classes.push_back(weibull_class("gpu", 64, 0.7, 1e6));
    REQUIRE(failure_times_s(two, 42, 50, 0) == a);
}

TEST_CASE("exponential classes: Poisson of rate count / MTBF", "[checkpoint]") {
    FailureModel model = FailureModel::cluster_mtbf(3600.0 * 1000);
    model.classes[0].count = 1000;  // 1000 components of MTBF 1000 h: one failure per hour
    const int gaps = 20000;
    const auto times = failure_times_s(model, 5, gaps);
    const double mean_gap = times.back() / gaps;
    REQUIRE(std::abs(mean_gap - 3600.0) <= 4 * 3600.0 / std::sqrt(gaps));
}

TEST_CASE("Weibull classes: the first failure of n components is Weibull(k, λ n^(-1/k))",
          "[checkpoint]") {
    const double k = 0.7;
    const double lambda = 1e7;
    const std::int64_t n = 16384;
    FailureModel model;
    model.classes.push_back(weibull_class("gpu", n, k, lambda));
    const int runs = 4000;
    std::vector<double> first;
    for (int seed = 0; seed < runs; ++seed) {
        first.push_back(failure_times_s(model, static_cast<std::uint64_t>(seed), 1)[0]);
    }
    const double scale = lambda * std::pow(static_cast<double>(n), -1.0 / k);
    const double mean = scale * std::tgamma(1 + 1 / k);
    const double sd =
        scale * std::sqrt(std::tgamma(1 + 2 / k) - std::pow(std::tgamma(1 + 1 / k), 2));
    const Estimate e = estimate(first);
    REQUIRE(std::abs(e.mean - mean) <= 4 * sd / std::sqrt(runs));
    // Failures come in time order, replacements included.
    const auto times = failure_times_s(model, 9, 2000);
    for (std::size_t i = 1; i < times.size(); ++i) {
        REQUIRE(times[i] >= times[i - 1]);
    }
}
