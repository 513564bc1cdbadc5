// SPDX-License-Identifier: Apache-2.0
// File: diagnostics.h
// Collects the problems found in one spec so that all of them are reported at once: the
// loaders add to a `Diagnostics` and throw a single SpecError at the end.
#pragma once

#include "stepsim/error.h"

#include <cstddef>
#include <string>
#include <vector>

namespace stepsim::spec {

class Diagnostics {
public:
    /// More than this many errors are counted, not listed (a typo in a template can otherwise
    /// produce one error per expanded copy).
    static constexpr std::size_t kMaxListed = 100;

    void error(SourceLocation location, std::string field_path, std::string message);

    bool empty() const { return listed_.empty(); }

    std::size_t count() const { return listed_.size() + dropped_; }

    /// The listed diagnostics in file order (command-line ones first).
    std::vector<Diagnostic> sorted() const;
    /// Throws SpecError with every listed diagnostic (and a count of the rest) when any.
    void throw_if_any() const;

private:
    std::vector<Diagnostic> listed_;
    std::size_t dropped_ = 0;
};

}  // namespace stepsim::spec
