// SPDX-License-Identifier: Apache-2.0
// File: random.cc
// xoshiro256** (Blackman and Vigna, 2018) seeded through splitmix64, and distributions by
// inverse CDF: exponential, Weibull, normal (Acklam's approximation, refined by one Halley
// step to near double precision), lognormal; gamma by Marsaglia and Tsang (ACM TOMS 2000).
#include "stepsim/random.h"

#include "stepsim/error.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace stepsim {

std::uint64_t fnv1a64(std::string_view text) {
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (unsigned char c : text) {
        hash ^= c;
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

std::uint64_t stream_seed(std::uint64_t run_seed, std::string_view name) {
    return splitmix64(run_seed ^ fnv1a64(name));
}

std::uint64_t run_seed(std::uint64_t base_seed, std::int64_t run_index) {
    return stream_seed(base_seed, "run/" + std::to_string(run_index));
}

RandomStream::RandomStream(std::uint64_t seed) {
    std::uint64_t x = seed;
    for (auto& word : state_) {
        x = splitmix64(x);
        word = x;
    }
}

namespace {
constexpr std::uint64_t rotl(std::uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}
}  // namespace

std::uint64_t RandomStream::next_u64() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
}

double RandomStream::uniform() {
    return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
}

double RandomStream::uniform_open() {
    return (static_cast<double>(next_u64() >> 11) + 0.5) * 0x1.0p-53;
}

std::uint64_t RandomStream::uniform_int(std::uint64_t n) {
    if (n == 0) {
        throw InternalError("uniform_int: n must be positive");
    }
    // Lemire's rejection method: unbiased, usually one draw.
    unsigned __int128 m = static_cast<unsigned __int128>(next_u64()) * n;
    auto low = static_cast<std::uint64_t>(m);
    if (low < n) {
        const std::uint64_t threshold = -n % n;
        while (low < threshold) {
            m = static_cast<unsigned __int128>(next_u64()) * n;
            low = static_cast<std::uint64_t>(m);
        }
    }
    return static_cast<std::uint64_t>(m >> 64);
}

double RandomStream::exponential(double mean) {
    return -mean * std::log(uniform_open());
}

double standard_normal_quantile(double p) {
    // Acklam's rational approximation (relative error 1.15e-9), then one Halley step.
    static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                   -2.759285104469687e+02, 1.383577518672690e+02,
                                   -3.066479806614716e+01, 2.506628277459239e+00};
    static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                   -1.556989798598866e+02, 6.680131188771972e+01,
                                   -1.328068155288572e+01};
    static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                   -2.400758277161838e+00, -2.549732539343734e+00,
                                   4.374664141464968e+00,  2.938163982698783e+00};
    static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                                   2.445134137142996e+00, 3.754408661907416e+00};
    if (!(p > 0.0 && p < 1.0)) {
        throw InternalError("standard_normal_quantile: p must be in (0, 1)");
    }
    constexpr double kLow = 0.02425;
    double x;
    if (p < kLow) {
        const double q = std::sqrt(-2 * std::log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else if (p <= 1 - kLow) {
        const double q = p - 0.5;
        const double r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    } else {
        const double q = std::sqrt(-2 * std::log(1 - p));
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
    const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
    return x - u / (1 + x * u / 2);
}

double RandomStream::normal(double mean, double stddev) {
    return mean + stddev * standard_normal_quantile(uniform_open());
}

double RandomStream::lognormal_by_cv(double mean, double cv) {
    // For lognormal X = exp(mu + sigma Z): E[X] = exp(mu + sigma^2/2), CV^2 = exp(sigma^2) - 1.
    const double sigma2 = std::log1p(cv * cv);
    const double mu = std::log(mean) - sigma2 / 2;
    return std::exp(mu + std::sqrt(sigma2) * standard_normal_quantile(uniform_open()));
}

double RandomStream::weibull(double shape, double scale) {
    return scale * std::pow(-std::log(uniform_open()), 1.0 / shape);
}

double RandomStream::gamma(double shape, double scale) {
    if (!(shape > 0) || !(scale > 0)) {
        throw InternalError("gamma: shape and scale must be positive");
    }
    if (shape < 1) {
        // Boost: Gamma(k) = Gamma(k + 1) * U^(1/k).
        return gamma(shape + 1, scale) * std::pow(uniform_open(), 1.0 / shape);
    }
    const double d = shape - 1.0 / 3.0;
    const double c = 1.0 / std::sqrt(9 * d);
    for (;;) {
        double x;
        double v;
        do {
            x = standard_normal_quantile(uniform_open());
            v = 1 + c * x;
        } while (v <= 0);
        v = v * v * v;
        const double u = uniform_open();
        if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) {
            return d * v * scale;
        }
    }
}

RandomStream& RandomStreams::get(std::string_view component) {
    auto it = streams_.find(component);
    if (it == streams_.end()) {
        it = streams_
                 .emplace(std::string(component),
                          std::make_unique<RandomStream>(stream_seed(run_seed_, component)))
                 .first;
    }
    return *it->second;
}

}  // namespace stepsim
