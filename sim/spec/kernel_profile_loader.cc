// SPDX-License-Identifier: Apache-2.0
// File: kernel_profile_loader.cc
// load_kernel_profile_file / load_kernel_profile_text: a measured kernel-time table
// (workloads/kernel_profile.proto) to a stepsim::KernelProfile, every bad row located.
#include "stepsim/kernels.h"
#include "stepsim/spec.h"
#include "stepsim/units.h"

#include "diagnostics.h"
#include "overrides.h"
#include "spec_locator.h"
#include "text_parser.h"
#include "workloads/kernel_profile.pb.h"

#include <string>

namespace stepsim {

namespace {

/// More rows than this is not a profile but a mistake (a generated file gone wrong).
constexpr int kMaxProfileRows = 1'000'000;
/// One launch longer than an hour is not a kernel measurement; the bound also keeps a step
/// built from measured times inside the step clock's range.
constexpr double kMaxKernelTimeS = 3600.0;

}  // namespace

KernelProfile load_kernel_profile_text(std::string_view text, std::string_view display_name) {
    const std::string file(display_name);
    spec::KernelProfile message;
    google::protobuf::TextFormat::ParseInfoTree tree;
    const spec::SpecLocator locator = spec::parse_with_overrides(text, file, message, tree, {});
    spec::Diagnostics diagnostics;
    KernelProfile profile;
    profile.gpu = message.gpu();
    profile.file = file;
    if (message.kernel_size() > kMaxProfileRows) {
        diagnostics.error(locator.where(message, "kernel"), "kernel",
                          "a kernel profile may have at most " + std::to_string(kMaxProfileRows) +
                              " rows, this one has " + std::to_string(message.kernel_size()));
        diagnostics.throw_if_any();
    }
    for (int i = 0; i < message.kernel_size(); ++i) {
        const spec::KernelTime& row = message.kernel(i);
        const auto bad = [&](const char* field, const std::string& what) {
            diagnostics.error(locator.where(row, field), locator.path(row, field), what);
        };
        KernelProfileEntry e;
        e.kind = row.kind() == spec::KernelTime::ATTENTION ? KernelKind::kAttention
                 : row.kind() == spec::KernelTime::MEMORY  ? KernelKind::kMemory
                                                           : KernelKind::kGemm;
        e.dtype = row.dtype() == spec::KernelTime::FP8 ? Dtype::kFp8 : Dtype::kBf16;
        e.m = row.m();
        e.n = row.n();
        e.k = row.k();
        e.batch = row.has_batch() ? row.batch() : 1;
        e.is_backward = row.backward();
        e.is_causal = row.has_causal() ? row.causal() : true;
        e.name = row.name();
        e.source = row.source();
        if (e.kind == KernelKind::kMemory) {
            if (e.name.empty()) {
                bad("name", "a MEMORY row needs the kernel's name (e.g. \"layernorm\")");
            }
            try {
                e.bytes = static_cast<double>(parse_size_bytes(row.bytes()));
            } catch (const UnitError& err) {
                bad("bytes", "bytes \"" + row.bytes() + "\": " + err.what());
            }
        } else {
            for (const auto& [field, value] : {std::pair{"m", e.m}, std::pair{"n", e.n},
                                               std::pair{"k", e.k}, std::pair{"batch", e.batch}}) {
                if (value < 1) {
                    bad(field,
                        std::string(field) + " must be at least 1, got " + std::to_string(value));
                }
            }
        }
        try {
            e.time_s = parse_duration_s(row.time());
            if (!(e.time_s > 0.0)) {
                bad("time", "time must be positive, got \"" + row.time() + "\"");
            } else if (e.time_s > kMaxKernelTimeS) {
                bad("time", "time \"" + row.time() + "\" is longer than the limit of 1h for one " +
                                "kernel launch (fixed)");
            }
        } catch (const UnitError& err) {
            bad("time", "time \"" + row.time() + "\": " + err.what());
        }
        if (e.source.empty()) {
            bad("source", "every measured row needs its source (a citation)");
        }
        profile.entries.push_back(std::move(e));
    }
    diagnostics.throw_if_any();
    return profile;
}

KernelProfile load_kernel_profile_file(const std::filesystem::path& path) {
    return load_kernel_profile_text(spec::read_spec_file(path), path.string());
}

}  // namespace stepsim
