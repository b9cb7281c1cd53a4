"""Draws the load tool's steps (the JSON lines `erizo-bench load --json` appends) as one PNG:
forwarded packets/s and worker CPU on the left, loss and added p99 latency on the right, one line
per scenario and signalling. The x axis is the number of streams played (subscriber sessions over
WHEP, consumers over Socket.IO), which puts fan-out, one big room and many small rooms on one scale.

    plot_load.py LOAD.jsonl OUT.png "TITLE"
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

source, out, title = sys.argv[1:4]
steps = [json.loads(line) for line in open(source) if line.strip()]
def key(step):
    return step["scenario"], step.get("signalling", "whep")


scenarios = sorted({key(step) for step in steps})
labels = {"fanout": "1 → N", "rooms": "one N-party room", "smallrooms": "N small rooms"}

figure, (throughput, quality) = plt.subplots(1, 2, figsize=(13, 5.2))
cpu = throughput.twinx()
for index, scenario in enumerate(scenarios):
    rows = sorted((s for s in steps if key(s) == scenario), key=lambda s: s["subscribers"])
    n = [row["subscribers"] for row in rows]
    colour = f"C{index}"
    label = f"{labels.get(scenario[0], scenario[0])} ({scenario[1]})"
    throughput.plot(n, [row["forwardedPerSecond"] for row in rows], "o-", color=colour, label=f"{label}: pkt/s")
    cpu.plot(n, [row["workerCPUPercent"] for row in rows], "s--", color=colour, alpha=0.6,
             label=f"{label}: worker CPU %")
    quality.plot(n, [row["lossPercent"] for row in rows], "o-", color=colour, label=f"{label}: loss %")
    quality.plot(n, [row["latencyP99Ms"] for row in rows], "^--", color=colour, alpha=0.6,
                 label=f"{label}: added latency p99 (ms)")

throughput.set_xlabel("streams played")
throughput.set_ylabel("forwarded packets/s (at the subscribers)")
cpu.set_ylabel("worker CPU (% of one core)")
throughput.set_xscale("log")
throughput.grid(True, alpha=0.3)
lines, names = throughput.get_legend_handles_labels()
more, more_names = cpu.get_legend_handles_labels()
throughput.legend(lines + more, names + more_names, fontsize=7, loc="upper left")
throughput.set_title("throughput and cost")

quality.set_xlabel("streams played")
quality.set_xscale("log")
quality.set_ylabel("loss % / latency ms")
quality.axhline(1.0, color="grey", linestyle=":", linewidth=1)
quality.text(quality.get_xlim()[0], 1.05, " 1 % loss", color="grey", fontsize=8)
quality.grid(True, alpha=0.3)
quality.legend(fontsize=7, loc="upper left")
quality.set_title("what the subscribers see")

figure.suptitle(title, fontsize=10)
figure.tight_layout()
figure.savefig(out, dpi=110)
print(f"plot: {out}")
