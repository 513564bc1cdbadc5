#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The layout search's Pareto front of step time against memory per GPU.

Runs `stepsim search` (every TP/PP/DP/micro-batch/schedule/ZeRO layout that is valid and fits
in HBM, one simulated step each) and plots every simulated layout, the Pareto-optimal ones
(no other layout is both faster and smaller) joined by a line, and the GPU's HBM.

    PYTHONPATH=build/tools/python /usr/bin/python3 tools/examples/search_pareto.py \\
        [--topology T] [--workload W] [--network alpha_beta|fair_share] [OUT.png]
"""
import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import stepsim  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def pareto_front(layouts):
    """Layouts not dominated in (step time, memory): sorted by memory, keep each that is
    faster than every smaller one."""
    front = []
    for layout in sorted(layouts, key=lambda r: (r["memory_per_gpu_bytes"], r["step_time_s"])):
        if not front or layout["step_time_s"] < front[-1]["step_time_s"]:
            front.append(layout)
    return front


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topology", default=os.path.join(ROOT, "topologies/dgx-h100-1024.textproto"))
    parser.add_argument("--workload", default=os.path.join(ROOT, "workloads/gpt3-175b.textproto"))
    parser.add_argument("--network", default="alpha_beta", choices=["alpha_beta", "fair_share"])
    parser.add_argument("out", nargs="?", default="search_pareto.png")
    args = parser.parse_args()
    # alpha_beta: collectives without contention among their own flows, ~10x faster than
    # fair_share for the large DP groups of some layouts (pass --network fair_share to compare).
    result = stepsim.search(topology=args.topology, workload=args.workload, top=0,
                            network=args.network)
    layouts = result["ranked"]
    hbm_bytes = stepsim.step(topology=args.topology, workload=args.workload,
                             allow_oom=True)["memory_per_gpu_bytes"]["hbm_bytes"]
    front = pareto_front(layouts)
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.scatter([r["memory_per_gpu_bytes"] / 1e9 for r in layouts],
               [r["step_time_s"] for r in layouts], s=12, alpha=0.5, label="simulated layouts")
    ax.plot([r["memory_per_gpu_bytes"] / 1e9 for r in front], [r["step_time_s"] for r in front],
            "o-", color="C3", label="Pareto front")
    for r in front:
        ax.annotate(f"TP{r['tp']} PP{r['pp']} DP{r['dp']} mb{r['micro_batch']}\n"
                    f"{r['schedule']} Z{r['zero_stage']}",
                    (r["memory_per_gpu_bytes"] / 1e9, r["step_time_s"]), fontsize=6,
                    xytext=(4, 4), textcoords="offset points")
    ax.axvline(hbm_bytes / 1e9, color="gray", ls="--", lw=1, label="HBM per GPU")
    ax.set_xlabel("memory per GPU, most loaded stage (GB)")
    ax.set_ylabel("step time (s)")
    ax.set_title(f"{result['model']} on {result['gpus']} GPUs: {result['layouts']} layouts, "
                 f"{result['invalid']} invalid, {result['out_of_memory']} out of memory, "
                 f"{result['simulated']} simulated", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    # Written beside the target, then renamed over it: an interrupted run leaves no
    # half-written PNG (as the CLI's outputs, docs/robustness.md).
    fig.savefig(args.out + ".tmp", dpi=120, format="png")
    os.replace(args.out + ".tmp", args.out)
    print(f"wrote {args.out}: {len(front)} Pareto-optimal of {len(layouts)} simulated layouts")


if __name__ == "__main__":
    main()
