"""The report's PNG plots (matplotlib, headless). Importing this module needs matplotlib."""

# ruff: noqa: RUF001 - the multiplication sign is meant

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

OURS, NAIVE, TARGET = "#2b6cb0", "#c05621", "#9b2c2c"


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def api_efficiency(a: dict[str, Any], path: Path) -> None:
    sizes = sorted({c["changes"] for c in a["cases"]})
    fig, ax = plt.subplots(figsize=(7, 3.6))
    width = 0.38
    for offset, (label, color) in enumerate((("distinct", OURS), ("one shared second", NAIVE))):
        ratios = [
            next(
                (
                    c["ratio"]
                    for c in a["cases"]
                    if c["changes"] == n and (c["timestamps"] == label or n == 0)
                ),
                0,
            )
            for n in sizes
        ]
        ax.bar(
            [i + (offset - 0.5) * width for i in range(len(sizes))], ratios, width, label=label, color=color
        )
    ax.axhline(a["target"], color=TARGET, linestyle="--", linewidth=1, label=f"target {a['target']}")
    ax.set_xticks(range(len(sizes)), [f"{n:,}" if n else "idle" for n in sizes])
    ax.set_xlabel("changes waiting")
    ax.set_ylabel("list requests ÷ minimum")
    ax.set_title("Requests per poll against the minimum")
    ax.legend(fontsize=8)
    _save(fig, path)


def drain(d: dict[str, Any], path: Path) -> None:
    times = d["request_times_s"]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.step(times, range(1, len(times) + 1), where="post", color=OURS, label="requests made")
    rate = d["quota_rate_per_s"]
    ax.plot(
        [0, d["bound_s"]],
        [0, d["bound_s"] * rate],
        color=TARGET,
        linestyle="--",
        label="quota rate (the bound)",
    )
    ax.axvline(
        d["drain_s"], color="#555", linewidth=1, linestyle=":", label=f"drained at {d['drain_s']:.1f} s"
    )
    ax.set_xlabel("seconds")
    ax.set_ylabel("store requests")
    ax.set_title(f"{d['backlog']:,}-order backlog, {d['quota']} requests per {d['window_ms']:,} ms")
    ax.legend(fontsize=8)
    _save(fig, path)


def pipeline(p: dict[str, Any], path: Path) -> None:
    b, n = p["median"]["batched"], p["median"]["naive"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.4))
    left.bar(["batched", "naive"], [b["events_per_s"], n["events_per_s"]], color=[OURS, NAIVE])
    left.set_title("events per second, end to end")
    cpu_b = (b["poll_cpu_ms_per_event"], b["deliver_cpu_ms_per_event"])
    cpu_n = (n["poll_cpu_ms_per_event"], n["deliver_cpu_ms_per_event"])
    right.bar(["batched", "naive"], [cpu_b[0], cpu_n[0]], color="#718096", label="poll")
    right.bar(
        ["batched", "naive"],
        [cpu_b[1], cpu_n[1]],
        bottom=[cpu_b[0], cpu_n[0]],
        color=[OURS, NAIVE],
        label="deliver",
    )
    right.set_title("handler CPU ms per event")
    right.legend(fontsize=8)
    _save(fig, path)


def coldstart(c: dict[str, Any], path: Path) -> None:
    modules = list(c["median_ms"])
    fig, ax = plt.subplots(figsize=(7, 3.4))
    ax.bar(
        modules,
        [c["median_ms"][m] for m in modules],
        color=[NAIVE if m == "boto3" else OURS for m in modules],
    )
    ax.axhline(
        c["median_ms"]["boto3"] * c["target"],
        color=TARGET,
        linestyle="--",
        linewidth=1,
        label=f"{c['target']} × boto3",
    )
    ax.set_ylabel("import, ms (median)")
    ax.set_title("Cold start: import time in a fresh interpreter")
    ax.legend(fontsize=8)
    _save(fig, path)


def memory(m: dict[str, Any], path: Path) -> None:
    labels = [f"{c['backlog']:,}" for c in m["cases"]]
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.bar(labels, [c["baseline_mb"] for c in m["cases"]], color="#718096", label="after imports")
    ax.bar(
        labels,
        [c["growth_mb"] for c in m["cases"]],
        bottom=[c["baseline_mb"] for c in m["cases"]],
        color=OURS,
        label="peak during the poll",
    )
    ax.set_xlabel("records drained in one poll")
    ax.set_ylabel("RSS, MB")
    ax.set_title("Peak RSS of the poll function")
    ax.legend(fontsize=8)
    _save(fig, path)


def peers(pe: dict[str, Any], path: Path) -> None:
    ran = [r for r in pe["peers"] if r.get("ran")]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.barh(
        [f"({r['key']}) {r['client']}" for r in ran],
        [r["records_per_s"] for r in ran],
        color=[OURS if r["key"] == "b" else "#718096" for r in ran],
    )
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("records per second (log scale)")
    ax.set_title("Extracting orders from the same sandbox store")
    _save(fig, path)


def cost(co: dict[str, Any], path: Path) -> None:
    ours, naive = co["estimate"]["components"], co["naive"]["components"]
    names = list(ours)
    fig, ax = plt.subplots(figsize=(8, 4))
    y = range(len(names))
    ax.barh([i - 0.2 for i in y], [ours[n] for n in names], 0.4, color=OURS, label="ours")
    ax.barh([i + 0.2 for i in y], [naive.get(n, 0.0) for n in names], 0.4, color=NAIVE, label="naive")
    ax.set_yticks(list(y), names)
    ax.invert_yaxis()
    ax.set_xlabel("$ per instance-month")
    ax.set_title(
        f"Ours {co['estimate']['per_instance_month']:.3f} $ vs naive {co['naive']['per_instance_month']:.3f} $ "
        f"(target {co['target']:.2f} $)"
    )
    ax.legend(fontsize=8)
    _save(fig, path)


_PLOTS = {
    "api_efficiency": api_efficiency,
    "drain": drain,
    "pipeline": pipeline,
    "coldstart": coldstart,
    "memory": memory,
    "peers": peers,
    "cost": cost,
}


def draw(results: dict[str, Any], out: Path) -> list[Path]:
    """Draw a PNG per section that ran; the paths written."""
    written = []
    for key, plot in _PLOTS.items():
        section = results.get("sections", {}).get(key)
        if section is None or "error" in section:
            continue
        path = out / f"{key}.png"
        plot(section, path)
        written.append(path)
    return written
