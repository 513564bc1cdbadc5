// SPDX-License-Identifier: Apache-2.0
// File: parallel.h
// The one parallel loop of the project (what-if seeds, checkpoint sweeps, the network
// communicator's isolated collectives, layout search, validation rows, sweep points): a fixed
// set of std::jthread workers taking indices in increasing order, with one error policy; the
// driven form leaves the calling thread free to consume what the workers produce.
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

/// parallel_for on `threads` worker threads (worker ids 0..workers-1) while the calling thread
/// runs no body but `drive(has_failed)`: a loop that takes what the bodies hand over (rows to
/// write in order, messages to other MPI ranks; the calling thread is the one that may call
/// MPI) until its own work is done, or until `has_failed()` says a body has thrown, when it
/// should return. Returns once `drive` has returned and every worker has stopped. Error
/// policy: the bodies' as in parallel_for; an exception from `drive` also stops the handing
/// out of indices, and is the one rethrown (before any body's).
void parallel_for_driven(std::size_t count,
                         int threads,
                         const std::function<void(std::size_t index, std::size_t worker)>& body,
                         const std::function<void(const std::function<bool()>& has_failed)>& drive);

/// std::thread::hardware_concurrency(), at least 1: the default of every --jobs flag.
int hardware_threads();

}  // namespace stepsim
