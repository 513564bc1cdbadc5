// SPDX-License-Identifier: Apache-2.0
// File: fair_share_network.cc
// FairShareNetwork: max-min fair rates by progressive filling (Bertsekas & Gallager, Data
// Networks, 2nd ed., §6.5.2), recomputed over the flows whose rate a change can move (the
// whole connected component when it is small).
//
// Each transmitting flow keeps (remaining_bytes, rate_Bps, last_update) and one completion
// event at last_update + from_seconds(remaining_bytes / rate_Bps). When its rate changes, the
// bytes sent since last_update are subtracted, the old event is cancelled and a new one is
// scheduled. A flow whose rate does not change keeps its event, so a flow alone on its path
// ends at start + latency + serialization_time(S, bottleneck) exactly.
#include "fair_share_network.h"

#include "stepsim/error.h"

#include "event_tags.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

namespace stepsim {

using network::check_delay;
using network::check_transfer_size;
using network::event_tag;
using network::EventKind;
using network::moved_start;
using network::revision_of;
using network::schedule_local_transfer;

namespace {
// Min-heap order of the search by level on (level, link id), ties to the lower link id.
struct LevelAfter {
    template <class Entry>
    bool operator()(const Entry& a, const Entry& b) const {
        return a.level_Bps > b.level_Bps || (a.level_Bps == b.level_Bps && a.link > b.link);
    }
};

// Min-heap order on (share, link id): ties go to the lower link id, so the filling order and
// hence the rounding of every rate is deterministic.
struct HeapAfter {
    template <class Entry>
    bool operator()(const Entry& a, const Entry& b) const {
        return a.share_Bps > b.share_Bps || (a.share_Bps == b.share_Bps && a.link > b.link);
    }
};
}  // namespace

FairShareNetwork::FairShareNetwork(Simulator& sim,
                                   const Topology& topology,
                                   Router& router,
                                   Options options)
    : sim_(sim)
    , topology_(topology)
    , router_(router)
    , options_(options)
    , stats_(topology) {}

std::uint32_t FairShareNetwork::allocate_slot() {
    if (!free_slots_.empty()) {
        const std::uint32_t slot = free_slots_.back();
        free_slots_.pop_back();
        return slot;
    }
    flows_.emplace_back();
    flow_visit_.push_back(0);
    slot_rate_Bps_.push_back(0);
    hop_count_.push_back(0);
    hop_links_.resize(flows_.size() * hop_stride_);
    return static_cast<std::uint32_t>(flows_.size() - 1);
}

void FairShareNetwork::set_hops(std::uint32_t slot, const std::vector<LinkId>& links) {
    if (links.size() > hop_stride_) {
        // A longer route than any so far: widen every slot's row.
        const std::size_t stride = std::max(links.size(), 2 * hop_stride_);
        std::vector<std::uint32_t> wider(flows_.size() * stride);
        for (std::size_t other = 0; other < flows_.size(); ++other) {
            std::copy_n(hop_links_.begin() + static_cast<std::ptrdiff_t>(other * hop_stride_),
                        hop_count_[other],
                        wider.begin() + static_cast<std::ptrdiff_t>(other * stride));
        }
        hop_links_ = std::move(wider);
        hop_stride_ = stride;
    }
    std::uint32_t* row = hop_links_.data() + slot * hop_stride_;
    for (std::size_t i = 0; i < links.size(); ++i) {
        row[i] = static_cast<std::uint32_t>(links[i].index());
    }
    hop_count_[slot] = static_cast<std::uint32_t>(links.size());
}

void FairShareNetwork::ensure_links() {
    if (links_.size() < topology_.link_count()) {
        const std::size_t first = links_.size();
        links_.resize(topology_.link_count());
        link_visit_.resize(topology_.link_count(), 0);
        link_done_.resize(topology_.link_count(), 0);
        link_changed_.resize(topology_.link_count(), 0);
        link_level_Bps_.resize(topology_.link_count(), 0);
        link_joined_.resize(topology_.link_count(), 0);
        link_departed_Bps_.resize(topology_.link_count(), 0);
        link_departed_max_Bps_.resize(topology_.link_count(), 0);
        for (std::size_t l = first; l < links_.size(); ++l) {
            links_[l].bandwidth_Bps =
                topology_.link(LinkId(static_cast<std::uint32_t>(l))).bandwidth_Bps;
        }
    }
}

TransferId FairShareNetwork::start_transfer_after(Time delay,
                                                  NodeId src,
                                                  NodeId dst,
                                                  std::int64_t size_bytes,
                                                  Callback on_done,
                                                  std::uint64_t flow_label,
                                                  StartGate gate) {
    check_transfer_size(size_bytes);
    check_delay(delay);
    const TransferId id{next_transfer_id_++};
    if (src == dst) {
        schedule_local_transfer(sim_, active_transfers_, id, std::move(on_done), delay, gate);
        return id;
    }
    const Route& route = router_.route(src, dst, flow_label);
    const Time start = checked_add(delay, route.latency);
    STEPSIM_CHECK(!route.links.empty(), "empty route between distinct nodes");
    ensure_links();

    const std::uint32_t slot = allocate_slot();
    Flow& flow = flows_[slot];
    flow.id = id;
    flow.links.assign(route.links.begin(), route.links.end());
    flow.positions.assign(flow.links.size(), 0);
    set_hops(slot, flow.links);
    flow.size_bytes = size_bytes;
    flow.remaining_bytes = static_cast<double>(size_bytes);
    flow.rate_Bps = 0;
    flow.last_update = sim_.now();
    flow.completion = EventId{};
    flow.on_done = std::move(on_done);
    flow.is_transmitting = false;
    flow.gate = gate;
    flow.gate_revision = revision_of(gate);
    flow.latency = route.latency;
    ++active_transfers_;

    if (size_bytes == 0) {
        // Latency only: the flow never transmits and never takes a share.
        flow.completion = sim_.schedule_in(
            start, [this, slot] { complete(slot); }, Priority::kDefault,
            event_tag(EventKind::kTransferDone, id));
    } else {
        // kLow: a flow ending at this tick (kDefault) is gone before this one starts.
        sim_.schedule_in(
            start, [this, slot] { begin_transmission(slot); }, Priority::kLow,
            event_tag(EventKind::kTransmissionStart, id));
    }
    return id;
}

void FairShareNetwork::begin_transmission(std::uint32_t slot) {
    ensure_links();
    Flow& flow = flows_[slot];
    if (const Time moved = moved_start(flow.gate, flow.gate_revision); moved != kNever) {
        const Time at = checked_add(moved, flow.latency);
        if (at > sim_.now()) {
            sim_.schedule_at(
                at, [this, slot] { begin_transmission(slot); }, Priority::kLow,
                event_tag(EventKind::kTransmissionStart, flow.id));
            return;
        }
    }
    flow.is_transmitting = true;
    flow.last_update = sim_.now();
    bool is_alone = true;
    double narrowest_Bps = std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < flow.links.size(); ++i) {
        const std::uint32_t link = static_cast<std::uint32_t>(flow.links[i].index());
        LinkState& state = links_[link];
        flow.positions[i] = static_cast<std::uint32_t>(state.flows.size());
        state.flows.push_back(slot);
        stats_.flow_started(flow.links[i], sim_.now());
        is_alone = is_alone && state.flows.size() == 1;
        narrowest_Bps = std::min(narrowest_Bps, state.bandwidth_Bps);
    }
    if (is_alone && options_.is_incremental) {
        // Alone on its links: its max-min rate is the narrowest bandwidth, and no other rate
        // changes, so no re-sharing is needed. A flow joining one of these links later at
        // this tick marks the link dirty, and that re-sharing recomputes this rate too.
        STEPSIM_CHECK(narrowest_Bps > 0, "a link of the flow has no capacity");
        flow.rate_Bps = narrowest_Bps;
        slot_rate_Bps_[slot] = narrowest_Bps;
        schedule_completion(slot);
        return;
    }
    // No rate yet: above every threshold, so the re-sharing always includes it.
    slot_rate_Bps_[slot] = std::numeric_limits<double>::infinity();
    added_flows_.push_back(slot);
    // Its links are seeded from added_flows_ when the re-sharing runs (the level needs the
    // flow counts of that tick); this only schedules it.
    mark_dirty(static_cast<std::uint32_t>(flow.links.front().index()), kNoLevel);
}

