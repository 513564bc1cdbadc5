#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Goodput against checkpoint interval, one curve per cluster MTBF (GPT-3 175B, 1,024 H100s).

Runs `stepsim step` for the step time, then the sweep tools/examples/sweeps/goodput.textproto
(`stepsim checkpoint` per interval and MTBF) with that step time, and plots goodput with its
95% confidence band, marking the best simulated interval and Daly's interval per MTBF.

    PYTHONPATH=build/tools/python /usr/bin/python3 tools/examples/goodput_vs_interval.py [OUT.png]
"""
import os
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import stepsim  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def main(out_png):
    step = stepsim.step(topology=os.path.join(ROOT, "topologies/dgx-h100-1024.textproto"),
                        workload=os.path.join(ROOT, "workloads/gpt3-175b.textproto"))
    step_time = f"{step['step_time_s']:.6g}s"
    spec = os.path.join(ROOT, "tools/examples/sweeps/goodput.textproto")
    with tempfile.TemporaryDirectory() as out_dir:
        rows = stepsim.sweep(spec, out_dir, set=[f"args[1]={step_time}"])["rows"]
    by_mtbf = {}
    for row in rows:
        if row["status"] == "ok":
            by_mtbf.setdefault(row["mtbf_s"], []).append(row)

    fig, ax = plt.subplots(figsize=(8, 5))
    for mtbf_s, points in sorted(by_mtbf.items()):
        points.sort(key=lambda r: r["interval_s"])
        x = [r["interval_s"] / 60 for r in points]
        y = [r["goodput"] for r in points]
        ci = [r["goodput_ci95"] for r in points]
        line, = ax.plot(x, y, marker="o", ms=3, label=f"MTBF {mtbf_s / 3600:g} h")
        ax.fill_between(x, [a - b for a, b in zip(y, ci)], [a + b for a, b in zip(y, ci)],
                        color=line.get_color(), alpha=0.15)
        best = max(points, key=lambda r: r["goodput"])
        ax.plot(best["interval_s"] / 60, best["goodput"], "*", ms=12, color=line.get_color())
        ax.axvline(points[0]["daly_interval_s"] / 60, color=line.get_color(), ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("checkpoint interval (min of useful work, log scale)")
    ax.set_ylabel("goodput (useful / wall time)")
    ax.set_title(f"GPT-3 175B on 1,024 H100 (step {step_time}), 30 days of work, "
                 "61 s checkpoints, 10 min restarts\n"
                 "★ best simulated interval, dotted: Daly's interval; bands: 95% CI over 20 runs",
                 fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    # Written beside the target, then renamed over it: an interrupted run leaves no
    # half-written PNG (as the CLI's outputs, docs/robustness.md).
    fig.savefig(out_png + ".tmp", dpi=120, format="png")
    os.replace(out_png + ".tmp", out_png)
    print(f"wrote {out_png} ({len(rows)} sweep points)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "goodput_vs_interval.png")
