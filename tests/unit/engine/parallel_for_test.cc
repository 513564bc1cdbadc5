// SPDX-License-Identifier: Apache-2.0
// File: parallel_for_test.cc
// parallel_for(): every index runs exactly once whatever the thread count; per-index results
// equal a sequential loop's; the rethrown exception is the lowest failed index's (the one a
// sequential loop throws), and every index below it has run. parallel_for_driven(): the bodies
// run on worker threads while the calling thread drives (here: drains a queue in index order,
// as the sweep's writer does); a body's failure tells the driver to stop; the driver's own
// exception wins.
#include "stepsim/parallel.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using stepsim::parallel_for;

TEST_CASE("parallel_for runs every index once, results by index", "[engine][parallel]") {
    for (const int threads : {0, 1, 2, 3, 8, 100}) {
        constexpr std::size_t n = 257;
        std::vector<std::atomic<int>> runs(n);
        std::vector<std::size_t> squares(n);
        std::atomic<std::size_t> max_worker{0};
        parallel_for(n, threads, [&](std::size_t i, std::size_t worker) {
            ++runs[i];
            squares[i] = i * i;
            std::size_t seen = max_worker.load();
            while (worker > seen && !max_worker.compare_exchange_weak(seen, worker)) {}
        });
        for (std::size_t i = 0; i < n; ++i) {
            REQUIRE(runs[i] == 1);
            REQUIRE(squares[i] == i * i);
        }
        // Workers are numbered from 0 to min(threads, n) - 1.
        CHECK(max_worker.load() < static_cast<std::size_t>(std::max(threads, 1)));
    }
}

TEST_CASE("parallel_for with no indices calls nothing", "[engine][parallel]") {
    bool called = false;
    parallel_for(0, 4, [&](std::size_t, std::size_t) { called = true; });
    CHECK_FALSE(called);
}

TEST_CASE("parallel_for rethrows the lowest failed index's exception", "[engine][parallel]") {
    // Indices 40 and 90 throw. A sequential loop throws 40's after running 0..39; so must every
    // thread count: 0..39 have all run, and the message is index 40's.
    for (const int threads : {1, 2, 4, 16}) {
        constexpr std::size_t n = 200;
        std::vector<std::atomic<int>> runs(n);
        try {
            parallel_for(n, threads, [&](std::size_t i, std::size_t) {
                ++runs[i];
                if (i == 40 || i == 90) {
                    throw std::runtime_error("index " + std::to_string(i));
                }
            });
            FAIL("no exception");
        } catch (const std::runtime_error& error) {
            CHECK(std::string(error.what()) == "index 40");
        }
        for (std::size_t i = 0; i <= 40; ++i) {
            REQUIRE(runs[i] == 1);
        }
        for (std::size_t i = 41; i < n; ++i) {
            REQUIRE(runs[i] <= 1);
        }
    }
}

TEST_CASE("parallel_for hardware_threads is at least one", "[engine][parallel]") {
    CHECK(stepsim::hardware_threads() >= 1);
}

TEST_CASE("parallel_for_driven: the driver drains what the workers hand over",
          "[engine][parallel]") {
    for (const int threads : {1, 2, 5}) {
        constexpr std::size_t n = 100;
        std::mutex mutex;
        std::map<std::size_t, std::size_t> ready;  // index -> result, waiting for the driver
        std::vector<std::size_t> written;          // in index order, like the sweep's journal
        const std::thread::id caller = std::this_thread::get_id();
        std::atomic<bool> body_on_caller{false};
        stepsim::parallel_for_driven(
            n, threads,
            [&](std::size_t i, std::size_t) {
                if (std::this_thread::get_id() == caller) {
                    body_on_caller = true;
                }
                const std::lock_guard<std::mutex> lock(mutex);
                ready.emplace(i, i * 3);
            },
            [&](const std::function<bool()>& has_failed) {
                while (written.size() < n && !has_failed()) {
                    const std::lock_guard<std::mutex> lock(mutex);
                    for (auto it = ready.find(written.size()); it != ready.end();
                         it = ready.find(written.size())) {
                        written.push_back(it->second);
                        ready.erase(it);
                    }
                }
            });
        CHECK_FALSE(body_on_caller);  // the calling thread only drives
        REQUIRE(written.size() == n);
        for (std::size_t i = 0; i < n; ++i) {
            REQUIRE(written[i] == i * 3);
        }
    }
}

TEST_CASE("parallel_for_driven: a failed body stops the driver and is rethrown",
          "[engine][parallel]") {
    bool driver_saw_failure = false;
    try {
        stepsim::parallel_for_driven(
            50, 3,
            [&](std::size_t i, std::size_t) {
                if (i == 7) {
                    throw std::runtime_error("index 7");
                }
            },
            [&](const std::function<bool()>& has_failed) {
                // A driver waiting for rows that will never come: only has_failed() ends it.
                while (!has_failed()) {
                    std::this_thread::sleep_for(std::chrono::milliseconds(1));
                }
                driver_saw_failure = true;
            });
        FAIL("no exception");
    } catch (const std::runtime_error& error) {
        CHECK(std::string(error.what()) == "index 7");
    }
    CHECK(driver_saw_failure);
}

TEST_CASE("parallel_for_driven: the driver's exception stops the workers and wins",
          "[engine][parallel]") {
    std::atomic<std::size_t> ran{0};
    try {
        stepsim::parallel_for_driven(
            100000, 2,
            [&](std::size_t i, std::size_t) {
                ++ran;
                if (i == 3) {
                    throw std::runtime_error("body");
                }
            },
            [&](const std::function<bool()>&) { throw std::logic_error("driver"); });
        FAIL("no exception");
    } catch (const std::logic_error& error) {
        CHECK(std::string(error.what()) == "driver");
    }
    CHECK(ran.load() < 100000);  // indices stopped being handed out
}