void FairShareNetwork::schedule_completion(std::uint32_t slot) {
    Flow& flow = flows_[slot];
    const Time finish = checked_add(sim_.now(), from_seconds(flow.remaining_bytes / flow.rate_Bps));
    flow.completion = sim_.schedule_at(
        finish, [this, slot] { complete(slot); }, Priority::kDefault,
        event_tag(EventKind::kTransferDone, flow.id));
}

void FairShareNetwork::complete(std::uint32_t slot) {
    Flow& flow = flows_[slot];
    if (!flow.is_transmitting) {
        // A flow of zero bytes completes at its start, which its gate may have moved.
        if (const Time moved = moved_start(flow.gate, flow.gate_revision); moved != kNever) {
            const Time at = checked_add(moved, flow.latency);
            if (at > sim_.now()) {
                flow.completion = sim_.schedule_at(
                    at, [this, slot] { complete(slot); }, Priority::kDefault,
                    event_tag(EventKind::kTransferDone, flow.id));
                return;
            }
        }
    }
    for (std::size_t i = 0; i < flow.links.size(); ++i) {
        stats_.add_bytes(flow.links[i], flow.size_bytes);
        if (!flow.is_transmitting) {
            continue;
        }
        const std::uint32_t link = static_cast<std::uint32_t>(flow.links[i].index());
        LinkState& state = links_[link];
        // Swap-and-pop; the moved flow's position on this link is updated.
        const std::uint32_t position = flow.positions[i];
        const std::uint32_t moved = state.flows.back();
        state.flows[position] = moved;
        state.flows.pop_back();
        if (moved != slot) {
            Flow& other = flows_[moved];
            for (std::size_t j = 0; j < other.links.size(); ++j) {
                if (other.links[j].index() == link && other.positions[j] == state.flows.size()) {
                    other.positions[j] = position;
                    break;
                }
            }
        }
        stats_.flow_finished(flow.links[i], sim_.now());
        // A link left without flows changes no rate: re-sharing it would find nothing.
        if (!state.flows.empty()) {
            // Saturation below the departing flow's rate does not move (collect_component()).
            mark_dirty(link, flow.rate_Bps);
        }
    }
    Callback done = std::move(flow.on_done);
    flow.on_done = nullptr;
    flow.is_transmitting = false;
    flow.completion = EventId{};
    free_slots_.push_back(slot);
    --active_transfers_;
    if (done) {
        done();
    }
}

