// SPDX-License-Identifier: Apache-2.0
// File: straggler_scenario.cc
// A straggler scenario turned into a StepPerturbation for one run: per-rank persistent compute
// factors (given, or drawn once per run), per-operation jitter and transient slow episodes,
// folded over each stage's TP group (the group synchronises at every TP collective, so a
// compute task of the group ends when its slowest rank's does), and the DP replicas that
// differ picked for explicit simulation. Link edits (LinkEdits) and the partition check.
// Model: docs/models/stragglers.md.
#include "stepsim/error.h"
#include "stepsim/random.h"
#include "stepsim/stragglers.h"
#include "stepsim/topology.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>

namespace stepsim {

std::string_view to_string(JitterDistribution distribution) {
    switch (distribution) {
        case JitterDistribution::kLognormal:
            return "lognormal";
        case JitterDistribution::kGamma:
            return "gamma";
        case JitterDistribution::kEmpirical:
            return "empirical";
    }
    return "?";
}

bool Scenario::is_stochastic() const {
    return jitter.has_value() || (random_stragglers.has_value() && random_stragglers->count > 0) ||
           episodes.has_value();
}

bool Scenario::is_empty() const {
    return slowdowns.empty() && !is_stochastic();
}

LinkEdits::LinkEdits(Topology& topology, const std::vector<Slowdown>& slowdowns)
    : topology_(&topology) {
    std::map<std::uint32_t, double> factor;
    std::set<std::uint32_t> down;
    for (const Slowdown& slowdown : slowdowns) {
        for (const std::uint32_t link : slowdown.links) {
            if (slowdown.is_link_down) {
                down.insert(link);
            } else if (slowdown.link_factor != 1.0) {
                const auto [it, inserted] = factor.emplace(link, 1.0);
                it->second *= slowdown.link_factor;
            }
        }
    }
    std::set<std::uint32_t> touched(down);
    for (const auto& [link, f] : factor) {
        touched.insert(link);
    }
    for (const std::uint32_t link : touched) {
        const Link& original = topology.link(LinkId(link));
        saved_.push_back({link, original.bandwidth_Bps, original.is_up});
    }
    for (const auto& [link, f] : factor) {
        topology.set_link_bandwidth(LinkId(link), topology.link(LinkId(link)).bandwidth_Bps / f);
    }
    for (const std::uint32_t link : down) {
        topology.set_link_up(LinkId(link), false);
    }
}

LinkEdits::~LinkEdits() {
    restore();
}

void LinkEdits::restore() {
    for (const Saved& saved : saved_) {
        topology_->set_link_bandwidth(LinkId(saved.link), saved.bandwidth_Bps);
        topology_->set_link_up(LinkId(saved.link), saved.is_up);
    }
    saved_.clear();
}

std::string find_partition(const Topology& topology, const ParallelLayout& layout) {
    Router router(topology);
    const auto gpu = [&](int t, int d, int s, int c = 0) {
        return topology.gpu(RankId(static_cast<std::uint32_t>(rank_of(layout, {t, d, s, c}))));
    };
    const auto check = [&](NodeId a, NodeId b) -> std::string {
        if (router.is_reachable(a, b)) {
            return {};
        }
        return "rank " + std::to_string(topology.rank_of(a)->value) + " cannot reach rank " +
               std::to_string(topology.rank_of(b)->value);
    };
    for (int s = 0; s < layout.pp; ++s) {
        for (int d = 0; d < layout.dp; ++d) {
            for (int t = 0; t < layout.tp; ++t) {
                for (int u = 0; u < layout.tp; ++u) {
                    if (u != t) {
                        if (std::string e = check(gpu(t, d, s), gpu(u, d, s)); !e.empty()) {
                            return e;
                        }
                    }
                }
                // The CP ring of the simulated CP rank.
                for (int c = 1; c < layout.cp; ++c) {
                    if (std::string e = check(gpu(t, d, s, c - 1), gpu(t, d, s, c)); !e.empty()) {
                        return e;
                    }
                    if (std::string e = check(gpu(t, d, s, c), gpu(t, d, s, (c + 1) % layout.cp));
                        !e.empty()) {
                        return e;
                    }
                }
                if (s + 1 < layout.pp) {
                    if (std::string e = check(gpu(t, d, s), gpu(t, d, s + 1)); !e.empty()) {
                        return e;
                    }
                    if (std::string e = check(gpu(t, d, s + 1), gpu(t, d, s)); !e.empty()) {
                        return e;
                    }
                }
                for (int e2 = 0; e2 < layout.dp; ++e2) {
                    if (e2 != d) {
                        if (std::string e = check(gpu(t, d, s), gpu(t, e2, s)); !e.empty()) {
                            return e;
                        }
                    }
                }
            }
        }
    }
    return {};
}

std::vector<double> StragglerSweep::values() const {
    if (!(step > 0) || !std::isfinite(from) || !std::isfinite(to) || to < from) {
        throw UserError("a sweep needs FROM <= TO and STEP > 0");
    }
    if (kind == SweepKind::kFactor && (to > 1e6 || from < 1e-6)) {
        throw UserError("a factor sweep must stay between 1e-6 and 1e6 (the scenario limit)");
    }
    // Compared as a double first: (TO - FROM) / STEP can exceed every int64 (or be infinite).
    const double count_double = std::floor((to - from) / step + 1e-9) + 1;
    if (!(count_double <= 10000)) {
        throw ResourceLimitError("a sweep of more than 10000 points");
    }
    const auto count = static_cast<std::int64_t>(count_double);
    std::vector<double> out;
    for (std::int64_t i = 0; i < count; ++i) {
        out.push_back(from + static_cast<double>(i) * step);
    }
    return out;
}

SampleSummary summarize_samples(std::vector<double> samples) {
    SampleSummary summary;
    summary.count = static_cast<std::int64_t>(samples.size());
    if (samples.empty()) {
        return summary;
    }
    std::sort(samples.begin(), samples.end());
    const auto n = static_cast<double>(samples.size());
    const auto quantile = [&](double p) {
        const auto rank = static_cast<std::size_t>(std::max(1.0, std::ceil(p * n)));
        return samples[std::min(samples.size(), rank) - 1];
    };
    summary.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / n;
    summary.p50 = quantile(0.5);
    summary.p99 = quantile(0.99);
    summary.min = samples.front();
    summary.max = samples.back();
    return summary;
}

namespace {

/// Gaps and durations of slow episodes are cut to this: a gap this long means no further
/// episode within any step, and the cut keeps arrival times inside the step clock's 106 days
/// (a mean interval of 1e100 ms, a fuzz find, overflowed from_seconds).
constexpr double kEpisodeHorizon_s = 30 * 86400.0;

Time episode_time(double seconds) {
    return from_seconds(std::min(seconds, kEpisodeHorizon_s));
}

/// a + b (b >= 0), saturating at Time::max(), the clock's end: merged episodes of 30-day gaps
/// and durations marched past it (signed overflow at 90 + 30 days, a fuzz find).
Time later(Time a, Time b) {
    return a > Time::max() - b ? Time::max() : a + b;
}

/// Slow episodes of one rank, generated lazily in time order from the rank's stream.
class EpisodeTrack {
public:
    EpisodeTrack(std::uint64_t seed, const SlowEpisodes& spec)
        : stream_(seed)
        , mean_interval_s_(spec.mean_interval_s)
        , duration_(episode_time(spec.duration_s))
        , factor_(spec.factor) {
        next_arrival_ = episode_time(stream_.exponential(mean_interval_s_));
    }

