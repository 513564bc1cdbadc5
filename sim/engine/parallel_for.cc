// SPDX-License-Identifier: Apache-2.0
// File: parallel_for.cc
// parallel_for(): std::jthread workers over an atomic index counter; the lowest failed index's
// exception is rethrown once every worker has stopped.
#include "stepsim/parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace stepsim {

void parallel_for(std::size_t count,
                  int threads,
                  const std::function<void(std::size_t index, std::size_t worker)>& body) {
    const std::size_t workers = std::min(count, static_cast<std::size_t>(std::max(threads, 1)));
    std::atomic<std::size_t> next{0};
    std::atomic<bool> has_failed{false};
    std::mutex mutex;
    std::size_t failed_index = count;
    std::exception_ptr failure;
    const auto work = [&](std::size_t worker) {
        while (!has_failed.load()) {
            const std::size_t i = next.fetch_add(1);
            if (i >= count) {
                return;
            }
            try {
                body(i, worker);
            } catch (...) {
                const std::lock_guard<std::mutex> lock(mutex);
                if (i < failed_index) {
                    failed_index = i;
                    failure = std::current_exception();
                }
                has_failed = true;
            }
        }
    };
    {
        std::vector<std::jthread> pool;
        pool.reserve(workers > 0 ? workers - 1 : 0);
        for (std::size_t w = 1; w < workers; ++w) {
            pool.emplace_back(work, w);
        }
        work(0);
    }  // the jthreads join here
    if (failure) {
        std::rethrow_exception(failure);
    }
}

int hardware_threads() {
    return static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
}

}  // namespace stepsim