void FairShareNetwork::mark_dirty(std::uint32_t link, double level_Bps) {
    if (level_Bps != kNoLevel) {
        dirty_links_.push_back({level_Bps, link});
    }
    if (!is_resharing_scheduled_) {
        is_resharing_scheduled_ = true;
        // kLast: every start and end at this tick is in before the rates are recomputed.
        sim_.schedule_in(
            Time{0}, [this] { reshare(); }, Priority::kLast, event_tag(EventKind::kResharing));
    }
}

void FairShareNetwork::refresh_link(LinkId id) {
    if (!id.is_valid() || id.index() >= topology_.link_count()) {
        throw InternalError("refresh_link: link id " + std::to_string(id.value) +
                            " is not a link of the topology");
    }
    ensure_links();
    links_[id.index()].bandwidth_Bps = topology_.link(id).bandwidth_Bps;
    if (!links_[id.index()].flows.empty()) {
        // Any rate on the link may move.
        mark_dirty(static_cast<std::uint32_t>(id.index()), 0.0);
    }
}

void FairShareNetwork::reshare() {
    is_resharing_scheduled_ = false;
    ++epoch_;
    ++resharing_count_;
    fill_ = Fill::kWhole;
    component_links_.clear();
    component_flows_.clear();
    if (!options_.is_incremental) {
        collect_everything();
    } else if (options_.is_search_by_level_forced ||
               !collect_plain_component(kSmallComponentFlows)) {
        // Too large for the plain search to be cheap: the search by level takes in only the
        // flows whose rate can move (a few, in a symmetric collective as in random traffic),
        // and fill_in_step() re-solves them in step with the rest of the component.
        restart_search();
        collect_component();
    }
    flows_reshared_ += component_flows_.size();
    if (fill_ == Fill::kInStep) {
        fill_in_step();
        if (options_.is_cross_checked) {
            cross_check();
        }
    } else {
        progressive_filling();
    }
    dirty_links_.clear();
    added_flows_.clear();
    apply_rates();
}

void FairShareNetwork::restart_search() {
    fill_ = Fill::kWhole;
    ++epoch_;
    component_links_.clear();
    component_flows_.clear();
}

// The connected component of the change (link -> flows on it -> their links -> ...), if it
// has at most `max_flows` flows: flows outside it share no link, even transitively, with the
// change, so they keep their rates. For a small component this plain search is cheaper than
// the one by level below; false (and a partial search) when it is larger.
bool FairShareNetwork::collect_plain_component(std::size_t max_flows) {
    for (const LevelEntry& dirty : dirty_links_) {
        if (link_visit_[dirty.link] != epoch_) {
            link_visit_[dirty.link] = epoch_;
            component_links_.push_back(dirty.link);
        }
    }
    for (const std::uint32_t slot : added_flows_) {
        for (const std::uint32_t index : hops_of(slot)) {
            if (link_visit_[index] != epoch_) {
                link_visit_[index] = epoch_;
                component_links_.push_back(index);
            }
        }
    }
    for (std::size_t next = 0; next < component_links_.size(); ++next) {
        const std::uint32_t link = component_links_[next];
        for (const std::uint32_t slot : links_[link].flows) {
            if (flow_visit_[slot] == epoch_) {
                continue;
            }
            if (component_flows_.size() == max_flows) {
                return false;
            }
            flow_visit_[slot] = epoch_;
            component_flows_.push_back(slot);
            for (const std::uint32_t index : hops_of(slot)) {
                if (link_visit_[index] != epoch_) {
                    link_visit_[index] = epoch_;
                    component_links_.push_back(index);
                }
            }
        }
    }
    return true;
}