    /// When `work` of undisturbed compute started at `start` ends: the rank progresses at
    /// 1/factor inside an episode.
    Time finish(Time start, Time work) {
        Time cursor = start;
        double remaining_s = to_seconds(work);
        while (true) {
            extend_past(cursor);
            // The last episode starts after cursor, so some episode ends after it.
            const auto [begin, end] = episodes_[first_ending_after(cursor)];
            if (cursor < begin) {
                const double free_s = to_seconds(begin - cursor);
                if (remaining_s <= free_s) {
                    return cursor + from_seconds(remaining_s);
                }
                remaining_s -= free_s;
                cursor = begin;
            }
            const double capacity_s = to_seconds(end - cursor) / factor_;
            if (remaining_s <= capacity_s) {
                return cursor + from_seconds(remaining_s * factor_);
            }
            remaining_s -= capacity_s;
            cursor = end;
        }
    }

private:
    std::size_t first_ending_after(Time t) const {
        const auto it = std::upper_bound(
            episodes_.begin(), episodes_.end(), t,
            [](Time value, const std::pair<Time, Time>& e) { return value < e.second; });
        return static_cast<std::size_t>(it - episodes_.begin());
    }

    /// Draws arrivals until an episode starts after `t` and the next arrival comes after the
    /// last episode ends (so every listed episode is final: no later arrival merges into it).
    void extend_past(Time t) {
        while (episodes_.empty() || episodes_.back().first <= t ||
               next_arrival_ <= episodes_.back().second) {
            const Time begin = next_arrival_;
            if (begin == Time::max()) {
                // The clock's end: no episode starts later. A last, empty one there keeps
                // "some episode starts after t" true for finish().
                episodes_.emplace_back(begin, begin);
                return;
            }
            const Time end = later(begin, duration_);
            if (!episodes_.empty() && begin <= episodes_.back().second) {
                episodes_.back().second = std::max(episodes_.back().second, end);
            } else {
                episodes_.emplace_back(begin, end);
            }
            next_arrival_ = later(begin, episode_time(stream_.exponential(mean_interval_s_)));
        }
    }

