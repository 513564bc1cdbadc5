// SPDX-License-Identifier: Apache-2.0
// File: sweep.h
// Sweep specs (workloads/sweep.proto): a command run over the points of a grid of axes, with
// filters that skip invalid combinations and seeds per point. This header holds the loaded,
// validated form, and the summary of a finished run; running it is the CLI's (`stepsim sweep`,
// tools/stepsim/sweep_*.cc).
#pragma once

#include "stepsim/spec.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stepsim {

/// Sweeps with more points than this are refused when loaded (10^7).
inline constexpr std::int64_t kMaxSweepPoints = 10'000'000;

/// A small expression language for filters and predicted costs: numbers, "strings",
/// variables, + - * / %, == != < <= > >=, && || !, parentheses. Comparisons and logic give
/// 1 or 0. Strings compare with == and != only.
class SweepExpression {
public:
    struct Value {
        bool is_number = true;
        double number = 0;
        std::string text;  ///< for strings; for numbers, as written
    };

    using Variables = std::map<std::string, Value, std::less<>>;

    /// Parses `text`; throws UserError("column C: message") on a syntax error.
    explicit SweepExpression(std::string_view text);

    const std::string& text() const { return text_; }

    /// The variable names the expression uses, sorted, without duplicates.
    std::vector<std::string> variables() const;

    /// Evaluates with `variables`; throws UserError on an unknown variable or
    /// arithmetic on a string.
    Value evaluate(const Variables& variables) const;

    /// evaluate() as a truth value (a number other than 0, or a non-empty string).
    bool is_true(const Variables& variables) const;

    struct Node {
        enum class Kind : std::uint8_t { kNumber, kString, kVariable, kUnary, kBinary };
        Kind kind = Kind::kNumber;
        std::string op;  ///< operator, or the variable name / string literal
        double number = 0;
        int left = -1;
        int right = -1;
    };

private:
    std::string text_;
    std::vector<Node> nodes_;
    int root_ = -1;
};

/// The value an axis value text stands for in expressions: a number when it reads as one,
/// a duration in seconds when it has a time unit ("30min"), else a string.
SweepExpression::Value sweep_value(std::string_view text);

struct SweepAxis {
    std::string name;      ///< column name, a valid expression variable
    std::string set_path;  ///< when set: passed as --set set_path=VALUE
    std::string flag;      ///< otherwise: passed as FLAG VALUE ("--mtbf")
    std::vector<std::string> values;
    std::string zip;  ///< axes with the same non-empty zip name advance together
};

struct SweepFilter {
    SweepExpression when;
    std::string reason;  ///< recorded for every skipped point
};

struct SweepResultColumn {
    std::string name;  ///< column name
    std::string path;  ///< dotted path into the command's JSON, [i] for array elements
};

/// A loaded, validated sweep. Points are numbered 0..point_count-1: the axis groups form a
/// mixed-radix number (the first group varies slowest), then the seed index varies fastest.
struct SweepSpec {
    std::string file;  ///< the spec's display name
    std::string description;
    std::string command;
    std::vector<std::string> base_args;  ///< "--topology", "<path>", ... (paths resolved)
    std::vector<std::string> args;       ///< fixed flags
    std::vector<SweepAxis> axes;
    /// Axis indices of each group (a zip group, or one axis), in order of first appearance.
    std::vector<std::vector<std::size_t>> groups;
    std::vector<SweepFilter> skip;
    std::vector<SweepResultColumn> results;
    std::int64_t seeds = 1;
    std::string seed_flag;  ///< empty: no seed is passed
    std::uint64_t base_seed = 0;
    std::optional<SweepExpression> cost;
    std::int64_t gpus = 0;  ///< the base topology's GPU count (0 without a topology)
    std::int64_t point_count = 1;

    /// The value index of every axis at `point`.
    std::vector<std::size_t> value_indices(std::int64_t point) const;

    std::int64_t seed_index(std::int64_t point) const { return point % seeds; }

    /// The seed of `point`'s run: splitmix64(base_seed ^ fnv1a64(key)) cut to 53 bits (exact
    /// in JSON readers and Python floats), key "name=value,...#seed_index".
    std::uint64_t seed(std::int64_t point) const;
    /// The expression variables at `point`: every axis by name, and gpus.
    SweepExpression::Variables variables(std::int64_t point) const;
    /// The command line of `point` (flags only, without the command name): base specs,
    /// fixed args, the axes, the seed flag and "--json".
    std::vector<std::string> command_args(std::int64_t point) const;
    /// A hash of everything that decides the rows (to refuse resuming a different sweep).
    std::uint64_t identity() const;
};

/// How a sweep point ended: the command ran and its results were read (ok), a skip filter
/// held, the command refused its input (exit status 2), or it failed (exit status 1).
enum class SweepPointStatus : std::uint8_t { kOk, kSkipped, kInvalid, kFailed };

std::string_view to_string(SweepPointStatus status);

/// One finished sweep point as results.csv and results.jsonl record it: the point's axis
/// values (as written in the spec), its seed, its status, each result column's raw JSON value
/// (read from the command's --json output; empty when the point did not run or the field is
/// absent) and the reason a point was skipped, invalid or failed.
struct SweepPointRecord {
    std::int64_t point = 0;
    std::optional<std::uint64_t> seed;  ///< with a seed flag
    std::vector<std::string> axis_values;
    SweepPointStatus status = SweepPointStatus::kOk;
    std::vector<std::optional<std::string>> results;  ///< raw JSON, one per result column
    std::string reason;
};

/// What one finished `stepsim sweep` run did: its points by status (resumed ones included),
/// where it ran and which files it wrote.
struct SweepSummary {
    std::string spec_file;
    std::string command;
    std::int64_t points = 0;
    std::int64_t ok = 0;
    std::int64_t skipped = 0;
    std::int64_t invalid = 0;
    std::int64_t failed = 0;
    std::int64_t resumed = 0;  ///< points already done when the run started
    int ranks = 1;             ///< MPI ranks
    int jobs = 1;              ///< worker threads per rank
    std::string csv_path;
    std::string jsonl_path;
};

/// Loads and validates a sweep spec; base spec paths are resolved against the spec's folder.
/// `overrides` (--set) edit the sweep spec itself. Throws SpecError with every problem found.
SweepSpec load_sweep_file(const std::filesystem::path& path,
                          std::span<const SpecOverride> overrides = {});
/// As load_sweep_file, from text; relative base spec paths are resolved against `base_dir`.
SweepSpec load_sweep_text(std::string_view text,
                          std::string_view display_name,
                          const std::filesystem::path& base_dir,
                          std::span<const SpecOverride> overrides = {});

}  // namespace stepsim
