#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Step time against straggler severity, one curve per layout (1.3B model on 16 H100s).

Runs the sweep tools/examples/sweeps/straggler.textproto (`stepsim whatif` with one
--straggler rank=0:compute=F per point, three layouts of the same 16 GPUs) and plots the step
time against F, with the baseline step of each layout dotted.

    PYTHONPATH=build/tools/python /usr/bin/python3 tools/examples/step_vs_straggler.py [OUT.png]
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
    spec = os.path.join(ROOT, "tools/examples/sweeps/straggler.textproto")
    with tempfile.TemporaryDirectory() as out_dir:
        rows = stepsim.sweep(spec, out_dir)["rows"]
    layouts = {}
    for row in rows:
        if row["status"] != "ok":
            print(f"point {row['point']}: {row['status']}: {row['reason']}", file=sys.stderr)
            continue
        factor = float(row["straggler"].split("compute=")[1])
        key = f"TP{row['tp']} x PP{row['pp']} x DP{row['dp']}"
        layouts.setdefault(key, []).append((factor, row["scenario_step_time_s"],
                                            row["baseline_step_time_s"]))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for key, points in layouts.items():
        points.sort()
        line, = ax.plot([p[0] for p in points], [p[1] * 1e3 for p in points], marker="o",
                        label=key)
        ax.axhline(points[0][2] * 1e3, color=line.get_color(), ls=":", lw=1)
    ax.set_xlabel("straggler severity: compute slowdown factor of GPU rank 0")
    ax.set_ylabel("step time (ms)")
    ax.set_title("tiny-pp (1.3B GPT) on 2 x DGX H100: one slow GPU\n"
                 "dotted: each layout's baseline step", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    # Written beside the target, then renamed over it: an interrupted run leaves no
    # half-written PNG (as the CLI's outputs, docs/robustness.md).
    fig.savefig(out_png + ".tmp", dpi=120, format="png")
    os.replace(out_png + ".tmp", out_png)
    print(f"wrote {out_png} ({len(rows)} sweep points)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "step_vs_straggler.png")
