// SPDX-License-Identifier: Apache-2.0
// File: overrides.cc
#include "overrides.h"

#include "text_parser.h"
#include "topologies/topology.pb.h"
#include "workloads/workload.pb.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <string>

namespace stepsim {

namespace gp = google::protobuf;

namespace {

struct PathSegment {
    std::string name;
    std::optional<int> index;
};

bool is_identifier(std::string_view s) {
    if (s.empty() || std::isdigit(static_cast<unsigned char>(s.front()))) {
        return false;
    }
    for (const char c : s) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
            return false;
        }
    }
    return true;
}

// "fabric[0].fat_tree.radix" -> {fabric, 0}, {fat_tree}, {radix}; nullopt when malformed.
std::optional<std::vector<PathSegment>> split_path(std::string_view path) {
    std::vector<PathSegment> segments;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = path.find('.', start);
        std::string_view part = path.substr(
            start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        PathSegment segment;
        const std::size_t bracket = part.find('[');
        if (bracket != std::string_view::npos) {
            if (part.back() != ']') {
                return std::nullopt;
            }
            const std::string_view digits = part.substr(bracket + 1, part.size() - bracket - 2);
            int index = 0;
            const auto [end, ec] =
                std::from_chars(digits.data(), digits.data() + digits.size(), index);
            if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
                index < 0) {
                return std::nullopt;
            }
            segment.index = index;
            part = part.substr(0, bracket);
        }
        if (!is_identifier(part)) {
            return std::nullopt;
        }
        segment.name = std::string(part);
        segments.push_back(std::move(segment));
        if (dot == std::string_view::npos) {
            return segments;
        }
        start = dot + 1;
    }
}

std::string field_names(const gp::Descriptor* descriptor) {
    std::string names;
    for (int i = 0; i < descriptor->field_count(); ++i) {
        names += (i == 0 ? "" : ", ") + descriptor->field(i)->name();
    }
    return names;
}

std::string type_name(const gp::FieldDescriptor* field) {
    if (field->cpp_type() == gp::FieldDescriptor::CPPTYPE_ENUM) {
        return "enum " + field->enum_type()->name();
    }
    if (field->cpp_type() == gp::FieldDescriptor::CPPTYPE_MESSAGE) {
        return "message " + field->message_type()->name();
    }
    return field->type_name();
}

