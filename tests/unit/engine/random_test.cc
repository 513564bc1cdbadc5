// SPDX-License-Identifier: Apache-2.0
// Random streams: keyed by name (adding a component does not shift another's numbers),
// and the distributions' sample moments match their closed forms.
#include "stepsim/random.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace stepsim;

TEST_CASE("streams are keyed by name, not by creation order", "[engine][random]") {
    RandomStreams first(7);
    const std::uint64_t a = first.get("failures").next_u64();
    RandomStreams second(7);
    second.get("jitter/rank-3").next_u64();  // another component created first
    REQUIRE(second.get("failures").next_u64() == a);
    REQUIRE(&first.get("failures") == &first.get("failures"));
}

namespace {
struct Moments {
    double mean;
    double variance;
};

template <class Draw>
Moments sample(Draw draw, int n) {
    double sum = 0;
    double sum2 = 0;
    for (int i = 0; i < n; ++i) {
        const double x = draw();
        sum += x;
        sum2 += x * x;
    }
    const double mean = sum / n;
    return {mean, sum2 / n - mean * mean};
}
}  // namespace

// With n = 200,000 draws, the sample mean's standard error is sigma / sqrt(n) = 0.0022 sigma;
// 5 standard errors (1.1% of sigma) bounds a false failure below 1e-6.
TEST_CASE("distribution moments match their closed forms", "[engine][random]") {
    constexpr int n = 200'000;
    const double tolerance = 5.0 / std::sqrt(double(n));
    RandomStream rng(123);

    const Moments u = sample([&] { return rng.uniform(); }, n);
    REQUIRE(std::fabs(u.mean - 0.5) < tolerance * std::sqrt(1.0 / 12));

    const Moments e = sample([&] { return rng.exponential(3.0); }, n);
    REQUIRE(std::fabs(e.mean - 3.0) < tolerance * 3.0);

    const Moments z = sample([&] { return rng.normal(1.0, 2.0); }, n);
    REQUIRE(std::fabs(z.mean - 1.0) < tolerance * 2.0);
    REQUIRE(std::fabs(z.variance - 4.0) < 0.05 * 4.0);

    // Lognormal by mean 1 and CV 0.2: standard deviation 0.2.
    const Moments l = sample([&] { return rng.lognormal_by_cv(1.0, 0.2); }, n);
    REQUIRE(std::fabs(l.mean - 1.0) < tolerance * 0.2);
    REQUIRE(std::fabs(std::sqrt(l.variance) - 0.2) < 0.02 * 0.2 + tolerance * 0.2);

    // Weibull(k = 2, lambda = 1): mean Gamma(1.5) = sqrt(pi)/2.
    const double weibull_mean = std::tgamma(1.5);
    const double weibull_sd = std::sqrt(std::tgamma(2.0) - weibull_mean * weibull_mean);
    const Moments w = sample([&] { return rng.weibull(2.0, 1.0); }, n);
    REQUIRE(std::fabs(w.mean - weibull_mean) < tolerance * weibull_sd);

    // Gamma(k, theta): mean k theta, variance k theta^2; both k < 1 and k > 1 branches.
    for (const double k : {0.5, 4.0}) {
        const Moments g = sample([&] { return rng.gamma(k, 2.0); }, n);
        REQUIRE(std::fabs(g.mean - 2 * k) < tolerance * std::sqrt(k) * 2.0);
        REQUIRE(std::fabs(g.variance - 4 * k) < 0.05 * 4 * k);
    }
}

TEST_CASE("normal quantile matches known values", "[engine][random]") {
    REQUIRE(standard_normal_quantile(0.5) == Approx(0.0).margin(1e-15));
    REQUIRE(standard_normal_quantile(0.975) == Approx(1.959963984540054).epsilon(1e-12));
    REQUIRE(standard_normal_quantile(1e-6) == Approx(-4.753424308822899).epsilon(1e-10));
}

TEST_CASE("uniform_int is in range and covers it", "[engine][random]") {
    RandomStream rng(5);
    int counts[7] = {};
    for (int i = 0; i < 7000; ++i) {
        const auto x = rng.uniform_int(7);
        REQUIRE(x < 7);
        ++counts[x];
    }
    for (const int c : counts) {
        REQUIRE(c > 800);
    }
}
