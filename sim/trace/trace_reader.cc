// SPDX-License-Identifier: Apache-2.0
// File: trace_reader.cc
// A strict streaming reader for the Chrome trace-event subset that training timelines use:
// one pass over the text, no document tree, every event checked as it is read. Gzip input is
// inflated with zlib first. Errors name the event index and the line:col of the event.
#include "stepsim/error.h"
#include "stepsim/trace.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <zlib.h>

namespace stepsim {

namespace {

constexpr int kMaxDepth = 64;
/// Recorded durations slightly below zero are clock skew between the two timestamps of an op
/// (the SE timeline has 8, down to -75 us) and are read as 0; larger ones are errors.
constexpr double kClockSkewUs = 1000;
/// Timestamps and durations beyond 31 years are not a training job's (and would overflow).
constexpr double kMaxTimeUs = 1e15;

std::string read_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw SpecError(SourceLocation{path.string(), 0, 0}, "", "cannot open trace file");
    }
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

bool is_gzip(std::string_view bytes) {
    return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
           static_cast<unsigned char>(bytes[1]) == 0x8b;
}

/// How many events of the trace's event array `text` (cut short) holds whole: objects that
/// close directly inside the outermost array (a bare event array, or "traceEvents" one level
/// down in an object).
std::int64_t whole_events(std::string_view text) {
    std::vector<char> stack;
    std::int64_t events = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            stack.push_back(c);
        } else if ((c == ']' || c == '}') && !stack.empty()) {
            stack.pop_back();
            const std::size_t array_depth = !stack.empty() && stack[0] == '[' ? 1 : 2;
            if (c == '}' && stack.size() == array_depth && stack.back() == '[') {
                ++events;
            }
        }
    }
    return events;
}

/// Inflates every gzip member of `bytes`. A stream that ends before its trailer is truncated.
std::string gunzip(std::string_view bytes, const std::string& file, const TraceLimits& limits) {
    std::string out;
    z_stream stream{};
    if (inflateInit2(&stream, 15 + 32) != Z_OK) {
        throw SpecError(SourceLocation{file, 0, 0}, "", "zlib could not start inflating");
    }
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    stream.avail_in = static_cast<uInt>(bytes.size());
    char buffer[1 << 16];
    int status = Z_OK;
    for (;;) {
        stream.next_out = reinterpret_cast<Bytef*>(buffer);
        stream.avail_out = sizeof buffer;
        status = inflate(&stream, Z_NO_FLUSH);
        out.append(buffer, sizeof buffer - stream.avail_out);
        if (static_cast<std::int64_t>(out.size()) > limits.max_json_bytes) {
            inflateEnd(&stream);
            throw SpecError(SourceLocation{file, 0, 0}, "",
                            "decompressed trace exceeds the limit of " +
                                std::to_string(limits.max_json_bytes) +
                                " bytes of JSON (max_json_bytes; raise it with "
                                "--max-json-bytes N)");
        }
        if (status == Z_STREAM_END) {
            if (stream.avail_in == 0) {
                break;
            }
            inflateReset(&stream);  // another gzip member follows
            continue;
        }
        if (status == Z_BUF_ERROR && stream.avail_in == 0) {
            inflateEnd(&stream);
            throw SpecError(SourceLocation{file, 0, 0}, "",
                            "truncated gzip stream: the data ends after " +
                                std::to_string(out.size()) + " bytes of JSON, inside event " +
                                std::to_string(whole_events(out)) +
                                " (events before it are whole), before the gzip trailer");
        }
        if (status != Z_OK && status != Z_BUF_ERROR) {
            const std::string reason = stream.msg != nullptr ? stream.msg : "inflate failed";
            inflateEnd(&stream);
            throw SpecError(SourceLocation{file, 0, 0}, "",
                            "corrupt gzip data after " + std::to_string(out.size()) +
                                " bytes of JSON: " + reason);
        }
    }
    inflateEnd(&stream);
    return out;
}

