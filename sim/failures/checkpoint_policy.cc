// SPDX-License-Identifier: Apache-2.0
// File: checkpoint_policy.cc
// Checkpoint write time from bytes and bandwidths, the lump restart policy, run-spec
// validation, and intervals in whole steps.
#include "stepsim/error.h"
#include "stepsim/failures.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace stepsim {

namespace {

// Seconds as text for messages: shortest form that is still readable.
std::string seconds_text(RunTime t) {
    return std::to_string(to_seconds(t)) + " s";
}

void require_non_negative(RunTime t, const char* name) {
    if (t.count() < 0) {
        throw UserError(std::string(name) + " must be >= 0, got " + seconds_text(t));
    }
}

// a * b for non-negative a and b, or nullopt on overflow.
std::optional<RunTime> checked_multiply(RunTime a, std::int64_t b) {
    if (b != 0 && a.count() > RunTime::max().count() / b) {
        return std::nullopt;
    }
    return RunTime{a.count() * b};
}

}  // namespace

RunTime checkpoint_write_time(std::int64_t checkpoint_bytes,
                              std::int64_t nodes,
                              double per_node_Bps,
                              double total_Bps) {
    if (checkpoint_bytes <= 0) {
        throw UserError("checkpoint size must be positive, got " +
                        std::to_string(checkpoint_bytes) + " bytes");
    }
    if (nodes <= 0) {
        throw UserError("node count must be positive, got " + std::to_string(nodes));
    }
    if (!(per_node_Bps > 0) || !(total_Bps > 0)) {
        throw UserError("storage write bandwidths must be positive");
    }
    const double bandwidth_Bps = std::min(per_node_Bps * static_cast<double>(nodes), total_Bps);
    return run_time_from_seconds(static_cast<double>(checkpoint_bytes) / bandwidth_Bps);
}

RestartPolicy RestartPolicy::lump(RunTime total) {
    RestartPolicy policy;
    policy.reschedule = total;
    return policy;
}

RunTime RunSpec::useful_time() const {
    const auto useful = checked_multiply(step_time, steps);
    if (!useful) {
        throw ResourceLimitError(std::to_string(steps) + " steps of " + seconds_text(step_time) +
                                 " overflow the run clock (±292 years)");
    }
    return *useful;
}

void RunSpec::validate() const {
    if (step_time.count() <= 0) {
        throw UserError("step time must be positive, got " + seconds_text(step_time));
    }
    if (steps <= 0) {
        throw UserError("steps must be positive, got " + std::to_string(steps));
    }
    if (checkpoint.interval_steps <= 0) {
        throw UserError("checkpoint interval must be at least one step, got " +
                        std::to_string(checkpoint.interval_steps));
    }
    require_non_negative(checkpoint.save_cost, "checkpoint cost");
    require_non_negative(checkpoint.background_write, "background checkpoint write");
    require_non_negative(restart.detection, "failure detection time");
    require_non_negative(restart.reschedule, "rescheduling time");
    require_non_negative(restart.load, "checkpoint load time");
    require_non_negative(restart.warmup, "warm-up time");
    require_non_negative(restart.repair_time, "repair time");
    if (restart.spare_nodes && *restart.spare_nodes < 0) {
        throw UserError("spare nodes must be >= 0, got " + std::to_string(*restart.spare_nodes));
    }
    if (validation.interval_steps < 0) {
        throw UserError("validation interval must be >= 0 steps");
    }
    require_non_negative(validation.cost, "validation cost");
    require_non_negative(max_wall_time, "wall-time limit");
    failures.validate();
    // The failure-free run must fit the clock with room for 100x.
    const RunTime useful = useful_time();
    const std::int64_t checkpoints =
        (steps + checkpoint.interval_steps - 1) / checkpoint.interval_steps;
    const auto saves =
        checked_multiply(checkpoint.save_cost + checkpoint.background_write, checkpoints);
    const auto ideal_half = useful.count() / 2 + (saves ? saves->count() / 2 : 0);
    if (!saves || ideal_half > RunTime::max().count() / 200) {
        throw ResourceLimitError("the run is too long for the run clock (±292 years)");
    }
}

std::int64_t interval_to_steps(double interval_s, RunTime step_time) {
    if (step_time.count() <= 0) {
        throw UserError("step time must be positive");
    }
    if (!(interval_s > 0) || !std::isfinite(interval_s)) {
        throw UserError("checkpoint interval must be positive, got " + std::to_string(interval_s) +
                        " s");
    }
    const double steps = interval_s / to_seconds(step_time);
    if (steps < 1.0) {
        throw UserError("checkpoint interval " + std::to_string(interval_s) +
                        " s is shorter than one step (" + std::to_string(to_seconds(step_time)) +
                        " s)");
    }
    if (steps > 9e18) {
        throw ResourceLimitError("checkpoint interval is too long");
    }
    return std::llround(steps);
}

}  // namespace stepsim
