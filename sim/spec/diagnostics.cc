// SPDX-License-Identifier: Apache-2.0
// File: diagnostics.cc
#include "diagnostics.h"

#include <algorithm>
#include <tuple>

namespace stepsim::spec {

void Diagnostics::error(SourceLocation location, std::string field_path, std::string message) {
    if (listed_.size() >= kMaxListed) {
        ++dropped_;
        return;
    }
    listed_.push_back(Diagnostic{std::move(location), std::move(field_path), std::move(message)});
}

std::vector<Diagnostic> Diagnostics::sorted() const {
    std::vector<Diagnostic> result = listed_;
    std::stable_sort(result.begin(), result.end(), [](const Diagnostic& a, const Diagnostic& b) {
        return std::tie(a.location.line, a.location.column) <
               std::tie(b.location.line, b.location.column);
    });
    return result;
}

void Diagnostics::throw_if_any() const {
    if (empty()) {
        return;
    }
    std::vector<Diagnostic> result = sorted();
    if (dropped_ > 0) {
        SourceLocation where = result.back().location;
        where.line = 0;
        where.column = 0;
        result.push_back(Diagnostic{where, "",
                                    "too many errors: " + std::to_string(dropped_) +
                                        " more not shown (the first " + std::to_string(kMaxListed) +
                                        " are listed above)"});
    }
    throw SpecError(std::move(result));
}

}  // namespace stepsim::spec
