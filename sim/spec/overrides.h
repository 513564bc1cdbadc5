// SPDX-License-Identifier: Apache-2.0
// File: overrides.h
// --set FIELD=VALUE: edits a parsed spec message through protobuf reflection before it is
// validated. FIELD is a dotted path with [i] for an element of a repeated field
// ("fabric[0].fat_tree.oversubscription"); VALUE is written as for the field's type (string,
// integer, floating point, bool, or an enum value's name).
#pragma once

#include "stepsim/spec.h"

#include "diagnostics.h"
#include "spec_locator.h"

#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stepsim::spec {

/// Which field an override wrote (for error locations: "<command line>").
struct AppliedOverride {
    const google::protobuf::Message* message = nullptr;
    const google::protobuf::FieldDescriptor* field = nullptr;
    int index = -1;  ///< element of a repeated field, -1 for a singular one
};

/// Applies `overrides` in order. Each one that fails (unknown field, index out of range, value
/// of the wrong type) adds a diagnostic located at "<command line>" and is skipped.
std::vector<AppliedOverride> apply_overrides(google::protobuf::Message& root,
                                             std::span<const SpecOverride> overrides,
                                             Diagnostics& diagnostics);

/// What every spec loader starts with: parses `text` into `message` (field locations into
/// `tree`), applies `overrides`, throws SpecError for a syntax error or a bad override, and
/// returns the locator of `message` with the overridden fields marked ("<command line>").
/// `prepare`, when given, edits the message after the overrides and before the locator
/// indexes it. `message` and `tree` must outlive the locator.
SpecLocator parse_with_overrides(std::string_view text,
                                 const std::string& file,
                                 google::protobuf::Message& message,
                                 google::protobuf::TextFormat::ParseInfoTree& tree,
                                 std::span<const SpecOverride> overrides,
                                 const std::function<void()>& prepare = {});

}  // namespace stepsim::spec
