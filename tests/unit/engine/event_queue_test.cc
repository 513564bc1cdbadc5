// SPDX-License-Identifier: Apache-2.0
// Event-queue tests. The order under test is total: event a fires before b iff
//   (time_a, priority_a, seq_a) < (time_b, priority_b, seq_b)   (lexicographic),
// seq being the schedule-call count. The queue is a radix heap keyed by time, so the risky
// spots are where keys change buckets: ties at one time, same-time insertions of a higher
// priority, keys far apart (1 ps next to a year), cancelled keys deep in the structure, and
// scheduling below a time that next_event_time() already looked ahead to. A differential
// test replays seeded random schedule/cancel/step/run_until sequences against a std::map
// holding the same total order.
#include "engine/event_queue.h"

#include "stepsim/random.h"
#include "stepsim/simulator.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <vector>

using namespace stepsim;

TEST_CASE("ties at one time fire by priority, then by scheduling order", "[engine][queue]") {
    // Five events at t = 7 ps, scheduled in the order below; expected order by (priority, seq).
    Simulator sim(1);
    std::vector<int> fired;
    const Priority priorities[] = {Priority::kLow,     Priority::kDefault, Priority::kFirst,
                                   Priority::kDefault, Priority::kHigh,    Priority::kLast,
                                   Priority::kFirst};
    for (int i = 0; i < 7; ++i) {
        sim.schedule_at(
            Time(7), [&fired, i] { fired.push_back(i); }, priorities[i]);
    }
    sim.run();
    REQUIRE(fired == std::vector<int>{2, 6, 4, 1, 3, 0, 5});
}

TEST_CASE("a same-time event of higher priority overtakes pending same-time events",
          "[engine][queue]") {
    // At t = 100: A (default) fires first and schedules B at t = 100 with kHigh. C (default,
    // scheduled before B) is still pending at t = 100: B < C since 64 < 128, so A, B, C; then
    // D (kLast at t = 100, scheduled by B) after C, and E (kFirst at t = 101) last.
    Simulator sim(1);
    std::vector<char> fired;
    sim.schedule_at(Time(100), [&] {
        fired.push_back('A');
        sim.schedule_at(
            Time(100),
            [&] {
                fired.push_back('B');
                sim.schedule_at(
                    Time(100), [&] { fired.push_back('D'); }, Priority::kLast);
            },
            Priority::kHigh);
    });
    sim.schedule_at(Time(100), [&] { fired.push_back('C'); });
    sim.schedule_at(
        Time(101), [&] { fired.push_back('E'); }, Priority::kFirst);
    sim.run();
    REQUIRE(fired == std::vector<char>{'A', 'B', 'C', 'D', 'E'});
}

TEST_CASE("huge time gaps: 1 tick next to a year (run level) and 100 days (step level)",
          "[engine][queue]") {
    // Keys differing in their lowest and their highest bytes sit at the two ends of the radix
    // levels; order must still be plain time order.
    RunSimulator run(1);
    const RunTime year = run_time_from_seconds(365.0 * 86400.0);
    std::vector<std::int64_t> run_fired;
    for (const RunTime t : {year, RunTime(1), year + RunTime(1), RunTime(0), year - RunTime(1),
                            RunTime(256), RunTime(255)}) {
        run.schedule_at(t, [&run_fired, &run] { run_fired.push_back(run.now().count()); });
    }
    run.run();
    const std::int64_t y = year.count();
    REQUIRE(run_fired == std::vector<std::int64_t>{0, 1, 255, 256, y - 1, y, y + 1});

    Simulator step(1);
    const Time days_100 = from_seconds(100.0 * 86400.0);
    std::vector<std::int64_t> step_fired;
    step.schedule_at(days_100, [&] { step_fired.push_back(step.now().count()); });
    step.schedule_at(Time(1), [&] {
        step_fired.push_back(step.now().count());
        // From t = 1 ps, one more just before the far event and one at the very end of time.
        step.schedule_at(days_100 - Time(1), [&] { step_fired.push_back(step.now().count()); });
        step.schedule_at(Time::max(), [&] { step_fired.push_back(step.now().count()); });
    });
    step.run();
    REQUIRE(step_fired == std::vector<std::int64_t>{1, days_100.count() - 1, days_100.count(),
                                                    Time::max().count()});
}

