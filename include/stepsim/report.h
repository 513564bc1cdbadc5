// SPDX-License-Identifier: Apache-2.0
// File: report.h
// Results out: a small streaming JSON writer with deterministic number formatting (shortest
// round-trip form; NaN and infinity are refused, so no output ever carries them), a CSV row
// helper, and atomic file output (write to a temporary file, then rename into place, so a
// failed run leaves nothing half-written).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace stepsim {

class JsonWriter {
public:
    /// `indent` spaces per level; 0 writes one line.
    explicit JsonWriter(int indent = 2)
        : indent_(indent) {}

    JsonWriter& begin_object();
    JsonWriter& end_object();
    JsonWriter& begin_array();
    JsonWriter& end_array();
    /// The next value's key (inside an object).
    JsonWriter& key(std::string_view name);
    JsonWriter& value(double number);  ///< InternalError on NaN or infinity
    JsonWriter& value(std::int64_t number);
    JsonWriter& value(std::uint64_t number);

    JsonWriter& value(int number) { return value(static_cast<std::int64_t>(number)); }

    JsonWriter& value(bool flag);
    JsonWriter& value(std::string_view text);

    JsonWriter& value(const char* text) { return value(std::string_view(text)); }

    JsonWriter& null();

    /// key(name).value(v)
    template <class T>
    JsonWriter& field(std::string_view name, const T& v) {
        key(name);
        return value(v);
    }

    /// The document so far (complete once every object and array is closed).
    const std::string& str() const { return out_; }

private:
    void before_value();
    void newline();
    void append_string(std::string_view text);

    std::string out_;
    int indent_;
    std::vector<bool> has_items_;  ///< per open container
    bool after_key_ = false;
};

/// Shortest decimal text that reads back as the same double ("0.1", "1e-09").
/// InternalError on NaN or infinity.
std::string format_number(double number);

/// Quotes a CSV field when it holds a comma, quote or newline.
std::string csv_field(std::string_view text);

/// Writes `content` to `path` through `path`.tmp and a rename; on failure nothing is left at
/// `path` (and the temporary is removed). Throws IoError (error.h) on I/O errors.
void write_file_atomically(const std::filesystem::path& path, std::string_view content);

}  // namespace stepsim
