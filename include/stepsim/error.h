// SPDX-License-Identifier: Apache-2.0
// File: error.h
// The project's error types. Bad input (specs, flags) raises `SpecError`, which carries a
// source location and a field path; the CLI prints it and exits with status 2. Broken
// invariants raise `InternalError` through STEPSIM_CHECK, which stays on in release builds.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
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

/// Bad input. Holds every problem found in a file, not just the first; what() joins them,
/// one per line.
class SpecError : public std::runtime_error {
public:
    explicit SpecError(std::vector<Diagnostic> diagnostics);
    SpecError(SourceLocation location, std::string field_path, std::string message);

    const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

private:
    std::vector<Diagnostic> diagnostics_;
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