/// One event's fields as read, before the checks of its phase.
struct RawEvent {
    std::optional<std::string> name;
    std::optional<std::string> category;
    std::optional<std::string> phase;
    std::optional<double> pid;
    std::optional<double> tid;
    std::optional<double> ts;
    std::optional<double> dur;
    std::optional<double> step;
    std::optional<double> mb_id;
    std::optional<double> model_chunk;
    std::optional<double> seq_id;
    std::optional<std::string> args_name;
};

class Reader {
public:
    Reader(std::string_view text, const std::string& file, const TraceLimits& limits)
        : text_(text)
        , file_(file)
        , limits_(limits) {}

    Trace read() {
        Trace trace;
        trace.file = file_;
        skip_space();
        if (at_end()) {
            fail(pos_, "",
                 "empty trace: expected a JSON array of events or an object with "
                 "\"traceEvents\"");
        }
        if (peek() == '[') {
            read_events(trace);
        } else if (peek() == '{') {
            ++pos_;
            bool has_events = false;
            skip_space();
            if (peek() != '}') {
                for (;;) {
                    skip_space();
                    const std::string key = read_string("");
                    skip_space();
                    expect(':', "");
                    skip_space();
                    if (key == "traceEvents") {
                        read_events(trace);
                        has_events = true;
                    } else {
                        skip_value("", 1);
                    }
                    skip_space();
                    if (peek() == ',') {
                        ++pos_;
                        continue;
                    }
                    expect('}', "");
                    break;
                }
            } else {
                ++pos_;
            }
            if (!has_events) {
                fail(0, "traceEvents", "the trace object has no \"traceEvents\" array");
            }
        } else {
            fail(pos_, "", "expected a JSON array of events or an object with \"traceEvents\"");
        }
        skip_space();
        if (!at_end()) {
            fail(pos_, "", "unexpected text after the end of the trace");
        }
        return trace;
    }

private:
    [[noreturn]] void fail(std::size_t at, const std::string& field, const std::string& message) {
        int line = 1;
        int column = 1;
        for (std::size_t i = 0; i < at && i < text_.size(); ++i) {
            if (text_[i] == '\n') {
                ++line;
                column = 1;
            } else {
                ++column;
            }
        }
        throw SpecError(SourceLocation{file_, line, column}, field, message);
    }

    [[noreturn]] void fail_event(const std::string& field, const std::string& message) {
        fail(event_start_, "traceEvents[" + std::to_string(event_index_) + "]" + field,
             "event " + std::to_string(event_index_) + ": " + message);
    }

    bool at_end() const { return pos_ >= text_.size(); }

    char peek() const { return at_end() ? '\0' : text_[pos_]; }