TEST_CASE("cancelling a key deep in the structure removes exactly that event", "[engine][queue]") {
    // 20 000 events at t = 1000 * (i + 1) ps. After the first 1000 fire (the far keys have
    // moved down some levels by then), cancel #15000: 19 999 fire, #15000 never, in order.
    Simulator sim(1);
    constexpr int kEvents = 20000;
    std::vector<EventId> ids;
    std::vector<int> fired;
    for (int i = 0; i < kEvents; ++i) {
        ids.push_back(sim.schedule_at(Time(1000 * (i + 1)), [&fired, i] { fired.push_back(i); }));
    }
    sim.run_until(Time(1000 * 1000));
    REQUIRE(fired.size() == 1000);
    REQUIRE(sim.cancel(ids[15000]));
    REQUIRE_FALSE(sim.cancel(ids[15000]));
    REQUIRE_FALSE(sim.cancel(ids[10]));  // already fired
    REQUIRE(sim.pending() == kEvents - 1000 - 1);
    sim.run();
    REQUIRE(fired.size() == kEvents - 1);
    bool is_in_order = true;
    for (std::size_t k = 0; k < fired.size(); ++k) {
        const int expected =
            static_cast<int>(k) < 15000 ? static_cast<int>(k) : static_cast<int>(k) + 1;
        is_in_order = is_in_order && fired[k] == expected;
    }
    REQUIRE(is_in_order);
}

TEST_CASE("next_event_time skips cancelled events and never fires them", "[engine][queue]") {
    Simulator sim(1);
    int fired = 0;
    const EventId a = sim.schedule_at(Time(10), [&] { fired += 1; });
    const EventId b = sim.schedule_at(
        Time(10), [&] { fired += 10; }, Priority::kHigh);
    sim.schedule_at(Time(20), [&] { fired += 100; });
    REQUIRE(sim.next_event_time() == Time(10));
    REQUIRE(sim.cancel(a));
    REQUIRE(sim.cancel(b));
    REQUIRE(sim.next_event_time() == Time(20));
    REQUIRE(sim.pending() == 1);
    sim.run();
    REQUIRE(fired == 100);
    REQUIRE(sim.next_event_time() == Time::max());
}

TEST_CASE("scheduling below a looked-ahead event time keeps the order", "[engine][queue]") {
    // run_until(50) looks ahead to the event at 1000 and stops at 50. Events then scheduled
    // at 50 (= now), 60 and 999, and those they schedule in turn, all come before t = 1000;
    // one scheduled exactly at 1000 with kFirst overtakes the earlier-scheduled default one.
    Simulator sim(1);
    std::vector<std::string> fired;
    sim.schedule_at(Time(1000), [&] { fired.push_back("1000-default"); });
    sim.run_until(Time(50));
    REQUIRE(sim.now() == Time(50));
    REQUIRE(sim.next_event_time() == Time(1000));
    sim.schedule_at(Time(999), [&] { fired.push_back("999"); });
    sim.schedule_at(Time(60), [&] {
        fired.push_back("60");
        sim.schedule_at(Time(70), [&] { fired.push_back("70"); });
        sim.schedule_at(
            Time(1000), [&] { fired.push_back("1000-first"); }, Priority::kFirst);
    });
    sim.schedule_at(Time(50), [&] { fired.push_back("50"); });
    REQUIRE(sim.next_event_time() == Time(50));
    sim.run();
    REQUIRE(fired ==
            std::vector<std::string>{"50", "60", "70", "999", "1000-first", "1000-default"});
}