template <typename Int>
std::optional<Int> parse_integer(std::string_view text) {
    Int value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

std::optional<double> parse_double(std::string_view text) {
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

// Writes `value` into field (element `index` when repeated); returns an error message or "".
std::string set_scalar(gp::Message& message,
                       const gp::FieldDescriptor* field,
                       std::optional<int> index,
                       const std::string& value) {
    const gp::Reflection* reflection = message.GetReflection();
    const bool repeated = field->is_repeated();
    const int i = index.value_or(-1);
    const std::string bad =
        "expected " + type_name(field) + " for \"" + field->name() + "\", got \"" + value + "\"";
    switch (field->cpp_type()) {
        case gp::FieldDescriptor::CPPTYPE_STRING:
            repeated ? reflection->SetRepeatedString(&message, field, i, value)
                     : reflection->SetString(&message, field, value);
            return "";
        case gp::FieldDescriptor::CPPTYPE_INT32: {
            const auto v = parse_integer<std::int32_t>(value);
            if (!v) {
                return bad;
            }
            repeated ? reflection->SetRepeatedInt32(&message, field, i, *v)
                     : reflection->SetInt32(&message, field, *v);
            return "";
        }
        case gp::FieldDescriptor::CPPTYPE_INT64: {
            const auto v = parse_integer<std::int64_t>(value);
            if (!v) {
                return bad;
            }
            repeated ? reflection->SetRepeatedInt64(&message, field, i, *v)
                     : reflection->SetInt64(&message, field, *v);
            return "";
        }
        case gp::FieldDescriptor::CPPTYPE_UINT32: {
            const auto v = parse_integer<std::uint32_t>(value);
            if (!v) {
                return bad;
            }
            repeated ? reflection->SetRepeatedUInt32(&message, field, i, *v)
                     : reflection->SetUInt32(&message, field, *v);
            return "";
        }
        case gp::FieldDescriptor::CPPTYPE_UINT64: {
            const auto v = parse_integer<std::uint64_t>(value);
            if (!v) {
                return bad;
            }
            repeated ? reflection->SetRepeatedUInt64(&message, field, i, *v)
                     : reflection->SetUInt64(&message, field, *v);
            return "";
        }
        case gp::FieldDescriptor::CPPTYPE_DOUBLE: {
            const auto v = parse_double(value);
            if (!v) {
                return bad;
            }
            repeated ? reflection->SetRepeatedDouble(&message, field, i, *v)
                     : reflection->SetDouble(&message, field, *v);
            return "";
        }
        case gp::FieldDescriptor::CPPTYPE_FLOAT: {
            const auto v = parse_double(value);
            if (!v || std::fabs(*v) > std::numeric_limits<float>::max()) {
                return bad;
            }
            const auto f = static_cast<float>(*v);
            repeated ? reflection->SetRepeatedFloat(&message, field, i, f)
                     : reflection->SetFloat(&message, field, f);
            return "";
        }
        case gp::FieldDescriptor::CPPTYPE_BOOL: {
            bool v = false;
            if (value == "true" || value == "1") {
                v = true;
            } else if (value != "false" && value != "0") {
                return "expected true or false for \"" + field->name() + "\", got \"" + value +
                       "\"";
            }
            repeated ? reflection->SetRepeatedBool(&message, field, i, v)
                     : reflection->SetBool(&message, field, v);
            return "";
        }
        case gp::FieldDescriptor::CPPTYPE_ENUM: {
            const gp::EnumDescriptor* type = field->enum_type();
            const gp::EnumValueDescriptor* v = type->FindValueByName(value);
            if (v == nullptr) {
                std::string names;
                for (int k = 0; k < type->value_count(); ++k) {
                    names += (k == 0 ? "" : ", ") + type->value(k)->name();
                }
                return "unknown " + type->name() + " value \"" + value + "\" for \"" +
                       field->name() + "\" (expected one of: " + names + ")";
            }
            repeated ? reflection->SetRepeatedEnum(&message, field, i, v)
                     : reflection->SetEnum(&message, field, v);
            return "";
        }
        case gp::FieldDescriptor::CPPTYPE_MESSAGE:
            break;
    }
    return "\"" + field->name() + "\" is a message (" + field->message_type()->name() +
           "); set one of its fields: " + field_names(field->message_type());
}

// Follows the path and writes the value; returns an error message or "" on success.
std::string apply_one(gp::Message& root,
                      const SpecOverride& override,
                      spec::AppliedOverride& applied) {
    const auto segments = split_path(override.field_path);
    if (!segments) {
        return "malformed field path \"" + override.field_path +
               "\" (expected names joined by '.', with [i] after a repeated field, e.g. "
               "\"instance[0].count\")";
    }
    gp::Message* message = &root;
    for (std::size_t s = 0; s < segments->size(); ++s) {
        const PathSegment& segment = (*segments)[s];
        const bool is_last = s + 1 == segments->size();
        const gp::Descriptor* descriptor = message->GetDescriptor();
        const gp::Reflection* reflection = message->GetReflection();
        const gp::FieldDescriptor* field = descriptor->FindFieldByName(segment.name);
        if (field == nullptr) {
            return "unknown field \"" + segment.name + "\" in " + descriptor->name() +
                   " (expected one of: " + field_names(descriptor) + ")";
        }
        if (field->is_map()) {
            return "\"" + segment.name + "\" is a map; --set cannot edit maps";
        }
        if (field->is_repeated()) {
            if (!segment.index) {
                return "\"" + segment.name + "\" is repeated; select an element with \"" +
                       segment.name + "[i]\"";
            }
            const int size = reflection->FieldSize(*message, field);
            if (*segment.index >= size) {
                return "index " + std::to_string(*segment.index) + " is out of range: \"" +
                       segment.name + "\" has " + std::to_string(size) +
                       (size == 1 ? " element" : " elements");
            }
        } else if (segment.index) {
            return "\"" + segment.name + "\" is not repeated; remove \"[" +
                   std::to_string(*segment.index) + "]\"";
        }
        if (is_last) {
            std::string error = set_scalar(*message, field, segment.index, override.value);
            if (error.empty()) {
                applied = spec::AppliedOverride{message, field, segment.index.value_or(-1)};
            }
            return error;
        }
        if (field->cpp_type() != gp::FieldDescriptor::CPPTYPE_MESSAGE) {
            return "\"" + segment.name + "\" is a " + type_name(field) +
                   ", not a message; nothing to select after it";
        }
        message = field->is_repeated()
                      ? reflection->MutableRepeatedMessage(message, field, *segment.index)
                      : reflection->MutableMessage(message, field);
    }
    return "empty field path";
}

}  // namespace

SpecOverride parse_override(std::string_view text) {
    const std::size_t equals = text.find('=');
    if (equals == std::string_view::npos) {
        throw SpecError(SourceLocation{}, std::string(text),
                        "--set \"" + std::string(text) +
                            "\": expected FIELD=VALUE, e.g. \"instance[0].count=16\"");
    }
    SpecOverride result{std::string(text.substr(0, equals)), std::string(text.substr(equals + 1))};
    if (!split_path(result.field_path)) {
        throw SpecError(SourceLocation{}, result.field_path,
                        "--set \"" + std::string(text) + "\": malformed field path \"" +
                            result.field_path +
                            "\" (expected names joined by '.', with [i] after a repeated "
                            "field, e.g. \"instance[0].count\")");
    }
    return result;
}

namespace {

// Whether `path` resolves, by names and repeatedness alone, to a scalar field of `descriptor`.
bool is_field_path_of(const gp::Descriptor* descriptor, std::string_view path) {
    const auto segments = split_path(path);
    if (!segments || segments->empty()) {
        return false;
    }
    for (std::size_t s = 0; s < segments->size(); ++s) {
        const PathSegment& segment = (*segments)[s];
        const gp::FieldDescriptor* field = descriptor->FindFieldByName(segment.name);
        if (field == nullptr || field->is_map() ||
            field->is_repeated() != segment.index.has_value()) {
            return false;
        }
        const bool is_message = field->cpp_type() == gp::FieldDescriptor::CPPTYPE_MESSAGE;
        if (s + 1 == segments->size()) {
            return !is_message;
        }
        if (!is_message) {
            return false;
        }
        descriptor = field->message_type();
    }
    return false;
}

}  // namespace

bool is_workload_field_path(std::string_view field_path) {
    return is_field_path_of(spec::Workload::descriptor(), field_path);
}

bool is_topology_field_path(std::string_view field_path) {
    return is_field_path_of(spec::Topology::descriptor(), field_path);
}

namespace spec {

std::vector<AppliedOverride> apply_overrides(gp::Message& root,
                                             std::span<const SpecOverride> overrides,
                                             Diagnostics& diagnostics) {
    std::vector<AppliedOverride> applied;
    for (const SpecOverride& override : overrides) {
        AppliedOverride written;
        const std::string error = apply_one(root, override, written);
        if (!error.empty()) {
            diagnostics.error(SourceLocation{}, override.field_path,
                              "--set " + override.field_path + "=" + override.value + ": " + error);
        } else {
            applied.push_back(written);
        }
    }
    return applied;
}

SpecLocator parse_with_overrides(std::string_view text,
                                 const std::string& file,
                                 gp::Message& message,
                                 gp::TextFormat::ParseInfoTree& tree,
                                 std::span<const SpecOverride> overrides,
                                 const std::function<void()>& prepare) {
    parse_text_spec(text, file, message, tree);
    Diagnostics diagnostics;
    const std::vector<AppliedOverride> applied = apply_overrides(message, overrides, diagnostics);
    diagnostics.throw_if_any();
    if (prepare) {
        prepare();
    }
    SpecLocator locator(file, message, &tree);
    for (const AppliedOverride& o : applied) {
        locator.mark_overridden(*o.message, o.field, o.index);
    }
    return locator;
}

}  // namespace spec

}  // namespace stepsim
