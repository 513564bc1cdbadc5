// SPDX-License-Identifier: Apache-2.0
// File: run_simulation.cc
// The run-level simulation: an event-driven walk through a training run on the nanosecond
// RunSimulator. The job alternates compute segments (whole steps up to the next checkpoint or
// validation step, one event per segment), checkpoints (sync writes, or async snapshots plus
// background writes), validations and restarts; failures, drawn in wall-clock time by the
// FailureProcess, cut whatever is running, lose every step since the last durable checkpoint,
// and start a restart. Every nanosecond of wall time lands in exactly one bucket.
#include "stepsim/error.h"
#include "stepsim/failures.h"
#include "stepsim/random.h"
#include "stepsim/simulator.h"

#include "failure_process.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace stepsim {

namespace {

// Event tags for the fingerprint.
enum EventTag : std::uint64_t {
    kComputeEnd = 1,
    kSaveEnd = 2,
    kWriteEnd = 3,
    kValidationEnd = 4,
    kFailure = 5,
    kDetected = 6,
    kRestartEnd = 7,
    kRepairDone = 8,
    kWallLimit = 9,
};

enum class Phase : std::uint8_t { kCompute, kCheckpoint, kValidation, kRestart, kDone };

class RunSimulation {
public:
    RunSimulation(const RunSpec& spec, std::uint64_t seed)
        : spec_(spec)
        , sim_(seed)
        , failures_(spec.failures,
                    [this](const std::string& name) -> RandomStream& { return sim_.rng(name); }) {
        if (spec_.restart.spare_nodes) {
            spares_available_ = *spec_.restart.spare_nodes;
        }
    }

    RunResult run() {
        const RunTime useful = spec_.useful_time();
        RunTime limit = spec_.max_wall_time;
        if (limit.count() == 0) {
            const std::int64_t checkpoints = (spec_.steps + spec_.checkpoint.interval_steps - 1) /
                                             spec_.checkpoint.interval_steps;
            const RunTime ideal =
                useful +
                (spec_.checkpoint.save_cost + spec_.checkpoint.background_write) * checkpoints;
            const RunTime cap = run_time_from_seconds(250.0 * 365.25 * 86400.0);
            limit = ideal.count() > cap.count() / 100 ? cap : ideal * 100;
        }
        sim_.schedule_at(
            limit, [this] { on_wall_limit(); }, Priority::kLast, kWallLimit);
        schedule_next_failure();
        phase_start_ = RunTime{0};
        continue_after_boundary();
        sim_.run();

        result_.wall_time = sim_.now();
        result_.useful = spec_.step_time * durable_step_;
        STEPSIM_CHECK(compute_ >= result_.useful, "compute time below useful time");
        result_.rework = compute_ - result_.useful;
        result_.fingerprint = sim_.fingerprint();
        STEPSIM_CHECK(result_.wall_time ==
                          compute_ + result_.checkpoint + result_.validation + result_.restart,
                      "wall time is not the sum of its parts");
        return result_;
    }

private:
    // ---- phases and accounting ---------------------------------------------------------------

    void enter(Phase phase) {
        if (phase_ == Phase::kCompute && is_merged_save_ && sim_.now() > compute_end_) {
            // A compute segment and its synchronous save ran as one event: split at the
            // moment the compute ended.
            compute_ += compute_end_ - phase_start_;
            phase_start_ = compute_end_;
            phase_ = Phase::kCheckpoint;
        }
        is_merged_save_ = false;
        const RunTime elapsed = sim_.now() - phase_start_;
        switch (phase_) {
            case Phase::kCompute:
                compute_ += elapsed;
                break;
            case Phase::kCheckpoint:
                result_.checkpoint += elapsed;
                break;
            case Phase::kValidation:
                result_.validation += elapsed;
                break;
            case Phase::kRestart:
                result_.restart += elapsed;
                break;
            case Phase::kDone:
                break;
        }
        phase_ = phase;
        phase_start_ = sim_.now();
    }

    void schedule_job(RunTime delay, void (RunSimulation::*handler)(), EventTag tag) {
        job_event_ = sim_.schedule_in(
            delay, [this, handler] { (this->*handler)(); }, Priority::kDefault, tag);
    }

