// SPDX-License-Identifier: Apache-2.0
// File: scenario_loader.cc
// load_scenario_file / load_scenario_text: parse a straggler scenario
// (workloads/scenario.proto), apply --set overrides, resolve every selector against the
// cluster and the job (unknown ranks, nodes, devices or links, bad factors and distributions
// are located at file:line:col, all at once), and check that links taken down leave the job's
// GPUs connected. parse_straggler_flag reads `--straggler rank=17:compute=1.3`.
#include "stepsim/failures.h"
#include "stepsim/spec.h"
#include "stepsim/stragglers.h"
#include "stepsim/units.h"

#include "diagnostics.h"
#include "overrides.h"
#include "spec_locator.h"
#include "text_parser.h"
#include "workloads/scenario.pb.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace stepsim {

namespace {

/// The shortest mean interval between slow episodes (see load_scenario_text).
constexpr double kMinEpisodeInterval_s = 1e-6;
/// The longest episode duration, in mean intervals (see load_scenario_text): an episode ends
/// after about e^10 = 22,000 merged arrivals at most.
constexpr double kMaxEpisodeOverlap = 10;
/// The largest slowdown factor, and 1 / the smallest. Factors multiply compute times and divide
/// bandwidths: 1e63 (a fuzz find) took a 10 ms kernel past the step clock's 106 days, and
/// whatif died with std::out_of_range; 4e-324 (another) made a link's bandwidth infinite. A
/// million keeps a kernel of up to 9 s inside the clock.
constexpr double kMaxFactor = 1e6;
/// Largest lognormal jitter CV: sigma^2 = ln(1 + cv^2) = 4.6 at cv = 10. A CV of 1e10 (sigma
/// 6.8) drew multipliers of 1e14 and more, past the step clock.
constexpr double kMaxJitterCv = 10;

std::string number(double x) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", x);
    return text;
}

/// What a selector resolved to, or why it names nothing.
struct Resolved {
    std::string name;
    std::vector<std::int32_t> ranks;
    std::vector<std::uint32_t> links;
    bool is_link = false;
    std::string error;
};

class Resolver {
public:
    Resolver(const Topology& topology, const TrainingJob& job)
        : topology_(topology)
        , layout_(job.layout)
        , world_(job.layout.world_size()) {}

    Resolved rank(std::int64_t r) const {
        Resolved out;
        out.name = "rank " + std::to_string(r);
        if (r < 0 || r >= world_) {
            out.error = "rank " + std::to_string(r) + " is outside 0.." +
                        std::to_string(world_ - 1) + " (the job has " + std::to_string(world_) +
                        " ranks)";
            return out;
        }
        out.ranks.push_back(static_cast<std::int32_t>(r));
        return out;
    }

    Resolved ranks(const std::string& text) const {
        Resolved out;
        out.name = "ranks " + text;
        std::set<std::int32_t> seen;
        std::size_t start = 0;
        while (start <= text.size()) {
            const std::size_t comma = std::min(text.find(',', start), text.size());
            const std::string item = text.substr(start, comma - start);
            start = comma + 1;
            long long a = 0;
            long long b = 0;
            char extra = 0;
            const int read = std::sscanf(item.c_str(), "%lld-%lld%c", &a, &b, &extra);
            if (read == 1) {
                b = a;
            } else if (read != 2) {
                out.error =
                    "ranks \"" + text + "\": expected a list like \"0-7,17\", got \"" + item + "\"";
                return out;
            }
            if (a > b || a < 0 || b >= world_) {
                out.error = "ranks \"" + item + "\" are not a range inside 0.." +
                            std::to_string(world_ - 1);
                return out;
            }
            for (long long r = a; r <= b; ++r) {
                seen.insert(static_cast<std::int32_t>(r));
            }
            if (comma == text.size()) {
                break;
            }
        }
        out.ranks.assign(seen.begin(), seen.end());
        return out;
    }

    Resolved node(std::int64_t host) const {
        Resolved out;
        out.name = "node " + std::to_string(host);
        for (int r = 0; r < world_; ++r) {
            if (topology_.node(gpu(r)).host == host) {
                out.ranks.push_back(r);
            }
        }
        if (out.ranks.empty()) {
            out.error = "node " + std::to_string(host) + " names no server (the cluster has " +
                        std::to_string(topology_.host_count()) + ", numbered from 0)";
        }
        return out;
    }

