// SPDX-License-Identifier: Apache-2.0
// File: parallel_for.cc
// parallel_for(): std::jthread workers over an atomic index counter; the lowest failed index's
// exception is rethrown once every worker has stopped. parallel_for_driven(): the same workers
// beside a driver loop on the calling thread.
#include "stepsim/parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace stepsim {

namespace {

/// The shared state of one loop: the next index, and the lowest failed index's exception.
class IndexLoop {
public:
    IndexLoop(std::size_t count,
              const std::function<void(std::size_t index, std::size_t worker)>& body)
        : count_(count)
        , body_(body)
        , failed_index_(count) {}

    /// Runs bodies on this thread until the indices run out or a body has thrown.
    void work(std::size_t worker) {
        while (!has_failed_.load()) {
            const std::size_t i = next_.fetch_add(1);
            if (i >= count_) {
                return;
            }
            try {
                body_(i, worker);
            } catch (...) {
                const std::lock_guard<std::mutex> lock(mutex_);
                if (i < failed_index_) {
                    failed_index_ = i;
                    failure_ = std::current_exception();
                }
                has_failed_ = true;
            }
        }
    }

    bool has_failed() const { return has_failed_.load(); }

    /// No index is handed out from now on.
    void stop() { has_failed_ = true; }

    void rethrow() const {
        if (failure_) {
            std::rethrow_exception(failure_);
        }
    }

private:
    std::size_t count_;
    const std::function<void(std::size_t, std::size_t)>& body_;
    std::atomic<std::size_t> next_{0};
    std::atomic<bool> has_failed_{false};
    std::mutex mutex_;
    std::size_t failed_index_;
    std::exception_ptr failure_;
};

std::size_t worker_count(std::size_t count, int threads) {
    return std::min(count, static_cast<std::size_t>(std::max(threads, 1)));
}

}  // namespace

void parallel_for(std::size_t count,
                  int threads,
                  const std::function<void(std::size_t index, std::size_t worker)>& body) {
    const std::size_t workers = worker_count(count, threads);
    IndexLoop loop(count, body);
    {
        std::vector<std::jthread> pool;
        pool.reserve(workers > 0 ? workers - 1 : 0);
        for (std::size_t w = 1; w < workers; ++w) {
            pool.emplace_back([&loop, w] { loop.work(w); });
        }
        loop.work(0);
    }  // the jthreads join here
    loop.rethrow();
}

void parallel_for_driven(
    std::size_t count,
    int threads,
    const std::function<void(std::size_t index, std::size_t worker)>& body,
    const std::function<void(const std::function<bool()>& has_failed)>& drive) {
    const std::size_t workers = worker_count(count, threads);
    IndexLoop loop(count, body);
    std::exception_ptr drive_failure;
    {
        std::vector<std::jthread> pool;
        pool.reserve(workers);
        for (std::size_t w = 0; w < workers; ++w) {
            pool.emplace_back([&loop, w] { loop.work(w); });
        }
        try {
            drive([&loop] { return loop.has_failed(); });
        } catch (...) {
            drive_failure = std::current_exception();
            loop.stop();
        }
    }  // the jthreads join here
    if (drive_failure) {
        std::rethrow_exception(drive_failure);
    }
    loop.rethrow();
}

int hardware_threads() {
    return static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
}

}  // namespace stepsim
