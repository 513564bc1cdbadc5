// SPDX-License-Identifier: Apache-2.0
// File: text_parser.h
// Reading and parsing text-format specs. Syntax errors (including unknown field names) are
// reported by protobuf's io::ErrorCollector and become a SpecError at file:line:col.
#pragma once

#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace stepsim::spec {

/// Text specs larger than this are refused before they are read (256 MiB; fixed).
inline constexpr std::uintmax_t kMaxSpecFileBytes = std::uintmax_t{256} << 20;

/// The whole file; SpecError (location: the file) when it cannot be read or is larger than
/// kMaxSpecFileBytes.
std::string read_spec_file(const std::filesystem::path& path);

/// Parses `text` into `message` and records field locations in `tree`. Throws SpecError with
/// the syntax errors protobuf found, located in `display_name`.
void parse_text_spec(std::string_view text,
                     const std::string& display_name,
                     google::protobuf::Message& message,
                     google::protobuf::TextFormat::ParseInfoTree& tree);

}  // namespace stepsim::spec
