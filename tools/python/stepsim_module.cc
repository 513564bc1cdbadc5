// SPDX-License-Identifier: Apache-2.0
// File: stepsim_module.cc
// `import stepsim`: the study layer's typed results and the specs as objects. step() calls the
// step study and returns a StepResult (attributes, .to_dict(), .to_json() through the one
// serializer, sim/report/step_json.cc); load_workload()/load_topology() return Workload and
// Topology objects that can be edited and passed back. checkpoint() runs the checkpoint study
// (the CLI's flags as keyword arguments) and returns a CheckpointResult the same way
// (sim/report/checkpoint_json.cc). The other commands still run in-process with --json and
// return dicts. Bad input raises stepsim.SpecError (a ValueError) and internal
// errors stepsim.InternalError (a RuntimeError), both with the CLI's exact messages.
// Type stubs: tools/python/stepsim.pyi.
//
//   job = stepsim.load_workload("workloads/tiny-pp.textproto"); job.parallelism.tp = 4
//   r = stepsim.step(topology="topologies/dgx-h100-16.textproto", workload=job)
//   r.step_time_s, r.breakdown.tp_s, r.stages[0].bubble_fraction, r.to_dict()
//   stepsim.run("collective", ["--topology", "...", "--op", "all_reduce", ...])
#include "stepsim/error.h"
#include "stepsim/parallel.h"
#include "stepsim/report.h"
#include "stepsim/results_json.h"
#include "stepsim/spec.h"
#include "stepsim/study/checkpoint.h"
#include "stepsim/study/step.h"
#include "stepsim/topology.h"
#include "stepsim/units.h"
#include "stepsim/workload.h"

#include "command.h"
#include "run_command.h"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace py = pybind11;

namespace {

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.pop_back();
    }
    return text;
}

/// Runs `command` with `args` (+ --json) in-process, without the GIL; parses the output.
py::object run_json(const std::string& command, std::vector<std::string> args) {
    args.emplace_back("--json");
    stepsim::cli::CommandOutcome outcome;
    {
        const py::gil_scoped_release release;
        outcome = stepsim::cli::run_command(command, args);
    }
    py::module_ stepsim = py::module_::import("stepsim");
    if (outcome.status == 2) {
        PyErr_SetString(stepsim.attr("SpecError").ptr(), trimmed(outcome.error).c_str());
        throw py::error_already_set();
    }
    if (outcome.status != 0) {
        PyErr_SetString(stepsim.attr("InternalError").ptr(), trimmed(outcome.error).c_str());
        throw py::error_already_set();
    }
    return py::module_::import("json").attr("loads")(outcome.output);
}

/// Keyword arguments -> flags: name_with_underscores -> --name-with-underscores; True -> the
/// bare flag; False and None -> nothing; a list or tuple -> the flag repeated; "set" (a dict
/// {path: value} or a list of "path=value") -> --set PATH=VALUE each.
std::vector<std::string> flags_from(const py::kwargs& kwargs) {
    std::vector<std::string> args;
    for (const auto& [key, value] : kwargs) {
        const std::string name = py::str(key);
        if (value.is_none()) {
            continue;
        }
        if (name == "set") {
            if (py::isinstance<py::dict>(value)) {
                for (const auto& [path, v] : py::reinterpret_borrow<py::dict>(value)) {
                    const std::string text = py::isinstance<py::bool_>(v)
                                                 ? (v.cast<bool>() ? "true" : "false")
                                                 : std::string(py::str(v));
                    args.push_back("--set");
                    args.push_back(std::string(py::str(path)) + "=" + text);
                }
            } else {
                for (const py::handle item : value) {
                    args.push_back("--set");
                    args.push_back(py::str(item));
                }
            }
            continue;
        }
        std::string flag = "--" + name;
        for (char& c : flag) {
            if (c == '_') {
                c = '-';
            }
        }
        if (py::isinstance<py::bool_>(value)) {
            if (value.cast<bool>()) {
                args.push_back(flag);
            }
        } else if (py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value)) {
            for (const py::handle item : value) {
                args.push_back(flag);
                args.push_back(py::str(item));
            }
        } else {
            args.push_back(flag);
            args.push_back(py::str(value));
        }
    }
    return args;
}

