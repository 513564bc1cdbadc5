// SPDX-License-Identifier: Apache-2.0
// File: json_writer.cc
#include "stepsim/error.h"
#include "stepsim/report.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace stepsim {

std::string format_number(double number) {
    STEPSIM_CHECK(std::isfinite(number), "refusing to write a non-finite number to output");
    if (number == 0) {
        return "0";  // also for -0.0
    }
    char buffer[32];
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, number);
    STEPSIM_CHECK(ec == std::errc(), "to_chars failed");
    return std::string(buffer, end);
}

void JsonWriter::newline() {
    if (indent_ > 0) {
        out_ += '\n';
        out_.append(has_items_.size() * static_cast<std::size_t>(indent_), ' ');
    }
}

void JsonWriter::before_value() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (!has_items_.empty()) {
        if (has_items_.back()) {
            out_ += ',';
        }
        has_items_.back() = true;
        newline();
    }
}

JsonWriter& JsonWriter::begin_object() {
    before_value();
    out_ += '{';
    has_items_.push_back(false);
    return *this;
}

JsonWriter& JsonWriter::end_object() {
    STEPSIM_CHECK(!has_items_.empty(), "end_object without begin_object");
    const bool had_items = has_items_.back();
    has_items_.pop_back();
    if (had_items) {
        newline();
    }
    out_ += '}';
    if (has_items_.empty() && indent_ > 0) {
        out_ += '\n';
    }
    return *this;
}

JsonWriter& JsonWriter::begin_array() {
    before_value();
    out_ += '[';
    has_items_.push_back(false);
    return *this;
}

JsonWriter& JsonWriter::end_array() {
    STEPSIM_CHECK(!has_items_.empty(), "end_array without begin_array");
    const bool had_items = has_items_.back();
    has_items_.pop_back();
    if (had_items) {
        newline();
    }
    out_ += ']';
    if (has_items_.empty() && indent_ > 0) {
        out_ += '\n';
    }
    return *this;
}

JsonWriter& JsonWriter::key(std::string_view name) {
    before_value();
    append_string(name);
    out_ += indent_ > 0 ? ": " : ":";
    after_key_ = true;
    return *this;
}

JsonWriter& JsonWriter::value(double number) {
    std::string text = format_number(number);
    before_value();
    out_ += text;
    return *this;
}

JsonWriter& JsonWriter::value(std::int64_t number) {
    before_value();
    out_ += std::to_string(number);
    return *this;
}

JsonWriter& JsonWriter::value(std::uint64_t number) {
    before_value();
    out_ += std::to_string(number);
    return *this;
}

JsonWriter& JsonWriter::value(bool flag) {
    before_value();
    out_ += flag ? "true" : "false";
    return *this;
}

JsonWriter& JsonWriter::null() {
    before_value();
    out_ += "null";
    return *this;
}

JsonWriter& JsonWriter::value(std::string_view text) {
    before_value();
    append_string(text);
    return *this;
}

void JsonWriter::append_string(std::string_view text) {
    out_ += '"';
    for (const char c : text) {
        switch (c) {
            case '"':
                out_ += "\\\"";
                break;
            case '\\':
                out_ += "\\\\";
                break;
            case '\n':
                out_ += "\\n";
                break;
            case '\t':
                out_ += "\\t";
                break;
            case '\r':
                out_ += "\\r";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char buffer[8];
                    std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
                    out_ += buffer;
                } else {
                    out_ += c;
                }
        }
    }
    out_ += '"';
}

}  // namespace stepsim
