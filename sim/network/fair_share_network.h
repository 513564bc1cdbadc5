// SPDX-License-Identifier: Apache-2.0
// File: fair_share_network.h
// Flow-level max-min fair sharing (the fluid model of SimGrid's network models, without
// their TCP corrections). A transfer first waits its route's latency, then its bytes flow at
// the max-min fair rate of the flows transmitting at that moment. Rates are recomputed by
// progressive filling when a flow starts or ends transmitting, over the flows whose rate can
// move only: a search from the changed links, in increasing order of the level from which
// each link's saturation can differ, takes in the flows at or above that level; the rest keep
// their rates and completion events, and the flows taken in are re-solved on the capacity
// the others leave (collect_component() gives the argument). Changes at the same tick are
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
#include <vector>

namespace stepsim {

class FairShareNetwork final : public NetworkModel {
public:
    struct Options {
        /// false: every re-sharing recomputes all flows (the reference the incremental mode
        /// is tested against).
        bool is_incremental = true;
        /// true: every re-sharing of more than a few flows uses the search by level (tests);
        /// false: it is used while it pays (see reshare()).
        bool is_search_by_level_forced = false;
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
    };

    struct LevelEntry {
        double level_Bps;
        std::uint32_t link;
    };

    static constexpr double kNoLevel = -1;
    /// Components up to this many flows are re-solved whole (collect_plain_component()).
    static constexpr std::size_t kSmallComponentFlows = 16;
    /// The search by level is used while it takes in less than this fraction of the
    /// connected component (a running mean over about kTakenFractionWindow probes, one every
    /// kProbeInterval large re-sharings, the first one included).
    static constexpr double kMaxTakenFraction = 0.25;
    static constexpr double kTakenFractionWindow = 4;
    static constexpr std::uint64_t kProbeInterval = 32;
    /// Relative slack under which a link counts as full when the search reads old rates.
    static constexpr double kFullTolerance = 1e-9;

    struct HeapEntry {
        double share_Bps;
        std::uint32_t link;
        std::uint32_t version;
    };

    std::uint32_t allocate_slot();
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
    std::vector<std::uint64_t> link_done_;   ///< by link: epoch of the search that left it
    std::vector<double> link_level_Bps_;     ///< by link: level it was reached at
    std::vector<std::uint64_t> link_changed_;  ///< by link: epoch in which a flow joined or left
    /// Links whose flows changed since the last re-sharing, with the level from which their
    /// saturation may move (a departing flow's rate; 0 after a bandwidth change).
    std::vector<LevelEntry> dirty_links_;
    std::vector<std::uint32_t> added_flows_;  ///< slots that joined since the last re-sharing
    std::vector<LevelEntry> level_heap_;
    /// The flows re-solved now were found by level: others may share their links.
    bool is_search_by_level_ = false;
    double taken_fraction_ = 1.0;
    std::uint64_t large_resharings_ = 0;
    bool is_resharing_scheduled_ = false;

    // Scratch of one re-sharing, kept to avoid reallocation.
    std::uint64_t epoch_ = 0;
    std::vector<std::uint32_t> component_links_;
    std::vector<std::uint32_t> component_flows_;
    std::vector<HeapEntry> heap_;
    std::vector<std::uint32_t> active_links_;
    std::vector<std::uint32_t> changed_flows_;

    std::uint32_t next_transfer_id_ = 0;
    std::size_t active_transfers_ = 0;
    std::uint64_t resharing_count_ = 0;
    std::uint64_t flows_reshared_ = 0;
};

}  // namespace stepsim
