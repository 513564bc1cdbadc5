// SPDX-License-Identifier: Apache-2.0
// File: replay.cc
// Runs per-NPU Chakra graphs on stepsim's engine (docs/chakra.md §Import): compute by its
// duration, collectives through stepsim's collectives once every member has reached them,
// send/recv as one transfer once both ends are ready.
#include "stepsim/chakra.h"
#include "stepsim/error.h"
#include "stepsim/simulator.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <map>
#include <stdexcept>
#include <tuple>
#include <unordered_map>

namespace stepsim::chakra {

namespace {

CollectiveOp collective_op_of(std::int64_t comm_type, const std::string& where) {
    switch (static_cast<CommType>(comm_type)) {
        case CommType::kAllReduce:
            return CollectiveOp::kAllReduce;
        case CommType::kReduce:
            return CollectiveOp::kReduce;
        case CommType::kAllGather:
            return CollectiveOp::kAllGather;
        case CommType::kBroadcast:
            return CollectiveOp::kBroadcast;
        case CommType::kAllToAll:
            return CollectiveOp::kAllToAll;
        case CommType::kReduceScatter:
        case CommType::kReduceScatterBlock:
            return CollectiveOp::kReduceScatter;
        default:
            break;
    }
    throw UserError(where + ": comm_type " + std::to_string(comm_type) +
                    " is not simulated (GATHER, SCATTER, BARRIER)");
}

struct NodeRef {
    int npu = 0;
    std::size_t index = 0;

    bool operator==(const NodeRef&) const = default;
};

class Replayer {
public:
    Replayer(const TraceSet& set, const Topology& topology, const ReplayOptions& options)
        : set_(set)
        , topology_(topology)
        , options_(options)
        , sim_(0)
        , router_(topology)
        , network_(make_network_model(options.network, sim_, topology, router_))
        , collectives_(sim_, topology, *network_, options.collective) {}

    ReplayResult run();

private:
    struct State {
        std::vector<std::size_t> missing;
        std::vector<std::vector<std::size_t>> children;
        std::vector<std::vector<std::size_t>> parents;
        std::vector<Time> start;  ///< when the node was issued (ready)
        std::vector<Time> begin;  ///< when its work began (after any rendezvous)
        std::vector<Time> end;
        std::vector<NodeRef> blocker;       ///< the partner that arrived last (comm nodes)
        std::vector<std::size_t> sequence;  ///< k-th collective on its group (by id)
        std::vector<std::vector<int>> group;
    };

    struct Instance {
        std::vector<NodeRef> arrived;
        NodeRef last;
    };

    std::string where(NodeRef ref) const {
        const Node& node = node_of(ref);
        return "npu " + std::to_string(ref.npu) + " node " + std::to_string(node.id) + " (" +
               node.name + ")";
    }

    const Node& node_of(NodeRef ref) const {
        return set_.traces[static_cast<std::size_t>(ref.npu)].nodes[ref.index];
    }

    std::vector<int> group_of(const Node& node, NodeRef ref) const;
    Time compute_time(const Node& node, NodeRef ref) const;
    /// schedule_in, refusing (ResourceLimitError) a time past the clock's range.
    void schedule(Time delay, NodeRef ref, std::function<void()> fn);
    void issue(NodeRef ref);
    void finish(NodeRef ref);
    void begin_all(const std::vector<NodeRef>& refs, NodeRef last);