// Which rates can move, and which cannot. Progressive filling raises every rate together; a
// link saturates at the level s_l where sum over its flows of min(rate, s_l) reaches its
// bandwidth, and a flow's rate is the lowest saturation level of its links. So a link's
// saturation level can only move if the contribution min(rate, x) of one of its flows moves
// at some x below it, i.e. from the level min(old rate, new rate) of a flow whose rate moves
// (from the departing flow's old rate, from a joining flow's new rate, from 0 after a
// bandwidth change), and a flow whose old rate lies below that level on all its links keeps
// it. The search below propagates these levels in increasing order (Dijkstra): a link
// reached at level d takes in every flow on it whose old rate is at least d; such a flow can
// only differ from level max(d, min(old rate, lower bound of its new rate)) on, which its
// other links inherit. The lower bound is the equal split, min over its links of
// bandwidth / flows: on the link where a flow is a bottleneck it has the largest rate of a
// saturated link. A link whose flows all kept their place (none joined or left, same
// bandwidth) and that is reached at the very level it saturated at (full, its largest rate
// equal to the level) stops the search: below that level none of its contributions moves, at
// it the sum is still its bandwidth, so it still saturates there and no rate moves through it.
// That is what keeps a symmetric collective's re-sharing local (all rates equal, every full
// link saturated at that one rate). The flows taken in are re-solved in step with the others
// (fill_in_step()); the others keep their rates and completion events. Without the levels
// this is the connected component of the change: rates that are lower than a change shield
// the flows behind them. A link that only lost flows saturates no lower than before: it
// takes the threshold of an unchanged link computed on its load and largest rate from before
// the departures. Comparisons of rates with a threshold allow kFullTolerance of rounding,
// toward taking flows in.
void FairShareNetwork::collect_component() {
    fill_ = Fill::kInStep;
    level_heap_.clear();
    // Links that only lost flows keep the rates of those (their old load and largest rate);
    // a link that gained a flow or changed bandwidth is marked joined.
    for (const LevelEntry& dirty : dirty_links_) {
        if (link_changed_[dirty.link] != epoch_) {
            link_changed_[dirty.link] = epoch_;
            link_departed_Bps_[dirty.link] = 0;
            link_departed_max_Bps_[dirty.link] = 0;
        }
        if (dirty.level_Bps > 0) {
            link_departed_Bps_[dirty.link] += dirty.level_Bps;
            link_departed_max_Bps_[dirty.link] =
                std::max(link_departed_max_Bps_[dirty.link], dirty.level_Bps);
        } else {
            link_joined_[dirty.link] = epoch_;
        }
    }
    for (const std::uint32_t slot : added_flows_) {
        for (const std::uint32_t link : hops_of(slot)) {
            link_changed_[link] = epoch_;
            link_joined_[link] = epoch_;
        }
    }
    for (const LevelEntry& dirty : dirty_links_) {
        reach_link(dirty.link, dirty.level_Bps);
    }
    for (const std::uint32_t slot : added_flows_) {
        const Flow& flow = flows_[slot];
        if (flow.is_transmitting && !flow.completion.is_valid() && flow_visit_[slot] != epoch_) {
            take_in(slot, equal_split_Bps(slot));
        }
    }
    while (!level_heap_.empty()) {
        std::pop_heap(level_heap_.begin(), level_heap_.end(), LevelAfter{});
        const LevelEntry entry = level_heap_.back();
        level_heap_.pop_back();
        if (link_done_[entry.link] == epoch_ || entry.level_Bps != link_level_Bps_[entry.link]) {
            continue;  // reached again at a lower level since this entry
        }
        link_done_[entry.link] = epoch_;
        const double threshold_Bps = entry_threshold_Bps(entry);
        if (threshold_Bps == std::numeric_limits<double>::infinity()) {
            continue;  // no rate moves through it
        }
        // The marks, rates and levels live in their own dense arrays: the search touches a
        // word per flow and per link instead of a cache line of each one's state.
        for (const std::uint32_t slot : links_[entry.link].flows) {
            const double rate_Bps = slot_rate_Bps_[slot];
            if (flow_visit_[slot] == epoch_ || rate_Bps < threshold_Bps * (1 - kFullTolerance)) {
                continue;
            }
            take_in(slot, std::max(entry.level_Bps, std::min(rate_Bps, equal_split_Bps(slot))));
        }
    }
}

