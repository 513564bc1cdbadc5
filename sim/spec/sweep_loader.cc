// SPDX-License-Identifier: Apache-2.0
// File: sweep_loader.cc
// load_sweep_file / load_sweep_text: parse a sweep spec (workloads/sweep.proto), apply --set
// overrides to it, expand the axes (value lists, linear and log ranges), check names, zips,
// filters, results and the point count, all located at file:line:col and reported at once.
#include "stepsim/error.h"
#include "stepsim/random.h"
#include "stepsim/sweep.h"

#include "diagnostics.h"
#include "overrides.h"
#include "spec_locator.h"
#include "text_parser.h"
#include "workloads/sweep.pb.h"

#include <cmath>
#include <cstdio>
#include <set>
#include <system_error>

namespace stepsim {

namespace {

constexpr std::array kKnownCommands = {"step",     "collective", "checkpoint",
                                       "workload", "topology",   "whatif"};
// Column names the runner writes itself.
constexpr std::array kReservedNames = {"point", "seed", "status", "reason"};
// Flags that would make every point write files or change the output format.
constexpr std::array kForbiddenFlags = {"--json", "--output", "-o",     "--csv",
                                        "--plot", "--trace",  "--help", "-h"};

/// The command's key results, as "name=path" pairs, when the spec lists none.
std::vector<SweepResultColumn> default_results(std::string_view command) {
    if (command == "step") {
        return {{"step_time_s", "step_time_s"},
                {"mfu", "mfu"},
                {"hfu", "hfu"},
                {"bubble_fraction", "bubble_fraction"},
                {"tokens_per_s", "tokens_per_s"},
                {"memory_per_gpu_bytes", "memory_per_gpu_bytes.total_bytes"}};
    }
    if (command == "checkpoint") {
        return {{"mtbf_s", "results[0].mtbf_s"},
                {"interval_s", "results[0].points[0].interval_s"},
                {"goodput", "results[0].points[0].goodput"},
                {"goodput_ci95", "results[0].points[0].goodput_ci95"},
                {"wall_time_s", "results[0].points[0].wall_time_s"},
                {"checkpoint_s", "results[0].points[0].checkpoint_s"},
                {"rework_s", "results[0].points[0].rework_s"},
                {"restart_s", "results[0].points[0].restart_s"},
                {"failures", "results[0].points[0].failures"},
                {"young_interval_s", "results[0].young_interval_s"},
                {"daly_interval_s", "results[0].daly_interval_s"}};
    }
    if (command == "collective") {
        return {{"time_s", "rows[0].time_s"},
                {"algbw_Bps", "rows[0].algbw_Bps"},
                {"busbw_Bps", "rows[0].busbw_Bps"},
                {"algorithm", "rows[0].algorithm"}};
    }
    if (command == "whatif") {
        return {{"baseline_step_time_s", "baseline_step_time_s"},
                {"scenario_step_time_s", "scenario_step_time_s"},
                {"slowdown", "slowdown"},
                {"p99_step_time_s", "scenario_step_time_stats.p99_s"}};
    }
    if (command == "workload") {
        return {{"parameters", "parameters"}, {"microbatches", "microbatches"}};
    }
    return {};
}

bool is_identifier(std::string_view name) {
    if (name.empty() || !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) {
        return false;
    }
    for (char c : name) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) {
            return false;
        }
    }
    return true;
}

/// "fabric[0].fat_tree.oversubscription" -> "oversubscription"; "results[0].goodput" ->
/// "goodput"; "--mtbf-sweep" -> "mtbf_sweep".
std::string last_field(std::string_view path) {
    std::string name(
        path.substr(path.rfind('.') == std::string_view::npos ? 0 : path.rfind('.') + 1));
    if (const std::size_t bracket = name.find('['); bracket != std::string::npos) {
        name.erase(bracket);
    }
    while (!name.empty() && name[0] == '-') {
        name.erase(0, 1);
    }
    for (char& c : name) {
        if (c == '-') {
            c = '_';
        }
    }
    return name;
}

std::string format_value(double x, const std::string& unit) {
    char text[64];
    std::snprintf(text, sizeof text, "%.12g", x);
    return text + unit;
}

class SweepChecker {
public:
    SweepChecker(const spec::SpecLocator& locator, spec::Diagnostics& diagnostics)
        : locator_(locator)
        , diagnostics_(diagnostics) {}

    void error(const google::protobuf::Message& message,
               std::string_view field,
               std::string text,
               int index = -1) {
        diagnostics_.error(locator_.where(message, field, index),
                           locator_.path(message, field, index), std::move(text));
    }

