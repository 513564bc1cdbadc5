// SPDX-License-Identifier: Apache-2.0
// File: step_analysis.cc
// Timeline -> breakdown, in-flight activations and critical path (see step_analysis.h).
// An idle gap on a compute stream is blamed on the dependency that arrived last: a pipeline
// message splits the gap into bubble (before the message left the other stage) and exposed
// PP time (while it was on the wire); a DP or ZeRO collective takes the whole gap.
#include "step_analysis.h"

#include "stepsim/error.h"

#include <algorithm>
#include <map>
#include <utility>

namespace stepsim {

std::string_view to_string(TimeCategory category) {
    switch (category) {
        case TimeCategory::kCompute:
            return "compute";
        case TimeCategory::kRecompute:
            return "recompute";
        case TimeCategory::kTp:
            return "tp";
        case TimeCategory::kPp:
            return "pp";
        case TimeCategory::kDp:
            return "dp";
        case TimeCategory::kZero:
            return "zero";
        case TimeCategory::kEp:
            return "ep";
        case TimeCategory::kCp:
            return "cp";
        case TimeCategory::kFsdp:
            return "fsdp";
        case TimeCategory::kBubble:
            return "bubble";
        case TimeCategory::kOtherIdle:
            return "other_idle";
    }
    return "?";
}

namespace {

TimeCategory comm_category(CommKind kind) {
    switch (kind) {
        case CommKind::kTensorParallel:
            return TimeCategory::kTp;
        case CommKind::kPipeline:
            return TimeCategory::kPp;
        case CommKind::kDataParallel:
            return TimeCategory::kDp;
        case CommKind::kZero:
            return TimeCategory::kZero;
        case CommKind::kExpertParallel:
            return TimeCategory::kEp;
        case CommKind::kContextParallel:
            return TimeCategory::kCp;
        case CommKind::kFsdp:
            return TimeCategory::kFsdp;
    }
    return TimeCategory::kOtherIdle;
}

TimeCategory task_category(const Task& task) {
    if (task.kind != TaskKind::kCompute) {
        return comm_category(task.comm);
    }
    switch (task.compute) {
        case ComputeKind::kRecompute:
            return TimeCategory::kRecompute;
        case ComputeKind::kDataLoader:
        case ComputeKind::kHostOverhead:
            return TimeCategory::kOtherIdle;
        default:
            return TimeCategory::kCompute;
    }
}

}  // namespace

StepAnalysis analyze_step(const LoweredStep& lowered, const TaskTimeline& timeline) {
    const TaskGraph& graph = lowered.graph;
    STEPSIM_CHECK(timeline.start.size() == graph.size() && timeline.end.size() == graph.size(),
                  "timeline does not match the task graph");
    StepAnalysis analysis;
    const std::size_t stages = lowered.compute_streams.size();
    analysis.stages.resize(stages);

    // Which stage each rank's tasks belong to (the representative ranks are distinct).
    std::map<std::uint32_t, std::size_t> stage_of_rank;
    for (std::size_t s = 0; s < stages; ++s) {
        const Stream& stream =
            graph.streams()[static_cast<std::size_t>(lowered.compute_streams[s])];
        stage_of_rank.emplace(stream.rank.value, s);
    }
    for (std::size_t i = 0; i < graph.size(); ++i) {
        analysis.step_time = std::max(analysis.step_time, timeline.end[i]);
        const auto it = stage_of_rank.find(graph.tasks()[i].rank.value);
        if (it != stage_of_rank.end()) {
            StageAnalysis& stage = analysis.stages[it->second];
            stage.busy_until = std::max(stage.busy_until, timeline.end[i]);
        }
    }

    for (std::size_t s = 0; s < stages; ++s) {
        StageAnalysis& stage = analysis.stages[s];
        TimeBreakdown& breakdown = stage.breakdown;
        Time cursor{0};
        const auto add = [&](TimeCategory category, Time amount) {
            breakdown[static_cast<std::size_t>(category)] += amount;
        };
        // Idle time from `cursor` on: counted and kept as a gap.
        const auto idle = [&](TimeCategory category, Time amount) {
            if (amount <= Time(0)) {
                return;
            }
            add(category, amount);
            if (!stage.gaps.empty() && stage.gaps.back().end == cursor &&
                stage.gaps.back().category == category) {
                stage.gaps.back().end = cursor + amount;
            } else {
                stage.gaps.push_back({cursor, cursor + amount, category});
            }
            cursor += amount;
        };
        const Stream& stream =
            graph.streams()[static_cast<std::size_t>(lowered.compute_streams[s])];
        TaskId previous;
        for (const TaskId id : stream.tasks) {
            const Time start = timeline.start[id.index()];
            if (start > cursor) {
                // The dependency that arrived last, other than the stream predecessor.
                TaskId blocker;
                for (const TaskId dependency : graph.dependencies(id)) {
                    if (dependency == previous) {
                        continue;
                    }
                    if (!blocker.is_valid() ||
                        timeline.end[dependency.index()] > timeline.end[blocker.index()]) {
                        blocker = dependency;
                    }
                }
                const Time gap = start - cursor;
                if (!blocker.is_valid()) {
                    idle(TimeCategory::kOtherIdle, gap);
                } else {
                    const Task& blocking = graph.task(blocker);
                    if (blocking.kind == TaskKind::kSendRecv &&
                        blocking.comm == CommKind::kPipeline) {
                        const Time left =
                            std::clamp(timeline.start[blocker.index()], cursor, start);
                        idle(TimeCategory::kBubble, left - cursor);
                        idle(TimeCategory::kPp, start - left);
                    } else if (blocking.kind != TaskKind::kCompute) {
                        idle(comm_category(blocking.comm), gap);
                    } else {
                        idle(TimeCategory::kBubble, gap);
                    }
                }
            }
            const Time end = timeline.end[id.index()];
            add(task_category(graph.task(id)), end - start);
            cursor = std::max(cursor, end);
            previous = id;
        }
        // After the compute stream's last task: the stage's own communication still running
        // (e.g. a ZeRO all-gather after the optimizer), then waiting for the other stages.
        if (stage.busy_until > cursor) {
            TimeCategory tail = TimeCategory::kOtherIdle;
            Time latest{0};
            for (std::size_t i = 0; i < graph.size(); ++i) {
                const Task& task = graph.tasks()[i];
                if (task.rank == stream.rank && task.kind != TaskKind::kCompute &&
                    timeline.end[i] > latest) {
                    latest = timeline.end[i];
                    tail = comm_category(task.comm);
                }
            }
            idle(tail, stage.busy_until - cursor);
        }
        idle(stages > 1 ? TimeCategory::kBubble : TimeCategory::kOtherIdle,
             analysis.step_time - cursor);

        // Activations in flight: +1 when a forward starts, -1 when its backward ends.
        std::vector<std::pair<Time, int>> events;
        for (const LoweredOp& op : lowered.ops[s]) {
            if (op.op.kind == PipelineOpKind::kForward) {
                events.emplace_back(timeline.start[op.first.index()], +1);
            } else if (op.op.kind == PipelineOpKind::kBackward) {
                events.emplace_back(timeline.end[op.last.index()], -1);
            }
        }
        std::sort(events.begin(), events.end());  // at equal times, frees (-1) first
        int in_flight = 0;
        for (const auto& [time, delta] : events) {
            in_flight += delta;
            stage.peak_in_flight_chunks = std::max(stage.peak_in_flight_chunks, in_flight);
        }
    }

    // Critical path: from the last task to finish, follow the dependency that finished last.
    if (graph.size() > 0) {
        TaskId current(0);
        for (std::size_t i = 1; i < graph.size(); ++i) {
            if (timeline.end[i] > timeline.end[current.index()]) {
                current = TaskId(static_cast<std::uint32_t>(i));
            }
        }
        std::vector<CriticalPathSegment> reversed;
        Time covered{0};
        while (current.is_valid()) {
            const Task& task = graph.task(current);
            const auto it = stage_of_rank.find(task.rank.value);
            const int stage = it == stage_of_rank.end() ? -1 : static_cast<int>(it->second);
            std::string kind = slice_category(task);
            const Time duration = timeline.end[current.index()] - timeline.start[current.index()];
            covered += duration;
            if (!reversed.empty() && reversed.back().stage == stage &&
                reversed.back().kind == kind) {
                reversed.back().time += duration;
            } else {
                reversed.push_back({stage, std::move(kind), duration});
            }
            TaskId next;
            for (const TaskId dependency : graph.dependencies(current)) {
                if (!next.is_valid() ||
                    timeline.end[dependency.index()] > timeline.end[next.index()]) {
                    next = dependency;
                }
            }
            if (next.is_valid() && timeline.end[next.index()] < timeline.start[current.index()]) {
                // Cannot happen with this executor (a task starts when its last dependency
                // ends); kept as waiting time so the path still sums to the step time.
                reversed.push_back(
                    {stage, "wait", timeline.start[current.index()] - timeline.end[next.index()]});
            }
            if (!next.is_valid() && timeline.start[current.index()] > Time(0)) {
                reversed.push_back({stage, "wait", timeline.start[current.index()]});
            }
            current = next;
        }
        // Merge by (stage, kind), keeping the order of first appearance from the start.
        std::map<std::pair<int, std::string>, std::size_t> index;
        for (auto it = reversed.rbegin(); it != reversed.rend(); ++it) {
            const auto key = std::make_pair(it->stage, it->kind);
            const auto found = index.find(key);
            if (found == index.end()) {
                index.emplace(key, analysis.critical_path.size());
                analysis.critical_path.push_back(*it);
            } else {
                analysis.critical_path[found->second].time += it->time;
            }
        }
    }
    return analysis;
}

StepBreakdown to_step_breakdown(const TimeBreakdown& times) {
    const auto at = [&](TimeCategory c) {
        return to_seconds(times[static_cast<std::size_t>(c)]);
    };
    StepBreakdown b;
    b.compute_s = at(TimeCategory::kCompute);
    b.recompute_s = at(TimeCategory::kRecompute);
    b.tp_s = at(TimeCategory::kTp);
    b.pp_s = at(TimeCategory::kPp);
    b.dp_s = at(TimeCategory::kDp);
    b.zero_s = at(TimeCategory::kZero);
    b.ep_s = at(TimeCategory::kEp);
    b.cp_s = at(TimeCategory::kCp);
    b.fsdp_s = at(TimeCategory::kFsdp);
    b.bubble_s = at(TimeCategory::kBubble);
    b.other_idle_s = at(TimeCategory::kOtherIdle);
    return b;
}

std::string slice_category(const Task& task) {
    if (task.kind != TaskKind::kCompute) {
        return std::string(to_string(task.comm));
    }
    switch (task.compute) {
        case ComputeKind::kRecompute:
            return "recompute";
        case ComputeKind::kOptimizer:
            return "optimizer";
        case ComputeKind::kDataLoader:
            return "data_loader";
        case ComputeKind::kHostOverhead:
            return "host_overhead";
        default:
            return "compute";
    }
}

}  // namespace stepsim
