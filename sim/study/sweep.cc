// SPDX-License-Identifier: Apache-2.0
// File: sweep.cc
// The sweep study (include/stepsim/study/sweep.h): a point's record, its predicted cost, and
// the cost-balanced split of the points over ranks.
#include "stepsim/study/sweep.h"

#include "stepsim/error.h"
#include "stepsim/json_path.h"

#include <algorithm>
#include <cmath>
#include <optional>

namespace stepsim::study {

namespace {

std::string trim_message(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.pop_back();
    }
    return text;
}

}  // namespace

SweepPointRecord run_sweep_point(const SweepSpec& spec,
                                 std::int64_t point,
                                 const SweepCommandRunner& run) {
    SweepPointRecord record;
    record.point = point;
    if (!spec.seed_flag.empty()) {
        record.seed = spec.seed(point);
    }
    const std::vector<std::size_t> indices = spec.value_indices(point);
    for (std::size_t i = 0; i < spec.axes.size(); ++i) {
        record.axis_values.push_back(spec.axes[i].values[indices[i]]);
    }
    record.results.assign(spec.results.size(), std::nullopt);
    const SweepExpression::Variables variables = spec.variables(point);
    for (const SweepFilter& filter : spec.skip) {
        try {
            if (filter.when.is_true(variables)) {
                record.status = SweepPointStatus::kSkipped;
                record.reason = filter.reason;
                return record;
            }
        } catch (const UserError& e) {
            record.status = SweepPointStatus::kInvalid;
            record.reason = "skip \"" + filter.when.text() + "\": " + e.what();
            return record;
        }
    }
    const SweepCommandOutcome outcome = run(spec.command, spec.command_args(point));
    if (outcome.status != 0) {
        record.status =
            outcome.status == 2 ? SweepPointStatus::kInvalid : SweepPointStatus::kFailed;
        record.reason = trim_message(outcome.error);
        return record;
    }
    try {
        for (std::size_t i = 0; i < spec.results.size(); ++i) {
            if (const std::optional<std::string_view> value =
                    json_lookup(outcome.output, spec.results[i].path)) {
                record.results[i] = std::string(*value);
            }
        }
    } catch (const InternalError& e) {
        record.status = SweepPointStatus::kFailed;
        record.reason = std::string("the command's JSON could not be read: ") + e.what();
        record.results.assign(spec.results.size(), std::nullopt);
    }
    return record;
}

double predicted_cost(const SweepSpec& spec, std::int64_t point) {
    const SweepExpression::Variables variables = spec.variables(point);
    // A point a filter skips costs nothing: it never runs the command.
    for (const SweepFilter& filter : spec.skip) {
        try {
            if (filter.when.is_true(variables)) {
                return 0.0;
            }
        } catch (const UserError&) {
            return 0.0;  // recorded as invalid without running
        }
    }
    if (!spec.cost) {
        return 1.0;
    }
    try {
        const SweepExpression::Value v = spec.cost->evaluate(variables);
        return v.is_number && std::isfinite(v.number) && v.number >= 0 ? v.number : 1.0;
    } catch (const UserError&) {
        return 1.0;
    }
}

std::vector<std::int64_t> assign_points(const SweepSpec& spec,
                                        std::int64_t first,
                                        int rank,
                                        int ranks) {
    std::vector<std::int64_t> mine;
    if (ranks == 1) {
        for (std::int64_t p = first; p < spec.point_count; ++p) {
            mine.push_back(p);
        }
        return mine;
    }
    std::vector<double> load(static_cast<std::size_t>(ranks), 0.0);
    for (std::int64_t p = first; p < spec.point_count; ++p) {
        const auto least =
            static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
        // A zero cost still counts a little, so that free points spread over the ranks too.
        load[static_cast<std::size_t>(least)] += std::max(predicted_cost(spec, p), 1e-9);
        if (least == rank) {
            mine.push_back(p);
        }
    }
    return mine;
}

}  // namespace stepsim::study