    /// At the message itself (for a problem of the whole message or of a repeated field).
    void error_at(const google::protobuf::Message& message, std::string text) {
        diagnostics_.error(locator_.where(message), locator_.path(message), std::move(text));
    }

private:
    const spec::SpecLocator& locator_;
    spec::Diagnostics& diagnostics_;
};

std::string limit_hint(std::int64_t max_points) {
    return " (limits.max_points = " + std::to_string(max_points) +
           "; raise it with --set limits.max_points=N or a limits { max_points: N } block in the "
           "spec)";
}

std::vector<std::string> axis_values(const spec::Axis& axis,
                                     std::int64_t max_points,
                                     SweepChecker& check) {
    const int kinds = (axis.values_size() > 0) + axis.has_range() + axis.has_log_range();
    if (kinds != 1) {
        check.error_at(axis, kinds == 0 ? "an axis needs values, a range or a log_range"
                                        : "give only one of values, range and log_range");
        return {};
    }
    std::vector<std::string> values;
    if (axis.values_size() > 0) {
        for (int i = 0; i < axis.values_size(); ++i) {
            if (axis.values(i).empty()) {
                check.error(axis, "values", "an axis value must not be empty", i);
            }
            values.push_back(axis.values(i));
        }
        return values;
    }
    if (axis.has_range()) {
        const spec::LinearRange& r = axis.range();
        if (!(r.step() > 0) || !std::isfinite(r.step())) {
            check.error(r, "step",
                        "range step must be positive, got " + format_value(r.step(), ""));
            return {};
        }
        if (!std::isfinite(r.start()) || !std::isfinite(r.stop())) {
            check.error(r, std::isfinite(r.start()) ? "stop" : "start",
                        "range start and stop must be finite");
            return {};
        }
        if (!(r.stop() >= r.start())) {
            check.error(r, "stop",
                        "range stop (" + format_value(r.stop(), "") + ") is below its start (" +
                            format_value(r.start(), "") + ")");
            return {};
        }
        const double count = std::floor((r.stop() - r.start()) / r.step() + 1e-9) + 1;
        // Also catches a count too large for a double's integers, and a NaN start or stop.
        if (!(count <= static_cast<double>(max_points))) {
            check.error(r, "step",
                        "range has " + format_value(count, "") + " values, more than " +
                            std::to_string(max_points) + " sweep points" + limit_hint(max_points));
            return {};
        }
        for (std::int64_t i = 0; i < static_cast<std::int64_t>(count); ++i) {
            values.push_back(format_value(r.start() + static_cast<double>(i) * r.step(), r.unit()));
        }
        return values;
    }
    const spec::LogRange& r = axis.log_range();
    if (!(r.start() > 0) || !(r.stop() > 0) || !std::isfinite(r.start()) ||
        !std::isfinite(r.stop())) {
        check.error(r, r.start() > 0 && std::isfinite(r.start()) ? "stop" : "start",
                    "log_range start and stop must be positive and finite");
        return {};
    }
    if (r.points() < 2 || r.points() > max_points) {
        check.error(r, "points",
                    "log_range points must be between 2 and " + std::to_string(max_points) +
                        ", got " + std::to_string(r.points()) +
                        (r.points() < 2 ? std::string() : limit_hint(max_points)));
        return {};
    }
    const double ratio = std::log(r.stop() / r.start());
    for (std::int64_t i = 0; i < r.points(); ++i) {
        const double x = i + 1 == r.points()
                             ? r.stop()
                             : r.start() * std::exp(ratio * static_cast<double>(i) /
                                                    static_cast<double>(r.points() - 1));
        values.push_back(format_value(x, r.unit()));
    }
    return values;
}

void check_flags(const spec::Sweep& message, SweepChecker& check) {
    for (int i = 0; i < message.args_size(); ++i) {
        for (const char* flag : kForbiddenFlags) {
            const std::string& arg = message.args(i);
            if (arg == flag || arg.rfind(std::string(flag) + "=", 0) == 0) {
                check.error(
                    message, "args",
                    "flag " + arg + " is not allowed in a sweep (the runner writes the results)",
                    i);
            }
        }
    }
}

}  // namespace