    void skip_space() {
        while (!at_end() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\r' ||
                             text_[pos_] == '\t')) {
            ++pos_;
        }
    }

    std::string where() const {
        return at_end() ? "the end of the text (truncated?)"
                        : "'" + std::string(1, text_[pos_]) + "'";
    }

    void expect(char c, const std::string& field) {
        if (peek() != c) {
            fail(pos_, field,
                 std::string("expected '") + c + "', found " + where() +
                     (in_event_ ? " in event " + std::to_string(event_index_) : ""));
        }
        ++pos_;
    }

    static void append_utf8(std::string& out, std::uint32_t code) {
        if (code < 0x80) {
            out += static_cast<char>(code);
        } else if (code < 0x800) {
            out += static_cast<char>(0xC0 | (code >> 6));
            out += static_cast<char>(0x80 | (code & 0x3F));
        } else if (code < 0x10000) {
            out += static_cast<char>(0xE0 | (code >> 12));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (code & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (code >> 18));
            out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (code & 0x3F));
        }
    }

    std::uint32_t read_hex4(const std::string& field) {
        std::uint32_t code = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = peek();
            std::uint32_t digit = 0;
            if (c >= '0' && c <= '9') {
                digit = static_cast<std::uint32_t>(c - '0');
            } else if (c >= 'a' && c <= 'f') {
                digit = static_cast<std::uint32_t>(c - 'a' + 10);
            } else if (c >= 'A' && c <= 'F') {
                digit = static_cast<std::uint32_t>(c - 'A' + 10);
            } else {
                fail(pos_, field, "bad \\u escape in a string");
            }
            code = code * 16 + digit;
            ++pos_;
        }
        return code;
    }

    std::string read_string(const std::string& field) {
        expect('"', field);
        std::string out;
        for (;;) {
            if (at_end()) {
                fail(pos_, field, "unterminated string (truncated?)");
            }
            const char c = text_[pos_++];
            if (c == '"') {
                return out;
            }
            if (static_cast<unsigned char>(c) < 0x20) {
                fail(pos_ - 1, field, "control character inside a string");
            }
            if (c != '\\') {
                out += c;
                continue;
            }
            if (at_end()) {
                fail(pos_, field, "unterminated string (truncated?)");
            }
            const char e = text_[pos_++];
            switch (e) {
                case '"':
                    out += '"';
                    break;
                case '\\':
                    out += '\\';
                    break;
                case '/':
                    out += '/';
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'u': {
                    std::uint32_t code = read_hex4(field);
                    if (code >= 0xD800 && code < 0xDC00 && peek() == '\\' &&
                        pos_ + 1 < text_.size() && text_[pos_ + 1] == 'u') {
                        pos_ += 2;
                        const std::uint32_t low = read_hex4(field);
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                    }
                    append_utf8(out, code);
                    break;
                }
                default:
                    fail(pos_ - 1, field, "bad escape in a string");
            }
        }
    }

    /// A JSON number, by the JSON grammar (no leading '+', no hex, no NaN).
    double read_number(const std::string& field) {
        const std::size_t start = pos_;
        if (peek() == '-') {
            ++pos_;
        }
        if (peek() == '0') {
            ++pos_;
        } else if (peek() >= '1' && peek() <= '9') {
            while (peek() >= '0' && peek() <= '9') {
                ++pos_;
            }
        } else {
            fail(start, field, "expected a number, found " + where());
        }
        if (peek() == '.') {
            ++pos_;
            if (!(peek() >= '0' && peek() <= '9')) {
                fail(pos_, field, "expected a digit after '.'");
            }
            while (peek() >= '0' && peek() <= '9') {
                ++pos_;
            }
        }
        if (peek() == 'e' || peek() == 'E') {
            ++pos_;
            if (peek() == '+' || peek() == '-') {
                ++pos_;
            }
            if (!(peek() >= '0' && peek() <= '9')) {
                fail(pos_, field, "expected a digit in the exponent");
            }
            while (peek() >= '0' && peek() <= '9') {
                ++pos_;
            }
        }
        double value = 0;
        const auto [end, ec] = std::from_chars(text_.data() + start, text_.data() + pos_, value);
        if (ec != std::errc() || end != text_.data() + pos_ || !std::isfinite(value)) {
            fail(start, field, "number out of range");
        }
        return value;
    }

    void read_literal(std::string_view word, const std::string& field) {
        if (text_.substr(pos_, word.size()) != word) {
            fail(pos_, field, "expected a JSON value, found " + where());
        }
        pos_ += word.size();
    }

    void skip_value(const std::string& field, int depth) {
        if (depth > kMaxDepth) {
            fail(pos_, field, "values nested deeper than " + std::to_string(kMaxDepth));
        }
        skip_space();
        const char c = peek();
        if (c == '"') {
            (void)read_string(field);
        } else if (c == '{' || c == '[') {
            const char close = c == '{' ? '}' : ']';
            ++pos_;
            skip_space();
            if (peek() == close) {
                ++pos_;
                return;
            }
            for (;;) {
                skip_space();
                if (c == '{') {
                    (void)read_string(field);
                    skip_space();
                    expect(':', field);
                }
                skip_value(field, depth + 1);
                skip_space();
                if (peek() == ',') {
                    ++pos_;
                    continue;
                }
                expect(close, field);
                return;
            }
        } else if (c == 't') {
            read_literal("true", field);
        } else if (c == 'f') {
            read_literal("false", field);
        } else if (c == 'n') {
            read_literal("null", field);
        } else {
            (void)read_number(field);
        }
    }

    /// A number or null (Chrome writes "pid": null rarely); strings are refused.
    std::optional<double> read_optional_number(const std::string& field) {
        skip_space();
        if (peek() == 'n') {
            read_literal("null", field);
            return std::nullopt;
        }
        if (peek() == '"') {
            fail_event(field, "expected a number, found a string");
        }
        return read_number(field);
    }

    /// Reads a JSON object, calling on_member(key, field) with the position at each member's
    /// value; on_member must consume the value. `where` names the object in messages.
    template <typename OnMember>
    void read_object(const std::string& where, OnMember on_member) {
        expect('{', where);
        skip_space();
        if (peek() == '}') {
            ++pos_;
            return;
        }
        for (;;) {
            skip_space();
            const std::string key = read_string(where);
            skip_space();
            expect(':', where);
            skip_space();
            on_member(key, where + "." + key);
            skip_space();
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            expect('}', where);
            return;
        }
    }

    void read_args(RawEvent& raw) {
        read_object(".args", [&](const std::string& key, const std::string& field) {
            if (key == "step") {
                raw.step = read_optional_number(field);
            } else if (key == "mb_id") {
                raw.mb_id = read_optional_number(field);
            } else if (key == "model_chunk") {
                raw.model_chunk = read_optional_number(field);
            } else if (key == "seq_id") {
                raw.seq_id = read_optional_number(field);
            } else if (key == "name" && peek() == '"') {
                raw.args_name = read_string(field);
            } else {
                skip_value(field, 2);
            }
        });
    }

    void read_event(RawEvent& raw) {
        read_object("", [&](const std::string& key, const std::string& field) {
            if (key == "name") {
                raw.name = read_string(field);
            } else if (key == "cat") {
                raw.category = read_string(field);
            } else if (key == "ph") {
                raw.phase = read_string(field);
            } else if (key == "pid") {
                raw.pid = read_optional_number(field);
            } else if (key == "tid") {
                raw.tid = read_optional_number(field);
            } else if (key == "ts") {
                raw.ts = read_optional_number(field);
            } else if (key == "dur") {
                raw.dur = read_optional_number(field);
            } else if (key == "args") {
                read_args(raw);
            } else {
                skip_value(field, 1);
            }
        });
    }

    std::int64_t integer(const std::optional<double>& value, const std::string& field) {
        if (!value) {
            return -1;
        }
        if (*value != std::floor(*value) || std::abs(*value) > 9.0e15) {
            fail_event(field, field.substr(field.rfind('.') + 1) + " must be an integer");
        }
        return static_cast<std::int64_t>(*value);
    }

    void keep_event(const RawEvent& raw, Trace& trace) {
        if (!raw.phase) {
            fail_event(".ph", "missing \"ph\" (the event phase)");
        }
        const std::string& phase = *raw.phase;
        if (phase == "B" || phase == "E") {
            fail_event(".ph", "phase \"" + phase +
                                  "\" (begin/end slices) is not supported: write complete "
                                  "\"X\" events with \"dur\"");
        }
        if (phase == "M") {
            if (!raw.name || (*raw.name != "process_name" && *raw.name != "thread_name")) {
                return;
            }
            if (!raw.pid) {
                fail_event(".pid", "missing \"pid\"");
            }
            if (!raw.args_name) {
                fail_event(".args.name", "missing \"args\": {\"name\": ...}");
            }
            const std::int64_t pid = integer(raw.pid, ".pid");
            if (*raw.name == "process_name") {
                trace.process_names[pid] = *raw.args_name;
            } else {
                if (!raw.tid) {
                    fail_event(".tid", "missing \"tid\"");
                }
                trace.thread_names[{pid, integer(raw.tid, ".tid")}] = *raw.args_name;
            }
            return;
        }
        if (phase != "X") {
            return;  // instant, counter, flow... events carry no op
        }
        if (!raw.name) {
            fail_event(".name", "missing \"name\" (the op type)");
        }
        const char* required[] = {"pid", "tid", "ts", "dur"};
        const std::optional<double>* values[] = {&raw.pid, &raw.tid, &raw.ts, &raw.dur};
        for (int i = 0; i < 4; ++i) {
            if (!*values[i]) {
                fail_event(std::string(".") + required[i],
                           std::string("missing \"") + required[i] + "\"");
            }
        }
        if (std::abs(*raw.ts) > kMaxTimeUs || *raw.dur > kMaxTimeUs) {
            fail_event(std::abs(*raw.ts) > kMaxTimeUs ? ".ts" : ".dur",
                       "time out of range: ts and dur must be at most 1e15 us (31 years)");
        }
        if (*raw.dur < -kClockSkewUs) {
            fail_event(".dur", "negative duration " + std::to_string(*raw.dur) +
                                   " us (more than the " + std::to_string(kClockSkewUs) +
                                   " us of clock skew read as 0)");
        }
        TraceEvent event;
        event.name = *raw.name;
        event.category = raw.category.value_or(std::string());
        event.pid = integer(raw.pid, ".pid");
        event.tid = integer(raw.tid, ".tid");
        event.ts_us = *raw.ts;
        event.dur_us = std::max(0.0, *raw.dur);
        if (*raw.dur < 0) {
            ++trace.clamped_durations;
        }
        event.step = integer(raw.step, ".args.step");
        event.has_step = raw.step.has_value();
        event.mb_id = integer(raw.mb_id, ".args.mb_id");
        event.model_chunk = integer(raw.model_chunk, ".args.model_chunk");
        event.seq_id = integer(raw.seq_id, ".args.seq_id");
        event.index = event_index_;
        trace.events.push_back(std::move(event));
        event_positions_.push_back(event_start_);
    }

    void read_events(Trace& trace) {
        expect('[', "traceEvents");
        skip_space();
        if (peek() == ']') {
            ++pos_;
            return;
        }
        for (;;) {
            skip_space();
            if (event_index_ >= limits_.max_events) {
                fail(pos_, "traceEvents",
                     "more than " + std::to_string(limits_.max_events) +
                         " events: over the trace limit (max_events; raise it with "
                         "--max-events N)");
            }
            event_start_ = pos_;
            in_event_ = true;
            RawEvent raw;
            read_event(raw);
            keep_event(raw, trace);
            in_event_ = false;
            ++event_index_;
            skip_space();
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            if (at_end()) {
                fail(pos_, "traceEvents",
                     "the event array ends after event " + std::to_string(event_index_ - 1) +
                         " without its closing ']' (truncated?)");
            }
            expect(']', "traceEvents");
            break;
        }
        trace.array_events = event_index_;
        // Line and column of every kept event, in one pass over the text.
        int line = 1;
        int column = 1;
        std::size_t at = 0;
        for (std::size_t i = 0; i < trace.events.size(); ++i) {
            for (; at < event_positions_[i]; ++at) {
                if (text_[at] == '\n') {
                    ++line;
                    column = 1;
                } else {
                    ++column;
                }
            }
            trace.events[i].line = line;
            trace.events[i].column = column;
        }
    }

    std::string_view text_;
    const std::string& file_;
    const TraceLimits& limits_;
    std::size_t pos_ = 0;
    std::size_t event_start_ = 0;
    std::int64_t event_index_ = 0;
    bool in_event_ = false;
    std::vector<std::size_t> event_positions_;
};

}  // namespace

Trace parse_trace_json(std::string_view text, const std::string& file, const TraceLimits& limits) {
    if (static_cast<std::int64_t>(text.size()) > limits.max_json_bytes) {
        throw SpecError(SourceLocation{file, 0, 0}, "",
                        "trace exceeds the limit of " + std::to_string(limits.max_json_bytes) +
                            " bytes of JSON (max_json_bytes; raise it with --max-json-bytes N)");
    }
    return Reader(text, file, limits).read();
}

Trace parse_trace_bytes(std::string_view bytes,
                        const std::string& file,
                        const TraceLimits& limits) {
    if (is_gzip(bytes)) {
        return parse_trace_json(gunzip(bytes, file, limits), file, limits);
    }
    return parse_trace_json(bytes, file, limits);
}

Trace load_trace_file(const std::filesystem::path& path, const TraceLimits& limits) {
    return parse_trace_bytes(read_bytes(path), path.string(), limits);
}

}  // namespace stepsim
