"""Draws the load tool's steps (the JSON lines `erizo-bench load --json` appends) as one PNG:
forwarded packets/s and worker CPU per step of N on the left, loss and added p99 latency on the
right, one line per scenario.

    plot_load.py LOAD.jsonl OUT.png "TITLE"
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

source, out, title = sys.argv[1:4]
steps = [json.loads(line) for line in open(source) if line.strip()]
scenarios = sorted({step["scenario"] for step in steps})
labels = {"fanout": "1 publisher → N subscribers", "rooms": "N-party room"}

figure, (throughput, quality) = plt.subplots(1, 2, figsize=(12, 4.8))
cpu = throughput.twinx()
for index, scenario in enumerate(scenarios):
    rows = sorted((s for s in steps if s["scenario"] == scenario), key=lambda s: s["n"])
    n = [row["n"] for row in rows]
    colour = f"C{index}"
    label = labels.get(scenario, scenario)
    throughput.plot(n, [row["forwardedPerSecond"] for row in rows], "o-", color=colour, label=f"{label}: packets/s")
    cpu.plot(n, [row["workerCPUPercent"] for row in rows], "s--", color=colour, alpha=0.6,
             label=f"{label}: worker CPU %")
    quality.plot(n, [row["lossPercent"] for row in rows], "o-", color=colour, label=f"{label}: loss %")
    quality.plot(n, [row["latencyP99Ms"] for row in rows], "^--", color=colour, alpha=0.6,
                 label=f"{label}: added latency p99 (ms)")

throughput.set_xlabel("N")
throughput.set_ylabel("forwarded packets/s (at the subscribers)")
cpu.set_ylabel("worker CPU (% of one core)")
throughput.set_xscale("log")
throughput.grid(True, alpha=0.3)
lines, names = throughput.get_legend_handles_labels()
more, more_names = cpu.get_legend_handles_labels()
throughput.legend(lines + more, names + more_names, fontsize=8, loc="upper left")
throughput.set_title("throughput and cost")

quality.set_xlabel("N")
quality.set_xscale("log")
quality.set_ylabel("loss % / latency ms")
quality.axhline(1.0, color="grey", linestyle=":", linewidth=1)
quality.text(quality.get_xlim()[0], 1.05, " 1 % loss", color="grey", fontsize=8)
quality.grid(True, alpha=0.3)
quality.legend(fontsize=8, loc="upper left")
quality.set_title("what the subscribers see")

figure.suptitle(title, fontsize=10)
figure.tight_layout()
figure.savefig(out, dpi=110)
print(f"plot: {out}")