// The rate from which a flow of a link reached at `entry.level_Bps` may be affected through
// it: min(old saturation level, new saturation level) of the link, at least the level. A link
// whose flows all kept their place on it (no flow joined or left, same bandwidth) saturated at
// its largest rate if it was full, never if it had room. Its new saturation level is at least
// the equal split of what the flows that cannot change (below the level and outside the
// search) leave: (bandwidth - their rates) / the others.
double FairShareNetwork::entry_threshold_Bps(const LevelEntry& entry) const {
    const bool is_changed = link_changed_[entry.link] == epoch_;
    if (is_changed && link_joined_[entry.link] == epoch_) {
        return entry.level_Bps;
    }
    const LinkState& state = links_[entry.link];
    double load_Bps = 0;
    double largest_Bps = 0;
    double fixed_Bps = 0;
    std::uint32_t others = 0;
    for (const std::uint32_t slot : state.flows) {
        const double rate_Bps = slot_rate_Bps_[slot];
        load_Bps += rate_Bps;
        largest_Bps = std::max(largest_Bps, rate_Bps);
        if (flow_visit_[slot] != epoch_ && rate_Bps < entry.level_Bps) {
            fixed_Bps += rate_Bps;
        } else {
            ++others;
        }
    }
    constexpr double kInfinity = std::numeric_limits<double>::infinity();
    if (is_changed) {
        // Flows only left it: as it was before, with their rates.
        load_Bps += link_departed_Bps_[entry.link];
        largest_Bps = std::max(largest_Bps, link_departed_max_Bps_[entry.link]);
    }
    // Full to within rounding counts as full: that errs toward re-solving more flows.
    const double old_level_Bps =
        load_Bps >= state.bandwidth_Bps * (1 - kFullTolerance) ? largest_Bps : kInfinity;
    if (!is_changed && load_Bps >= state.bandwidth_Bps * (1 - kPinnedTolerance) &&
        largest_Bps <= entry.level_Bps) {
        // Saturated at the level it is reached at, and no contribution min(rate, x) of its
        // flows moves at or below that level: it still saturates there, so no rate moves
        // through it.
        return kInfinity;
    }
    const double new_bound_Bps =
        others > 0 ? (state.bandwidth_Bps - fixed_Bps) / static_cast<double>(others) : kInfinity;
    return std::max(entry.level_Bps, std::min(old_level_Bps, new_bound_Bps));
}

double FairShareNetwork::equal_split_Bps(std::uint32_t slot) const {
    double split_Bps = std::numeric_limits<double>::infinity();
    for (const std::uint32_t link : hops_of(slot)) {
        const LinkState& state = links_[link];
        split_Bps =
            std::min(split_Bps, state.bandwidth_Bps / static_cast<double>(state.flows.size()));
    }
    return split_Bps;
}

void FairShareNetwork::take_in(std::uint32_t slot, double level_Bps) {
    flow_visit_[slot] = epoch_;
    component_flows_.push_back(slot);
    for (const std::uint32_t link : hops_of(slot)) {
        reach_link(link, level_Bps);
    }
}

void FairShareNetwork::reach_link(std::uint32_t link, double level_Bps) {
    if (link_visit_[link] != epoch_) {
        link_visit_[link] = epoch_;
        component_links_.push_back(link);
    } else if (link_done_[link] == epoch_ || level_Bps >= link_level_Bps_[link]) {
        return;
    }
    link_level_Bps_[link] = level_Bps;
    level_heap_.push_back({level_Bps, link});
    std::push_heap(level_heap_.begin(), level_heap_.end(), LevelAfter{});
}

void FairShareNetwork::collect_everything() {
    for (std::size_t link = 0; link < links_.size(); ++link) {
        if (!links_[link].flows.empty()) {
            link_visit_[link] = epoch_;
            component_links_.push_back(static_cast<std::uint32_t>(link));
        }
    }
    for (std::size_t slot = 0; slot < flows_.size(); ++slot) {
        if (flows_[slot].is_transmitting) {
            flow_visit_[slot] = epoch_;
            component_flows_.push_back(static_cast<std::uint32_t>(slot));
        }
    }
}

