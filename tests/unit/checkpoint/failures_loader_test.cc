// SPDX-License-Identifier: Apache-2.0
// File: failures_loader_test.cc
// Failures specs: the bundled Llama 3 spec reproduces the paper's interruption count, rates
// scale with the cluster, and errors carry file:line:col.
//
// Llama 3 (Table 5): 419 unexpected interruptions in 54 days on 16,384 GPUs (2,048 hosts,
// 16,384 NICs). Each cause has MTBF = 54 d × population / count per component, so at the
// paper's size the cluster rate is Σ count / 54 d = 419 / 54 d: MTBF = 1296 h / 419.
// At 1,024 GPUs (1/16 of every population) the rate is 1/16 of that: MTBF × 16.
#include "stepsim/error.h"
#include "stepsim/spec.h"

#include <catch2/catch.hpp>

using namespace stepsim;

namespace {

const std::string kLlama = std::string(STEPSIM_SOURCE_DIR) + "/workloads/failures-llama3.textproto";

ComponentCounts gpus(std::int64_t n) {
    ComponentCounts counts;
    counts.gpus = n;
    counts.hosts = n / 8;
    counts.nics = n;
    return counts;
}

}  // namespace

TEST_CASE("Llama 3 spec: 419 interruptions in 54 days at 16,384 GPUs", "[checkpoint][spec]") {
    const FailureSpec spec = load_failures_file(kLlama, gpus(16384));
    REQUIRE(spec.model.classes.size() == 18);
    double interruptions_in_54_days = 0;
    for (const FailureClass& c : spec.model.classes) {
        interruptions_in_54_days += static_cast<double>(c.count) * 54 * 86400 / c.mtbf_s;
    }
    REQUIRE(interruptions_in_54_days == Approx(419).epsilon(1e-12));
    REQUIRE(spec.model.cluster_mtbf_s() == Approx(1296.0 * 3600 / 419).epsilon(1e-12));
    // Software faults restart in place.
    for (const FailureClass& c : spec.model.classes) {
        const bool is_software =
            c.name == "software_bug" || c.name == "nccl_watchdog_timeout" || c.name == "dependency";
        REQUIRE(c.needs_replacement == !is_software);
    }
    // The rate scales with the job: 1/16 of the GPUs, hosts and NICs, 16× the MTBF.
    const FailureSpec small = load_failures_file(kLlama, gpus(1024));
    REQUIRE(small.model.cluster_mtbf_s() == Approx(16 * 1296.0 * 3600 / 419).epsilon(1e-12));
}

TEST_CASE("failures spec errors point at the field", "[checkpoint][spec]") {
    const std::string text =
        "component { name: \"gpu\" per: COMPONENT_GPU weibull { shape: 0 scale: \"1000h\" } }\n"
        "component { name: \"sw\" per: COMPONENT_JOB exponential { mtbf: \"0s\" } }\n"
        "component { name: \"sw2\" per: COMPONENT_SWITCH exponential { mtbf: \"2h\" } }\n";
    try {
        load_failures_text(text, "f.textproto", gpus(8));
        FAIL("expected a SpecError");
    } catch (const SpecError& e) {
        const std::string what = e.what();
        INFO(what);
        REQUIRE(e.diagnostics().size() == 3);
        REQUIRE(what.find("f.textproto:1:") != std::string::npos);
        REQUIRE(what.find("weibull shape must be > 0") != std::string::npos);
        REQUIRE(what.find("f.textproto:2:") != std::string::npos);
        REQUIRE(what.find("mtbf must be positive") != std::string::npos);
        REQUIRE(what.find("switch count, which is unknown") != std::string::npos);
    }
    REQUIRE_THROWS_AS(load_failures_text("component { nme: \"x\" }", "g.textproto", gpus(8)),
                      SpecError);
}

TEST_CASE("Weibull and exponential classes from a spec", "[checkpoint][spec]") {
    const FailureSpec spec = load_failures_text(
        "component { name: \"gpu\" per: COMPONENT_GPU weibull { shape: 0.5 scale: \"100h\" } }\n"
        "component { name: \"job\" per: COMPONENT_JOB exponential { mtbf: \"10h\" } }\n"
        "restart { detection: \"1min\" reschedule: \"5min\" load: \"3min\" warmup: \"1min\" "
        "spare_nodes: 4 repair_time: \"1d\" }\n",
        "ok.textproto", gpus(8));
    REQUIRE(spec.model.classes.size() == 2);
    REQUIRE(spec.model.classes[0].count == 8);
    REQUIRE(spec.model.classes[1].count == 1);
    REQUIRE_FALSE(spec.model.classes[1].needs_replacement);
    // Weibull mean: λ·Γ(1 + 1/k) = 100 h · Γ(3) = 200 h per GPU; 8 GPUs: 25 h; with the job's
    // 10 h: 1 / (1/25 + 1/10) h.
    REQUIRE(spec.model.cluster_mtbf_s() == Approx(3600.0 / (1.0 / 25 + 1.0 / 10)).epsilon(1e-12));
    REQUIRE(spec.restart.has_value());
    REQUIRE(spec.restart->total() == RunTime{10LL * 60 * 1'000'000'000});
    REQUIRE(spec.restart->spare_nodes == 4);
}