SweepSpec load_sweep_text(std::string_view text,
                          std::string_view display_name,
                          const std::filesystem::path& base_dir,
                          std::span<const SpecOverride> overrides) {
    const std::string file(display_name);
    spec::Sweep message;
    google::protobuf::TextFormat::ParseInfoTree tree;
    const spec::SpecLocator locator =
        spec::parse_with_overrides(text, file, message, tree, overrides);
    spec::Diagnostics diagnostics;
    SweepChecker check(locator, diagnostics);

    std::int64_t max_points = kMaxSweepPoints;
    if (message.limits().has_max_points()) {
        if (message.limits().max_points() < 1) {
            check.error(message.limits(), "max_points",
                        "limits.max_points must be at least 1, got " +
                            std::to_string(message.limits().max_points()));
        } else {
            max_points = message.limits().max_points();
        }
    }

    SweepSpec sweep;
    sweep.file = file;
    sweep.description = message.description();
    sweep.command = message.command();
    if (message.command().empty()) {
        check.error(message, "command",
                    "command is required (one of step, collective, "
                    "checkpoint, whatif, workload, topology)");
    } else if (std::find(kKnownCommands.begin(), kKnownCommands.end(), message.command()) ==
               kKnownCommands.end()) {
        check.error(message, "command",
                    "unknown command \"" + message.command() +
                        "\" (expected step, collective, checkpoint, whatif, workload or topology)");
    }

    // Base specs.
    const auto base = [&](std::string_view field, const std::string& path) {
        if (path.empty()) {
            return;
        }
        std::filesystem::path resolved(path);
        if (resolved.is_relative() && !base_dir.empty()) {
            resolved = (base_dir / resolved).lexically_normal();
        }
        // The error_code form: a name the file system refuses (too long, a loop of links)
        // threw std::filesystem::filesystem_error (a fuzz find).
        std::error_code error;
        if (!std::filesystem::exists(resolved, error)) {
            check.error(
                message, field,
                error ? std::string(field) + " file name refused by the file system (" +
                            error.message() + "): \"" + resolved.string() + "\""
                      : std::string(field) + " file \"" + resolved.string() + "\" does not exist");
        }
        sweep.base_args.push_back("--" + std::string(field));
        sweep.base_args.push_back(resolved.string());
    };
    base("topology", message.topology());
    base("workload", message.workload());
    base("failures", message.failures());
    base("scenario", message.scenario());
    sweep.args.assign(message.args().begin(), message.args().end());
    // Commands with their own worker threads run single-threaded: the sweep owns the threads.
    if ((sweep.command == "checkpoint" || sweep.command == "whatif" || sweep.command == "step") &&
        std::none_of(sweep.args.begin(), sweep.args.end(), [](const std::string& a) {
            return a == "--threads" || a.rfind("--threads=", 0) == 0;
        })) {
        sweep.args.push_back("--threads");
        sweep.args.push_back("1");
    }
    check_flags(message, check);

    // Axes and their groups.
    std::set<std::string, std::less<>> names(kReservedNames.begin(), kReservedNames.end());
    names.insert("gpus");
    std::map<std::string, std::size_t, std::less<>> zip_group;
    for (const spec::Axis& a : message.axis()) {
        SweepAxis axis;
        if (a.target_case() == spec::Axis::kSet) {
            axis.set_path = a.set();
        } else if (a.target_case() == spec::Axis::kFlag) {
            axis.flag = a.flag().rfind("-", 0) == 0 ? a.flag() : "--" + a.flag();
            for (const char* flag : kForbiddenFlags) {
                if (axis.flag == flag) {
                    check.error(a, "flag", "flag " + axis.flag + " is not allowed in a sweep");
                }
            }
        } else {
            check.error(a, "set", "an axis needs a target: set (a spec field path) or flag");
        }
        axis.name = a.name().empty() ? last_field(a.set().empty() ? a.flag() : a.set()) : a.name();
        if (!is_identifier(axis.name)) {
            check.error(a, "name",
                        "axis name \"" + axis.name +
                            "\" must be an identifier (letters, digits, _; give name:)");
        } else if (!names.insert(axis.name).second) {
            check.error(a, "name",
                        "axis name \"" + axis.name + "\" is used twice or reserved (give name:)");
        }
        axis.values = axis_values(a, max_points, check);
        axis.zip = a.zip();
        const std::size_t index = sweep.axes.size();
        if (axis.zip.empty()) {
            sweep.groups.push_back({index});
        } else if (const auto it = zip_group.find(axis.zip); it != zip_group.end()) {
            const std::size_t first = sweep.groups[it->second].front();
            if (sweep.axes[first].values.size() != axis.values.size() && !axis.values.empty()) {
                check.error(a, "zip",
                            "zipped axis \"" + axis.name + "\" has " +
                                std::to_string(axis.values.size()) + " values, axis \"" +
                                sweep.axes[first].name + "\" of zip \"" + axis.zip + "\" has " +
                                std::to_string(sweep.axes[first].values.size()));
            }
            sweep.groups[it->second].push_back(index);
        } else {
            zip_group.emplace(axis.zip, sweep.groups.size());
            sweep.groups.push_back({index});
        }
        sweep.axes.push_back(std::move(axis));
    }

    // Seeds.
    sweep.seeds = message.has_seeds() ? message.seeds() : 1;
    if (sweep.seeds < 1) {
        check.error(message, "seeds", "seeds must be >= 1, got " + std::to_string(sweep.seeds));
        sweep.seeds = 1;
    }
    if (!message.seed_flag().empty()) {
        sweep.seed_flag = message.seed_flag().rfind("-", 0) == 0 ? message.seed_flag()
                                                                 : "--" + message.seed_flag();
    } else if (sweep.seeds > 1) {
        check.error(message, "seeds", "seeds > 1 needs seed_flag (the flag that takes the seed)");
    }
    sweep.base_seed = message.base_seed();

    // Results.
    std::vector<std::string> result_texts(message.result().begin(), message.result().end());
    if (result_texts.empty()) {
        sweep.results = default_results(sweep.command);
        if (sweep.results.empty() && !sweep.command.empty()) {
            check.error_at(message,
                           "command \"" + sweep.command +
                               "\" has no default results: list them with result: \"PATH\"");
        }
    }
    for (int i = 0; i < message.result_size(); ++i) {
        const std::string& r = message.result(i);
        const std::size_t eq = r.find('=');
        SweepResultColumn column;
        column.path = eq == std::string::npos ? r : r.substr(eq + 1);
        column.name = eq == std::string::npos ? last_field(r) : r.substr(0, eq);
        if (column.path.empty()) {
            check.error(message, "result", "result \"" + r + "\" has an empty path", i);
        } else if (!is_identifier(column.name)) {
            check.error(
                message, "result",
                "result name \"" + column.name + "\" must be an identifier (write NAME=PATH)", i);
        } else if (!names.insert(column.name).second) {
            check.error(message, "result",
                        "result name \"" + column.name +
                            "\" is used twice or clashes with an axis (write NAME=PATH)",
                        i);
        }
        sweep.results.push_back(std::move(column));
    }

    // Filters and the cost: expressions over the axis names and gpus.
    bool uses_gpus = false;
    const auto expression = [&](const google::protobuf::Message& owner, std::string_view field,
                                const std::string& text) -> std::optional<SweepExpression> {
        try {
            SweepExpression e(text);
            for (const std::string& name : e.variables()) {
                if (name == "gpus") {
                    uses_gpus = true;
                    if (message.topology().empty()) {
                        check.error(owner, field, "\"gpus\" needs a topology in the sweep spec");
                    }
                    continue;
                }
                const bool is_axis =
                    std::any_of(sweep.axes.begin(), sweep.axes.end(),
                                [&](const SweepAxis& a) { return a.name == name; });
                if (!is_axis) {
                    check.error(owner, field,
                                "\"" + text + "\": unknown name \"" + name +
                                    "\" (expected an axis name or gpus)");
                }
            }
            return e;
        } catch (const UserError& e) {
            check.error(owner, field, "\"" + text + "\": " + e.what());
            return std::nullopt;
        }
    };
    for (const spec::Filter& f : message.skip()) {
        if (f.when().empty()) {
            check.error(f, "when", "a skip filter needs when: (an expression)");
            continue;
        }
        if (std::optional<SweepExpression> e = expression(f, "when", f.when())) {
            sweep.skip.push_back(
                SweepFilter{std::move(*e), f.reason().empty() ? f.when() : f.reason()});
        }
    }
    if (!message.cost().empty()) {
        sweep.cost = expression(message, "cost", message.cost());
    }

    // The point count, without overflow; an excess is reported at the seeds or at the axis
    // whose values take the count past the limit.
    std::int64_t count = sweep.seeds;
    const google::protobuf::Message* over = count > max_points ? &message : nullptr;
    for (const std::vector<std::size_t>& group : sweep.groups) {
        const auto size = static_cast<std::int64_t>(sweep.axes[group.front()].values.size());
        if (size == 0) {
            count = 0;
            over = nullptr;
            break;
        }
        if (count > max_points / size) {
            over = over != nullptr ? over : &message.axis(static_cast<int>(group.front()));
            count = max_points + 1;
        } else {
            count *= size;
        }
    }
    if (over != nullptr) {
        const std::string text = "the sweep has more than " + std::to_string(max_points) +
                                 " points (the limit); raise limits.max_points with --set "
                                 "limits.max_points=N or a limits { max_points: N } block in "
                                 "the spec, or split it into several sweeps";
        if (over == &message) {
            check.error(message, "seeds", text);
        } else {
            check.error_at(*over, text);
        }
    }
    sweep.point_count = count;
    diagnostics.throw_if_any();

    if (uses_gpus) {
        sweep.gpus = static_cast<std::int64_t>(load_topology_file(sweep.base_args[1]).gpu_count());
    }
    return sweep;
}

