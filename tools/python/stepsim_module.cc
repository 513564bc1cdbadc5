// SPDX-License-Identifier: Apache-2.0
// File: stepsim_module.cc
// `import stepsim`: the CLI's commands run in-process with --json and returned as plain Python
// objects (dicts and lists with the JSON output's keys), so Python and the CLI give the same
// numbers. Bad input raises stepsim.SpecError (a ValueError) and internal errors
// stepsim.InternalError (a RuntimeError), both with the CLI's exact messages.
//
//   stepsim.step(topology="topologies/dgx-h100-16.textproto",
//                workload="workloads/tiny-pp.textproto", set={"training.micro_batch": 2})
//   stepsim.run("collective", ["--topology", "...", "--op", "all_reduce", ...])
#include "stepsim/error.h"
#include "stepsim/spec.h"
#include "stepsim/workload.h"

#include "run_command.h"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <fstream>
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

}  // namespace

PYBIND11_MODULE(stepsim, m) {
    m.doc() =
        "stepsim: a discrete-event simulator of LLM-training GPU clusters. Functions run the "
        "CLI's commands in-process and return their --json output as dicts.";
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

    m.def("run", &run_json, py::arg("command"), py::arg("args"),
          "Runs `stepsim COMMAND ARGS... --json` in-process and returns the parsed JSON.");
    for (const char* name :
         {"step", "collective", "checkpoint", "workload", "topology", "search", "whatif"}) {
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
            const std::vector<stepsim::SpecOverride> overrides = overrides_from(set);
            if (path.is_none() == text.is_none()) {
                throw py::value_error("give path or text");
            }
            return topology_facts(
                path.is_none()
                    ? stepsim::load_topology_text(text.cast<std::string>(), name, overrides)
                    : stepsim::load_topology_file(path.cast<std::string>(), overrides));
        },
        py::arg("path") = py::none(), py::arg("text") = py::none(), py::arg("set") = py::none(),
        py::arg("name") = "<text>",
        "Loads and validates a topology spec (a file or text, with overrides); returns its "
        "counts.");
    m.def(
        "load_workload",
        [](const py::object& path, const py::object& text, const py::object& set,
           const std::string& name) {
            const std::vector<stepsim::SpecOverride> overrides = overrides_from(set);
            if (path.is_none() == text.is_none()) {
                throw py::value_error("give path or text");
            }
            return workload_facts(
                path.is_none()
                    ? stepsim::load_workload_text(text.cast<std::string>(), name, overrides)
                    : stepsim::load_workload_file(path.cast<std::string>(), overrides));
        },
        py::arg("path") = py::none(), py::arg("text") = py::none(), py::arg("set") = py::none(),
        py::arg("name") = "<text>",
        "Loads and validates a workload spec (a file or text, with overrides); returns its "
        "layout and sizes.");
}
