// SPDX-License-Identifier: Apache-2.0
// File: text_parser.cc
#include "text_parser.h"

#include "diagnostics.h"

#include <google/protobuf/io/tokenizer.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace stepsim::spec {

namespace gp = google::protobuf;

namespace {

// protobuf's messages are sentences ("Expected identifier, got: }."); ours are lower-case
// with no final period.
std::string to_diagnostic_style(std::string message) {
    while (!message.empty() && (message.back() == '.' || message.back() == ' ')) {
        message.pop_back();
    }
    if (message.size() >= 2 && std::isupper(static_cast<unsigned char>(message[0])) &&
        !std::isupper(static_cast<unsigned char>(message[1]))) {
        message[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(message[0])));
    }
    return message;
}

class CollectingErrorCollector : public gp::io::ErrorCollector {
public:
    CollectingErrorCollector(const std::string& file, Diagnostics& diagnostics)
        : file_(file)
        , diagnostics_(diagnostics) {}

    // Lines and columns arrive zero-based.
    void AddError(int line, gp::io::ColumnNumber column, const std::string& message) override {
        diagnostics_.error(SourceLocation{file_, line + 1, column + 1}, "",
                           to_diagnostic_style(message));
    }

    void AddWarning(int /*line*/,
                    gp::io::ColumnNumber /*column*/,
                    const std::string& /*message*/) override {}

private:
    const std::string& file_;
    Diagnostics& diagnostics_;
};

}  // namespace

std::string read_spec_file(const std::filesystem::path& path) {
    // Parsing with locations takes about 20 bytes of memory per byte of text (a 16 MB kernel
    // profile peaks at 311 MB): the cap keeps any spec under about 5 GB before it is checked.
    std::error_code ec;
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    if (!ec && size > kMaxSpecFileBytes) {
        throw SpecError(SourceLocation{path.string(), 0, 0}, "",
                        "the spec file has " + std::to_string(size) +
                            " bytes, more than the limit of " + std::to_string(kMaxSpecFileBytes) +
                            " bytes for a text spec (fixed)");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        const int error = errno;
        throw SpecError(SourceLocation{path.string(), 0, 0}, "",
                        "cannot open the spec file: " + std::string(std::strerror(error)));
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        throw SpecError(SourceLocation{path.string(), 0, 0}, "", "cannot read the spec file");
    }
    return text.str();
}

void parse_text_spec(std::string_view text,
                     const std::string& display_name,
                     gp::Message& message,
                     gp::TextFormat::ParseInfoTree& tree) {
    Diagnostics diagnostics;
    CollectingErrorCollector collector(display_name, diagnostics);
    gp::TextFormat::Parser parser;
    parser.RecordErrorsTo(&collector);
    parser.WriteLocationsTo(&tree);
    const bool ok = parser.ParseFromString(std::string(text), &message);
    if (!ok && diagnostics.empty()) {
        diagnostics.error(SourceLocation{display_name, 0, 0}, "",
                          "not a valid " + message.GetTypeName() + " in text format");
    }
    diagnostics.throw_if_any();
}

}  // namespace stepsim::spec
