// SPDX-License-Identifier: Apache-2.0
// File: spec_locator.h
// Maps the fields of a parsed spec message back to where they were written (file:line:col,
// from protobuf's ParseInfoTree) and to their field path ("instance[2].count"), so that
// semantic errors found after parsing point at the text. Fields set by --set report
// "<command line>" instead.
#pragma once

#include "stepsim/error.h"

#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>

namespace stepsim::spec {

class SpecLocator {
public:
    /// Indexes every message reachable from `root`. `tree` may be null (no locations known).
    /// `root` and `tree` must outlive the locator and `root` must not change afterwards.
    SpecLocator(std::string file,
                const google::protobuf::Message& root,
                const google::protobuf::TextFormat::ParseInfoTree* tree);

    /// Where `field` of `message` was written (`index` for an element of a repeated field,
    /// -1 otherwise); the message's own location when the field is absent from the text.
    SourceLocation where(const google::protobuf::Message& message,
                         std::string_view field,
                         int index = -1) const;
    /// Where `message` itself starts (the field that holds it).
    SourceLocation where(const google::protobuf::Message& message) const;
    /// "link[3].bandwidth"; `index` as for where().
    std::string path(const google::protobuf::Message& message,
                     std::string_view field,
                     int index = -1) const;
    const std::string& path(const google::protobuf::Message& message) const;

    /// Records that a --set override wrote this field: its location becomes "<command line>".
    void mark_overridden(const google::protobuf::Message& message,
                         const google::protobuf::FieldDescriptor* field,
                         int index);

    const std::string& file() const { return file_; }

private:
    struct Entry {
        const google::protobuf::TextFormat::ParseInfoTree* tree = nullptr;
        SourceLocation location;
        std::string path;
    };

    void index_message(const google::protobuf::Message& message,
                       const google::protobuf::TextFormat::ParseInfoTree* tree,
                       SourceLocation location,
                       std::string path);
    const Entry& entry(const google::protobuf::Message& message) const;
    const google::protobuf::FieldDescriptor* field_of(const google::protobuf::Message& message,
                                                      std::string_view name) const;

    std::string file_;
    std::map<const google::protobuf::Message*, Entry> entries_;
    std::set<
        std::tuple<const google::protobuf::Message*, const google::protobuf::FieldDescriptor*, int>>
        overridden_;
};

}  // namespace stepsim::spec