// Progressive filling: all unfrozen rates rise together; the link whose fair share
// capacity_left / unfrozen is smallest saturates first, its unfrozen flows freeze at that
// share, and their rates are taken off every link they cross. Shares only grow as flows
// freeze (a frozen rate is at most the share of each link it crosses). The first levels are
// found by scanning the links still filling (below); the rest with a heap whose entries are
// lower bounds of their links' shares: a link whose flows froze since its entry was pushed
// is recomputed only when that stale entry reaches the top (lazy decrease-key), one push per
// stale pop instead of one per link touched. Both orders are exact in real arithmetic; in
// floating point they can differ from an eager heap in the last bits of a rate.
void FairShareNetwork::progressive_filling() {
    // Whole components: each link starts at its bandwidth, with all its flows unfrozen.
    active_links_.clear();
    for (const std::uint32_t link : component_links_) {
        LinkState& state = links_[link];
        state.capacity_left_Bps = state.bandwidth_Bps;
        state.unfrozen = static_cast<std::uint32_t>(state.flows.size());
        state.version = 0;
        if (state.unfrozen > 0) {
            active_links_.push_back(link);
        }
    }
    if (component_flows_.size() == 1) {
        // A flow alone in its component: its rate is the narrowest capacity left, the value
        // the filling below would reach (every share is capacity_left / 1).
        Flow& flow = flows_[component_flows_.front()];
        double rate_Bps = std::numeric_limits<double>::infinity();
        for (const LinkId crossed : flow.links) {
            rate_Bps = std::min(rate_Bps, links_[crossed.index()].capacity_left_Bps);
        }
        STEPSIM_CHECK(rate_Bps > 0, "a link of the flow has no capacity");
        flow.frozen_mark = epoch_;
        flow.new_rate_Bps = rate_Bps;
        return;
    }
    // Level by level while few levels have been seen: each round finds the lowest share with
    // one scan of the links still filling and saturates every link at that level together.
    // Collectives on a fabric of equal links have a handful of levels, and a scan is much
    // cheaper than a heap of all the component's links. Past kMaxLevelRounds levels the
    // filling goes on with the heap below, which costs O(log L) per level.
    constexpr int kMaxLevelRounds = 48;
    for (int round = 0; round < kMaxLevelRounds && !active_links_.empty(); ++round) {
        double level_Bps = std::numeric_limits<double>::infinity();
        for (const std::uint32_t link : active_links_) {
            const LinkState& state = links_[link];
            level_Bps = std::min(level_Bps, share_of(state));
        }
        STEPSIM_CHECK(level_Bps > 0, "a link has no capacity left for its flows");
        for (const std::uint32_t link : active_links_) {
            LinkState& state = links_[link];
            // Shares at the level saturate now; a share above it only grows as flows freeze.
            if (state.unfrozen > 0 && share_of(state) <= level_Bps) {
                freeze_flows_of(state, level_Bps);
            }
        }
        std::erase_if(active_links_,
                      [this](std::uint32_t link) { return links_[link].unfrozen == 0; });
    }
    heap_.clear();
    for (const std::uint32_t link : active_links_) {
        const LinkState& state = links_[link];
        heap_.push_back({share_of(state), link, state.version});
    }
    std::make_heap(heap_.begin(), heap_.end(), HeapAfter{});
    while (!heap_.empty()) {
        std::pop_heap(heap_.begin(), heap_.end(), HeapAfter{});
        const HeapEntry entry = heap_.back();
        heap_.pop_back();
        LinkState& bottleneck = links_[entry.link];
        if (bottleneck.unfrozen == 0) {
            continue;
        }
        if (entry.version != bottleneck.version) {
            // Stale: some of its flows froze since. Push its current share back.
            heap_.push_back({share_of(bottleneck), entry.link, bottleneck.version});
            std::push_heap(heap_.begin(), heap_.end(), HeapAfter{});
            continue;
        }
        const double share_Bps = entry.share_Bps;
        STEPSIM_CHECK(share_Bps > 0,
                      "link " + std::to_string(entry.link) + " has no capacity left for its flows");
        freeze_flows_of(bottleneck, share_Bps);
    }
}