    Resolved stage(std::int64_t s) const {
        Resolved out;
        out.name = "stage " + std::to_string(s);
        if (s < 0 || s >= layout_.pp) {
            out.error =
                "stage " + std::to_string(s) + " is outside 0.." + std::to_string(layout_.pp - 1);
            return out;
        }
        for (int d = 0; d < layout_.dp; ++d) {
            for (int t = 0; t < layout_.tp; ++t) {
                out.ranks.push_back(rank_of(layout_, {t, d, static_cast<int>(s)}));
            }
        }
        std::sort(out.ranks.begin(), out.ranks.end());
        return out;
    }

    Resolved replica(std::int64_t d) const {
        Resolved out;
        out.name = "replica " + std::to_string(d);
        if (d < 0 || d >= layout_.dp) {
            out.error =
                "replica " + std::to_string(d) + " is outside 0.." + std::to_string(layout_.dp - 1);
            return out;
        }
        for (int s = 0; s < layout_.pp; ++s) {
            for (int t = 0; t < layout_.tp; ++t) {
                out.ranks.push_back(rank_of(layout_, {t, static_cast<int>(d), s}));
            }
        }
        std::sort(out.ranks.begin(), out.ranks.end());
        return out;
    }

    Resolved link(const std::string& text) const {
        Resolved out;
        out.name = "link " + text;
        out.is_link = true;
        const std::size_t both = text.find("<->");
        const std::size_t one = text.find("->");
        const bool is_duplex = both != std::string::npos;
        const std::size_t at = is_duplex ? both : one;
        if (at == std::string::npos) {
            out.error = "link \"" + text + "\": expected \"SRC->DST\" or \"A<->B\"";
            return out;
        }
        const std::string a = text.substr(0, at);
        const std::string b = text.substr(at + (is_duplex ? 3 : 2));
        const std::optional<NodeId> src = topology_.find_node(a);
        const std::optional<NodeId> dst = topology_.find_node(b);
        if (!src || !dst) {
            out.error = "link \"" + text + "\": unknown device \"" + (src ? b : a) + "\"";
            return out;
        }
        add_links(*src, *dst, out);
        if (is_duplex) {
            add_links(*dst, *src, out);
        }
        if (out.links.empty()) {
            out.error = "link \"" + text + "\": no link joins \"" + a + "\" and \"" + b + "\"";
        }
        return out;
    }

    Resolved link_class(std::int64_t host, const std::string& kind) const {
        Resolved out;
        out.is_link = true;
        const bool inter = kind == "inter-node";
        const bool intra = kind == "intra-node";
        if (!inter && !intra && kind != "all") {
            out.error = "links kind must be \"inter-node\", \"intra-node\" or \"all\", got \"" +
                        kind + "\"";
            return out;
        }
        out.name = kind + " links of node " + std::to_string(host);
        for (std::uint32_t i = 0; i < topology_.link_count(); ++i) {
            const Link& l = topology_.link(LinkId(i));
            if (topology_.node(l.src).host != host && topology_.node(l.dst).host != host) {
                continue;
            }
            const bool is_network =
                l.kind == LinkKind::kInfiniBand || l.kind == LinkKind::kEthernet;
            if ((inter && !is_network) || (intra && is_network)) {
                continue;
            }
            out.links.push_back(i);
        }
        if (out.links.empty()) {
            out.error = "node " + std::to_string(host) + " has no " + kind + " links";
        }
        return out;
    }

    /// A GPU's own links: those with the GPU at one end, and those of NICs that serve this GPU
    /// alone.
    std::vector<std::uint32_t> rank_links(std::int32_t r) const {
        std::set<std::uint32_t> links;
        const NodeId g = gpu(r);
        for (std::uint32_t i = 0; i < topology_.link_count(); ++i) {
            const Link& l = topology_.link(LinkId(i));
            if (l.src == g || l.dst == g) {
                links.insert(i);
                const NodeId other = l.src == g ? l.dst : l.src;
                if (topology_.node(other).kind == NodeKind::kNic && serves_one_gpu(other)) {
                    for (std::uint32_t j = 0; j < topology_.link_count(); ++j) {
                        const Link& m = topology_.link(LinkId(j));
                        if (m.src == other || m.dst == other) {
                            links.insert(j);
                        }
                    }
                }
            }
        }
        return {links.begin(), links.end()};
    }

private:
    NodeId gpu(int r) const { return topology_.gpu(RankId(static_cast<std::uint32_t>(r))); }

