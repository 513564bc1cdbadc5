// SPDX-License-Identifier: Apache-2.0
// File: sized_communicator.h
// The toy communicator of the step-lowering tests: every communication takes one nanosecond
// per byte of its request, whatever the collective, so that every duration in a test is a
// plain sum of compute times and message sizes.
#pragma once

#include "stepsim/simulator.h"

#include "step/step_executor.h"
#include "step/task_graph.h"

#include <cstdint>
#include <functional>
#include <utility>

namespace stepsim::test {

/// `n` nanoseconds.
inline Time ns(std::int64_t n) {
    constexpr std::int64_t kPsPerNs = 1000;
    return Time(n * kPsPerNs);
}

/// Every communication takes 1 ns per byte of its request.
class SizedCommunicator final : public TaskCommunicator {
public:
    explicit SizedCommunicator(Simulator& sim)
        : sim_(sim) {}

    void start(const TaskGraph& graph, TaskId id, std::function<void()> on_done) override {
        const CommRequest& comm = graph.request(graph.task(id).request);
        sim_.schedule_in(ns(comm.request.size_bytes), std::move(on_done));
    }

private:
    Simulator& sim_;
};

}  // namespace stepsim::test
