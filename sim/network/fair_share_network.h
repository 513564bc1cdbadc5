// SPDX-License-Identifier: Apache-2.0
// File: fair_share_network.h
// Flow-level max-min fair sharing (the fluid model of SimGrid's network models, without
// their TCP corrections). A transfer first waits its route's latency, then its bytes flow at
// the max-min fair rate of the flows transmitting at that moment. Rates are recomputed by
// progressive filling when a flow starts or ends transmitting, over the flows whose rate can
// move only: a search from the changed links, in increasing order of the level from which
// each link's saturation can differ, takes in the flows at or above that level and stops at
// unchanged links that still saturate at the level they are reached at; the rest keep their
// rates and completion events, and the flows taken in are re-solved in step with the others
// (collect_component() and fill_in_step() give the argument). Changes at the same tick are
// batched into one re-sharing event. A flow that starts alone on its links takes the
// narrowest bandwidth at once, and a flow whose end leaves its links empty changes no rate:
// neither needs a re-sharing.
// See docs/models/network.md.
#pragma once

#include "stepsim/network.h"

#include "link_stats_tracker.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <span>
#include <utility>
#include <vector>

namespace stepsim {

class FairShareNetwork final : public NetworkModel {
public:
    struct Options {
        /// false: every re-sharing recomputes all flows (the reference the incremental mode
        /// is tested against).
        bool is_incremental = true;
        /// true: every re-sharing uses the search by level, even of a small component
        /// (tests); false: components of up to kSmallComponentFlows flows are re-solved whole.
        bool is_search_by_level_forced = false;
        /// true: every re-sharing that re-solves a subset of a large component (see
        /// reshare()) is checked against the refill of the whole component: flows whose rate
        /// differs in any bit are counted in cross_check_mismatches() (tests and
        /// measurements; costs the full refill; the subset's rates are the ones applied).
        bool is_cross_checked = false;
    };

    /// `sim`, `topology` and `router` must outlive the model.
    FairShareNetwork(Simulator& sim, const Topology& topology, Router& router)
        : FairShareNetwork(sim, topology, router, Options{}) {}

    FairShareNetwork(Simulator& sim, const Topology& topology, Router& router, Options options);

    std::string_view name() const override { return "fair_share"; }

    TransferId start_transfer_after(Time delay,
                                    NodeId src,
                                    NodeId dst,
                                    std::int64_t size_bytes,
                                    Callback on_done,
                                    std::uint64_t flow_label = 0,
                                    StartGate gate = {}) override;

    std::size_t active_transfers() const override { return active_transfers_; }

    const LinkStats& link_stats(LinkId id) const override;
    /// Re-shares the flows crossing `id` at now() (after its bandwidth changed).
    void refresh_link(LinkId id) override;

    /// One flow in its transmission phase, as of the last re-sharing.
    struct FlowState {
        TransferId id;
        double rate_Bps = 0;
        double remaining_bytes = 0;  ///< at `last_update`
        Time last_update{0};
    };

    /// Flows in their transmission phase, by transfer id. Rates are those of the last
    /// re-sharing; see has_pending_resharing().
    std::vector<FlowState> transmitting_flows() const;

    /// True between a flow start or end and the re-sharing that follows at the same tick.
    bool has_pending_resharing() const { return is_resharing_scheduled_; }

    /// Number of re-sharings, and of flow rates computed over all of them (the work done).
    std::uint64_t resharing_count() const { return resharing_count_; }

    std::uint64_t flows_reshared() const { return flows_reshared_; }

    /// With Options::is_cross_checked: re-sharings checked, and flows whose rate differed in
    /// any bit from the refill of the whole component.
    std::uint64_t cross_checks() const { return cross_checks_; }

    std::uint64_t cross_check_mismatches() const { return cross_check_mismatches_; }

    /// The largest |difference| / rate among those flows (0 if none).
    double cross_check_max_relative() const { return cross_check_max_relative_; }

private:
    struct Flow {
        TransferId id;
        std::vector<LinkId> links;
        std::vector<std::uint32_t> positions;  ///< index of this flow in each link's list
        std::int64_t size_bytes = 0;
        double remaining_bytes = 0;  ///< at last_update
        double rate_Bps = 0;
        double new_rate_Bps = 0;  ///< scratch of the progressive filling
        Time last_update{0};
        EventId completion;
        Callback on_done;
        std::uint64_t frozen_mark = 0;
        bool is_transmitting = false;
        /// Gated start (StartGate) and the route's latency, to re-time a moved start.
        StartGate gate;
        std::uint64_t gate_revision = 0;
        Time latency{0};
    };

    struct LinkState {
        /// The topology's bandwidth, read when the link is first seen and on refresh_link().
        double bandwidth_Bps = 0;
        std::vector<std::uint32_t> flows;  ///< slots of the flows transmitting on the link
        double capacity_left_Bps = 0;      ///< scratch of the progressive filling
        std::uint32_t unfrozen = 0;
        std::uint32_t version = 0;
        // Scratch of the filling in step with the whole component (fill_in_step()): flows of
        // the subset not yet frozen, and the rates of the other flows, ascending, in
        // outside_rates_Bps_[outside_next, outside_end) (those not yet taken off).
        std::uint32_t inside = 0;
        std::uint32_t outside_next = 0;
        std::uint32_t outside_end = 0;
    };

    /// How the flows found by a re-sharing are filled.
    enum class Fill {
        kWhole,   ///< they are whole components (progressive_filling())
        kInStep,  ///< others share their links: their rates come off in step (fill_in_step())
    };