std::vector<stepsim::SpecOverride> overrides_from(const py::object& set) {
    std::vector<stepsim::SpecOverride> result;
    if (set.is_none()) {
        return result;
    }
    if (py::isinstance<py::dict>(set)) {
        for (const auto& [path, v] : py::reinterpret_borrow<py::dict>(set)) {
            const std::string text = py::isinstance<py::bool_>(v)
                                         ? (v.cast<bool>() ? "true" : "false")
                                         : std::string(py::str(v));
            result.push_back({std::string(py::str(path)), text});
        }
        return result;
    }
    for (const py::handle item : set) {
        result.push_back(stepsim::parse_override(std::string(py::str(item))));
    }
    return result;
}

/// load_topology()/load_workload(): from `path` or from `text` (exactly one), with the
/// overrides `set`, through the loader's two forms.
template <class Spec>
Spec load_spec(
    const py::object& path,
    const py::object& text,
    const py::object& set,
    const std::string& name,
    Spec (*from_text)(std::string_view, std::string_view, std::span<const stepsim::SpecOverride>),
    Spec (*from_file)(const std::filesystem::path&, std::span<const stepsim::SpecOverride>)) {
    const std::vector<stepsim::SpecOverride> overrides = overrides_from(set);
    if (path.is_none() == text.is_none()) {
        throw py::value_error("give path or text");
    }
    return path.is_none() ? from_text(text.cast<std::string>(), name, overrides)
                          : from_file(path.cast<std::string>(), overrides);
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

py::dict topology_facts(const stepsim::Topology& topology) {
    py::dict d;
    d["gpus"] = topology.gpu_count();
    d["hosts"] = topology.host_count();
    d["nodes"] = topology.node_count();
    d["links"] = topology.link_count();
    return d;
}

py::dict workload_facts(const stepsim::TrainingJob& job) {
    py::dict d;
    d["name"] = job.model.name;
    d["gpu"] = job.gpu.name;
    d["tp"] = job.layout.tp;
    d["pp"] = job.layout.pp;
    d["dp"] = job.layout.dp;
    d["gpus"] = job.layout.world_size();
    d["zero_stage"] = job.layout.zero_stage;
    d["schedule"] = std::string(stepsim::to_string(job.layout.schedule));
    d["parameters"] = stepsim::parameter_count(job.model);
    d["microbatches"] = stepsim::microbatches(job);
    d["tokens_per_step"] = stepsim::tokens_per_step(job);
    return d;
}

/// Raises stepsim.SpecError with the CLI's message for `stepsim COMMAND` flag errors.
[[noreturn]] void raise_usage(const std::string& command, const std::string& message) {
    PyErr_SetString(py::module_::import("stepsim").attr("SpecError").ptr(),
                    ("stepsim " + command + ": error: " + message).c_str());
    throw py::error_already_set();
}

/// A topology given as a path (loaded with `overrides`) or as a loaded Topology object.
struct TopologyArgument {
    std::unique_ptr<stepsim::Topology> owned;
    const stepsim::Topology* topology = nullptr;
    std::string file;  ///< as reported with the result
};

TopologyArgument topology_argument(const py::object& value,
                                   const std::vector<stepsim::SpecOverride>& overrides) {
    TopologyArgument argument;
    if (py::isinstance<stepsim::Topology>(value)) {
        if (!overrides.empty()) {
            throw py::value_error("set= topology fields need a topology path, not an object");
        }
        argument.topology = &value.cast<const stepsim::Topology&>();
        argument.file = "<topology object>";
        return argument;
    }
    argument.file = py::str(value);
    argument.owned =
        std::make_unique<stepsim::Topology>(stepsim::load_topology_file(argument.file, overrides));
    argument.topology = argument.owned.get();
    return argument;
}

stepsim::TrainingJob workload_argument(const py::object& value,
                                       const std::vector<stepsim::SpecOverride>& overrides,
                                       std::string& file) {
    if (py::isinstance<stepsim::TrainingJob>(value)) {
        if (!overrides.empty()) {
            throw py::value_error("set= workload fields need a workload path; edit the object");
        }
        file = "<workload object>";
        return value.cast<stepsim::TrainingJob>();
    }
    file = py::str(value);
    return stepsim::load_workload_file(file, overrides);
}

/// stepsim.step(): the step study, as `stepsim step` runs it, returning its typed result.
stepsim::study::StepStudyResult run_step_study(const py::object& topology,
                                               const py::object& workload,
                                               const py::object& set,
                                               const std::string& fidelity,
                                               const std::string& network,
                                               bool allow_oom,
                                               bool free_comm,
                                               bool exact_groups,
                                               bool exact,
                                               int threads) {
    stepsim::study::StepStudyOptions options;
    try {
        options.step.fidelity = stepsim::cli::parse_fidelity_flag(fidelity);
        options.step.network = stepsim::cli::parse_network_flag(network);
    } catch (const stepsim::cli::UsageError& e) {
        raise_usage("step", e.what());
    }
    if (threads < 0) {
        raise_usage("step", "--threads must be >= 1, got " + std::to_string(threads));
    }
    options.step.threads = threads == 0 ? stepsim::hardware_threads() : threads;
    options.step.is_communication_free = free_comm;
    options.step.is_memoized_by_shape = !exact_groups;
    options.step.is_exact = exact;
    options.allows_oom = allow_oom;
    std::vector<stepsim::SpecOverride> workload_overrides = overrides_from(set);
    const std::vector<stepsim::SpecOverride> topology_overrides =
        stepsim::cli::take_topology_overrides(workload_overrides);
    const TopologyArgument t = topology_argument(topology, topology_overrides);
    const stepsim::TrainingJob job =
        workload_argument(workload, workload_overrides, options.workload_file);
    options.topology_file = t.file;
    const py::gil_scoped_release release;
    return stepsim::study::run_step(job, *t.topology, options);
}

/// stepsim.checkpoint(**flags): the checkpoint study as `stepsim checkpoint` runs it (flags as
/// keyword arguments, --csv and --plot included), returning its typed result; None after
/// help=True. Errors raise what the CLI prints, as run_command() maps them.
std::optional<stepsim::study::CheckpointStudyResult> run_checkpoint_study(
    const py::kwargs& kwargs) {
    const std::vector<std::string> args = flags_from(kwargs);
    std::ostringstream out;
    std::ostringstream err;
    stepsim::cli::CommandIo io(out, err);
    bool is_json = false;
    std::string error;
    bool is_user_error = true;
    // The CLI's notes on stderr (the default grid) go to sys.stderr.
    const auto forward_notes = [&err] {
        if (!err.str().empty()) {
            py::module_::import("sys").attr("stderr").attr("write")(err.str());
        }
    };
    try {
        std::optional<stepsim::study::CheckpointStudyResult> result;
        {
            const py::gil_scoped_release release;
            result = stepsim::cli::run_checkpoint_flags(args, io, is_json);
        }
        forward_notes();
        return result;
    } catch (const stepsim::SpecError& e) {  // located: "file:line:col: error: ..."
        error = e.what();
    } catch (const stepsim::UserError& e) {
        error = std::string("stepsim checkpoint: error: ") + e.what();
    } catch (const stepsim::InternalError& e) {
        error = e.what();
        is_user_error = false;
    } catch (const std::exception& e) {
        error = std::string("stepsim checkpoint: error: ") + e.what();
        is_user_error = false;
    }
    forward_notes();
    PyErr_SetString(
        py::module_::import("stepsim").attr(is_user_error ? "SpecError" : "InternalError").ptr(),
        error.c_str());
    throw py::error_already_set();
}

/// A checkpoint study's point or rate with the step time its intervals are counted in.
struct CheckpointPointView {
    stepsim::SweepPoint point;
    double step_s = 0;
};

struct CheckpointRateView {
    stepsim::RateStudy rate;
    stepsim::study::RefinedOptimum refined;
    double step_s = 0;
};

double interval_s(const stepsim::SweepPoint& point, double step_s) {
    return static_cast<double>(point.interval_steps) * step_s;
}

py::object json_loads(const std::string& text) {
    return py::module_::import("json").attr("loads")(text);
}

}  // namespace