    bool serves_one_gpu(NodeId nic) const {
        int gpus = 0;
        for (const LinkId id : topology_.out_links(nic)) {
            if (topology_.node(topology_.link(id).dst).kind == NodeKind::kGpu) {
                ++gpus;
            }
        }
        return gpus == 1;
    }

    void add_links(NodeId src, NodeId dst, Resolved& out) const {
        for (const LinkId id : topology_.out_links(src)) {
            if (topology_.link(id).dst == dst) {
                out.links.push_back(id.value);
            }
        }
    }

    const Topology& topology_;
    const ParallelLayout& layout_;
    int world_;
};

Resolved resolve(const spec::Selector& selector, const Resolver& resolver) {
    switch (selector.target_case()) {
        case spec::Selector::kRank:
            return resolver.rank(selector.rank());
        case spec::Selector::kRanks:
            return resolver.ranks(selector.ranks());
        case spec::Selector::kNode:
            return resolver.node(selector.node());
        case spec::Selector::kStage:
            return resolver.stage(selector.stage());
        case spec::Selector::kReplica:
            return resolver.replica(selector.replica());
        case spec::Selector::kLink:
            return resolver.link(selector.link());
        case spec::Selector::kLinks:
            return resolver.link_class(selector.links().node(), selector.links().kind());
        default:
            break;
    }
    Resolved out;
    out.error = "a selector needs one of rank, ranks, node, stage, replica, link or links";
    return out;
}

std::string factor_problem(double factor) {
    if (!(factor > 0) || !std::isfinite(factor)) {
        return "factor must be > 0 and finite, got " + number(factor);
    }
    if (factor > kMaxFactor || factor < 1 / kMaxFactor) {
        return "factor must be between 1e-6 and 1e6 (an element slower than that has failed: "
               "take a link down, or model failures), got " +
               number(factor);
    }
    return {};
}

/// A slowdown from a resolved selector, or an error message.
std::string make_slowdown(const Resolved& target,
                          const Resolver& resolver,
                          std::optional<double> compute,
                          std::optional<double> communication,
                          bool is_down,
                          Slowdown& out) {
    out.element = target.name;
    if (is_down) {
        if (!target.is_link) {
            return "only links can be down, not " + target.name;
        }
        out.links = target.links;
        out.is_link_down = true;
        out.element += " down";
        return {};
    }
    if (target.is_link) {
        if (compute) {
            return target.name + " has no compute to slow (use COMMUNICATION)";
        }
        out.links = target.links;
        out.link_factor = communication.value_or(1.0);
        out.element += " x" + number(out.link_factor);
        return {};
    }
    if (compute) {
        out.ranks = target.ranks;
        out.compute_factor = *compute;
    }
    if (communication) {
        std::set<std::uint32_t> links;
        for (const std::int32_t r : target.ranks) {
            for (const std::uint32_t l : resolver.rank_links(r)) {
                links.insert(l);
            }
        }
        out.links.assign(links.begin(), links.end());
        out.link_factor = *communication;
    }
    if (compute && communication && *compute == *communication) {
        out.element += " x" + number(*compute);
    } else {
        if (compute) {
            out.element += " compute x" + number(*compute);
        }
        if (communication) {
            out.element += " communication x" + number(*communication);
        }
    }
    return {};
}

/// The partition check with the scenario's links down.
std::string partition_problem(Topology& topology,
                              const TrainingJob& job,
                              const std::vector<Slowdown>& slowdowns) {
    bool has_down = false;
    for (const Slowdown& s : slowdowns) {
        has_down = has_down || s.is_link_down;
    }
    if (!has_down) {
        return {};
    }
    std::vector<Slowdown> down;
    for (const Slowdown& s : slowdowns) {
        if (s.is_link_down) {
            down.push_back(s);
        }
    }
    LinkEdits edits(topology, down);
    const std::string problem = find_partition(topology, job.layout);
    return problem.empty() ? std::string()
                           : "the links that are down partition the cluster: " + problem;
}

}  // namespace