    struct LevelEntry {
        double level_Bps;
        std::uint32_t link;
    };

    static constexpr double kNoLevel = -1;
    /// Components up to this many flows are re-solved whole (collect_plain_component()).
    static constexpr std::size_t kSmallComponentFlows = 16;
    /// Relative slack under which a link counts as full when the search reads old rates.
    static constexpr double kFullTolerance = 1e-9;
    /// Relative slack under which a full link reached at its largest rate stops the search
    /// (collect_component()): rounding only, tighter than kFullTolerance, so that a link with
    /// genuine room never stops it.
    static constexpr double kPinnedTolerance = 1e-12;

    struct HeapEntry {
        double share_Bps;
        std::uint32_t link;
        std::uint32_t version;
    };

    std::uint32_t allocate_slot();
    /// Copies the route into the slot's row of hop_links_.
    void set_hops(std::uint32_t slot, const std::vector<LinkId>& links);

    /// The links of the flow in `slot`, by index (the hot loops read these, not Flow::links).
    std::span<const std::uint32_t> hops_of(std::uint32_t slot) const {
        return {hop_links_.data() + slot * hop_stride_, hop_count_[slot]};
    }

    void ensure_links();
    void begin_transmission(std::uint32_t slot);
    void complete(std::uint32_t slot);
    /// Schedules the flow's completion at now + remaining_bytes / rate_Bps.
    void schedule_completion(std::uint32_t slot);
    /// Schedules a re-sharing; `level_Bps` (kNoLevel: none) seeds the search at `link`.
    void mark_dirty(std::uint32_t link, double level_Bps);
    void reshare();
    void restart_search();
    bool collect_plain_component(std::size_t max_flows);
    void collect_component();
    /// min over the flow's links of bandwidth / flows: a lower bound of its max-min rate.
    double equal_split_Bps(std::uint32_t slot) const;
    double entry_threshold_Bps(const LevelEntry& entry) const;
    void take_in(std::uint32_t slot, double level_Bps);
    void reach_link(std::uint32_t link, double level_Bps);
    void collect_everything();
    void progressive_filling();
    void fill_in_step();
    void freeze_inside_flows_of(LinkState& bottleneck, double share_Bps);
    /// The refill of the whole component, compared with the rates just computed.
    void cross_check();

    /// A link's fair share of what is left: capacity_left / unfrozen (unfrozen > 0).
    static double share_of(const LinkState& state) {
        return std::max(state.capacity_left_Bps, 0.0) / state.unfrozen;
    }

    void freeze_flows_of(LinkState& bottleneck, double share_Bps);
    void apply_rates();

    Simulator& sim_;
    const Topology& topology_;
    Router& router_;
    Options options_;
    network::LinkStatsTracker stats_;

    std::vector<Flow> flows_;  ///< slots; reused through free_slots_
    std::vector<std::uint32_t> free_slots_;
    std::vector<LinkState> links_;
    std::vector<std::uint64_t> flow_visit_;  ///< by slot: epoch of the last search that found it
    std::vector<std::uint64_t> link_visit_;  ///< by link: the same
    std::vector<double> slot_rate_Bps_;      ///< by slot: rate_Bps, +inf while a new flow has none
    /// By slot: the flow's links, hop_stride_ entries per slot (a dense copy of Flow::links).
    std::vector<std::uint32_t> hop_links_;
    std::vector<std::uint32_t> hop_count_;
    std::size_t hop_stride_ = 8;
    std::vector<std::uint64_t> link_done_;       ///< by link: epoch of the search that left it
    std::vector<double> link_level_Bps_;         ///< by link: level it was reached at
    std::vector<std::uint64_t> link_changed_;    ///< by link: epoch in which a flow joined or left
    std::vector<std::uint64_t> link_joined_;     ///< by link: epoch in which a flow joined (or
                                                 ///< its bandwidth changed)
    std::vector<double> link_departed_Bps_;      ///< by link: sum of the rates that left
    std::vector<double> link_departed_max_Bps_;  ///< by link: largest rate that left
    /// Links whose flows changed since the last re-sharing, with the level from which their
    /// saturation may move (a departing flow's rate; 0 after a bandwidth change).
    std::vector<LevelEntry> dirty_links_;
    std::vector<std::uint32_t> added_flows_;  ///< slots that joined since the last re-sharing
    std::vector<LevelEntry> level_heap_;
    /// How the flows re-solved now are filled (others may share their links unless kWhole).
    Fill fill_ = Fill::kWhole;
    bool is_resharing_scheduled_ = false;

    // Scratch of one re-sharing, kept to avoid reallocation.
    std::uint64_t epoch_ = 0;
    std::vector<std::uint32_t> component_links_;
    std::vector<std::uint32_t> component_flows_;
    std::vector<HeapEntry> heap_;
    std::vector<std::uint32_t> active_links_;
    std::vector<std::uint32_t> changed_flows_;
    std::vector<double> outside_rates_Bps_;
    std::vector<std::pair<std::uint32_t, double>> checked_rates_;

    std::uint32_t next_transfer_id_ = 0;
    std::size_t active_transfers_ = 0;
    std::uint64_t resharing_count_ = 0;
    std::uint64_t flows_reshared_ = 0;
    std::uint64_t cross_checks_ = 0;
    std::uint64_t cross_check_mismatches_ = 0;
    double cross_check_max_relative_ = 0;
};

}  // namespace stepsim
