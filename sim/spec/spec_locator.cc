// SPDX-License-Identifier: Apache-2.0
// File: spec_locator.cc
#include "spec_locator.h"

namespace stepsim::spec {

namespace gp = google::protobuf;

SpecLocator::SpecLocator(std::string file,
                         const gp::Message& root,
                         const gp::TextFormat::ParseInfoTree* tree)
    : file_(std::move(file)) {
    index_message(root, tree, SourceLocation{file_, 0, 0}, "");
}

void SpecLocator::index_message(const gp::Message& message,
                                const gp::TextFormat::ParseInfoTree* tree,
                                SourceLocation location,
                                std::string path) {
    const gp::Descriptor* descriptor = message.GetDescriptor();
    const gp::Reflection* reflection = message.GetReflection();
    for (int f = 0; f < descriptor->field_count(); ++f) {
        const gp::FieldDescriptor* field = descriptor->field(f);
        if (field->cpp_type() != gp::FieldDescriptor::CPPTYPE_MESSAGE) {
            continue;
        }
        const std::string prefix = path.empty() ? field->name() : path + "." + field->name();
        const auto child = [&](const gp::Message& nested, int index) {
            const gp::TextFormat::ParseInfoTree* nested_tree =
                tree == nullptr ? nullptr : tree->GetTreeForNested(field, index);
            SourceLocation nested_location = location;
            if (tree != nullptr) {
                const gp::TextFormat::ParseLocation at = tree->GetLocation(field, index);
                if (at.line >= 0) {
                    nested_location = SourceLocation{file_, at.line + 1, at.column + 1};
                }
            }
            index_message(nested, nested_tree, nested_location,
                          index < 0 ? prefix : prefix + "[" + std::to_string(index) + "]");
        };
        if (field->is_repeated()) {
            for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
                child(reflection->GetRepeatedMessage(message, field, i), i);
            }
        } else if (reflection->HasField(message, field)) {
            child(reflection->GetMessage(message, field), -1);
        }
    }
    entries_[&message] = Entry{tree, std::move(location), std::move(path)};
}

const SpecLocator::Entry& SpecLocator::entry(const gp::Message& message) const {
    const auto it = entries_.find(&message);
    STEPSIM_CHECK(it != entries_.end(),
                  "message " + message.GetTypeName() + " is not part of the indexed spec");
    return it->second;
}

const gp::FieldDescriptor* SpecLocator::field_of(const gp::Message& message,
                                                 std::string_view name) const {
    const gp::FieldDescriptor* field = message.GetDescriptor()->FindFieldByName(std::string(name));
    STEPSIM_CHECK(field != nullptr,
                  message.GetTypeName() + " has no field \"" + std::string(name) + "\"");
    return field;
}

SourceLocation SpecLocator::where(const gp::Message& message,
                                  std::string_view field_name,
                                  int index) const {
    const Entry& e = entry(message);
    const gp::FieldDescriptor* field = field_of(message, field_name);
    if (overridden_.count({&message, field, index}) > 0) {
        return SourceLocation{};
    }
    if (e.tree != nullptr) {
        const gp::TextFormat::ParseLocation at = e.tree->GetLocation(field, index);
        if (at.line >= 0) {
            return SourceLocation{file_, at.line + 1, at.column + 1};
        }
    }
    return e.location;
}

SourceLocation SpecLocator::where(const gp::Message& message) const {
    return entry(message).location;
}

std::string SpecLocator::path(const gp::Message& message, std::string_view field, int index) const {
    // Appends piece by piece: GCC 12 warns (-Wrestrict, a false positive) on "[" + ... here.
    std::string result = entry(message).path;
    if (!result.empty()) {
        result += '.';
    }
    result.append(field);
    if (index >= 0) {
        result += '[';
        result += std::to_string(index);
        result += ']';
    }
    return result;
}

const std::string& SpecLocator::path(const gp::Message& message) const {
    return entry(message).path;
}

void SpecLocator::mark_overridden(const gp::Message& message,
                                  const gp::FieldDescriptor* field,
                                  int index) {
    overridden_.insert({&message, field, index});
}

}  // namespace stepsim::spec