Scenario load_scenario_text(std::string_view text,
                            std::string_view display_name,
                            Topology& topology,
                            const TrainingJob& job,
                            std::span<const SpecOverride> overrides) {
    const std::string file(display_name);
    spec::Scenario message;
    google::protobuf::TextFormat::ParseInfoTree tree;
    const spec::SpecLocator locator =
        spec::parse_with_overrides(text, file, message, tree, overrides);
    spec::Diagnostics diagnostics;
    const auto error = [&](const google::protobuf::Message& m, std::string_view field,
                           std::string text_) {
        diagnostics.error(locator.where(m, field), locator.path(m, field), std::move(text_));
    };
    const auto error_at = [&](const google::protobuf::Message& m, std::string text_) {
        diagnostics.error(locator.where(m), locator.path(m), std::move(text_));
    };
    const Resolver resolver(topology, job);
    Scenario scenario;
    scenario.description = message.description();
    scenario.seed = message.seed() == 0 ? 1 : message.seed();

    const auto ranks_of = [&](const google::protobuf::Message& parent, bool has_selector,
                              const spec::Selector& selector, std::vector<std::int32_t>& ranks) {
        if (!has_selector) {
            return;
        }
        const Resolved target = resolve(selector, resolver);
        if (!target.error.empty()) {
            error_at(selector, target.error);
        } else if (target.is_link) {
            error(parent, "select", target.name + " has no compute to slow");
        } else {
            ranks = target.ranks;
        }
    };

    std::map<std::int32_t, double> combined_compute;  // product of the factors so far, by rank
    std::map<std::uint32_t, double> combined_link;    // and by link
    for (const spec::Slowdown& s : message.slowdown()) {
        if (!s.has_select()) {
            error(s, "select", "a slowdown needs a selector (select { rank: 17 })");
            continue;
        }
        const Resolved target = resolve(s.select(), resolver);
        if (!target.error.empty()) {
            error_at(s.select(), target.error);
            continue;
        }
        if (!s.down()) {
            if (std::string problem = factor_problem(s.factor()); !problem.empty()) {
                error(s, "factor", problem);
                continue;
            }
        }
        spec::AppliesTo applies = s.applies_to();
        if (applies == spec::APPLIES_TO_UNSPECIFIED) {
            applies = target.is_link ? spec::COMMUNICATION : spec::COMPUTE;
        }
        std::optional<double> compute;
        std::optional<double> communication;
        if (applies == spec::COMPUTE || applies == spec::BOTH) {
            compute = s.factor();
        }
        if (applies == spec::COMMUNICATION || applies == spec::BOTH) {
            communication = s.factor();
        }
        Slowdown slowdown;
        if (std::string problem =
                make_slowdown(target, resolver, compute, communication, s.down(), slowdown);
            !problem.empty()) {
            error(s, s.down() ? "down" : "applies_to", problem);
            continue;
        }
        if (!s.name().empty()) {
            slowdown.element = s.name();
        }
        // Slowdowns of the same rank or link multiply: their product must stay within the
        // limit one factor has (1e6 three times over took compute past the step clock).
        std::string combined;
        for (const std::int32_t r : slowdown.ranks) {
            double& f = combined_compute[r];
            f = (f == 0 ? 1.0 : f) * slowdown.compute_factor;
            if (combined.empty() && (f > kMaxFactor || f < 1 / kMaxFactor)) {
                combined = "the compute slowdowns of rank " + std::to_string(r) + " multiply to " +
                           number(f) + ", beyond 1e-6..1e6";
            }
        }
        for (const std::uint32_t l : slowdown.links) {
            double& f = combined_link[l];
            f = (f == 0 ? 1.0 : f) * slowdown.link_factor;
            if (combined.empty() && (f > kMaxFactor || f < 1 / kMaxFactor)) {
                combined = "the slowdowns of link " + std::to_string(l) + " multiply to " +
                           number(f) + ", beyond 1e-6..1e6";
            }
        }
        if (!combined.empty()) {
            error(s, "factor", combined);
            continue;
        }
        scenario.slowdowns.push_back(std::move(slowdown));
    }
    if (message.has_jitter()) {
        const spec::Jitter& j = message.jitter();
        ComputeJitter jitter;
        switch (j.distribution()) {
            case spec::LOGNORMAL:
                jitter.distribution = JitterDistribution::kLognormal;
                if (!(j.cv() >= 0) || !std::isfinite(j.cv())) {
                    error(j, "cv", "cv must be >= 0 and finite, got " + number(j.cv()));
                } else if (j.cv() > kMaxJitterCv) {
                    error(j, "cv",
                          "cv must be at most 10 (a kernel 5 sigma out would then run 4,600 "
                          "times its mean; beyond, kernels leave the step clock), got " +
                              number(j.cv()));
                }
                jitter.cv = j.cv();
                break;
            case spec::GAMMA:
                jitter.distribution = JitterDistribution::kGamma;
                if (!(j.shape() > 0) || !std::isfinite(j.shape())) {
                    error(j, "shape",
                          "gamma shape must be > 0 and finite, got " + number(j.shape()));
                } else if (j.shape() < 1 / (kMaxJitterCv * kMaxJitterCv)) {
                    // The cv is 1/sqrt(shape): bounded like LOGNORMAL's. A shape of 4.9e-324
                    // drew NaN multipliers (a fuzz find).
                    error(j, "shape",
                          "gamma shape must be at least 0.01 (its cv, 1/sqrt(shape), at most "
                          "10 as for LOGNORMAL), got " +
                              number(j.shape()));
                }
                jitter.gamma_shape = j.shape();
                break;
            case spec::EMPIRICAL:
                jitter.distribution = JitterDistribution::kEmpirical;
                if (j.multipliers_size() == 0) {
                    error(j, "distribution", "an empirical distribution needs multipliers");
                }
                for (int i = 0; i < j.multipliers_size(); ++i) {
                    if (!(j.multipliers(i) > 0) || !std::isfinite(j.multipliers(i))) {
                        diagnostics.error(
                            locator.where(j, "multipliers", i), locator.path(j, "multipliers", i),
                            "multipliers must be > 0 and finite, got " + number(j.multipliers(i)));
                    }
                    jitter.multipliers.push_back(j.multipliers(i));
                }
                break;
            default:
                error(j, "distribution",
                      "jitter needs distribution: LOGNORMAL, GAMMA or EMPIRICAL");
                break;
        }
        ranks_of(j, j.has_select(), j.select(), jitter.ranks);
        jitter.is_per_run = j.per_run();
        scenario.jitter = std::move(jitter);
    }
    if (message.has_random_stragglers()) {
        const spec::RandomStragglers& r = message.random_stragglers();
        const int world = job.layout.world_size();
        if (r.count() < 0 || r.count() > world) {
            error(r, "count",
                  "count must be in 0.." + std::to_string(world) + ", got " +
                      std::to_string(r.count()));
        }
        if (std::string problem = factor_problem(r.factor()); !problem.empty()) {
            error(r, "factor", problem);
        }
        scenario.random_stragglers = RandomStragglers{r.count(), r.factor()};
    }
    if (message.has_episodes()) {
        const spec::Episodes& e = message.episodes();
        SlowEpisodes episodes;
        const auto duration = [&](std::string_view field, const std::string& value,
                                  bool is_positive) -> double {
            try {
                const double s = parse_duration_s(value);
                if (is_positive ? !(s > 0) : !(s >= 0)) {
                    error(e, field,
                          std::string(field) + " must be " + (is_positive ? "> 0" : ">= 0") +
                              ", got \"" + value + "\"");
                }
                return s;
            } catch (const UnitError& ex) {
                error(e, field, std::string(field) + " \"" + value + "\": " + ex.what());
                return 0;
            }
        };
        episodes.mean_interval_s = duration("mean_interval", e.mean_interval(), true);
        // Arrivals are drawn one by one on the picosecond clock: a mean far below the clock's
        // resolution draws 0 ps again and again and the run never ends (a mean of 0.001ps hung
        // whatif). Slow phases that short are per-kernel noise: jitter models them.
        if (episodes.mean_interval_s > 0 && episodes.mean_interval_s < kMinEpisodeInterval_s) {
            error(e, "mean_interval",
                  "mean_interval must be at least 1us (shorter slow phases are per-kernel "
                  "noise: use jitter), got \"" +
                      e.mean_interval() + "\"");
        }
        episodes.duration_s = duration("duration", e.duration(), false);
        // Overlapping episodes merge, and one ends only at a gap longer than the duration:
        // e^(duration / mean_interval) arrivals on average. 2s at 1ms (a fuzz find) merged
        // forever and whatif hung; a rank slow all the time is a slowdown.
        if (episodes.mean_interval_s >= kMinEpisodeInterval_s &&
            episodes.duration_s > kMaxEpisodeOverlap * episodes.mean_interval_s) {
            error(e, "duration",
                  "duration must be at most 10 x mean_interval (longer episodes merge into one "
                  "that never ends: use a slowdown), got \"" +
                      e.duration() + "\" at \"" + e.mean_interval() + "\"");
        }
        if (std::string problem = factor_problem(e.factor()); !problem.empty()) {
            error(e, "factor", problem);
        }
        episodes.factor = e.factor();
        ranks_of(e, e.has_select(), e.select(), episodes.ranks);
        scenario.episodes = std::move(episodes);
    }
    diagnostics.throw_if_any();
    if (std::string problem = partition_problem(topology, job, scenario.slowdowns);
        !problem.empty()) {
        for (int i = 0; i < message.slowdown_size(); ++i) {
            if (message.slowdown(i).down()) {
                error(message.slowdown(i), "down", problem);
                break;
            }
        }
        diagnostics.throw_if_any();
    }
    return scenario;
}

