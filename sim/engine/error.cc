// SPDX-License-Identifier: Apache-2.0
// File: error.cc
#include "stepsim/error.h"

namespace stepsim {

std::string SourceLocation::to_string() const {
    if (file.empty()) {
        return "<command line>";
    }
    if (line <= 0) {
        return file;
    }
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string Diagnostic::to_string() const {
    return location.to_string() + ": error: " + message;
}

namespace {
std::string join(const std::vector<Diagnostic>& diagnostics) {
    std::string text;
    for (const Diagnostic& d : diagnostics) {
        if (!text.empty()) {
            text += '\n';
        }
        text += d.to_string();
    }
    return text;
}
}  // namespace

SpecError::SpecError(std::vector<Diagnostic> diagnostics)
    : UserError(join(diagnostics))
    , diagnostics_(std::move(diagnostics)) {}

SpecError::SpecError(SourceLocation location, std::string field_path, std::string message)
    : SpecError(std::vector<Diagnostic>{
          Diagnostic{std::move(location), std::move(field_path), std::move(message)}}) {}

SourceLocation SpecSource::locate(std::string_view field_path) const {
    const auto it = fields.find(field_path);
    return it != fields.end() ? it->second : SourceLocation{file, 0, 0};
}

namespace detail {
void check_failed(const char* condition, const char* file, int line, const std::string& message) {
    throw InternalError(std::string(file) + ":" + std::to_string(line) +
                        ": internal error: check failed: " + condition + ": " + message);
}
}  // namespace detail

}  // namespace stepsim