// Progressive filling of the flows found by collect_component(), in step with the filling of
// their whole component: on each link the other flows' rates (kept) come off at their own
// level, in increasing order, as the whole filling takes them off level by level. Each level
// is the lowest of the links' shares and of the other rates not yet taken off; at it, a link
// whose share is there saturates (its flows of the subset take the level), then the other
// rates at the level come off. A link thus subtracts the same rates in the same order as the
// refill of its component would, rather than all the kept rates first. The result is the
// max-min allocation in real arithmetic; in floating point a rate can differ from the refill's
// in its last bits, because the refill's rounding depends on the order of its links within a
// level (Options::is_cross_checked measures it).
void FairShareNetwork::fill_in_step() {
    active_links_.clear();
    outside_rates_Bps_.clear();
    for (const std::uint32_t link : component_links_) {
        links_[link].inside = 0;
    }
    for (const std::uint32_t slot : component_flows_) {
        for (const std::uint32_t link : hops_of(slot)) {
            ++links_[link].inside;
        }
    }
    // Only the links of the subset take part; the others' rates come off in increasing order.
    for (const std::uint32_t link : component_links_) {
        LinkState& state = links_[link];
        if (state.inside == 0) {
            continue;
        }
        state.capacity_left_Bps = state.bandwidth_Bps;
        state.unfrozen = static_cast<std::uint32_t>(state.flows.size());
        const auto begin = static_cast<std::uint32_t>(outside_rates_Bps_.size());
        if (state.inside < state.unfrozen) {
            for (const std::uint32_t slot : state.flows) {
                if (flow_visit_[slot] != epoch_) {
                    outside_rates_Bps_.push_back(slot_rate_Bps_[slot]);
                }
            }
            std::sort(outside_rates_Bps_.begin() + begin, outside_rates_Bps_.end());
        }
        state.outside_next = begin;
        state.outside_end = static_cast<std::uint32_t>(outside_rates_Bps_.size());
        active_links_.push_back(link);
    }
    // The next level of a link: its share, or the next other rate to come off if lower.
    const auto next_level_Bps = [this](const LinkState& state) {
        return state.outside_next < state.outside_end
                   ? std::min(share_of(state), outside_rates_Bps_[state.outside_next])
                   : share_of(state);
    };
    // At `level_Bps`: the link saturates if its share is there, then the other rates at the
    // level come off.
    const auto settle = [this](LinkState& state, double level_Bps) {
        if (state.inside > 0 && share_of(state) <= level_Bps) {
            freeze_inside_flows_of(state, level_Bps);
        }
        while (state.outside_next < state.outside_end &&
               outside_rates_Bps_[state.outside_next] <= level_Bps) {
            state.capacity_left_Bps -= outside_rates_Bps_[state.outside_next];
            --state.unfrozen;
            ++state.outside_next;
        }
    };
    // Round by round while each round retires a good part of the links (a symmetric
    // collective: many links saturate at each of a few levels; as progressive_filling()),
    // then with a heap of the links' next levels (random traffic: many levels, a few links
    // each), each entry a lower bound: a stale entry is recomputed when it reaches the top.
    constexpr int kMaxLevelRounds = 48;
    constexpr std::size_t kRetiredFraction = 8;  // at least 1/8 of the links per round
    bool is_retiring = true;
    for (int round = 0; round < kMaxLevelRounds && is_retiring && !active_links_.empty(); ++round) {
        double level_Bps = std::numeric_limits<double>::infinity();
        for (const std::uint32_t link : active_links_) {
            level_Bps = std::min(level_Bps, next_level_Bps(links_[link]));
        }
        STEPSIM_CHECK(level_Bps > 0, "a link has no capacity left for its flows");
        for (const std::uint32_t link : active_links_) {
            settle(links_[link], level_Bps);
        }
        const std::size_t before = active_links_.size();
        std::erase_if(active_links_,
                      [this](std::uint32_t link) { return links_[link].inside == 0; });
        is_retiring = (before - active_links_.size()) * kRetiredFraction >= before;
    }
    // In the heap a link's key is its share once the other rates below it have come off
    // (ascending, as they would level by level: none of its flows of the subset freezes
    // below its share, and a rate below the share is below its saturation level). A link
    // thus enters the heap once per change of its subset's flows, not once per other rate.
    const auto share_after_others_Bps = [this](LinkState& state) {
        while (state.outside_next < state.outside_end &&
               outside_rates_Bps_[state.outside_next] < share_of(state)) {
            state.capacity_left_Bps -= outside_rates_Bps_[state.outside_next];
            --state.unfrozen;
            ++state.outside_next;
        }
        return share_of(state);
    };
    heap_.clear();
    for (const std::uint32_t link : active_links_) {
        LinkState& state = links_[link];
        state.version = 0;
        heap_.push_back({share_after_others_Bps(state), link, 0});
    }
    std::make_heap(heap_.begin(), heap_.end(), HeapAfter{});
    while (!heap_.empty()) {
        std::pop_heap(heap_.begin(), heap_.end(), HeapAfter{});
        const HeapEntry entry = heap_.back();
        heap_.pop_back();
        LinkState& state = links_[entry.link];
        if (state.inside == 0) {
            continue;
        }
        if (entry.version != state.version) {
            // Stale: flows of the subset froze on it since. Its share only grew.
            heap_.push_back({share_after_others_Bps(state), entry.link, state.version});
            std::push_heap(heap_.begin(), heap_.end(), HeapAfter{});
            continue;
        }
        STEPSIM_CHECK(entry.share_Bps > 0,
                      "link " + std::to_string(entry.link) + " has no capacity left for its flows");
        freeze_inside_flows_of(state, entry.share_Bps);
    }
}

void FairShareNetwork::freeze_inside_flows_of(LinkState& bottleneck, double share_Bps) {
    for (const std::uint32_t slot : bottleneck.flows) {
        Flow& flow = flows_[slot];
        if (flow_visit_[slot] != epoch_ || flow.frozen_mark == epoch_) {
            continue;
        }
        flow.frozen_mark = epoch_;
        flow.new_rate_Bps = share_Bps;
        for (const std::uint32_t crossed : hops_of(slot)) {
            LinkState& state = links_[crossed];
            state.capacity_left_Bps -= share_Bps;
            --state.unfrozen;
            --state.inside;
            ++state.version;
        }
    }
}