    // ---- compute ----------------------------------------------------------------------------

    /// Where the job stands at a step boundary: finish, wait for the final write, validate,
    /// or compute the next segment.
    void continue_after_boundary() {
        if (step_ == spec_.steps) {
            if (durable_step_ == spec_.steps) {
                finish();
            } else {
                enter(Phase::kCheckpoint);  // waiting for the final background write
                waiting_for_write_ = true;
            }
            return;
        }
        const std::int64_t v = spec_.validation.interval_steps;
        if (v > 0 && step_ > 0 && step_ % v == 0 && validated_step_ != step_) {
            enter(Phase::kValidation);
            schedule_job(spec_.validation.cost, &RunSimulation::on_validation_end, kValidationEnd);
            return;
        }
        start_segment();
    }

    void start_segment() {
        const std::int64_t k = spec_.checkpoint.interval_steps;
        std::int64_t target = (step_ / k + 1) * k;
        const std::int64_t v = spec_.validation.interval_steps;
        if (v > 0) {
            target = std::min(target, (step_ / v + 1) * v);
        }
        target = std::min(target, spec_.steps);
        enter(Phase::kCompute);
        segment_target_ = target;
        const RunTime compute = spec_.step_time * (target - step_);
        if (!spec_.checkpoint.is_async && is_checkpoint_step(target)) {
            // One event for the segment and its synchronous save (half the events of a sweep);
            // enter() and on_failure() split the phase at compute_end_.
            is_merged_save_ = true;
            compute_end_ = sim_.now() + compute;
            schedule_job(compute + spec_.checkpoint.save_cost, &RunSimulation::on_segment_saved,
                         kSaveEnd);
            return;
        }
        schedule_job(compute, &RunSimulation::on_compute_end, kComputeEnd);
    }

    bool is_checkpoint_step(std::int64_t step) const {
        return step % spec_.checkpoint.interval_steps == 0 || step == spec_.steps;
    }

    void on_segment_saved() {
        step_ = segment_target_;
        enter(Phase::kCheckpoint);  // books the compute and the save
        make_durable(step_);
        continue_after_boundary();
    }

    void on_compute_end() {
        step_ = segment_target_;
        if (is_checkpoint_step(step_)) {
            begin_checkpoint();
        } else {
            continue_after_boundary();
        }
    }

    void on_validation_end() {
        validated_step_ = step_;
        start_segment();
    }

    // ---- checkpoints ------------------------------------------------------------------------

    void begin_checkpoint() {
        enter(Phase::kCheckpoint);
        if (spec_.checkpoint.is_async && write_in_flight_) {
            waiting_for_write_ = true;  // the snapshot waits for the previous write
            return;
        }
        schedule_job(spec_.checkpoint.save_cost, &RunSimulation::on_save_end, kSaveEnd);
    }

    void on_save_end() {
        if (!spec_.checkpoint.is_async) {
            make_durable(step_);
            continue_after_boundary();
            return;
        }
        write_in_flight_ = true;
        write_step_ = step_;
        write_event_ = sim_.schedule_in(
            spec_.checkpoint.background_write, [this] { on_write_end(); }, Priority::kDefault,
            kWriteEnd);
        continue_after_boundary();
    }

    void on_write_end() {
        write_in_flight_ = false;
        make_durable(write_step_);
        if (!waiting_for_write_) {
            return;
        }
        waiting_for_write_ = false;
        if (durable_step_ == spec_.steps) {
            finish();
        } else {
            // The job sits at a checkpoint step: take its snapshot now.
            schedule_job(spec_.checkpoint.save_cost, &RunSimulation::on_save_end, kSaveEnd);
        }
    }

    void make_durable(std::int64_t step) {
        durable_step_ = step;
        ++result_.checkpoints_durable;
    }

    // ---- failures and restarts --------------------------------------------------------------

    void schedule_next_failure() {
        const detail::FailureProcess::Failure failure = failures_.next();
        if (failure.time == RunTime::max()) {
            return;
        }
        sim_.schedule_at(
            failure.time, [this, failure] { on_failure(failure.class_index); }, Priority::kHigh,
            kFailure);
    }

