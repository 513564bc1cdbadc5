// SPDX-License-Identifier: Apache-2.0
// File: spec_mutator.h
// A structure-aware libFuzzer mutator for the protobuf text specs (libprotobuf-mutator is not
// packaged): the input is parsed as the target's message, one to three edits are made through
// protobuf reflection, and the message is printed back as text. The edits are the ones that
// reach the validation and the model code behind the parser rather than its syntax errors:
// flip a bool, pick another enum value, push a number to its limits (0, ±1, min, max, NaN, a
// denormal), duplicate, drop or swap a repeated entry, clear or add a sub-message, copy a
// string from elsewhere in the spec (names that refer to each other), and put an extreme number
// or another unit into a quantity string ("450GBps" -> "1e308GBps", "450Gbps", "-1ns").
// A quarter of the mutations, and every input that does not parse, go to libFuzzer's own byte
// mutator, so that the parser keeps being fuzzed too. Only the *_fuzz.cc targets include it.
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>

#include <array>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

namespace stepsim::fuzz {

namespace gp = google::protobuf;

/// Discards the parser's messages (a mutated input that does not parse is expected).
class SilentErrorCollector : public gp::io::ErrorCollector {
public:
    void AddError(int, gp::io::ColumnNumber, const std::string&) override {}
};

class SpecMutator {
public:
    explicit SpecMutator(unsigned seed)
        : rng_(seed) {}

    /// Makes one to three edits to `root`.
    void mutate(gp::Message& root) {
        const int edits = 1 + static_cast<int>(below(3));
        for (int i = 0; i < edits; ++i) {
            fields_.clear();
            strings_.clear();
            collect(root, 0);
            if (fields_.empty()) {
                return;
            }
            const Slot& slot = fields_[below(fields_.size())];
            edit(*slot.message, slot.field);
        }
    }

private:
    struct Slot {
        gp::Message* message;
        const gp::FieldDescriptor* field;
    };

