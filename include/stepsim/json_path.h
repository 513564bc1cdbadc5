// SPDX-License-Identifier: Apache-2.0
// File: json_path.h
// Reads values out of serialized results by path ("results[0].points[0].goodput"), as their
// raw text, so that a number copied into a sweep row keeps its exact digits. A sweep spec
// names the fields of its rows this way (workloads/sweep.proto); studies never read JSON.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace stepsim {

/// The raw text of the value at `path` in `document` ("a.b[2].c"), or nullopt when the path
/// does not exist. Throws InternalError when `document` is not valid JSON on the way.
std::optional<std::string_view> json_lookup(std::string_view document, std::string_view path);

/// The text of a JSON string literal (quotes removed, escapes decoded); other values as is.
std::string json_text(std::string_view raw);

}  // namespace stepsim