    RandomStream stream_;
    double mean_interval_s_;
    Time duration_;
    double factor_;
    Time next_arrival_{0};
    std::vector<std::pair<Time, Time>> episodes_;
};

/// The per-run state behind a perturbation's hook.
class RunState {
public:
    RunState(const Scenario& scenario, const TrainingJob& job, std::uint64_t run_seed)
        : layout_(job.layout)
        , world_(job.layout.world_size())
        , factor_(static_cast<std::size_t>(world_), 1.0)
        , jitter_seed_(static_cast<std::size_t>(world_), 0)
        , episode_(static_cast<std::size_t>(world_), -1) {
        for (const Slowdown& slowdown : scenario.slowdowns) {
            for (const std::int32_t rank : slowdown.ranks) {
                factor_.at(static_cast<std::size_t>(rank)) *= slowdown.compute_factor;
            }
        }
        if (scenario.random_stragglers && scenario.random_stragglers->count > 0) {
            const RandomStragglers& random = *scenario.random_stragglers;
            if (random.count > world_) {
                throw UserError(std::to_string(random.count) + " random stragglers among " +
                                std::to_string(world_) + " ranks");
            }
            RandomStream placement(stream_seed(run_seed, "stragglers/placement"));
            std::vector<std::int32_t> ranks(static_cast<std::size_t>(world_));
            std::iota(ranks.begin(), ranks.end(), 0);
            for (std::int64_t i = 0; i < random.count; ++i) {
                const auto left = static_cast<std::uint64_t>(world_ - i);
                const auto pick = static_cast<std::size_t>(i) + placement.uniform_int(left);
                std::swap(ranks[static_cast<std::size_t>(i)], ranks[pick]);
                factor_[static_cast<std::size_t>(ranks[static_cast<std::size_t>(i)])] *=
                    random.factor;
            }
        }
        const auto each_rank = [&](const std::vector<std::int32_t>& listed, auto&& fn) {
            if (listed.empty()) {
                for (std::int32_t r = 0; r < world_; ++r) {
                    fn(r);
                }
            } else {
                for (const std::int32_t r : listed) {
                    fn(r);
                }
            }
        };
        if (scenario.jitter) {
            jitter_ = *scenario.jitter;
            if (jitter_.distribution == JitterDistribution::kEmpirical) {
                const double sum =
                    std::accumulate(jitter_.multipliers.begin(), jitter_.multipliers.end(), 0.0);
                empirical_mean_ = sum / static_cast<double>(jitter_.multipliers.size());
            }
            each_rank(jitter_.ranks, [&](std::int32_t r) {
                jitter_seed_[static_cast<std::size_t>(r)] =
                    stream_seed(run_seed, "jitter/rank-" + std::to_string(r)) | 1U;
            });
        }
        if (scenario.episodes) {
            each_rank(scenario.episodes->ranks, [&](std::int32_t r) {
                episode_[static_cast<std::size_t>(r)] = static_cast<int>(tracks_.size());
                tracks_.push_back(std::make_unique<EpisodeTrack>(
                    stream_seed(run_seed, "episodes/rank-" + std::to_string(r)),
                    *scenario.episodes));
            });
        }
        // Per (replica, stage) TP × CP group: the largest persistent factor, and whether some
        // member draws jitter or has episodes. (A CP group, like a TP group, runs at its slowest
        // member: its ring steps and collectives wait for it.)
        const std::size_t groups = static_cast<std::size_t>(layout_.dp) * layout_.pp;
        group_factor_.assign(groups, 1.0);
        group_is_random_.assign(groups, false);
        for (int d = 0; d < layout_.dp; ++d) {
            for (int s = 0; s < layout_.pp; ++s) {
                const std::size_t g = group(d, s);
                for (const std::size_t r : group_ranks(d, s)) {
                    group_factor_[g] = std::max(group_factor_[g], factor_[r]);
                    if (jitter_seed_[r] != 0 || episode_[r] >= 0) {
                        group_is_random_[g] = true;
                    }
                }
            }
        }
    }

