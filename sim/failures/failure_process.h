// SPDX-License-Identifier: Apache-2.0
// File: failure_process.h
// The job-interrupting failures of a FailureModel as one time-ordered stream, in wall-clock
// time. Exponential classes are Poisson processes of rate count/MTBF (the superposition of
// `count` exponential renewal processes, exactly). Weibull classes keep each component's age:
// the first failures of the original components come in increasing order from exponential
// order statistics (Rényi's representation), replacements each draw a fresh lifetime; so the
// cost is per failure, not per component, even for 100,000 GPUs.
#pragma once

#include "stepsim/failures.h"
#include "stepsim/random.h"
#include "stepsim/time.h"

#include <cstddef>
#include <cstdint>
#include <queue>
#include <vector>

namespace stepsim::detail {

class FailureProcess {
public:
    struct Failure {
        RunTime time;
        std::size_t class_index;
    };

    /// `streams(name)` returns the random stream of a component; the process draws from
    /// "failures/<class name>" and "failures/<class name>/renewal" only.
    template <class StreamSource>
    FailureProcess(const FailureModel& model, StreamSource&& streams) {
        classes_.reserve(model.classes.size());
        for (const FailureClass& c : model.classes) {
            ClassState state;
            state.spec = &c;
            state.first = &streams("failures/" + c.name);
            state.renewal = &streams("failures/" + c.name + "/renewal");
            classes_.push_back(std::move(state));
        }
        for (ClassState& state : classes_) {
            prime(state);
        }
    }

    /// The next failure after the previous one returned; time RunTime::max() when none.
    Failure next();

private:
    struct ClassState {
        const FailureClass* spec = nullptr;
        RandomStream* first = nullptr;
        RandomStream* renewal = nullptr;
        // Exponential: the next failure. Weibull: the next first failure of an original.
        RunTime next_original = RunTime::max();
        std::int64_t originals_left = 0;
        double cumulative_hazard = 0;  ///< Rényi sum Σ E_j / (n − j + 1)
        std::priority_queue<RunTime, std::vector<RunTime>, std::greater<>> replacements;
    };

    void prime(ClassState& state);
    void advance_original(ClassState& state, RunTime now);
    RunTime next_time(const ClassState& state) const;

    std::vector<ClassState> classes_;
};

/// `from` + `seconds`, saturating at RunTime::max() (no failure within ±292 years).
RunTime add_seconds_saturating(RunTime from, double seconds);

}  // namespace stepsim::detail
