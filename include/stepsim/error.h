// SPDX-License-Identifier: Apache-2.0
// File: error.h
// The project's error types, in two families that the CLI maps to exit statuses:
//   UserError (exit 2): bad input. SpecError (located: file:line:col, field path, message;
//     every problem of a file at once), JobClusterMismatch (a job that does not fit its
//     cluster, located at the workload fields involved), ResourceLimitError (a request past a
//     stated limit), and unlocated bad values (command-line flags, API arguments that came
//     from input; UnitError in units.h, the CLI's UsageError).
//     IoError: a file that cannot be read or written (a missing folder, a full disk).
//   InternalError (exit 1): a bug, an invariant that input cannot break did break; raised by
//     STEPSIM_CHECK, which stays on in release builds.
// Library code throws nothing else on purpose (no bare std::invalid_argument).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace stepsim {

/// Where in an input file something was written. Lines and columns are one-based; 0 means
/// unknown (for example, a value given with --set on the command line).
struct SourceLocation {
    std::string file;
    int line = 0;
    int column = 0;

    /// "file:line:col", "file" when line is unknown, "<command line>" when file is empty.
    std::string to_string() const;
};

/// One problem with an input: where, which field (protobuf path such as
/// "link[3].bandwidth"), and what was expected against what was found.
struct Diagnostic {
    SourceLocation location;
    std::string field_path;
    std::string message;  ///< lower-case, no final period

    /// "file:line:col: error: message"
    std::string to_string() const;
};

/// Bad input of any kind; what() says what was expected against what was found (lower-case,
/// no final period). The CLI prints it and exits with status 2.
class UserError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Bad input in a file. Holds every problem found in a file, not just the first; what() joins
/// them, one per line ("file:line:col: error: message").
class SpecError : public UserError {
public:
    explicit SpecError(std::vector<Diagnostic> diagnostics);
    SpecError(SourceLocation location, std::string field_path, std::string message);

    const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

private:
    std::vector<Diagnostic> diagnostics_;
};

/// A job that does not fit its cluster (tp·pp·dp against the GPU count, memory against the
/// GPU's HBM): located at the workload fields involved, the message naming the topology.
class JobClusterMismatch : public SpecError {
public:
    using SpecError::SpecError;
};

/// A request past a stated limit (a run too long for the run clock, more devices or links
/// than ids can number, more sweep points than allowed); the message names the limit.
class ResourceLimitError : public UserError {
public:
    using UserError::UserError;
};

/// A file that cannot be opened, written or renamed; the message names the path and the
/// system's reason. The input is fine; the place to read or write it is not.
class IoError : public UserError {
public:
    using UserError::UserError;
};

/// Where the fields of a loaded spec were written ("parallelism.tp" -> file:line:col), kept
/// with the object built from it so that checks made after loading (against a cluster) can
/// point at the text. Empty for objects built in code.
struct SpecSource {
    std::string file;
    std::map<std::string, SourceLocation, std::less<>> fields;

    /// The field's location when recorded, else the file alone (no line).
    SourceLocation locate(std::string_view field_path) const;
};

/// A bug: an invariant that input cannot break did break. The CLI exits with status 1.
class InternalError : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

namespace detail {
[[noreturn]] void check_failed(const char* condition,
                               const char* file,
                               int line,
                               const std::string& message);
}  // namespace detail

}  // namespace stepsim

/// Cheap invariant check, on in every build type; throws stepsim::InternalError.
#define STEPSIM_CHECK(condition, message)                                               \
    do {                                                                                \
        if (!(condition)) {                                                             \
            ::stepsim::detail::check_failed(#condition, __FILE__, __LINE__, (message)); \
        }                                                                               \
    } while (false)
