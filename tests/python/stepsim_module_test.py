#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# The Python module against the CLI: for the same inputs, stepsim.<command>(...) returns the
# CLI's --json output (every key, every number; step() and checkpoint() as typed results whose
# attributes are the JSON's fields and whose to_json() is the CLI's text), and bad input raises
# stepsim.SpecError (a ValueError) whose message is exactly what the CLI prints on stderr with
# exit status 2.
import json
import os
import subprocess
import sys
import tempfile
import unittest

import stepsim

CLI = os.environ["STEPSIM_CLI"]
SOURCE = os.environ["STEPSIM_SOURCE_DIR"]
TOPOLOGY = os.path.join(SOURCE, "topologies/dgx-h100-16.textproto")
WORKLOAD = os.path.join(SOURCE, "workloads/tiny-pp.textproto")


def cli(*args):
    return subprocess.run([CLI, *args], capture_output=True, text=True)


class ModuleMatchesCli(unittest.TestCase):
    def test_step_same_numbers(self):
        result = stepsim.step(topology=TOPOLOGY, workload=WORKLOAD,
                              set={"training.micro_batch": 1, "parallelism.sequence_parallel": True})
        run = cli("step", "--topology", TOPOLOGY, "--workload", WORKLOAD, "--set",
                  "training.micro_batch=1", "--set", "parallelism.sequence_parallel=true", "--json")
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(result.to_dict(), json.loads(run.stdout))
        self.assertEqual(result.to_json(), run.stdout)
        self.assertGreater(result["step_time_s"], 0)

    def test_step_result_attributes_are_the_json_fields(self):
        result = stepsim.step(topology=TOPOLOGY, workload=WORKLOAD)
        self.assertIsInstance(result, stepsim.StepResult)
        d = result.to_dict()
        self.assertEqual(result.step_time_s, d["step_time_s"])
        self.assertEqual(result.mfu, d["mfu"])
        self.assertEqual(result.schedule, d["schedule"])
        self.assertEqual(result.breakdown.tp_s, d["cluster_breakdown"]["tp_s"])
        self.assertEqual(result.breakdown.bubble_s, d["cluster_breakdown"]["bubble_s"])
        self.assertEqual(len(result.stages), len(d["stages"]))
        for stage, expected in zip(result.stages, d["stages"]):
            self.assertEqual(stage.stage, expected["stage"])
            self.assertEqual(stage.rank, expected["rank"])
            self.assertEqual(stage.bubble_fraction, expected["bubble_fraction"])
            self.assertEqual(stage.breakdown.compute_s, expected["breakdown"]["compute_s"])
            # For one GPU the categories sum to the step time.
            self.assertAlmostEqual(stage.breakdown.total_s, result.step_time_s, places=9)
        self.assertEqual(result.hbm_bytes, d["memory_per_gpu_bytes"]["hbm_bytes"])

    def test_edited_workload_object_equals_the_override(self):
        # job.parallelism.tp = 4 on the loaded object and --set parallelism.tp=4 on the file
        # are the same job, so the same step (and the same JSON but for the workload name).
        job = stepsim.load_workload(path=WORKLOAD)
        self.assertEqual(job.problems(), [])
        job.parallelism.tp = 4
        job.parallelism.dp = 16 // (4 * job.parallelism.pp)
        self.assertEqual(job.parallelism.tp, 4)
        by_object = stepsim.step(topology=stepsim.load_topology(path=TOPOLOGY), workload=job)
        by_set = stepsim.step(topology=TOPOLOGY, workload=WORKLOAD,
                              set={"parallelism.tp": 4, "parallelism.dp": job.parallelism.dp})
        self.assertEqual(by_object.step_time_s, by_set.step_time_s)
        a, b = by_object.to_dict(), by_set.to_dict()
        for key in ("topology", "workload"):
            a.pop(key)
            b.pop(key)
        self.assertEqual(a, b)
        job.parallelism.tp = 3
        self.assertTrue(job.problems())

    def test_checkpoint_same_numbers(self):
        flags = dict(step_time="10s", steps="5000", checkpoint_cost="60s", restart_cost="10min",
                     mtbf="2h", intervals="20min,1h", seeds=5, threads=1)
        args = []
        for key, value in flags.items():
            args += ["--" + key.replace("_", "-"), str(value)]
        run = cli("checkpoint", *args, "--json")
        self.assertEqual(run.returncode, 0, run.stderr)
        result = stepsim.checkpoint(**flags)
        self.assertIsInstance(result, stepsim.CheckpointResult)
        self.assertEqual(result.to_json(), run.stdout)  # byte-identical
        self.assertEqual(result.to_dict(), json.loads(run.stdout))
        self.assertEqual(result["seeds"], 5)

    def test_checkpoint_result_attributes_are_the_json_fields(self):
        result = stepsim.checkpoint(step_time="10s", steps="20000", checkpoint_cost="60s",
                                    restart_cost="10min", mtbf_sweep="2h,6h",
                                    intervals="10min:2h:10min", seeds=4, threads=2)
        d = result.to_dict()
        for key, value in d.items():
            if key != "results":
                self.assertEqual(getattr(result, key), value, key)
        self.assertEqual(len(result.results), 2)
        for rate, expected in zip(result.results, d["results"]):
            self.assertIsInstance(rate, stepsim.CheckpointRate)
            for key, value in expected.items():
                if key != "points":
                    self.assertEqual(getattr(rate, key), value, key)
            self.assertEqual(len(rate.points), len(expected["points"]))
            for point, expected_point in zip(rate.points, expected["points"]):
                for key, value in expected_point.items():
                    self.assertEqual(getattr(point, key), value, key)
            # The refined optimum is at least as good as the grid's best (same seeds).
            self.assertGreaterEqual(rate.refined_goodput, rate.best_goodput)

    def test_checkpoint_csv_and_errors_as_the_cli(self):
        flags = dict(step_time="10s", steps="5000", checkpoint_cost="60s", restart_cost="10min",
                     mtbf="2h", intervals="20min,1h", seeds=3)
        with tempfile.TemporaryDirectory() as tmp:
            py_csv, cli_csv = os.path.join(tmp, "py.csv"), os.path.join(tmp, "cli.csv")
            stepsim.checkpoint(csv=py_csv, **flags)
            args = []
            for key, value in flags.items():
                args += ["--" + key.replace("_", "-"), str(value)]
            run = cli("checkpoint", *args, "--csv", cli_csv)
            self.assertEqual(run.returncode, 0, run.stderr)
            with open(py_csv, "rb") as a, open(cli_csv, "rb") as b:
                self.assertEqual(a.read(), b.read())
        args[args.index("--seeds") + 1] = "0"
        run = cli("checkpoint", *args)
        self.assertEqual(run.returncode, 2)
        with self.assertRaises(stepsim.SpecError) as caught:
            stepsim.checkpoint(**dict(flags, seeds=0))
        self.assertEqual(str(caught.exception), run.stderr.rstrip("\n"))

    def test_run_matches_keyword_form(self):
        run = cli("workload", WORKLOAD, "--json")
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(stepsim.run("workload", [WORKLOAD]), json.loads(run.stdout))

    def test_spec_error_carries_the_cli_message(self):
        run = cli("step", "--topology", TOPOLOGY, "--workload", WORKLOAD, "--set",
                  "training.micro_batch=3", "--json")
        self.assertEqual(run.returncode, 2)
        with self.assertRaises(stepsim.SpecError) as caught:
            stepsim.step(topology=TOPOLOGY, workload=WORKLOAD, set={"training.micro_batch": 3})
        self.assertIsInstance(caught.exception, ValueError)
        self.assertEqual(str(caught.exception), run.stderr.rstrip("\n"))
        self.assertIn("must be divisible by micro_batch x dp", str(caught.exception))

    def test_usage_error_carries_the_cli_message(self):
        run = cli("step", "--topology", TOPOLOGY, "--workload", WORKLOAD, "--fidelity", "slow")
        with self.assertRaises(stepsim.SpecError) as caught:
            stepsim.step(topology=TOPOLOGY, workload=WORKLOAD, fidelity="slow")
        self.assertEqual(str(caught.exception), run.stderr.rstrip("\n"))

    def test_whatif_replay_same_numbers(self):
        with tempfile.TemporaryDirectory() as tmp:
            trace = os.path.join(tmp, "step.json")
            run = cli("step", "--topology", TOPOLOGY, "--workload", WORKLOAD, "--trace", trace)
            self.assertEqual(run.returncode, 0, run.stderr)
            run = cli("whatif", "--replay", trace, "--json")
            self.assertEqual(run.returncode, 0, run.stderr)
            result = stepsim.whatif(replay=trace)
            self.assertEqual(result, json.loads(run.stdout))
            self.assertEqual(result["format"], "stepsim")
            missing = os.path.join(tmp, "missing.json")
            run = cli("whatif", "--replay", missing)
            with self.assertRaises(stepsim.SpecError) as caught:
                stepsim.whatif(replay=missing)
            self.assertEqual(str(caught.exception), run.stderr.rstrip("\n"))

    def test_load_text_and_file(self):
        with open(WORKLOAD) as f:
            text = f.read()
        self.assertEqual(stepsim.load_workload(text=text, set={"parallelism.tp": 4}).facts(),
                         stepsim.load_workload(path=WORKLOAD, set=["parallelism.tp=4"]).facts())
        self.assertEqual(stepsim.load_workload(path=WORKLOAD, set=["parallelism.tp=4"])["tp"], 4)
        self.assertEqual(stepsim.load_topology(path=TOPOLOGY)["gpus"], 16)
        self.assertEqual(stepsim.load_topology(path=TOPOLOGY).gpus, 16)
        with self.assertRaises(stepsim.SpecError) as caught:
            stepsim.load_workload(text=text.replace("heads: 16", "heads: 15"), name="inline.textproto")
        self.assertTrue(str(caught.exception).startswith("inline.textproto:"), str(caught.exception))

    def test_sweep_rows_are_the_cli_files(self):
        spec = os.path.join(SOURCE, "tests/sweep/layouts.textproto")
        with tempfile.TemporaryDirectory() as tmp:
            result = stepsim.sweep(spec, os.path.join(tmp, "py"), jobs=2)
            run = cli("sweep", spec, "--out", os.path.join(tmp, "cli"), "--jobs", "1", "-q")
            self.assertEqual(run.returncode, 0, run.stderr)
            for name in ("results.csv", "results.jsonl"):
                with open(os.path.join(tmp, "py", name), "rb") as a, \
                        open(os.path.join(tmp, "cli", name), "rb") as b:
                    self.assertEqual(a.read(), b.read(), name)
            with open(os.path.join(tmp, "cli", "results.jsonl")) as f:
                self.assertEqual(result["rows"], [json.loads(line) for line in f])
            self.assertEqual(result["summary"]["points"], len(result["rows"]))


if __name__ == "__main__":
    sys.exit(unittest.main())