TEST_CASE("many cancels: stale keys stay bounded and the survivors fire in order",
          "[engine][queue]") {
    // Schedule 100 000 events, cancel 9 of every 10 right away. The purge runs when stale
    // keys exceed both 4096 and the live count, so stale() <= max(4096, live) + 1 throughout.
    detail::EventQueue queue;
    constexpr int kEvents = 100000;
    std::vector<std::uint64_t> ids;
    std::size_t worst_excess = 0;
    for (int i = 0; i < kEvents; ++i) {
        // Times interleave (i * 7919 mod kEvents) so survivors are spread over all buckets.
        const std::int64_t time = (static_cast<std::int64_t>(i) * 7919) % kEvents;
        ids.push_back(queue.push(time, 128, static_cast<std::uint64_t>(i), [] {}));
        if (i % 10 != 0) {
            REQUIRE(queue.cancel(ids.back()));
        }
        const std::size_t bound = std::max<std::size_t>(4096, queue.live()) + 1;
        worst_excess = std::max(worst_excess, queue.stale() > bound ? queue.stale() - bound : 0);
    }
    REQUIRE(worst_excess == 0);
    REQUIRE(queue.live() == kEvents / 10);
    detail::EventQueue::Popped event;
    std::int64_t last_time = -1;
    std::size_t popped = 0;
    bool is_sorted_and_live = true;
    while (queue.pop(event)) {
        is_sorted_and_live = is_sorted_and_live && event.time > last_time && event.tag % 10 == 0;
        last_time = event.time;
        ++popped;
    }
    REQUIRE(is_sorted_and_live);
    REQUIRE(popped == kEvents / 10);
    REQUIRE(queue.stale() == 0);
}

namespace {

// Drives a Simulator and a reference std::map with the same random operations. Every fired
// callback checks itself against the reference's first entry.
class DifferentialDriver {
public:
    explicit DifferentialDriver(std::uint64_t seed)
        : sim_(seed)
        , rng_(seed) {}

    void run(int operations) {
        for (int op = 0; op < operations; ++op) {
            const std::uint64_t choice = rng_.uniform_int(100);
            if (choice < 45) {
                schedule_random();
            } else if (choice < 60) {
                cancel_random();
            } else if (choice < 88) {
                const bool is_due = !reference_.empty();
                const std::uint64_t fired_before = fired_;
                expect(sim_.step() == is_due, "step() result");
                expect(fired_ == fired_before + (is_due ? 1 : 0), "step() fired one event");
            } else if (choice < 95) {
                const Time limit = sim_.now() + random_delay();
                sim_.run_until(limit);
                expect(reference_.empty() || std::get<0>(reference_.begin()->first) > limit.count(),
                       "run_until left an event <= limit");
                expect(sim_.now() == limit, "run_until clock");
            } else {
                const std::int64_t expected = reference_.empty()
                                                  ? Time::max().count()
                                                  : std::get<0>(reference_.begin()->first);
                expect(sim_.next_event_time().count() == expected, "next_event_time");
            }
            expect(sim_.pending() == reference_.size(), "pending()");
        }
        sim_.run();
        expect(reference_.empty(), "events left after run()");
    }

    std::uint64_t fired() const { return fired_; }

    std::uint64_t cancelled() const { return cancelled_; }

    std::uint64_t mismatches() const { return mismatches_; }

    const std::string& first_mismatch() const { return first_mismatch_; }

private:
    using OrderKey = std::tuple<std::int64_t, int, std::uint64_t>;  // time, priority, seq

    void expect(bool is_ok, const char* what) {
        if (!is_ok) {
            if (mismatches_ == 0) {
                first_mismatch_ = std::string(what) +
                                  " at t=" + std::to_string(sim_.now().count()) + " after " +
                                  std::to_string(fired_) + " events";
            }
            ++mismatches_;
        }
    }

    // Delays mix exact ties, one-byte, two-byte, three-byte and 40-bit gaps.
    Time random_delay() {
        const std::uint64_t kind = rng_.uniform_int(10);
        const std::int64_t small_set[] = {0, 1, 7, 255, 256, 1000};
        switch (kind) {
            case 0:
            case 1:
                return Time(0);
            case 2:
            case 3:
                return Time(small_set[rng_.uniform_int(6)]);
            case 4:
            case 5:
                return Time(static_cast<std::int64_t>(1 + rng_.uniform_int(255)));
            case 6:
                return Time(static_cast<std::int64_t>(1 + rng_.uniform_int(65535)));
            case 7:
            case 8:
                return Time(static_cast<std::int64_t>(1 + rng_.uniform_int(1 << 24)));
            default:
                return Time(static_cast<std::int64_t>(1 + rng_.uniform_int(1ULL << 40)));
        }
    }