    std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng_() % n); }

    bool one_in(std::size_t n) { return below(n) == 0; }

    /// Every field of every message in the tree (set or not), and every string value.
    void collect(gp::Message& message, int depth) {
        const gp::Descriptor* descriptor = message.GetDescriptor();
        const gp::Reflection* reflection = message.GetReflection();
        for (int i = 0; i < descriptor->field_count(); ++i) {
            const gp::FieldDescriptor* field = descriptor->field(i);
            fields_.push_back({&message, field});
            if (field->cpp_type() == gp::FieldDescriptor::CPPTYPE_STRING) {
                if (field->is_repeated()) {
                    for (int j = 0; j < reflection->FieldSize(message, field); ++j) {
                        strings_.push_back(reflection->GetRepeatedString(message, field, j));
                    }
                } else if (reflection->HasField(message, field)) {
                    strings_.push_back(reflection->GetString(message, field));
                }
            }
            if (field->cpp_type() != gp::FieldDescriptor::CPPTYPE_MESSAGE || depth >= 16) {
                continue;
            }
            if (field->is_repeated()) {
                for (int j = 0; j < reflection->FieldSize(message, field); ++j) {
                    collect(*reflection->MutableRepeatedMessage(&message, field, j), depth + 1);
                }
            } else if (reflection->HasField(message, field)) {
                collect(*reflection->MutableMessage(&message, field), depth + 1);
            }
        }
    }

    void edit(gp::Message& message, const gp::FieldDescriptor* field) {
        const gp::Reflection* reflection = message.GetReflection();
        if (field->is_repeated()) {
            const int size = reflection->FieldSize(message, field);
            if (size == 0 || one_in(4)) {
                add_element(message, field, size);
                return;
            }
            const int index = static_cast<int>(below(static_cast<std::size_t>(size)));
            switch (below(4)) {
                case 0:  // duplicate an entry
                    add_element(message, field, size);
                    if (field->cpp_type() == gp::FieldDescriptor::CPPTYPE_MESSAGE) {
                        reflection->MutableRepeatedMessage(&message, field, size)
                            ->CopyFrom(reflection->GetRepeatedMessage(message, field, index));
                    } else {
                        copy_scalar(message, field, index, size);
                    }
                    return;
                case 1:  // drop one (the last, after moving the chosen one there)
                    reflection->SwapElements(&message, field, index, size - 1);
                    reflection->RemoveLast(&message, field);
                    return;
                case 2:
                    reflection->SwapElements(
                        &message, field, index,
                        static_cast<int>(below(static_cast<std::size_t>(size))));
                    return;
                default:
                    if (field->cpp_type() != gp::FieldDescriptor::CPPTYPE_MESSAGE) {
                        set_scalar(message, field, index);
                    }
                    return;
            }
        }
        if (field->cpp_type() == gp::FieldDescriptor::CPPTYPE_MESSAGE) {
            if (reflection->HasField(message, field) && one_in(2)) {
                reflection->ClearField(&message, field);
            } else {
                reflection->MutableMessage(&message, field);  // present, with defaults
            }
            return;
        }
        if (reflection->HasField(message, field) && one_in(8)) {
            reflection->ClearField(&message, field);
            return;
        }
        set_scalar(message, field, -1);
    }

    void add_element(gp::Message& message, const gp::FieldDescriptor* field, int size) {
        const gp::Reflection* reflection = message.GetReflection();
        switch (field->cpp_type()) {
            case gp::FieldDescriptor::CPPTYPE_MESSAGE:
                reflection->AddMessage(&message, field);
                return;
            case gp::FieldDescriptor::CPPTYPE_INT32:
                reflection->AddInt32(&message, field, 0);
                break;
            case gp::FieldDescriptor::CPPTYPE_INT64:
                reflection->AddInt64(&message, field, 0);
                break;
            case gp::FieldDescriptor::CPPTYPE_UINT32:
                reflection->AddUInt32(&message, field, 0);
                break;
            case gp::FieldDescriptor::CPPTYPE_UINT64:
                reflection->AddUInt64(&message, field, 0);
                break;
            case gp::FieldDescriptor::CPPTYPE_DOUBLE:
                reflection->AddDouble(&message, field, 0);
                break;
            case gp::FieldDescriptor::CPPTYPE_FLOAT:
                reflection->AddFloat(&message, field, 0);
                break;
            case gp::FieldDescriptor::CPPTYPE_BOOL:
                reflection->AddBool(&message, field, false);
                break;
            case gp::FieldDescriptor::CPPTYPE_ENUM:
                reflection->AddEnumValue(&message, field, 0);
                break;
            case gp::FieldDescriptor::CPPTYPE_STRING:
                reflection->AddString(&message, field, "");
                break;
        }
        set_scalar(message, field, size);
    }

    void copy_scalar(gp::Message& message, const gp::FieldDescriptor* field, int from, int to) {
        const gp::Reflection* r = message.GetReflection();
        switch (field->cpp_type()) {
            case gp::FieldDescriptor::CPPTYPE_INT32:
                r->SetRepeatedInt32(&message, field, to, r->GetRepeatedInt32(message, field, from));
                return;
            case gp::FieldDescriptor::CPPTYPE_INT64:
                r->SetRepeatedInt64(&message, field, to, r->GetRepeatedInt64(message, field, from));
                return;
            case gp::FieldDescriptor::CPPTYPE_UINT32:
                r->SetRepeatedUInt32(&message, field, to,
                                     r->GetRepeatedUInt32(message, field, from));
                return;
            case gp::FieldDescriptor::CPPTYPE_UINT64:
                r->SetRepeatedUInt64(&message, field, to,
                                     r->GetRepeatedUInt64(message, field, from));
                return;
            case gp::FieldDescriptor::CPPTYPE_DOUBLE:
                r->SetRepeatedDouble(&message, field, to,
                                     r->GetRepeatedDouble(message, field, from));
                return;
            case gp::FieldDescriptor::CPPTYPE_FLOAT:
                r->SetRepeatedFloat(&message, field, to, r->GetRepeatedFloat(message, field, from));
                return;
            case gp::FieldDescriptor::CPPTYPE_BOOL:
                r->SetRepeatedBool(&message, field, to, r->GetRepeatedBool(message, field, from));
                return;
            case gp::FieldDescriptor::CPPTYPE_ENUM:
                r->SetRepeatedEnumValue(&message, field, to,
                                        r->GetRepeatedEnumValue(message, field, from));
                return;
            case gp::FieldDescriptor::CPPTYPE_STRING:
                r->SetRepeatedString(&message, field, to,
                                     r->GetRepeatedString(message, field, from));
                return;
            case gp::FieldDescriptor::CPPTYPE_MESSAGE:
                return;
        }
    }

    /// An integer at or next to a limit, or the current value nudged.
    template <typename T>
    T integer(T current) {
        using L = std::numeric_limits<T>;
        switch (below(12)) {
            case 0:
                return 0;
            case 1:
                return 1;
            case 2:
                return static_cast<T>(-1);
            case 3:
                return L::max();
            case 4:
                return L::min();
            case 5:  // wraps at the limit (unsigned arithmetic, no overflow)
                return static_cast<T>(static_cast<std::uint64_t>(current) + 1);
            case 6:
                return static_cast<T>(static_cast<std::uint64_t>(current) - 1);
            case 7:
                return static_cast<T>(static_cast<std::uint64_t>(current) * 2);
            case 8:
                return static_cast<T>(std::uint64_t{1}
                                      << below(L::digits < 64 ? L::digits + 1 : 64));
            case 9:
                return static_cast<T>(0 - static_cast<std::uint64_t>(current));
            case 10:
                return static_cast<T>(L::max() / 2 + 1);
            default:
                return static_cast<T>(below(1'000'000));
        }
    }

    double real(double current) {
        switch (below(10)) {
            case 0:
                return 0.0;
            case 1:
                return -1.0;
            case 2:
                return std::numeric_limits<double>::max();
            case 3:
                return std::numeric_limits<double>::denorm_min();
            case 4:
                return std::numeric_limits<double>::quiet_NaN();
            case 5:
                return std::numeric_limits<double>::infinity();
            case 6:
                return current * 1e6;
            case 7:
                return current / 1e6;
            case 8:
                return -current;
            default:
                return static_cast<double>(below(1'000'000)) / 1000.0;
        }
    }

    /// A quantity string ("450GBps") with its number or its unit replaced, another string of the
    /// spec (names refer to each other), or a selector-like or empty string.
    std::string text(const std::string& current) {
        static constexpr std::array<std::string_view, 12> kNumbers = {
            "0",    "-1",  "1e308", "1e-300", "nan",    "inf",
            "1e19", "0.5", "1e15",  "-0",     "4e-324", "9223372036854775807"};
        static constexpr std::array<std::string_view, 24> kUnits = {
            "ps",  "ns",   "us",   "ms",    "s",     "min",    "h",    "d",
            "B",   "kB",   "GB",   "GiB",   "TB",    "Bps",    "GBps", "Gbps",
            "bps", "TB/s", "FLOP", "TFLOP", "FLOPS", "PFLOPS", "%",    ""};
        static constexpr std::array<std::string_view, 8> kSelectors = {
            "gpu[*]", "nic[0:8]", "node[0].gpu[0]", "*", "all", "0-7", "[", "gpu[0:4294967296]"};
        std::size_t number_end = 0;
        while (number_end < current.size() &&
               (std::isdigit(static_cast<unsigned char>(current[number_end])) ||
                std::strchr(".eE+-", current[number_end]) != nullptr)) {
            ++number_end;
        }
        switch (below(6)) {
            case 0:
                if (number_end > 0) {
                    return std::string(kNumbers[below(kNumbers.size())]) +
                           current.substr(number_end);
                }
                [[fallthrough]];
            case 1:
                if (number_end > 0) {
                    return current.substr(0, number_end) +
                           std::string(kUnits[below(kUnits.size())]);
                }
                [[fallthrough]];
            case 2:
            case 3:
                if (!strings_.empty()) {
                    return strings_[below(strings_.size())];
                }
                [[fallthrough]];
            case 4:
                return std::string(kSelectors[below(kSelectors.size())]);
            default:
                return std::string(kNumbers[below(kNumbers.size())]) +
                       std::string(kUnits[below(kUnits.size())]);
        }
    }

    /// Sets the singular field (index < 0) or the repeated element `index` to an edge value.
    void set_scalar(gp::Message& message, const gp::FieldDescriptor* field, int index) {
        const gp::Reflection* r = message.GetReflection();
        const bool repeated = index >= 0;
        switch (field->cpp_type()) {
            case gp::FieldDescriptor::CPPTYPE_INT32: {
                const auto v =
                    integer<std::int32_t>(repeated ? r->GetRepeatedInt32(message, field, index)
                                                   : r->GetInt32(message, field));
                repeated ? r->SetRepeatedInt32(&message, field, index, v)
                         : r->SetInt32(&message, field, v);
                return;
            }
            case gp::FieldDescriptor::CPPTYPE_INT64: {
                const auto v =
                    integer<std::int64_t>(repeated ? r->GetRepeatedInt64(message, field, index)
                                                   : r->GetInt64(message, field));
                repeated ? r->SetRepeatedInt64(&message, field, index, v)
                         : r->SetInt64(&message, field, v);
                return;
            }
            case gp::FieldDescriptor::CPPTYPE_UINT32: {
                const auto v =
                    integer<std::uint32_t>(repeated ? r->GetRepeatedUInt32(message, field, index)
                                                    : r->GetUInt32(message, field));
                repeated ? r->SetRepeatedUInt32(&message, field, index, v)
                         : r->SetUInt32(&message, field, v);
                return;
            }
            case gp::FieldDescriptor::CPPTYPE_UINT64: {
                const auto v =
                    integer<std::uint64_t>(repeated ? r->GetRepeatedUInt64(message, field, index)
                                                    : r->GetUInt64(message, field));
                repeated ? r->SetRepeatedUInt64(&message, field, index, v)
                         : r->SetUInt64(&message, field, v);
                return;
            }
            case gp::FieldDescriptor::CPPTYPE_DOUBLE: {
                const double v = real(repeated ? r->GetRepeatedDouble(message, field, index)
                                               : r->GetDouble(message, field));
                repeated ? r->SetRepeatedDouble(&message, field, index, v)
                         : r->SetDouble(&message, field, v);
                return;
            }
            case gp::FieldDescriptor::CPPTYPE_FLOAT: {
                double d = real(repeated ? r->GetRepeatedFloat(message, field, index)
                                         : r->GetFloat(message, field));
                if (std::isfinite(d) && std::abs(d) > std::numeric_limits<float>::max()) {
                    d = std::copysign(std::numeric_limits<float>::max(), d);  // no UB cast
                }
                const auto v = static_cast<float>(d);
                repeated ? r->SetRepeatedFloat(&message, field, index, v)
                         : r->SetFloat(&message, field, v);
                return;
            }
            case gp::FieldDescriptor::CPPTYPE_BOOL: {
                const bool v = !(repeated ? r->GetRepeatedBool(message, field, index)
                                          : r->GetBool(message, field));
                repeated ? r->SetRepeatedBool(&message, field, index, v)
                         : r->SetBool(&message, field, v);
                return;
            }
            case gp::FieldDescriptor::CPPTYPE_ENUM: {
                const gp::EnumDescriptor* type = field->enum_type();
                // Another declared value, or (open enums) an undeclared number.
                const int v = one_in(8)
                                  ? integer<std::int32_t>(type->value_count())
                                  : type->value(static_cast<int>(below(
                                                    static_cast<std::size_t>(type->value_count()))))
                                        ->number();
                if (type->FindValueByNumber(v) == nullptr &&
                    field->file()->syntax() == gp::FileDescriptor::SYNTAX_PROTO2) {
                    return;
                }
                repeated ? r->SetRepeatedEnumValue(&message, field, index, v)
                         : r->SetEnumValue(&message, field, v);
                return;
            }
            case gp::FieldDescriptor::CPPTYPE_STRING: {
                const std::string v = text(repeated ? r->GetRepeatedString(message, field, index)
                                                    : r->GetString(message, field));
                repeated ? r->SetRepeatedString(&message, field, index, v)
                         : r->SetString(&message, field, v);
                return;
            }
            case gp::FieldDescriptor::CPPTYPE_MESSAGE:
                return;
        }
    }

    std::minstd_rand rng_;
    std::vector<Slot> fields_;
    std::vector<std::string> strings_;
};

/// LLVMFuzzerCustomMutator for a text spec of message type M.
template <typename M>
std::size_t mutate_text_spec(std::uint8_t* data,
                             std::size_t size,
                             std::size_t max_size,
                             unsigned seed) {
    if (seed % 4 == 0) {
        return LLVMFuzzerMutate(data, size, max_size);
    }
    M message;
    SilentErrorCollector silent;
    gp::TextFormat::Parser parser;
    parser.RecordErrorsTo(&silent);
    if (!parser.ParseFromString(std::string(reinterpret_cast<const char*>(data), size), &message)) {
        return LLVMFuzzerMutate(data, size, max_size);
    }
    SpecMutator(seed).mutate(message);
    std::string text;
    if (!gp::TextFormat::PrintToString(message, &text) || text.size() > max_size) {
        return LLVMFuzzerMutate(data, size, max_size);
    }
    std::memcpy(data, text.data(), text.size());
    return text.size();
}

}  // namespace stepsim::fuzz
