// SPDX-License-Identifier: Apache-2.0
// File: parallel.h
// The one parallel loop of the project (what-if seeds, checkpoint sweeps, the network
// communicator's isolated collectives, layout search, validation rows, sweep points): a fixed
// set of std::jthread workers taking indices in increasing order, with one error policy.
#pragma once

#include <cstddef>
#include <functional>

namespace stepsim {

/// Calls `body(index, worker)` once for every index in [0, count), on min(threads, count)
/// workers; the calling thread is worker 0, so threads <= 1 runs everything inline, in order.
/// `worker` (in [0, workers)) lets a body keep per-worker state (a Router, say) in a vector.
/// Indices are handed out in increasing order. Error policy: once a body throws, no further
/// index is handed out; the workers finish what they hold; then the exception of the lowest
/// failed index is rethrown. Every index below it has run (they were handed out first), so the
/// exception is the one a sequential loop would throw, whatever the thread count. Results
/// belong in per-index slots so that they do not depend on the interleaving either.
void parallel_for(std::size_t count,
                  int threads,
                  const std::function<void(std::size_t index, std::size_t worker)>& body);

/// std::thread::hardware_concurrency(), at least 1: the default of every --jobs flag.
int hardware_threads();

}  // namespace stepsim
