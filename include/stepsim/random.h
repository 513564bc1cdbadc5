// SPDX-License-Identifier: Apache-2.0
// File: random.h
// Reproducible random numbers. Each component draws from its own stream, keyed by a stable
// name ("failures", "jitter/rank-17"): seed = splitmix64(run_seed ^ fnv1a64(name)). Adding a
// component never shifts another's numbers. The generator is xoshiro256**, and every
// distribution is written here (inverse CDF where one exists), so results do not depend on the
// standard library's implementation-defined std::*_distribution.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace stepsim {

/// 64-bit FNV-1a hash of a string (stable across platforms and runs).
std::uint64_t fnv1a64(std::string_view text);

/// One step of splitmix64: a good mixer for deriving seeds.
std::uint64_t splitmix64(std::uint64_t x);

/// The seed of component `name` within a run seeded with `run_seed`.
std::uint64_t stream_seed(std::uint64_t run_seed, std::string_view name);

/// The seed of run k (0-based) of a study seeded with `base_seed` (failure runs, what-if
/// samples): stream_seed(base_seed, "run/<k>").
std::uint64_t run_seed(std::uint64_t base_seed, std::int64_t run_index);

/// A xoshiro256** generator with the distributions the models need.
class RandomStream {
public:
    explicit RandomStream(std::uint64_t seed);

    std::uint64_t next_u64();
    /// Uniform in [0, 1), 53 random bits.
    double uniform();
    /// Uniform in (0, 1): safe to take the logarithm of.
    double uniform_open();
    /// Uniform integer in [0, n); n > 0.
    std::uint64_t uniform_int(std::uint64_t n);
    /// Exponential with the given mean (inverse CDF).
    double exponential(double mean);
    /// Normal (inverse CDF, Acklam's rational approximation refined by one Halley step).
    double normal(double mean, double stddev);
    /// Lognormal with the given mean and coefficient of variation (stddev / mean).
    double lognormal_by_cv(double mean, double cv);
    /// Weibull with shape k and scale lambda (inverse CDF).
    double weibull(double shape, double scale);
    /// Gamma with shape k and scale theta (Marsaglia and Tsang, 2000).
    double gamma(double shape, double scale);

private:
    std::uint64_t state_[4];
};

/// Inverse of the standard normal CDF, for p in (0, 1).
double standard_normal_quantile(double p);

/// The streams of one simulation, created on first use and owned here.
class RandomStreams {
public:
    explicit RandomStreams(std::uint64_t run_seed)
        : run_seed_(run_seed) {}

    /// The stream named `component`; the same name always returns the same stream object.
    RandomStream& get(std::string_view component);

    std::uint64_t run_seed() const { return run_seed_; }

private:
    std::uint64_t run_seed_;
    std::map<std::string, std::unique_ptr<RandomStream>, std::less<>> streams_;
};

}  // namespace stepsim