    void on_failure(std::size_t class_index) {
        schedule_next_failure();
        if (phase_ == Phase::kDone) {
            return;
        }
        ++result_.failures;
        const bool is_in_merged_save =
            phase_ == Phase::kCompute && is_merged_save_ && sim_.now() > compute_end_;
        if (is_in_merged_save ||
            (phase_ == Phase::kCheckpoint && !spec_.checkpoint.is_async && !waiting_for_write_)) {
            ++result_.checkpoints_lost;  // a synchronous write cut short
        }
        sim_.cancel(job_event_);
        if (write_in_flight_) {
            sim_.cancel(write_event_);
            write_in_flight_ = false;
            ++result_.checkpoints_lost;
        }
        waiting_for_write_ = false;
        detected_ = false;
        step_ = durable_step_;
        enter(Phase::kRestart);
        const FailureClass& failed = spec_.failures.classes[class_index];
        if (spec_.restart.spare_nodes && failed.needs_replacement) {
            // The failed node goes to repair and comes back as a spare.
            sim_.schedule_in(
                spec_.restart.repair_time, [this] { on_repair_done(); }, Priority::kDefault,
                kRepairDone);
            if (spares_available_ > 0) {
                --spares_available_;
            } else {
                ++spares_owed_;
            }
        }
        if (spec_.restart.detection.count() == 0) {
            on_detected();  // saves an event per failure
        } else {
            schedule_job(spec_.restart.detection, &RunSimulation::on_detected, kDetected);
        }
    }

    void on_detected() {
        detected_ = true;
        if (spares_owed_ == 0) {
            resume_restart();
        }
    }

    void on_repair_done() {
        if (spares_owed_ == 0) {
            ++spares_available_;
            return;
        }
        --spares_owed_;
        if (spares_owed_ == 0 && phase_ == Phase::kRestart && detected_) {
            resume_restart();
        }
    }

    void resume_restart() {
        detected_ = false;
        const RestartPolicy& r = spec_.restart;
        schedule_job(r.reschedule + r.load + r.warmup, &RunSimulation::on_restart_end, kRestartEnd);
    }

    void on_restart_end() { continue_after_boundary(); }

    // ---- end --------------------------------------------------------------------------------

    void finish() {
        enter(Phase::kDone);
        sim_.stop();
    }

    void on_wall_limit() {
        if (phase_ == Phase::kDone) {
            return;
        }
        enter(Phase::kDone);
        result_.is_finished = false;
        sim_.stop();
    }

    const RunSpec& spec_;
    RunSimulator sim_;
    detail::FailureProcess failures_;
    RunResult result_;
    RunTime compute_{0};
    Phase phase_ = Phase::kCompute;
    RunTime phase_start_{0};
    bool is_merged_save_ = false;  ///< the compute phase's event also covers the save
    RunTime compute_end_{0};
    EventId job_event_;
    EventId write_event_;
    std::int64_t step_ = 0;          ///< steps done in the current attempt
    std::int64_t durable_step_ = 0;  ///< steps saved in the last durable checkpoint
    std::int64_t segment_target_ = 0;
    std::int64_t validated_step_ = -1;
    std::int64_t write_step_ = 0;
    bool write_in_flight_ = false;
    bool waiting_for_write_ = false;
    bool detected_ = false;
    std::int64_t spares_available_ = 0;
    std::int64_t spares_owed_ = 0;
};

}  // namespace

double RunResult::goodput() const {
    return wall_time.count() > 0 ? to_seconds(useful) / to_seconds(wall_time) : 0.0;
}

RunResult simulate_run(const RunSpec& spec, std::uint64_t seed) {
    spec.validate();
    RunSimulation simulation(spec, seed);
    return simulation.run();
}

RunSummary simulate_runs(const RunSpec& spec, std::uint64_t base_seed, std::int64_t runs) {
    std::vector<RunResult> results;
    results.reserve(static_cast<std::size_t>(std::max<std::int64_t>(runs, 0)));
    for (std::int64_t k = 0; k < runs; ++k) {
        results.push_back(simulate_run(spec, run_seed(base_seed, k)));
    }
    return summarize(results);
}

}  // namespace stepsim
