// SPDX-License-Identifier: Apache-2.0
// File: failures_loader.cc
// load_failures_file / load_failures_text: parse a failures spec (workloads/failures.proto),
// apply --set overrides, check every class (located through the parse tree, all errors at
// once), and resolve counts against the cluster's component counts.
#include "stepsim/error.h"
#include "stepsim/spec.h"
#include "stepsim/units.h"

#include "diagnostics.h"
#include "overrides.h"
#include "spec_locator.h"
#include "text_parser.h"
#include "workloads/failures.pb.h"

#include <cmath>
#include <cstdio>
#include <optional>
#include <set>
#include <string>

namespace stepsim {

namespace {

std::optional<ComponentKind> component_kind(spec::ComponentKind kind) {
    switch (kind) {
        case spec::COMPONENT_GPU:
            return ComponentKind::kGpu;
        case spec::COMPONENT_HOST:
            return ComponentKind::kHost;
        case spec::COMPONENT_NIC:
            return ComponentKind::kNic;
        case spec::COMPONENT_SWITCH:
            return ComponentKind::kSwitch;
        case spec::COMPONENT_LINK:
            return ComponentKind::kLink;
        case spec::COMPONENT_JOB:
            return ComponentKind::kJob;
        default:
            return std::nullopt;
    }
}

std::string short_number(double x) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", x);
    return text;
}

class FailuresChecker {
public:
    FailuresChecker(const spec::SpecLocator& locator, spec::Diagnostics& diagnostics)
        : locator_(locator)
        , diagnostics_(diagnostics) {}

    void error(const google::protobuf::Message& message, std::string_view field, std::string text) {
        diagnostics_.error(locator_.where(message, field), locator_.path(message, field),
                           std::move(text));
    }

    /// A duration field: seconds, or nullopt after a diagnostic. `is_positive`: > 0 required.
    std::optional<double> duration(const google::protobuf::Message& message,
                                   std::string_view field,
                                   const std::string& text,
                                   bool is_positive) {
        const std::string name(field);
        if (text.empty()) {
            if (is_positive) {
                error(message, field, name + " is required (a time with a unit, e.g. \"3h\")");
                return std::nullopt;
            }
            return 0.0;
        }
        try {
            const double seconds = parse_duration_s(text);
            if (is_positive && !(seconds > 0)) {
                error(message, field, name + " must be positive, got \"" + text + "\"");
                return std::nullopt;
            }
            return seconds;
        } catch (const UnitError& e) {
            error(message, field, name + " \"" + text + "\": " + e.what());
            return std::nullopt;
        }
    }

private:
    const spec::SpecLocator& locator_;
    spec::Diagnostics& diagnostics_;
};

}  // namespace