PYBIND11_MODULE(stepsim, m) {
    m.doc() =
        "stepsim: a discrete-event simulator of LLM-training GPU clusters. step() returns a "
        "typed StepResult; load_workload()/load_topology() return editable spec objects; the "
        "other functions run the CLI's commands in-process and return their --json as dicts.";
    const py::object spec_error = py::reinterpret_borrow<py::object>(
        PyErr_NewException("stepsim.SpecError", PyExc_ValueError, nullptr));
    const py::object internal_error = py::reinterpret_borrow<py::object>(
        PyErr_NewException("stepsim.InternalError", PyExc_RuntimeError, nullptr));
    m.attr("SpecError") = spec_error;
    m.attr("InternalError") = internal_error;
    // Library calls (the load_* functions) raise C++ exceptions; map them the CLI's way.
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) {
                std::rethrow_exception(p);
            }
        } catch (const stepsim::UserError& e) {  // SpecError and the rest of the family
            PyErr_SetString(py::module_::import("stepsim").attr("SpecError").ptr(), e.what());
        } catch (const stepsim::InternalError& e) {
            PyErr_SetString(py::module_::import("stepsim").attr("InternalError").ptr(), e.what());
        }
    });

    using stepsim::StageResult;
    using stepsim::StepBreakdown;
    using stepsim::TrainingJob;
    using stepsim::study::StepStudyResult;
    py::class_<StepBreakdown>(m, "Breakdown",
                              "Seconds per category (mean over GPUs for the cluster); "
                              "for one GPU they sum to the step time.")
        .def_readonly("compute_s", &StepBreakdown::compute_s)
        .def_readonly("recompute_s", &StepBreakdown::recompute_s)
        .def_readonly("tp_s", &StepBreakdown::tp_s)
        .def_readonly("pp_s", &StepBreakdown::pp_s)
        .def_readonly("dp_s", &StepBreakdown::dp_s)
        .def_readonly("zero_s", &StepBreakdown::zero_s)
        .def_readonly("ep_s", &StepBreakdown::ep_s)
        .def_readonly("bubble_s", &StepBreakdown::bubble_s)
        .def_readonly("other_idle_s", &StepBreakdown::other_idle_s)
        .def_property_readonly("total_s", &StepBreakdown::total_s);
    py::class_<StageResult>(m, "StageResult", "One pipeline stage, simulated on one GPU.")
        .def_readonly("stage", &StageResult::stage)
        .def_property_readonly("rank", [](const StageResult& s) { return s.rank.value; })
        .def_readonly("breakdown", &StageResult::breakdown)
        .def_readonly("bubble_fraction", &StageResult::bubble_fraction)
        .def_readonly("peak_in_flight_chunks", &StageResult::peak_in_flight_chunks)
        .def_property_readonly("memory_bytes",
                               [](const StageResult& s) { return s.memory.total_bytes(); });
    py::class_<StepStudyResult>(m, "StepResult",
                                "One simulated training step (stepsim.step()). Fields as in "
                                "`stepsim step --json`; to_dict()/to_json() give that JSON.")
        .def_readonly("topology", &StepStudyResult::topology_file)
        .def_readonly("workload", &StepStudyResult::workload_file)
        .def_property_readonly("schedule", [](const StepStudyResult& r) { return r.step.schedule; })
        .def_property_readonly("step_time_s",
                               [](const StepStudyResult& r) { return r.step.step_time_s; })
        .def_property_readonly("bubble_fraction",
                               [](const StepStudyResult& r) { return r.step.bubble_fraction; })
        .def_property_readonly("mfu", [](const StepStudyResult& r) { return r.step.mfu; })
        .def_property_readonly("hfu", [](const StepStudyResult& r) { return r.step.hfu; })
        .def_property_readonly("tokens_per_s",
                               [](const StepStudyResult& r) { return r.step.tokens_per_s; })
        .def_property_readonly("model_flops_per_step",
                               [](const StepStudyResult& r) { return r.step.model_flops_per_step; })
        .def_property_readonly("gpus", [](const StepStudyResult& r) { return r.step.gpus; })
        .def_property_readonly(
            "memory_per_gpu_bytes",
            [](const StepStudyResult& r) { return r.step.memory_per_gpu.total_bytes(); })
        .def_readonly("hbm_bytes", &StepStudyResult::hbm_bytes)
        .def_property_readonly(
            "breakdown", [](const StepStudyResult& r) { return r.step.cluster; },
            "the cluster breakdown (mean over GPUs)")
        .def_property_readonly("stages", [](const StepStudyResult& r) { return r.step.stages; })
        .def(
            "to_json", [](const StepStudyResult& r) { return stepsim::to_json(r); },
            "`stepsim step --json`'s text")
        .def(
            "to_dict", [](const StepStudyResult& r) { return json_loads(stepsim::to_json(r)); },
            "`stepsim step --json` as a dict")
        .def("__getitem__",
             [](const StepStudyResult& r, const std::string& key) {
                 const py::object d = json_loads(stepsim::to_json(r));
                 return py::object(d[py::str(key)]);
             })
        .def("__repr__", [](const StepStudyResult& r) {
            return "<StepResult step_time_s=" + stepsim::format_number(r.step.step_time_s) +
                   " schedule=" + r.step.schedule + " gpus=" + std::to_string(r.step.gpus) + ">";
        });
    using stepsim::study::CheckpointStudyResult;
    py::class_<CheckpointPointView>(m, "CheckpointPoint",
                                    "One checkpoint interval of one failure rate, over every "
                                    "seed. Fields as in a `points` entry of `stepsim checkpoint "
                                    "--json`.")
        .def_property_readonly(
            "interval_s",
            [](const CheckpointPointView& p) { return interval_s(p.point, p.step_s); })
        .def_property_readonly("interval_steps",
                               [](const CheckpointPointView& p) { return p.point.interval_steps; })
        .def_property_readonly(
            "goodput", [](const CheckpointPointView& p) { return p.point.summary.goodput.mean; })
        .def_property_readonly(
            "goodput_ci95",
            [](const CheckpointPointView& p) { return p.point.summary.goodput.ci95; })
        .def_property_readonly(
            "wall_time_s",
            [](const CheckpointPointView& p) { return p.point.summary.wall_time_s.mean; })
        .def_property_readonly(
            "wall_time_ci95_s",
            [](const CheckpointPointView& p) { return p.point.summary.wall_time_s.ci95; })
        .def_property_readonly(
            "rework_s", [](const CheckpointPointView& p) { return p.point.summary.rework_s; })
        .def_property_readonly(
            "checkpoint_s",
            [](const CheckpointPointView& p) { return p.point.summary.checkpoint_s; })
        .def_property_readonly(
            "validation_s",
            [](const CheckpointPointView& p) { return p.point.summary.validation_s; })
        .def_property_readonly(
            "restart_s", [](const CheckpointPointView& p) { return p.point.summary.restart_s; })
        .def_property_readonly(
            "failures", [](const CheckpointPointView& p) { return p.point.summary.failures; })
        .def_property_readonly("unfinished_runs", [](const CheckpointPointView& p) {
            return p.point.summary.unfinished_runs;
        });
    py::class_<CheckpointRateView>(m, "CheckpointRate",
                                   "The study of one failure rate: the best interval and its "
                                   "band, Young's and Daly's, the refined optimum, the grid's "
                                   "points. Fields as in a `results` entry of `stepsim "
                                   "checkpoint --json`.")
        .def_property_readonly("mtbf_s", [](const CheckpointRateView& r) { return r.rate.mtbf_s; })
        .def_property_readonly("best_interval_s",
                               [](const CheckpointRateView& r) {
                                   return interval_s(r.rate.grid[r.rate.best], r.step_s);
                               })
        .def_property_readonly("best_goodput",
                               [](const CheckpointRateView& r) {
                                   return r.rate.grid[r.rate.best].summary.goodput.mean;
                               })
        .def_property_readonly("best_goodput_ci95",
                               [](const CheckpointRateView& r) {
                                   return r.rate.grid[r.rate.best].summary.goodput.ci95;
                               })
        .def_property_readonly("band_low_s",
                               [](const CheckpointRateView& r) { return r.rate.band_low_s; })
        .def_property_readonly("band_high_s",
                               [](const CheckpointRateView& r) { return r.rate.band_high_s; })
        .def_property_readonly("young_interval_s",
                               [](const CheckpointRateView& r) { return r.rate.young_interval_s; })
        .def_property_readonly(
            "young_simulated_interval_s",
            [](const CheckpointRateView& r) { return interval_s(r.rate.young, r.step_s); })
        .def_property_readonly(
            "young_goodput",
            [](const CheckpointRateView& r) { return r.rate.young.summary.goodput.mean; })
        .def_property_readonly(
            "young_goodput_ci95",
            [](const CheckpointRateView& r) { return r.rate.young.summary.goodput.ci95; })
        .def_property_readonly("young_disagrees",
                               [](const CheckpointRateView& r) { return r.rate.young_disagrees; })
        .def_property_readonly("daly_interval_s",
                               [](const CheckpointRateView& r) { return r.rate.daly_interval_s; })
        .def_property_readonly(
            "daly_simulated_interval_s",
            [](const CheckpointRateView& r) { return interval_s(r.rate.daly, r.step_s); })
        .def_property_readonly(
            "daly_goodput",
            [](const CheckpointRateView& r) { return r.rate.daly.summary.goodput.mean; })
        .def_property_readonly(
            "daly_goodput_ci95",
            [](const CheckpointRateView& r) { return r.rate.daly.summary.goodput.ci95; })
        .def_property_readonly("daly_disagrees",
                               [](const CheckpointRateView& r) { return r.rate.daly_disagrees; })
        .def_property_readonly(
            "refined_interval_s",
            [](const CheckpointRateView& r) { return interval_s(r.refined.point, r.step_s); })
        .def_property_readonly(
            "refined_goodput",
            [](const CheckpointRateView& r) { return r.refined.point.summary.goodput.mean; })
        .def_property_readonly(
            "refined_goodput_ci95",
            [](const CheckpointRateView& r) { return r.refined.point.summary.goodput.ci95; })
        .def_property_readonly("refined_band_low_s",
                               [](const CheckpointRateView& r) { return r.refined.band_low_s; })
        .def_property_readonly("refined_band_high_s",
                               [](const CheckpointRateView& r) { return r.refined.band_high_s; })
        .def_property_readonly("refined_evaluations",
                               [](const CheckpointRateView& r) { return r.refined.evaluations; })
        .def_property_readonly("caveats",
                               [](const CheckpointRateView& r) { return r.rate.caveats; })
        .def_property_readonly("points", [](const CheckpointRateView& r) {
            std::vector<CheckpointPointView> points;
            for (const stepsim::SweepPoint& p : r.rate.grid) {
                points.push_back({p, r.step_s});
            }
            return points;
        });
    py::class_<CheckpointStudyResult>(m, "CheckpointResult",
                                      "A checkpoint interval study (stepsim.checkpoint()). Fields "
                                      "as in `stepsim checkpoint --json`; to_dict()/to_json() "
                                      "give that JSON.")
        .def_property_readonly("step_time_s",
                               [](const CheckpointStudyResult& r) {
                                   return stepsim::to_seconds(r.spec.base.step_time);
                               })
        .def_property_readonly("steps",
                               [](const CheckpointStudyResult& r) { return r.spec.base.steps; })
        .def_property_readonly("useful_work_s",
                               [](const CheckpointStudyResult& r) {
                                   return stepsim::to_seconds(r.spec.base.useful_time());
                               })
        .def_property_readonly("checkpoint_cost_s",
                               [](const CheckpointStudyResult& r) {
                                   return stepsim::to_seconds(r.spec.base.checkpoint.save_cost);
                               })
        .def_property_readonly(
            "is_async",
            [](const CheckpointStudyResult& r) { return r.spec.base.checkpoint.is_async; })
        .def_property_readonly(
            "background_write_s",
            [](const CheckpointStudyResult& r) {
                return stepsim::to_seconds(r.spec.base.checkpoint.background_write);
            })
        .def_property_readonly("restart_cost_s",
                               [](const CheckpointStudyResult& r) {
                                   return stepsim::to_seconds(r.spec.base.restart.total());
                               })
        .def_property_readonly("seeds", [](const CheckpointStudyResult& r) { return r.spec.seeds; })
        .def_property_readonly("base_seed",
                               [](const CheckpointStudyResult& r) { return r.spec.base_seed; })
        .def_property_readonly(
            "results",
            [](const CheckpointStudyResult& r) {
                std::vector<CheckpointRateView> rates;
                const double step_s = stepsim::to_seconds(r.spec.base.step_time);
                for (std::size_t i = 0; i < r.rates.size(); ++i) {
                    rates.push_back({r.rates[i], r.refined.at(i), step_s});
                }
                return rates;
            },
            "one CheckpointRate per failure rate")
        .def(
            "to_json", [](const CheckpointStudyResult& r) { return stepsim::to_json(r); },
            "`stepsim checkpoint --json`'s text")
        .def(
            "to_dict",
            [](const CheckpointStudyResult& r) { return json_loads(stepsim::to_json(r)); },
            "`stepsim checkpoint --json` as a dict")
        .def("__getitem__",
             [](const CheckpointStudyResult& r, const std::string& key) {
                 const py::object d = json_loads(stepsim::to_json(r));
                 return py::object(d[py::str(key)]);
             })
        .def("__repr__", [](const CheckpointStudyResult& r) {
            return "<CheckpointResult rates=" + std::to_string(r.rates.size()) + " step_time_s=" +
                   stepsim::format_number(stepsim::to_seconds(r.spec.base.step_time)) +
                   " seeds=" + std::to_string(r.spec.seeds) + ">";
        });
    py::class_<stepsim::ParallelLayout>(m, "Parallelism", "A workload's parallel layout.")
        .def_readwrite("tp", &stepsim::ParallelLayout::tp)
        .def_readwrite("pp", &stepsim::ParallelLayout::pp)
        .def_readwrite("dp", &stepsim::ParallelLayout::dp)
        .def_readwrite("virtual_stages", &stepsim::ParallelLayout::virtual_stages)
        .def_readwrite("zero_stage", &stepsim::ParallelLayout::zero_stage)
        .def_readwrite("sequence_parallel", &stepsim::ParallelLayout::is_sequence_parallel)
        .def_property_readonly("schedule", [](const stepsim::ParallelLayout& l) {
            return std::string(stepsim::to_string(l.schedule));
        });
    py::class_<stepsim::TrainingConfig>(m, "Training", "A workload's batch settings.")
        .def_readwrite("global_batch", &stepsim::TrainingConfig::global_batch)
        .def_readwrite("micro_batch", &stepsim::TrainingConfig::micro_batch);
    py::class_<stepsim::ModelConfig>(m, "Model", "A workload's model shape.")
        .def_readwrite("name", &stepsim::ModelConfig::name)
        .def_readwrite("layers", &stepsim::ModelConfig::layers)
        .def_readwrite("hidden", &stepsim::ModelConfig::hidden)
        .def_readwrite("ffn_hidden", &stepsim::ModelConfig::ffn_hidden)
        .def_readwrite("heads", &stepsim::ModelConfig::heads)
        .def_readwrite("seq_len", &stepsim::ModelConfig::seq_len)
        .def_readwrite("vocab", &stepsim::ModelConfig::vocab);
    py::class_<TrainingJob>(m, "Workload",
                            "A loaded workload spec (stepsim.load_workload()); edit its fields "
                            "and pass it to stepsim.step(workload=...).")
        .def_readwrite("parallelism", &TrainingJob::layout)
        .def_readwrite("training", &TrainingJob::training)
        .def_readwrite("model", &TrainingJob::model)
        .def_property_readonly("gpu", [](const TrainingJob& j) { return j.gpu.name; })
        .def(
            "problems",
            [](const TrainingJob& j) {
                std::vector<std::string> out;
                for (const stepsim::JobProblem& p : stepsim::validate_job(j)) {
                    out.push_back(p.field_path + ": " + p.message);
                }
                return out;
            },
            "What validate_job() finds wrong after edits (field: message), [] when valid.")
        .def("facts", &workload_facts, "name, gpu, layout and sizes as a dict")
        .def("__getitem__", [](const TrainingJob& j, const std::string& key) {
            const py::dict d = workload_facts(j);
            return py::object(d[py::str(key)]);
        });
    py::class_<stepsim::Topology>(m, "Topology", "A loaded cluster (stepsim.load_topology()).")
        .def_property_readonly("gpus", &stepsim::Topology::gpu_count)
        .def_property_readonly("hosts", &stepsim::Topology::host_count)
        .def_property_readonly("nodes", &stepsim::Topology::node_count)
        .def_property_readonly("links", &stepsim::Topology::link_count)
        .def("facts", &topology_facts, "gpus, hosts, nodes and links as a dict")
        .def("__getitem__", [](const stepsim::Topology& t, const std::string& key) {
            const py::dict d = topology_facts(t);
            return py::object(d[py::str(key)]);
        });
    m.def("step", &run_step_study, py::arg("topology"), py::arg("workload"),
          py::arg("set") = py::none(), py::arg("fidelity") = "fast",
          py::arg("network") = "fair_share", py::arg("allow_oom") = false,
          py::arg("free_comm") = false, py::arg("exact_groups") = false, py::arg("exact") = false,
          py::arg("threads") = 0,
          "Simulates one training step (the step study, as `stepsim step`). topology and "
          "workload: a path or a loaded object; set: {path: value} overrides (paths only). "
          "Returns a StepResult.");

    m.def("run", &run_json, py::arg("command"), py::arg("args"),
          "Runs `stepsim COMMAND ARGS... --json` in-process and returns the parsed JSON.");
    m.def("checkpoint", &run_checkpoint_study,
          "Runs the checkpoint interval study as `stepsim checkpoint` does, with keyword "
          "arguments as its flags (step_time=\"10s\", mtbf=\"2h\", csv=PATH, ...); returns a "
          "CheckpointResult.");
    for (const char* name : {"collective", "workload", "topology", "search", "whatif"}) {
        const std::string command = name;
        m.def(
            name,
            [command](const py::kwargs& kwargs) { return run_json(command, flags_from(kwargs)); },
            ("Runs `stepsim " + command +
             " --json` with keyword arguments as flags (topology=..., allow_oom=True, "
             "set={\"path\": value}) and returns the parsed JSON.")
                .c_str());
    }
    m.def(
        "sweep",
        [](const std::string& spec, const std::string& out, int jobs, const py::object& set) {
            std::vector<std::string> args = {spec, "--out", out, "--quiet"};
            if (jobs > 0) {
                args.push_back("--jobs");
                args.push_back(std::to_string(jobs));
            }
            for (const stepsim::SpecOverride& o : overrides_from(set)) {
                args.push_back("--set");
                args.push_back(o.field_path + "=" + o.value);
            }
            py::dict result;
            result["summary"] = run_json("sweep", args);
            py::list rows;
            const py::object loads = py::module_::import("json").attr("loads");
            std::istringstream lines(read_text(out + "/results.jsonl"));
            for (std::string line; std::getline(lines, line);) {
                rows.append(loads(line));
            }
            result["rows"] = rows;
            return result;
        },
        py::arg("spec"), py::arg("out"), py::arg("jobs") = 0, py::arg("set") = py::none(),
        "Runs a sweep spec into directory `out` (resuming it) and returns {'summary': ..., "
        "'rows': [one dict per point, as in results.jsonl]}.");
    m.def(
        "load_topology",
        [](const py::object& path, const py::object& text, const py::object& set,
           const std::string& name) {
            return load_spec(path, text, set, name, &stepsim::load_topology_text,
                             &stepsim::load_topology_file);
        },
        py::arg("path") = py::none(), py::arg("text") = py::none(), py::arg("set") = py::none(),
        py::arg("name") = "<text>",
        "Loads and validates a topology spec (a file or text, with overrides); returns a "
        "Topology (t.gpus, t['gpus'], t.facts()).");
    m.def(
        "load_workload",
        [](const py::object& path, const py::object& text, const py::object& set,
           const std::string& name) {
            return load_spec(path, text, set, name, &stepsim::load_workload_text,
                             &stepsim::load_workload_file);
        },
        py::arg("path") = py::none(), py::arg("text") = py::none(), py::arg("set") = py::none(),
        py::arg("name") = "<text>",
        "Loads and validates a workload spec (a file or text, with overrides); returns a "
        "Workload (job.parallelism.tp = 4; job['tp'], job.facts()).");
}