    Time duration(const ComputeTaskInfo& task, Time start, Time duration) {
        if (duration <= Time(0)) {
            return duration;
        }
        const std::size_t g = group(task.replica, task.stage);
        const double base_s = to_seconds(duration);
        if (!group_is_random_[g]) {
            return group_factor_[g] == 1.0 ? duration : from_seconds(base_s * group_factor_[g]);
        }
        Time longest{0};
        for (const std::size_t r : group_ranks(task.replica, task.stage)) {
            double work_s = base_s * factor_[r];
            if (jitter_seed_[r] != 0) {
                work_s *= multiplier(jitter_seed_[r], task.op_index);
            }
            const Time work = from_seconds(work_s);
            const Time end =
                episode_[r] >= 0
                    ? tracks_[static_cast<std::size_t>(episode_[r])]->finish(start, work)
                    : start + work;
            longest = std::max(longest, end - start);
        }
        return longest;
    }

    /// Per replica: whether its ranks differ from the symmetric ones, and a signature that
    /// equal persistent-only replicas share.
    std::vector<double> signature(int d) const {
        std::vector<double> out;
        for (int s = 0; s < layout_.pp; ++s) {
            out.push_back(group_factor_[group(d, s)]);
        }
        return out;
    }

    bool is_random(int d) const {
        for (int s = 0; s < layout_.pp; ++s) {
            if (group_is_random_[group(d, s)]) {
                return true;
            }
        }
        return false;
    }

private:
    std::size_t group(int d, int s) const {
        return static_cast<std::size_t>(d) * layout_.pp + static_cast<std::size_t>(s);
    }

    /// The ranks of replica d's stage s: its TP ranks times its CP ranks.
    std::vector<std::size_t> group_ranks(int d, int s) const {
        std::vector<std::size_t> ranks;
        for (int c = 0; c < layout_.cp; ++c) {
            for (int t = 0; t < layout_.tp; ++t) {
                ranks.push_back(static_cast<std::size_t>(rank_of(layout_, {t, d, s, c})));
            }
        }
        return ranks;
    }

