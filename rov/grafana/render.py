"""Draws the panels of a Grafana dashboard JSON from a live Prometheus into one PNG, laid out by the
panels' gridPos: a stand-in for a Grafana screenshot where Grafana cannot run.

  render.py PROMETHEUS_URL DASHBOARD_JSON OUT_PNG [MINUTES]

Time series panels plot every series of every target (legendFormat's {{label}} filled in); stat
panels show the last value of their first target. `$__rate_interval` becomes 30s.
"""
import json
import re
import sys
import time
import urllib.parse
import urllib.request

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

URL, DASHBOARD, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
MINUTES = float(sys.argv[4]) if len(sys.argv) > 4 else 5
END = time.time()
START = END - MINUTES * 60
STEP = max(1, int(MINUTES * 60 / 300))


def query_range(expression):
    expression = expression.replace("$__rate_interval", "30s")
    parameters = urllib.parse.urlencode({"query": expression, "start": START, "end": END, "step": STEP})
    with urllib.request.urlopen(f"{URL}/api/v1/query_range?{parameters}", timeout=10) as answer:
        body = json.load(answer)
    if body.get("status") != "success":
        raise RuntimeError(f"{expression}: {body}")
    return body["data"]["result"]


def legend(template, labels):
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template or "") or str(labels)


def scaled(unit, values):
    if unit == "bytes":
        return [v / 2**20 for v in values], "MiB"
    if unit == "bps":
        return [v / 1e3 for v in values], "kbit/s"
    if unit == "percentunit":
        return [v * 100 for v in values], "%"
    return values, {"percent": "%", "s": "s", "pps": "packets/s", "reqps": "req/s"}.get(unit, "")


dashboard = json.load(open(DASHBOARD))
panels = [p for p in dashboard["panels"] if p["type"] != "row"]
rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
figure = plt.figure(figsize=(24, rows * 0.42), dpi=72)
figure.patch.set_facecolor("#111217")
stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(END))
figure.suptitle(f"{dashboard['title']} — last {MINUTES:g} min, {stamp}", color="white", fontsize=16, y=0.998)
for panel in panels:
    grid = panel["gridPos"]
    left, width = grid["x"] / 24 + 0.006, grid["w"] / 24 - 0.014
    height = grid["h"] / rows - 0.03
    bottom = 1 - (grid["y"] + grid["h"]) / rows + 0.012
    axes = figure.add_axes([left, bottom, width, height])
    axes.set_facecolor("#181b1f")
    for spine in axes.spines.values():
        spine.set_color("#333")
    axes.tick_params(colors="#aaa", labelsize=8)
    axes.set_title(panel["title"], color="white", fontsize=11, loc="left")
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "")
    if panel["type"] == "stat":
        axes.set_xticks([])
        axes.set_yticks([])
        values = [float(series["values"][-1][1]) for target in panel["targets"][:1]
                  for series in query_range(target["expr"]) if series["values"]]
        text = "no data" if not values else f"{sum(values):g}"
        axes.text(0.5, 0.45, text, color="#73bf69", fontsize=34, ha="center", va="center", transform=axes.transAxes)
        continue
    plotted = 0
    suffix = ""
    for target in panel["targets"]:
        for series in query_range(target["expr"]):
            points = [(float(t), float(v)) for t, v in series["values"] if v not in ("NaN", "+Inf", "-Inf")]
            if not points:
                continue
            times = [(t - END) / 60 for t, _ in points]
            values, suffix = scaled(unit, [v for _, v in points])
            axes.plot(times, values, linewidth=1.4, label=legend(target.get("legendFormat"), series["metric"]))
            plotted += 1
    axes.set_xlim(-MINUTES, 0)
    axes.grid(color="#2a2d33", linewidth=0.6)
    if suffix:
        axes.set_ylabel(suffix, color="#aaa", fontsize=8)
    if plotted:
        axes.legend(fontsize=7, loc="upper left", facecolor="#181b1f", edgecolor="#333", labelcolor="#ddd",
                    ncol=2 if plotted > 4 else 1)
    else:
        axes.text(0.5, 0.5, "no data", color="#888", ha="center", va="center", transform=axes.transAxes)
figure.savefig(OUT, facecolor=figure.get_facecolor())
print(f"render: {len(panels)} panels to {OUT}")