SweepSpec load_sweep_file(const std::filesystem::path& path,
                          std::span<const SpecOverride> overrides) {
    return load_sweep_text(spec::read_spec_file(path), path.string(), path.parent_path(),
                           overrides);
}

// ---- SweepSpec ----------------------------------------------------------------------------

std::vector<std::size_t> SweepSpec::value_indices(std::int64_t point) const {
    std::vector<std::size_t> indices(axes.size(), 0);
    std::int64_t rest = point / seeds;
    for (std::size_t g = groups.size(); g-- > 0;) {
        const auto size = static_cast<std::int64_t>(axes[groups[g].front()].values.size());
        const auto value = static_cast<std::size_t>(rest % size);
        rest /= size;
        for (std::size_t axis : groups[g]) {
            indices[axis] = value;
        }
    }
    return indices;
}

std::uint64_t SweepSpec::seed(std::int64_t point) const {
    const std::vector<std::size_t> indices = value_indices(point);
    std::string key;
    for (std::size_t i = 0; i < axes.size(); ++i) {
        key += (i ? "," : "") + axes[i].name + "=" + axes[i].values[indices[i]];
    }
    key += "#" + std::to_string(seed_index(point));
    return splitmix64(base_seed ^ fnv1a64(key)) >> 11;
}

SweepExpression::Variables SweepSpec::variables(std::int64_t point) const {
    SweepExpression::Variables result;
    const std::vector<std::size_t> indices = value_indices(point);
    for (std::size_t i = 0; i < axes.size(); ++i) {
        result.emplace(axes[i].name, sweep_value(axes[i].values[indices[i]]));
    }
    SweepExpression::Value g;
    g.number = static_cast<double>(gpus);
    g.text = std::to_string(gpus);
    result.emplace("gpus", g);
    return result;
}