Scenario load_scenario_file(const std::filesystem::path& path,
                            Topology& topology,
                            const TrainingJob& job,
                            std::span<const SpecOverride> overrides) {
    const std::string text = spec::read_spec_file(path);
    return load_scenario_text(text, path.string(), topology, job, overrides);
}

Slowdown parse_straggler_flag(std::string_view text, Topology& topology, const TrainingJob& job) {
    const std::string flag(text);
    const auto fail = [&](const std::string& message) -> SpecError {
        return SpecError(SourceLocation{}, "--straggler",
                         "--straggler \"" + flag + "\": " + message);
    };
    const Resolver resolver(topology, job);
    std::optional<Resolved> target;
    std::optional<double> compute;
    std::optional<double> communication;
    bool is_down = false;
    std::size_t start = 0;
    while (start <= flag.size()) {
        const std::size_t colon = std::min(flag.find(':', start), flag.size());
        const std::string item = flag.substr(start, colon - start);
        start = colon + 1;
        const std::size_t eq = item.find('=');
        const std::string key = item.substr(0, eq);
        const std::string value = eq == std::string::npos ? "" : item.substr(eq + 1);
        const auto integer = [&]() -> std::int64_t {
            char* end = nullptr;
            const long long v = std::strtoll(value.c_str(), &end, 10);
            if (value.empty() || *end != 0) {
                throw fail(key + " needs an integer, got \"" + value + "\"");
            }
            return v;
        };
        const auto factor = [&]() -> double {
            char* end = nullptr;
            const double v = std::strtod(value.c_str(), &end);
            if (value.empty() || *end != 0) {
                throw fail(key + " needs a number, got \"" + value + "\"");
            }
            if (std::string problem = factor_problem(v); !problem.empty()) {
                throw fail(problem);
            }
            return v;
        };
        if (key == "rank") {
            target = resolver.rank(integer());
        } else if (key == "ranks") {
            target = resolver.ranks(value);
        } else if (key == "node") {
            target = resolver.node(integer());
        } else if (key == "stage") {
            target = resolver.stage(integer());
        } else if (key == "replica") {
            target = resolver.replica(integer());
        } else if (key == "link") {
            target = resolver.link(value);
        } else if (key == "links") {
            const std::size_t slash = value.find('/');
            if (slash == std::string::npos) {
                throw fail("links needs NODE/KIND, e.g. links=17/inter-node");
            }
            char* end = nullptr;
            const long long host = std::strtoll(value.substr(0, slash).c_str(), &end, 10);
            target = resolver.link_class(host, value.substr(slash + 1));
        } else if (key == "compute") {
            compute = factor();
        } else if (key == "comm" || key == "communication") {
            communication = factor();
        } else if (key == "factor") {
            compute = communication = factor();
        } else if (key == "down" && value.empty()) {
            is_down = true;
        } else {
            throw fail("unknown key \"" + key +
                       "\" (expected rank, ranks, node, stage, replica, link, links, compute, "
                       "comm, factor or down)");
        }
        if (colon == flag.size()) {
            break;
        }
    }
    if (!target) {
        throw fail("needs a selector: rank=, ranks=, node=, stage=, replica=, link= or links=");
    }
    if (!target->error.empty()) {
        throw fail(target->error);
    }
    if (target->is_link && compute && communication == compute) {
        compute.reset();  // factor= on a link: its bandwidth
    }
    if (!is_down && !compute && !communication) {
        throw fail("needs compute=F, comm=F, factor=F or down");
    }
    Slowdown slowdown;
    if (std::string problem =
            make_slowdown(*target, resolver, compute, communication, is_down, slowdown);
        !problem.empty()) {
        throw fail(problem);
    }
    if (is_down) {
        if (std::string problem = partition_problem(topology, job, {slowdown}); !problem.empty()) {
            throw fail(problem);
        }
    }
    return slowdown;
}

}  // namespace stepsim
