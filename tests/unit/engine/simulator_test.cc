// SPDX-License-Identifier: Apache-2.0
// Engine tests: total order (time, priority, sequence), cancel, run_until, independence of
// two simulators, fingerprints, and the time conversions' rounding.
#include "stepsim/simulator.h"

#include "stepsim/error.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace stepsim;
using namespace std::chrono_literals;

TEST_CASE("events fire in (time, priority, insertion) order", "[engine]") {
    Simulator sim(1);
    std::vector<std::string> fired;
    sim.schedule_at(Time(10), [&] { fired.push_back("t10-default-a"); });
    sim.schedule_at(Time(5), [&] { fired.push_back("t5"); });
    sim.schedule_at(Time(10), [&] { fired.push_back("t10-default-b"); });
    sim.schedule_at(
        Time(10), [&] { fired.push_back("t10-high"); }, Priority::kHigh);
    sim.schedule_at(
        Time(10), [&] { fired.push_back("t10-low"); }, Priority::kLow);
    sim.run();
    REQUIRE(fired == std::vector<std::string>{"t5", "t10-high", "t10-default-a", "t10-default-b",
                                              "t10-low"});
    REQUIRE(sim.now() == Time(10));
    REQUIRE(sim.events_executed() == 5);
}

TEST_CASE("an event may schedule more events, including at the current time", "[engine]") {
    Simulator sim(1);
    std::vector<int> fired;
    sim.schedule_in(1us, [&] {
        fired.push_back(1);
        sim.schedule_in(Time(0), [&] { fired.push_back(3); });
        sim.schedule_in(
            Time(0), [&] { fired.push_back(4); }, Priority::kLow);
    });
    sim.schedule_in(1us, [&] { fired.push_back(2); });
    sim.run();
    REQUIRE(fired == std::vector<int>{1, 2, 3, 4});
    REQUIRE(sim.now() == Time(1us));
}

TEST_CASE("cancel removes a pending event once", "[engine]") {
    Simulator sim(1);
    int fired = 0;
    const EventId a = sim.schedule_in(Time(3), [&] { fired += 1; });
    sim.schedule_in(Time(4), [&] { fired += 10; });
    REQUIRE(sim.pending() == 2);
    REQUIRE(sim.cancel(a));
    REQUIRE_FALSE(sim.cancel(a));
    REQUIRE(sim.pending() == 1);
    sim.run();
    REQUIRE(fired == 10);
    REQUIRE_FALSE(sim.cancel(EventId{}));
}

TEST_CASE("a cancelled event's slot can be reused without confusing ids", "[engine]") {
    Simulator sim(1);
    int fired = 0;
    const EventId a = sim.schedule_in(Time(3), [&] { fired += 1; });
    REQUIRE(sim.cancel(a));
    const EventId b = sim.schedule_in(Time(5), [&] { fired += 2; });
    REQUIRE_FALSE(sim.cancel(a));  // the old id must not cancel the new event
    sim.run();
    REQUIRE(fired == 2);
    REQUIRE_FALSE(sim.cancel(b));  // already fired
}

TEST_CASE("run_until stops at the limit and advances the clock", "[engine]") {
    Simulator sim(1);
    std::vector<int> fired;
    for (int t = 1; t <= 5; ++t) {
        sim.schedule_at(Time(t * 10), [&fired, t] { fired.push_back(t); });
    }
    sim.run_until(Time(30));
    REQUIRE(fired == std::vector<int>{1, 2, 3});
    REQUIRE(sim.now() == Time(30));
    sim.run_until(Time(35));
    REQUIRE(sim.now() == Time(35));
    REQUIRE(sim.next_event_time() == Time(40));
    sim.run();
    REQUIRE(fired.size() == 5);
}

TEST_CASE("scheduling in the past is an internal error", "[engine]") {
    Simulator sim(1);
    sim.schedule_at(Time(10), [] {});
    sim.run();
    REQUIRE_THROWS_AS(sim.schedule_at(Time(5), [] {}), InternalError);
}

TEST_CASE("stop() ends run() after the current event", "[engine]") {
    Simulator sim(1);
    int fired = 0;
    sim.schedule_in(Time(1), [&] {
        ++fired;
        sim.stop();
    });
    sim.schedule_in(Time(2), [&] { ++fired; });
    sim.run();
    REQUIRE(fired == 1);
    REQUIRE(sim.pending() == 1);
}

namespace {
// A small model: a chain of events whose delays come from the simulator's random stream.
std::uint64_t run_random_chain(std::uint64_t seed) {
    Simulator sim(seed);
    int remaining = 1000;
    std::function<void()> next = [&] {
        if (--remaining > 0) {
            const auto delay = Time(1 + sim.rng("chain").uniform_int(1000));
            sim.schedule_in(delay, next, Priority::kDefault, 7);
        }
    };
    sim.schedule_in(Time(0), next);
    sim.run();
    return sim.fingerprint();
}
}  // namespace

TEST_CASE("same seed gives the same fingerprint; another seed another", "[engine][determinism]") {
    REQUIRE(run_random_chain(42) == run_random_chain(42));
    REQUIRE(run_random_chain(42) != run_random_chain(43));
}

TEST_CASE("two simulators in one process do not interfere", "[engine]") {
    Simulator a(42);
    Simulator b(42);
    a.schedule_in(Time(5), [] {});
    REQUIRE(a.pending() == 1);
    REQUIRE(b.pending() == 0);
    REQUIRE(a.rng("x").next_u64() == b.rng("x").next_u64());
}

TEST_CASE("the run-level simulator covers a year in nanoseconds", "[engine]") {
    RunSimulator sim(1);
    const RunTime year = run_time_from_seconds(365.0 * 86400.0);
    bool fired = false;
    sim.schedule_at(year, [&] { fired = true; });
    sim.run();
    REQUIRE(fired);
    REQUIRE(sim.now() == year);
    REQUIRE(to_seconds(sim.now()) == Approx(365.0 * 86400.0).epsilon(1e-15));
}

TEST_CASE("the fingerprint mixes (time, priority, tag) of each event in firing order",
          "[engine][determinism]") {
    // Reference: start at 0xcbf29ce484222325; per word w, h = (h ^ w) * 0x9e3779b97f4a7c15,
    // then h ^= h >> 32; the words of an event are its time, priority and tag.
    const auto mix_word = [](std::uint64_t hash, std::uint64_t word) {
        hash = (hash ^ word) * 0x9e3779b97f4a7c15ULL;
        return hash ^ (hash >> 32);
    };
    Simulator sim(1);
    std::uint64_t expected = 0xcbf29ce484222325ULL;

    const struct {
        std::int64_t time;
        Priority priority;
        std::uint64_t tag;
    } events[] = {{5, Priority::kDefault, 0},
                  {5, Priority::kFirst, 0xfedcba9876543210ULL},
                  {123456789012, Priority::kLast, 42},
                  {123456789012, Priority::kHigh, 7}};

    for (const auto& e : events) {
        sim.schedule_at(
            Time(e.time), [] {}, e.priority, e.tag);
    }
    // Firing order: (5, kFirst), (5, kDefault), (1234..., kHigh), (1234..., kLast).
    for (const int i : {1, 0, 3, 2}) {
        expected = mix_word(expected, static_cast<std::uint64_t>(events[i].time));
        expected = mix_word(expected, static_cast<std::uint64_t>(events[i].priority));
        expected = mix_word(expected, events[i].tag);
    }
    sim.run();
    REQUIRE(sim.fingerprint() == expected);
}
