// SPDX-License-Identifier: Apache-2.0
// File: failure_process.cc
// FailureProcess: see failure_process.h. Rényi (1953): the order statistics of n i.i.d.
// Exp(1) variables are X_(i) = Σ_{j<=i} E_j / (n − j + 1); a Weibull(k, λ) lifetime is
// λ·X^{1/k} for X ~ Exp(1), and the map is increasing, so the first failures of n Weibull
// components in time order are λ·X_(i)^{1/k}.
#include "failure_process.h"

#include <cmath>

namespace stepsim::detail {

RunTime add_seconds_saturating(RunTime from, double seconds) {
    const double limit_s = to_seconds(RunTime::max()) * 0.99;
    const double at_s = to_seconds(from) + seconds;
    if (!(at_s < limit_s)) {
        return RunTime::max();
    }
    return from + run_time_from_seconds(seconds);
}

void FailureProcess::prime(ClassState& state) {
    const FailureClass& c = *state.spec;
    if (c.count <= 0) {
        state.next_original = RunTime::max();
        return;
    }
    if (c.distribution == FailureDistribution::kExponential) {
        state.next_original = add_seconds_saturating(
            RunTime{0}, state.first->exponential(c.mtbf_s) / static_cast<double>(c.count));
        return;
    }
    state.originals_left = c.count;
    advance_original(state, RunTime{0});
}

void FailureProcess::advance_original(ClassState& state, RunTime /*now*/) {
    const FailureClass& c = *state.spec;
    if (state.originals_left <= 0) {
        state.next_original = RunTime::max();
        return;
    }
    state.cumulative_hazard +=
        state.first->exponential(1.0) / static_cast<double>(state.originals_left);
    --state.originals_left;
    const double at_s =
        c.weibull_scale_s * std::pow(state.cumulative_hazard, 1.0 / c.weibull_shape);
    state.next_original = add_seconds_saturating(RunTime{0}, at_s);
}

RunTime FailureProcess::next_time(const ClassState& state) const {
    RunTime t = state.next_original;
    if (!state.replacements.empty() && state.replacements.top() < t) {
        t = state.replacements.top();
    }
    return t;
}

FailureProcess::Failure FailureProcess::next() {
    Failure best{RunTime::max(), 0};
    for (std::size_t i = 0; i < classes_.size(); ++i) {
        const RunTime t = next_time(classes_[i]);
        if (t < best.time) {
            best = {t, i};
        }
    }
    if (best.time == RunTime::max()) {
        return best;
    }
    ClassState& state = classes_[best.class_index];
    const FailureClass& c = *state.spec;
    if (c.distribution == FailureDistribution::kExponential) {
        state.next_original = add_seconds_saturating(
            best.time, state.first->exponential(c.mtbf_s) / static_cast<double>(c.count));
        return best;
    }
    // Weibull: the failed component (an original or a replacement) is replaced by a new one.
    if (!state.replacements.empty() && state.replacements.top() == best.time &&
        best.time < state.next_original) {
        state.replacements.pop();
    } else {
        advance_original(state, best.time);
    }
    state.replacements.push(add_seconds_saturating(
        best.time, state.renewal->weibull(c.weibull_shape, c.weibull_scale_s)));
    return best;
}

}  // namespace stepsim::detail