FailureSpec load_failures_text(std::string_view text,
                               std::string_view display_name,
                               const ComponentCounts& counts,
                               std::span<const SpecOverride> overrides) {
    const std::string file(display_name);
    spec::Failures message;
    google::protobuf::TextFormat::ParseInfoTree tree;
    const spec::SpecLocator locator =
        spec::parse_with_overrides(text, file, message, tree, overrides);
    spec::Diagnostics diagnostics;
    FailuresChecker check(locator, diagnostics);

    FailureSpec result;
    result.description = message.description();
    if (message.component_size() == 0) {
        diagnostics.error(SourceLocation{file, 1, 1}, "component",
                          "a failures spec needs at least one component class");
    }
    std::set<std::string, std::less<>> names;
    for (const spec::FailureClass& c : message.component()) {
        FailureClass out;
        out.name = c.name();
        bool ok = true;
        if (c.name().empty()) {
            check.error(c, "name", "component class needs a name");
            ok = false;
        } else if (!names.insert(c.name()).second) {
            check.error(c, "name", "component class name \"" + c.name() + "\" is used twice");
            ok = false;
        }
        const std::optional<ComponentKind> kind = component_kind(c.per());
        if (!kind) {
            check.error(c, "per",
                        "component class \"" + c.name() +
                            "\" needs per: COMPONENT_GPU, _HOST, _NIC, _SWITCH, _LINK or _JOB");
            ok = false;
        }
        if (c.has_count()) {
            if (c.count() < 0) {
                check.error(c, "count", "count must be >= 0, got " + std::to_string(c.count()));
                ok = false;
            }
            out.count = c.count();
        } else if (kind) {
            const std::optional<std::int64_t> n = counts.count(*kind);
            if (!n) {
                check.error(c, "per",
                            "component class \"" + c.name() + "\" scales with the " +
                                std::string(to_string(*kind)) +
                                " count, which is unknown (give a topology, or count in the "
                                "spec)");
                ok = false;
            } else {
                out.count = *n;
            }
        }
        out.needs_replacement =
            c.has_needs_replacement() ? c.needs_replacement() : (kind != ComponentKind::kJob);
        switch (c.time_to_failure_case()) {
            case spec::FailureClass::kExponential: {
                const auto mtbf = check.duration(c.exponential(), "mtbf", c.exponential().mtbf(),
                                                 /*is_positive=*/true);
                ok = ok && mtbf.has_value();
                out.distribution = FailureDistribution::kExponential;
                out.mtbf_s = mtbf.value_or(0);
                break;
            }
            case spec::FailureClass::kWeibull: {
                const spec::Weibull& w = c.weibull();
                if (!(w.shape() > 0) || !std::isfinite(w.shape())) {
                    check.error(w, "shape",
                                "weibull shape must be > 0, got " + short_number(w.shape()));
                    ok = false;
                }
                const auto scale = check.duration(w, "scale", w.scale(), true);
                ok = ok && scale.has_value();
                out.distribution = FailureDistribution::kWeibull;
                out.weibull_shape = w.shape();
                out.weibull_scale_s = scale.value_or(0);
                break;
            }
            case spec::FailureClass::kObserved: {
                const spec::Observed& o = c.observed();
                if (o.interruptions() <= 0) {
                    check.error(
                        o, "interruptions",
                        "interruptions must be positive, got " + std::to_string(o.interruptions()));
                    ok = false;
                }
                if (o.population() <= 0) {
                    check.error(
                        o, "population",
                        "population must be positive, got " + std::to_string(o.population()));
                    ok = false;
                }
                const auto window = check.duration(o, "window", o.window(), true);
                ok = ok && window.has_value();
                if (ok) {
                    out.distribution = FailureDistribution::kExponential;
                    out.mtbf_s = *window * static_cast<double>(o.population()) /
                                 static_cast<double>(o.interruptions());
                }
                break;
            }
            default:
                check.error(c, "name",
                            "component class \"" + c.name() +
                                "\" needs a time to failure: exponential, weibull or observed");
                ok = false;
        }
        if (ok) {
            result.model.classes.push_back(std::move(out));
        }
    }
    if (message.has_restart()) {
        const spec::Restart& r = message.restart();
        RestartPolicy policy;
        const auto detection = check.duration(r, "detection", r.detection(), false);
        const auto reschedule = check.duration(r, "reschedule", r.reschedule(), false);
        const auto load = check.duration(r, "load", r.load(), false);
        const auto warmup = check.duration(r, "warmup", r.warmup(), false);
        const auto repair = check.duration(r, "repair_time", r.repair_time(), false);
        if (r.has_spare_nodes()) {
            if (r.spare_nodes() < 0) {
                check.error(r, "spare_nodes",
                            "spare_nodes must be >= 0, got " + std::to_string(r.spare_nodes()));
            }
            policy.spare_nodes = r.spare_nodes();
        }
        // A duration past the run clock's range (about 292 years) is bad input at its field.
        const auto run_time = [&](const char* field, double seconds) -> std::optional<RunTime> {
            try {
                return run_time_from_seconds(seconds);
            } catch (const ResourceLimitError& error) {
                check.error(r, field, std::string(field) + ": " + error.what());
                return std::nullopt;
            }
        };
        if (detection && reschedule && load && warmup && repair) {
            const auto d = run_time("detection", *detection);
            const auto s = run_time("reschedule", *reschedule);
            const auto l = run_time("load", *load);
            const auto w = run_time("warmup", *warmup);
            const auto t = run_time("repair_time", *repair);
            if (d && s && l && w && t) {
                policy.detection = *d;
                policy.reschedule = *s;
                policy.load = *l;
                policy.warmup = *w;
                policy.repair_time = *t;
                result.restart = policy;
            }
        }
    }
    diagnostics.throw_if_any();
    return result;
}

FailureSpec load_failures_file(const std::filesystem::path& path,
                               const ComponentCounts& counts,
                               std::span<const SpecOverride> overrides) {
    return load_failures_text(spec::read_spec_file(path), path.string(), counts, overrides);
}

}  // namespace stepsim
