// SPDX-License-Identifier: Apache-2.0
// File: step_executor.cc
// The task-graph executor and the communicators that time communication tasks.
#include "step_executor.h"

#include "stepsim/error.h"

#include <memory>
#include <string>

namespace stepsim {

void FreeCommunicator::start(const TaskGraph&, TaskId, std::function<void()> on_done) {
    sim_.schedule_in(Time(0), std::move(on_done));
}

namespace {

class GraphRun {
public:
    GraphRun(Simulator& sim,
             const TaskGraph& graph,
             TaskCommunicator& communicator,
             const ComputeDurationHook& duration_hook)
        : sim_(sim)
        , graph_(graph)
        , communicator_(communicator)
        , duration_hook_(duration_hook) {
        const std::size_t n = graph.size();
        timeline_.start.assign(n, kNever);
        timeline_.end.assign(n, kNever);
        remaining_.resize(n);
        for (std::size_t i = 0; i < n; ++i) {
            remaining_[i] = static_cast<std::uint32_t>(
                graph.dependencies(TaskId(static_cast<std::uint32_t>(i))).size());
        }
    }

    TaskTimeline run() {
        for (std::size_t i = 0; i < graph_.size(); ++i) {
            if (remaining_[i] == 0) {
                start(TaskId(static_cast<std::uint32_t>(i)));
            }
        }
        sim_.run();
        for (std::size_t i = 0; i < graph_.size(); ++i) {
            STEPSIM_CHECK(
                timeline_.end[i] != kNever,
                "task " + std::to_string(i) + " (" +
                    task_name(graph_.task(TaskId(static_cast<std::uint32_t>(i))), nullptr) +
                    ") never finished");
        }
        return std::move(timeline_);
    }

private:
    void start(TaskId id) {
        timeline_.start[id.index()] = sim_.now();
        const Task& task = graph_.task(id);
        if (task.kind == TaskKind::kCompute) {
            const Time duration =
                duration_hook_ ? duration_hook_(id, sim_.now(), task.duration) : task.duration;
            STEPSIM_CHECK(duration >= Time(0), "compute duration hook returned a negative time");
            sim_.schedule_in(
                duration, [this, id] { finish(id); }, Priority::kDefault, id.value);
        } else {
            communicator_.start(graph_, id, [this, id] { finish(id); });
        }
    }

    void finish(TaskId id) {
        timeline_.end[id.index()] = sim_.now();
        for (const TaskId successor : graph_.successors(id)) {
            if (--remaining_[successor.index()] == 0) {
                start(successor);
            }
        }
    }

    Simulator& sim_;
    const TaskGraph& graph_;
    TaskCommunicator& communicator_;
    const ComputeDurationHook& duration_hook_;
    TaskTimeline timeline_;
    std::vector<std::uint32_t> remaining_;
};

}  // namespace

TaskTimeline execute_task_graph(Simulator& sim,
                                const TaskGraph& graph,
                                TaskCommunicator& communicator,
                                const ComputeDurationHook& duration_hook) {
    GraphRun run(sim, graph, communicator, duration_hook);
    return run.run();
}

}  // namespace stepsim