    /// The jitter multiplier of one op on one rank: a stream keyed by (rank seed, op), so the
    /// same op draws the same multiplier whatever else the scenario changes.
    double multiplier(std::uint64_t seed, std::uint32_t op) const {
        const std::uint64_t key = jitter_.is_per_run ? 0 : op + std::uint64_t{1};
        RandomStream stream(splitmix64(seed ^ splitmix64(key + 0x9e3779b97f4a7c15ULL)));
        switch (jitter_.distribution) {
            case JitterDistribution::kLognormal:
                return jitter_.cv > 0 ? stream.lognormal_by_cv(1.0, jitter_.cv) : 1.0;
            case JitterDistribution::kGamma:
                return stream.gamma(jitter_.gamma_shape, 1.0 / jitter_.gamma_shape);
            case JitterDistribution::kEmpirical:
                return jitter_.multipliers[stream.uniform_int(jitter_.multipliers.size())] /
                       empirical_mean_;
        }
        return 1.0;
    }

    ParallelLayout layout_;
    int world_;
    std::vector<double> factor_;
    std::vector<std::uint64_t> jitter_seed_;
    std::vector<int> episode_;
    std::vector<std::unique_ptr<EpisodeTrack>> tracks_;
    ComputeJitter jitter_;
    double empirical_mean_ = 1;
    std::vector<double> group_factor_;
    std::vector<bool> group_is_random_;
};

void validate_scenario(const Scenario& scenario, const TrainingJob& job, const Topology& topology) {
    const int world = job.layout.world_size();
    const auto check_factor = [](double f, const std::string& what) {
        if (!(f > 0) || !std::isfinite(f)) {
            throw UserError(what + " factor must be > 0 and finite, got " + std::to_string(f));
        }
    };
    const auto check_ranks = [&](const std::vector<std::int32_t>& ranks, const std::string& what) {
        for (const std::int32_t r : ranks) {
            if (r < 0 || r >= world) {
                throw UserError(what + ": rank " + std::to_string(r) + " outside 0.." +
                                std::to_string(world - 1));
            }
        }
    };
    for (const Slowdown& s : scenario.slowdowns) {
        check_factor(s.compute_factor, s.element + " compute");
        check_factor(s.link_factor, s.element + " link");
        check_ranks(s.ranks, s.element);
        for (const std::uint32_t link : s.links) {
            if (link >= topology.link_count()) {
                throw UserError(s.element + ": unknown link " + std::to_string(link));
            }
        }
    }
    if (scenario.jitter) {
        const ComputeJitter& j = *scenario.jitter;
        check_ranks(j.ranks, "jitter");
        if (j.distribution == JitterDistribution::kLognormal &&
            (!(j.cv >= 0) || !std::isfinite(j.cv))) {
            throw UserError("jitter cv must be >= 0 and finite");
        }
        if (j.distribution == JitterDistribution::kGamma &&
            (!(j.gamma_shape >= 0.01) || !std::isfinite(j.gamma_shape))) {
            throw UserError("jitter gamma shape must be finite and at least 0.01 (cv <= 10)");
        }
        if (j.distribution == JitterDistribution::kEmpirical) {
            if (j.multipliers.empty()) {
                throw UserError("empirical jitter needs at least one multiplier");
            }
            for (const double m : j.multipliers) {
                check_factor(m, "jitter multiplier");
            }
        }
    }
    if (scenario.random_stragglers) {
        check_factor(scenario.random_stragglers->factor, "random straggler");
        if (scenario.random_stragglers->count < 0 || scenario.random_stragglers->count > world) {
            throw UserError("random straggler count must be in 0.." + std::to_string(world));
        }
    }
    if (scenario.episodes) {
        const SlowEpisodes& e = *scenario.episodes;
        check_factor(e.factor, "episode");
        check_ranks(e.ranks, "episodes");
        if (!(e.mean_interval_s > 0) || !std::isfinite(e.mean_interval_s) || !(e.duration_s >= 0) ||
            !std::isfinite(e.duration_s)) {
            throw UserError("episodes need a mean interval > 0 and a duration >= 0, both finite");
        }
    }
}

}  // namespace

StepPerturbation make_perturbation(const Scenario& scenario,
                                   const TrainingJob& job,
                                   const Topology& topology,
                                   std::uint64_t run_seed) {
    validate_scenario(scenario, job, topology);
    const ParallelLayout& layout = job.layout;
    auto state = std::make_shared<RunState>(scenario, job, run_seed);
    // Replicas touching an edited link: its hosts' GPUs; a fabric link touches every replica.
    std::vector<bool> has_link(static_cast<std::size_t>(layout.dp), false);
    std::set<std::int32_t> hosts;
    bool is_fabric = false;
    std::optional<int> timed_tp_rank;
    // The GPU at an end of a link, directly or through a NIC that links to one GPU.
    const auto gpu_behind = [&](NodeId node) -> std::optional<RankId> {
        if (const std::optional<RankId> rank = topology.rank_of(node)) {
            return rank;
        }
        if (topology.node(node).kind != NodeKind::kNic) {
            return std::nullopt;
        }
        std::optional<RankId> found;
        for (const LinkId id : topology.out_links(node)) {
            if (const std::optional<RankId> rank = topology.rank_of(topology.link(id).dst)) {
                if (found) {
                    return std::nullopt;
                }
                found = rank;
            }
        }
        return found;
    };
    for (const Slowdown& s : scenario.slowdowns) {
        if (s.link_factor == 1.0 && !s.is_link_down) {
            continue;
        }
        for (const std::uint32_t link : s.links) {
            const Link& l = topology.link(LinkId(link));
            const std::int32_t a = topology.node(l.src).host;
            const std::int32_t b = topology.node(l.dst).host;
            if (a < 0 && b < 0) {
                is_fabric = true;
            }
            for (const NodeId end : {l.src, l.dst}) {
                if (const std::optional<RankId> rank = gpu_behind(end); rank && !timed_tp_rank) {
                    timed_tp_rank = coordinates_of(layout, static_cast<int>(rank->value)).tp;
                }
            }
            if (a >= 0) {
                hosts.insert(a);
            }
            if (b >= 0) {
                hosts.insert(b);
            }
        }
    }
    for (int r = 0; r < layout.world_size(); ++r) {
        const std::int32_t host =
            topology.node(topology.gpu(RankId(static_cast<std::uint32_t>(r)))).host;
        if (is_fabric || hosts.count(host) != 0) {
            has_link[static_cast<std::size_t>(coordinates_of(layout, r).dp)] = true;
        }
    }
    StepPerturbation perturbation;
    perturbation.timed_tp_rank = timed_tp_rank.value_or(0);
    std::map<std::vector<double>, std::size_t> folded;
    const std::vector<double> symmetric(static_cast<std::size_t>(layout.pp), 1.0);
    for (int d = 0; d < layout.dp; ++d) {
        const bool is_unique = has_link[static_cast<std::size_t>(d)] || state->is_random(d);
        if (!is_unique) {
            const std::vector<double> signature = state->signature(d);
            if (const auto it = folded.find(signature); it != folded.end()) {
                ++perturbation.replica_weights[it->second];
                continue;
            }
            folded.emplace(signature, perturbation.replicas.size());
        }
        perturbation.replicas.push_back(d);
        perturbation.replica_weights.push_back(1);
    }
    bool is_disturbed = false;
    for (int d = 0; d < layout.dp && !is_disturbed; ++d) {
        is_disturbed = state->is_random(d) || state->signature(d) != symmetric;
    }
    if (is_disturbed) {
        perturbation.compute_duration = [state](const ComputeTaskInfo& task, Time start,
                                                Time duration) {
            return state->duration(task, start, duration);
        };
    }
    return perturbation;
}

}  // namespace stepsim