// The whole component is refilled from scratch (as with Options::is_incremental = false on
// it) and every flow's rate compared with the subset's result, or with its kept rate for the
// flows outside the subset; then the subset's rates are restored, so the run goes on exactly
// as without the check.
void FairShareNetwork::cross_check() {
    checked_rates_.clear();
    for (const std::uint32_t slot : component_flows_) {
        checked_rates_.emplace_back(slot, flows_[slot].new_rate_Bps);
    }
    std::sort(checked_rates_.begin(), checked_rates_.end());
    restart_search();
    collect_plain_component(std::numeric_limits<std::size_t>::max());
    progressive_filling();
    ++cross_checks_;
    for (const std::uint32_t slot : component_flows_) {
        const auto found = std::lower_bound(checked_rates_.begin(), checked_rates_.end(),
                                            std::make_pair(slot, -1.0));
        const bool is_in_subset = found != checked_rates_.end() && found->first == slot;
        const double rate_Bps = is_in_subset ? found->second : slot_rate_Bps_[slot];
        const double full_Bps = flows_[slot].new_rate_Bps;
        if (rate_Bps != full_Bps) {
            ++cross_check_mismatches_;
            cross_check_max_relative_ =
                std::max(cross_check_max_relative_,
                         std::abs(rate_Bps - full_Bps) / std::max(rate_Bps, full_Bps));
        }
    }
    // Back to the subset's result (apply_rates() reads component_flows_ and new_rate_Bps).
    component_flows_.clear();
    for (const auto& [slot, rate_Bps] : checked_rates_) {
        component_flows_.push_back(slot);
        flows_[slot].new_rate_Bps = rate_Bps;
        flows_[slot].frozen_mark = epoch_;
    }
}

// The link saturates at `share_Bps`: its unfrozen flows take that rate, which comes off every
// link they cross.
void FairShareNetwork::freeze_flows_of(LinkState& bottleneck, double share_Bps) {
    for (const std::uint32_t slot : bottleneck.flows) {
        Flow& flow = flows_[slot];
        if (flow_visit_[slot] != epoch_ || flow.frozen_mark == epoch_) {
            continue;  // outside the component (its rate stays), or frozen already
        }
        flow.frozen_mark = epoch_;
        flow.new_rate_Bps = share_Bps;
        for (const std::uint32_t crossed : hops_of(slot)) {
            LinkState& state = links_[crossed];
            state.capacity_left_Bps -= share_Bps;
            --state.unfrozen;
            ++state.version;
        }
    }
    STEPSIM_CHECK(bottleneck.unfrozen == 0, "bottleneck link left unfrozen flows");
}

// New rates take effect at now(): bytes sent at the old rate are subtracted and the
// completion is rescheduled. Flows are handled in transfer-id order so that completions
// falling on the same tick fire in a canonical order.
void FairShareNetwork::apply_rates() {
    // Only the flows whose rate changed (or that have no completion yet) are rescheduled;
    // sorting just those keeps the canonical order at a fraction of the cost.
    changed_flows_.clear();
    for (const std::uint32_t slot : component_flows_) {
        const Flow& flow = flows_[slot];
        STEPSIM_CHECK(flow.frozen_mark == epoch_, "flow left without a rate");
        if (flow.new_rate_Bps != flow.rate_Bps || !flow.completion.is_valid()) {
            changed_flows_.push_back(slot);
        }
    }
    std::sort(changed_flows_.begin(), changed_flows_.end(),
              [this](std::uint32_t a, std::uint32_t b) { return flows_[a].id < flows_[b].id; });
    const Time now = sim_.now();
    for (const std::uint32_t slot : changed_flows_) {
        Flow& flow = flows_[slot];
        if (flow.rate_Bps > 0) {
            flow.remaining_bytes -= flow.rate_Bps * to_seconds(now - flow.last_update);
            // Completion times are rounded to the tick, so a flow can be up to half a tick
            // of bytes ahead of or behind its fluid trajectory; never below zero.
            flow.remaining_bytes = std::max(flow.remaining_bytes, 0.0);
        }
        flow.last_update = now;
        flow.rate_Bps = flow.new_rate_Bps;
        slot_rate_Bps_[slot] = flow.rate_Bps;
        if (flow.completion.is_valid()) {
            sim_.cancel(flow.completion);
        }
        schedule_completion(slot);
    }
}

std::vector<FairShareNetwork::FlowState> FairShareNetwork::transmitting_flows() const {
    std::vector<FlowState> result;
    for (const Flow& flow : flows_) {
        if (flow.is_transmitting) {
            result.push_back({flow.id, flow.rate_Bps, flow.remaining_bytes, flow.last_update});
        }
    }
    std::sort(result.begin(), result.end(),
              [](const FlowState& a, const FlowState& b) { return a.id < b.id; });
    return result;
}

const LinkStats& FairShareNetwork::link_stats(LinkId id) const {
    return stats_.stats(id, sim_.now());
}

}  // namespace stepsim