    const TraceSet& set_;
    const Topology& topology_;
    const ReplayOptions& options_;
    Simulator sim_;
    Router router_;
    std::unique_ptr<NetworkModel> network_;
    CollectiveExecutor collectives_;
    std::vector<State> states_;
    std::map<std::pair<std::vector<int>, std::size_t>, Instance> instances_;
    std::map<std::tuple<int, int, std::int32_t>, std::vector<NodeRef>> pending_sends_;
    std::map<std::tuple<int, int, std::int32_t>, std::vector<NodeRef>> pending_recvs_;
};

std::vector<int> Replayer::group_of(const Node& node, NodeRef ref) const {
    const std::string name = node.pg_name.value_or("");
    if (name.empty() || name == "0") {
        std::vector<int> all(set_.traces.size());
        for (std::size_t i = 0; i < all.size(); ++i) {
            all[i] = static_cast<int>(i);
        }
        return all;
    }
    // The whole name is the group id: "12abc" names no group (it is not group 12).
    std::int64_t id = -1;
    const auto [end, error] = std::from_chars(name.data(), name.data() + name.size(), id);
    if (error != std::errc() || end != name.data() + name.size()) {
        id = -1;
    }
    const auto it = set_.groups.find(id);
    if (it == set_.groups.end()) {
        throw UserError(where(ref) + ": pg_name \"" + name +
                        "\" is not a communicator group of PREFIX.comm_groups.json");
    }
    if (std::find(it->second.begin(), it->second.end(), ref.npu) == it->second.end()) {
        throw UserError(where(ref) + ": not a member of its group " + name);
    }
    for (const int member : it->second) {
        if (member < 0 || static_cast<std::size_t>(member) >= set_.traces.size()) {
            throw UserError("communicator group " + name + " names npu " + std::to_string(member) +
                            ", which has no trace");
        }
    }
    return it->second;
}

Time Replayer::compute_time(const Node& node, NodeRef ref) const {
    if (node.duration_ps) {
        return Time(std::max<std::int64_t>(0, *node.duration_ps));
    }
    // The step clock's range in whole microseconds (2^63 ps is 106 days).
    constexpr std::uint64_t kMaxMicros =
        static_cast<std::uint64_t>(Time::max().count()) / 1'000'000;
    if (node.duration_micros > kMaxMicros) {
        throw UserError(where(ref) + ": duration_micros " + std::to_string(node.duration_micros) +
                        " is past the step clock's range of 106 days");
    }
    if (node.duration_micros > 0) {
        return Time(static_cast<std::int64_t>(node.duration_micros) * 1'000'000);
    }
    double seconds = 0;
    if (node.num_ops && *node.num_ops > 0 && options_.peak_flops_per_s > 0) {
        seconds = static_cast<double>(*node.num_ops) / options_.peak_flops_per_s;
    }
    if (node.tensor_size && *node.tensor_size > 0 && options_.memory_bandwidth_Bps > 0) {
        seconds = std::max(seconds,
                           static_cast<double>(*node.tensor_size) / options_.memory_bandwidth_Bps);
    }
    if (!(seconds < to_seconds(Time::max()))) {
        throw UserError(where(ref) + ": num_ops or tensor_size gives " + std::to_string(seconds) +
                        " s, past the step clock's range of 106 days");
    }
    return from_seconds(seconds);
}

void Replayer::schedule(Time delay, NodeRef ref, std::function<void()> fn) {
    if (delay > Time::max() - sim_.now()) {
        throw ResourceLimitError(where(ref) + ": the replay passes the step clock's range " +
                                 "of 106 days");
    }
    sim_.schedule_in(delay, std::move(fn));
}

void Replayer::begin_all(const std::vector<NodeRef>& refs, NodeRef last) {
    for (const NodeRef& r : refs) {
        states_[static_cast<std::size_t>(r.npu)].begin[r.index] = sim_.now();
        states_[static_cast<std::size_t>(r.npu)].blocker[r.index] = last;
    }
}

void Replayer::issue(NodeRef ref) {
    State& state = states_[static_cast<std::size_t>(ref.npu)];
    state.start[ref.index] = sim_.now();
    state.begin[ref.index] = sim_.now();
    const Node& node = node_of(ref);
    switch (node.type) {
        case NodeType::kCompute:
            schedule(compute_time(node, ref), ref, [this, ref] { finish(ref); });
            return;
        case NodeType::kCollective: {
            const std::vector<int>& group = state.group[ref.index];
            Instance& instance = instances_[{group, state.sequence[ref.index]}];
            instance.arrived.push_back(ref);
            instance.last = ref;
            if (instance.arrived.size() < group.size()) {
                return;
            }
            const std::vector<NodeRef> members = instance.arrived;
            begin_all(members, ref);
            instances_.erase({group, state.sequence[ref.index]});
            const auto done = [this, members] {
                for (const NodeRef& m : members) {
                    finish(m);
                }
            };
            if (!node.comm_type || !node.comm_size) {
                throw UserError(where(ref) +
                                ": COMM_COLL_NODE without comm_type "
                                "or comm_size");
            }
            if (group.size() < 2 || *node.comm_size <= 0) {
                sim_.schedule_in(Time(0), done);
                return;
            }
            CollectiveRequest request;
            request.op = collective_op_of(*node.comm_type, where(ref));
            for (const int member : group) {
                request.ranks.push_back(RankId(static_cast<std::uint32_t>(member)));
            }
            request.size_bytes = *node.comm_size;
            collectives_.start(request, done);
            return;
        }
        case NodeType::kSend:
        case NodeType::kRecv: {
            const bool is_send = node.type == NodeType::kSend;
            if (!node.comm_size || !node.comm_tag || (is_send ? !node.comm_dst : !node.comm_src)) {
                throw UserError(where(ref) +
                                (is_send ? ": COMM_SEND_NODE needs comm_dst, comm_size, comm_tag"
                                         : ": COMM_RECV_NODE needs comm_src, comm_size, comm_tag"));
            }
            const int src = is_send ? ref.npu : *node.comm_src;
            const int dst = is_send ? *node.comm_dst : ref.npu;
            if (src < 0 || dst < 0 ||
                static_cast<std::size_t>(std::max(src, dst)) >= set_.traces.size()) {
                throw UserError(where(ref) + ": peer npu outside 0.." +
                                std::to_string(set_.traces.size() - 1));
            }
            const auto key = std::make_tuple(src, dst, *node.comm_tag);
            auto& mine = is_send ? pending_sends_[key] : pending_recvs_[key];
            auto& theirs = is_send ? pending_recvs_[key] : pending_sends_[key];
            if (theirs.empty()) {
                mine.push_back(ref);
                return;
            }
            const NodeRef other = theirs.front();
            theirs.erase(theirs.begin());
            const std::vector<NodeRef> both = {other, ref};
            begin_all(both, ref);
            const auto done = [this, both] {
                finish(both[0]);
                finish(both[1]);
            };
            if (src == dst || *node.comm_size <= 0) {
                sim_.schedule_in(Time(0), done);
                return;
            }
            CollectiveRequest request;
            request.op = CollectiveOp::kSendRecv;
            request.ranks = {RankId(static_cast<std::uint32_t>(src)),
                             RankId(static_cast<std::uint32_t>(dst))};
            request.size_bytes = *node.comm_size;
            collectives_.start(request, done);
            return;
        }
        default:
            // METADATA, MEM_LOAD/STORE, INVALID: no time.
            sim_.schedule_in(Time(0), [this, ref] { finish(ref); });
            return;
    }
}

void Replayer::finish(NodeRef ref) {
    State& state = states_[static_cast<std::size_t>(ref.npu)];
    state.end[ref.index] = sim_.now();
    for (const std::size_t child : state.children[ref.index]) {
        if (--state.missing[child] == 0) {
            issue({ref.npu, child});
        }
    }
}

ReplayResult Replayer::run() {
    if (set_.traces.size() > topology_.gpu_count()) {
        throw UserError(std::to_string(set_.traces.size()) + " NPU traces, the topology has " +
                        std::to_string(topology_.gpu_count()) + " GPUs");
    }
    states_.resize(set_.traces.size());
    for (std::size_t r = 0; r < set_.traces.size(); ++r) {
        const Trace& trace = set_.traces[r];
        State& state = states_[r];
        const std::size_t n = trace.nodes.size();
        state.missing.assign(n, 0);
        state.children.assign(n, {});
        state.parents.assign(n, {});
        state.start.assign(n, kNever);
        state.begin.assign(n, kNever);
        state.end.assign(n, kNever);
        state.blocker.assign(n, NodeRef{static_cast<int>(r), 0});
        state.sequence.assign(n, 0);
        state.group.assign(n, {});
        std::unordered_map<std::uint64_t, std::size_t> index_of;
        for (std::size_t i = 0; i < n; ++i) {
            index_of.emplace(trace.nodes[i].id, i);
            state.blocker[i].index = i;
        }
        for (std::size_t i = 0; i < n; ++i) {
            const Node& node = trace.nodes[i];
            for (const auto* deps : {&node.data_deps, &node.ctrl_deps}) {
                for (const std::uint64_t dep : *deps) {
                    const auto it = index_of.find(dep);
                    if (it == index_of.end()) {
                        throw UserError(where({static_cast<int>(r), i}) + ": parent " +
                                        std::to_string(dep) + " is not in the trace");
                    }
                    ++state.missing[i];
                    state.children[it->second].push_back(i);
                    state.parents[i].push_back(it->second);
                }
            }
        }
        // The k-th collective of a group, counted in id order on every member.
        std::vector<std::size_t> collectives;
        for (std::size_t i = 0; i < n; ++i) {
            if (trace.nodes[i].type == NodeType::kCollective) {
                state.group[i] = group_of(trace.nodes[i], {static_cast<int>(r), i});
                collectives.push_back(i);
            }
        }
        std::sort(collectives.begin(), collectives.end(), [&](std::size_t a, std::size_t b) {
            return trace.nodes[a].id < trace.nodes[b].id;
        });
        std::map<std::vector<int>, std::size_t> count;
        for (const std::size_t i : collectives) {
            state.sequence[i] = count[state.group[i]]++;
        }
    }
    for (std::size_t r = 0; r < set_.traces.size(); ++r) {
        for (std::size_t i = 0; i < set_.traces[r].nodes.size(); ++i) {
            if (states_[r].missing[i] == 0) {
                const NodeRef ref{static_cast<int>(r), i};
                sim_.schedule_in(Time(0), [this, ref] { issue(ref); });
            }
        }
    }
    sim_.run();

    ReplayResult result;
    result.events = sim_.events_executed();
    Time latest{0};
    NodeRef last{0, 0};
    for (std::size_t r = 0; r < set_.traces.size(); ++r) {
        const State& state = states_[r];
        const Trace& trace = set_.traces[r];
        RankReplay rank;
        rank.npu = static_cast<int>(r);
        rank.nodes = trace.nodes.size();
        Time total{0};
        std::vector<std::pair<Time, Time>> compute;
        for (std::size_t i = 0; i < trace.nodes.size(); ++i) {
            if (state.end[i] == kNever) {
                const Node& node = trace.nodes[i];
                std::string why = state.start[i] == kNever
                                      ? "it waits for a parent that never finished"
                                      : "its collective, send or receive never matched";
                throw UserError(where({static_cast<int>(r), i}) + " (" +
                                std::string(to_string(node.type)) + ") never finished: " + why);
            }
            total = std::max(total, state.end[i]);
            if (state.end[i] > latest) {
                latest = state.end[i];
                last = {static_cast<int>(r), i};
            }
            if (trace.nodes[i].type == NodeType::kCompute) {
                compute.emplace_back(state.begin[i], state.end[i]);
            }
            if (options_.keeps_timeline) {
                const Node& node = trace.nodes[i];
                result.timeline.push_back({static_cast<int>(r), node.id, node.name, node.type,
                                           to_seconds(state.begin[i]), to_seconds(state.end[i])});
            }
        }
        std::sort(compute.begin(), compute.end());
        Time busy{0};
        Time cursor{0};
        for (const auto& [from, to] : compute) {
            const Time a = std::max(from, cursor);
            if (to > a) {
                busy += to - a;
                cursor = to;
            }
        }
        rank.total_s = to_seconds(total);
        rank.compute_s = to_seconds(busy);
        rank.exposed_communication_s = rank.total_s - rank.compute_s;
        result.total_s = std::max(result.total_s, rank.total_s);
        result.ranks.push_back(rank);
    }
    // Critical path: back from the last node through the partner that arrived last, then
    // the parent that finished last.
    std::vector<CriticalPathStep> reversed;
    NodeRef at = last;
    for (std::size_t guard = 0; guard < 100'000'000; ++guard) {
        const State& state = states_[static_cast<std::size_t>(at.npu)];
        const Node& node = node_of(at);
        reversed.push_back({at.npu, node.id, node.name, node.type,
                            to_seconds(state.begin[at.index]), to_seconds(state.end[at.index])});
        NodeRef from = state.blocker[at.index];
        const State& from_state = states_[static_cast<std::size_t>(from.npu)];
        const std::vector<std::size_t>& parents = from_state.parents[from.index];
        if (parents.empty()) {
            break;
        }
        std::size_t best = parents.front();
        for (const std::size_t p : parents) {
            if (from_state.end[p] > from_state.end[best]) {
                best = p;
            }
        }
        at = {from.npu, best};
    }
    result.critical_path.assign(reversed.rbegin(), reversed.rend());
    return result;
}

}  // namespace

ReplayResult replay_chakra(const TraceSet& set,
                           const Topology& topology,
                           const ReplayOptions& options) {
    Replayer replayer(set, topology, options);
    return replayer.run();
}

}  // namespace stepsim::chakra