std::vector<std::string> SweepSpec::command_args(std::int64_t point) const {
    std::vector<std::string> result = base_args;
    result.insert(result.end(), args.begin(), args.end());
    const std::vector<std::size_t> indices = value_indices(point);
    for (std::size_t i = 0; i < axes.size(); ++i) {
        const std::string& value = axes[i].values[indices[i]];
        if (!axes[i].set_path.empty()) {
            result.push_back("--set");
            result.push_back(axes[i].set_path + "=" + value);
        } else {
            result.push_back(axes[i].flag);
            result.push_back(value);
        }
    }
    if (!seed_flag.empty()) {
        result.push_back(seed_flag);
        result.push_back(std::to_string(seed(point)));
    }
    result.push_back("--json");
    return result;
}

std::uint64_t SweepSpec::identity() const {
    std::string text = command + '\n';
    for (const std::string& a : base_args) {
        text += a + '\n';
    }
    for (const std::string& a : args) {
        text += a + '\n';
    }
    for (const SweepAxis& axis : axes) {
        text += axis.name + '|' + axis.set_path + '|' + axis.flag + '|' + axis.zip + ':';
        for (const std::string& v : axis.values) {
            text += v + ',';
        }
        text += '\n';
    }
    for (const SweepFilter& f : skip) {
        text += f.when.text() + '|' + f.reason + '\n';
    }
    for (const SweepResultColumn& r : results) {
        text += r.name + '=' + r.path + '\n';
    }
    text += std::to_string(seeds) + '|' + seed_flag + '|' + std::to_string(base_seed);
    return fnv1a64(text);
}

std::string_view to_string(SweepPointStatus status) {
    switch (status) {
        case SweepPointStatus::kOk:
            return "ok";
        case SweepPointStatus::kSkipped:
            return "skipped";
        case SweepPointStatus::kInvalid:
            return "invalid";
        case SweepPointStatus::kFailed:
            return "failed";
    }
    return "failed";
}

}  // namespace stepsim