    Priority random_priority() {
        const Priority choices[] = {Priority::kFirst,   Priority::kHigh, Priority::kDefault,
                                    Priority::kDefault, Priority::kLow,  Priority::kLast};
        if (rng_.uniform_int(8) == 0) {
            return static_cast<Priority>(rng_.uniform_int(256));
        }
        return choices[rng_.uniform_int(6)];
    }

    void schedule_random() {
        const Time when = sim_.now() + random_delay();
        const Priority priority = random_priority();
        const std::uint64_t label = ids_.size();
        const OrderKey key{when.count(), static_cast<int>(priority), label};
        ids_.push_back(sim_.schedule_at(
            when, [this, key] { on_fire(key); }, priority, label));
        keys_.push_back(key);
        reference_.emplace(key, label);
    }

    void cancel_random() {
        if (ids_.empty()) {
            return;
        }
        // Mostly recent ids (likely pending), sometimes any id (likely fired or cancelled).
        const std::uint64_t span =
            rng_.uniform_int(4) == 0 ? ids_.size() : std::min<std::size_t>(64, ids_.size());
        const std::uint64_t label = ids_.size() - 1 - rng_.uniform_int(span);
        const bool is_pending = reference_.erase(keys_[label]) == 1;
        expect(sim_.cancel(ids_[label]) == is_pending, "cancel() result");
        cancelled_ += is_pending ? 1 : 0;
    }

    void on_fire(const OrderKey& key) {
        ++fired_;
        expect(!reference_.empty() && reference_.begin()->first == key, "firing order");
        expect(sim_.now().count() == std::get<0>(key), "now() at firing");
        reference_.erase(key);
        // Some events schedule more, often at the current time (same-time insertion).
        if (rng_.uniform_int(3) == 0) {
            schedule_random();
        }
    }

    Simulator sim_;
    RandomStream rng_;
    std::vector<EventId> ids_;
    std::vector<OrderKey> keys_;
    std::map<OrderKey, std::uint64_t> reference_;
    std::uint64_t fired_ = 0;
    std::uint64_t cancelled_ = 0;
    std::uint64_t mismatches_ = 0;
    std::string first_mismatch_;
};

}  // namespace

TEST_CASE("randomized differential test against a std::map reference", "[engine][queue]") {
    for (const std::uint64_t seed : {1ULL, 2ULL, 3ULL, 0xdeadbeefULL}) {
        DifferentialDriver driver(seed);
        driver.run(60000);
        INFO("seed " << seed << ": " << driver.first_mismatch());
        REQUIRE(driver.mismatches() == 0);
        // The sequence exercised both firing and cancelling in earnest.
        REQUIRE(driver.fired() > 10000);
        REQUIRE(driver.cancelled() > 1000);
    }
}

TEST_CASE("a large group of events at one time fires by priority, then by scheduling order",
          "[engine][queue]") {
    // 5000 events at t = 1000 ps and 5000 at t = 1001 ps, scheduled interleaved with seeded
    // random priorities. They reach the run through a level-1 bucket, so each time is a group
    // of 5000 ordered by (priority, sequence): expected order is a stable sort by
    // (time, priority) of the scheduling order.
    Simulator sim(1);
    RandomStream rng(7);
    constexpr int kEvents = 10000;
    std::vector<std::tuple<std::int64_t, int, int>> expected;
    std::vector<int> fired;
    for (int i = 0; i < kEvents; ++i) {
        const std::int64_t time = 1000 + i % 2;
        const auto priority = static_cast<int>(rng.uniform_int(256));
        expected.emplace_back(time, priority, i);
        sim.schedule_at(
            Time(time), [&fired, i] { fired.push_back(i); }, static_cast<Priority>(priority));
    }
    std::sort(expected.begin(), expected.end());
    sim.run();
    std::vector<int> expected_order;
    for (const auto& [time, priority, index] : expected) {
        expected_order.push_back(index);
    }
    REQUIRE(fired == expected_order);
}
