// SPDX-License-Identifier: Apache-2.0
// File: json_path.cc
// A scanner that skips JSON values without building a tree: enough to walk a path.
#include "stepsim/json_path.h"

#include "stepsim/error.h"

#include <cctype>
#include <cstdlib>
#include <stdexcept>

namespace stepsim {

namespace {

class Scanner {
public:
    explicit Scanner(std::string_view text)
        : text_(text) {}

    void skip_space() {
        while (at_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[at_]))) {
            ++at_;
        }
    }

    char peek() {
        skip_space();
        if (at_ >= text_.size()) {
            fail("unexpected end of JSON");
        }
        return text_[at_];
    }

    void expect(char c) {
        if (peek() != c) {
            fail(std::string("expected '") + c + "'");
        }
        ++at_;
    }

    /// Skips one value and returns its raw text.
    std::string_view value() {
        const char c = peek();
        const std::size_t start = at_;
        if (c == '{' || c == '[') {
            const char close = c == '{' ? '}' : ']';
            ++at_;
            if (peek() == close) {
                ++at_;
                return text_.substr(start, at_ - start);
            }
            while (true) {
                if (c == '{') {
                    string();
                    expect(':');
                }
                value();
                if (peek() == ',') {
                    ++at_;
                    continue;
                }
                expect(close);
                return text_.substr(start, at_ - start);
            }
        }
        if (c == '"') {
            return string();
        }
        while (at_ < text_.size() && text_[at_] != ',' && text_[at_] != '}' && text_[at_] != ']' &&
               !std::isspace(static_cast<unsigned char>(text_[at_]))) {
            ++at_;
        }
        if (at_ == start) {
            fail("expected a value");
        }
        return text_.substr(start, at_ - start);
    }

    /// A string literal's raw text, quotes included.
    std::string_view string() {
        skip_space();
        const std::size_t start = at_;
        expect('"');
        while (at_ < text_.size() && text_[at_] != '"') {
            at_ += text_[at_] == '\\' ? 2 : 1;
        }
        if (at_ >= text_.size()) {
            fail("unterminated string");
        }
        ++at_;
        return text_.substr(start, at_ - start);
    }

    /// Inside an object: finds `key` and leaves the scanner at its value.
    bool find_key(std::string_view key) {
        expect('{');
        if (peek() == '}') {
            return false;
        }
        while (true) {
            const std::string name = json_text(string());
            expect(':');
            if (name == key) {
                return true;
            }
            value();
            if (peek() != ',') {
                return false;
            }
            ++at_;
        }
    }

    /// Inside an array: leaves the scanner at element `index`.
    bool find_index(std::size_t index) {
        expect('[');
        if (peek() == ']') {
            return false;
        }
        for (std::size_t i = 0; i < index; ++i) {
            value();
            if (peek() != ',') {
                return false;
            }
            ++at_;
        }
        return true;
    }

private:
    [[noreturn]] void fail(const std::string& message) const {
        throw InternalError("bad JSON at offset " + std::to_string(at_) + ": " + message);
    }

    std::string_view text_;
    std::size_t at_ = 0;
};

}  // namespace

std::optional<std::string_view> json_lookup(std::string_view document, std::string_view path) {
    Scanner scanner(document);
    std::size_t at = 0;
    while (at < path.size()) {
        if (path[at] == '.') {
            ++at;
            continue;
        }
        if (path[at] == '[') {
            const std::size_t close = path.find(']', at);
            if (close == std::string_view::npos) {
                return std::nullopt;
            }
            const std::string digits(path.substr(at + 1, close - at - 1));
            char* end = nullptr;
            const unsigned long long index = std::strtoull(digits.c_str(), &end, 10);
            if (digits.empty() || *end != '\0' || scanner.peek() != '[' ||
                !scanner.find_index(static_cast<std::size_t>(index))) {
                return std::nullopt;
            }
            at = close + 1;
            continue;
        }
        std::size_t end = at;
        while (end < path.size() && path[end] != '.' && path[end] != '[') {
            ++end;
        }
        if (scanner.peek() != '{' || !scanner.find_key(path.substr(at, end - at))) {
            return std::nullopt;
        }
        at = end;
    }
    return scanner.value();
}

std::string json_text(std::string_view raw) {
    if (raw.size() < 2 || raw.front() != '"') {
        return std::string(raw);
    }
    std::string text;
    for (std::size_t i = 1; i + 1 < raw.size(); ++i) {
        if (raw[i] != '\\') {
            text += raw[i];
            continue;
        }
        const char c = raw[++i];
        switch (c) {
            case 'n':
                text += '\n';
                break;
            case 't':
                text += '\t';
                break;
            case 'r':
                text += '\r';
                break;
            case 'b':
                text += '\b';
                break;
            case 'f':
                text += '\f';
                break;
            case 'u': {
                const unsigned long code =
                    std::strtoul(std::string(raw.substr(i + 1, 4)).c_str(), nullptr, 16);
                i += 4;
                if (code < 0x80) {
                    text += static_cast<char>(code);
                } else if (code < 0x800) {
                    text += static_cast<char>(0xC0 | (code >> 6));
                    text += static_cast<char>(0x80 | (code & 0x3F));
                } else {
                    text += static_cast<char>(0xE0 | (code >> 12));
                    text += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
                    text += static_cast<char>(0x80 | (code & 0x3F));
                }
                break;
            }
            default:
                text += c;  // \" \\ \/
        }
    }
    return text;
}

}  // namespace stepsim
