"""The report's sections on the functions at work: 3. pipeline throughput, 4. cold start, 5. memory.

Each turns its section of ``results.json`` into Markdown lines: a table of the figures, the plot,
what the figures mean, and where a target is missed, why and what would fix it.
"""

# ruff: noqa: RUF001 - the multiplication sign is meant

from __future__ import annotations

from typing import Any

from bench.report.cells import table


def pipeline(p: dict[str, Any]) -> list[str]:
    b, n = p["median"]["batched"], p["median"]["naive"]
    rows = [
        [
            "events per second, end to end",
            f"{b['events_per_s']:.0f}",
            f"{n['events_per_s']:.0f}",
            p["speedup"]["events_per_s"],
        ],
        [
            "events per second, handlers only (emulator excluded)",
            f"{b['handler_events_per_s']:.0f}",
            f"{n['handler_events_per_s']:.0f}",
            round(b["handler_events_per_s"] / n["handler_events_per_s"], 2),
        ],
        [
            "poll CPU ms per event",
            f"{b['poll_cpu_ms_per_event']:.3f}",
            f"{n['poll_cpu_ms_per_event']:.3f}",
            "",
        ],
        [
            "deliver CPU ms per event",
            f"{b['deliver_cpu_ms_per_event']:.3f}",
            f"{n['deliver_cpu_ms_per_event']:.3f}",
            "",
        ],
        ["CPU per event, both (naive ÷ batched)", "", "", p["speedup"]["cpu_per_event"]],
        [
            "AWS requests per event",
            f"{b['aws_requests_per_event']:.2f}",
            f"{n['aws_requests_per_event']:.2f}",
            p["speedup"]["aws_requests_per_event"],
        ],
        [
            "callback connections per event",
            f"{b['callback_connections_per_event']:.3f}",
            f"{n['callback_connections_per_event']:.3f}",
            "",
        ],
        ["every event delivered once", str(b["all_delivered"]), str(n["all_delivered"]), ""],
        ["batch item failures (must be 0)", b.get("batch_failures", 0), n.get("batch_failures", 0), ""],
    ]
    out = table([f"median of {p['runs']} runs, {p['events']} events", "batched", "naive", "gain"], rows)
    sample = p["samples"]["batched"][0]["aws_calls"]
    out += [
        "",
        "![throughput and CPU per event](pipeline.png)",
        "",
        "End to end includes everything on this machine: the in-process AWS emulator (moto), which "
        "dominates, the sandbox store and the receiver. *Handlers only* and the CPU figures leave the "
        "emulator's own time out. Naive: a notification and a `SendMessage` per event and a new "
        "HTTP connection per callback; everything else is the same code.",
        "",
        "AWS calls of one batched run (" + f"{p['events']} events" + "):",
        "",
    ]
    for actor, calls in sample.items():
        out.append(f"- {actor}: " + ", ".join(f"{op} × {int(v['calls'])}" for op, v in calls.items()))
    return out


def coldstart(c: dict[str, Any]) -> list[str]:
    rows = [[m, f"{ms:.0f} ms", f"{c['ratio_to_boto3'].get(m, 1.0):.2f}"] for m, ms in c["median_ms"].items()]
    out = table([f"module (median of {c['rounds']} fresh processes)", "import", "÷ boto3"], rows)
    out += ["", "![import time](coldstart.png)", ""]
    if c.get("interpreter"):
        out.append(f"Interpreter: {c['interpreter']}.")
    if c.get("breakdown_ms"):
        out += [
            "",
            "Where a handler's import time goes (one `-X importtime` run, self time by top-level package, ms):",
            "",
        ]
        packages = sorted({p for b in c["breakdown_ms"].values() for p in b})
        out += table(
            ["package", *c["breakdown_ms"].keys()],
            [[p, *(c["breakdown_ms"][m].get(p, "") for m in c["breakdown_ms"])] for p in packages],
        )
    if not c["met"]:
        out.append(
            "\n**Why missed:** a handler imports boto3 *and* Powertools (Logger, Metrics, Tracer, and for "
            "deliver the batch and idempotency utilities), the X-Ray SDK (the Tracer imports it even when "
            "tracing is off), pydantic and pydantic-settings, requests and the standard library's "
            "email/http modules; each is a sizeable fraction of boto3 on its own. **What would fix it:** "
            "import the Tracer only when `POWERTOOLS_TRACE_DISABLED` is not set (or drop active tracing), "
            "read the settings with a plain dataclass instead of pydantic-settings, import the idempotency "
            "and batch utilities and `requests` lazily on first use, and keep the api function's resolver "
            "out of the poll and deliver functions' import path."
        )
    return out


def memory(m: dict[str, Any]) -> list[str]:
    rows = [
        [
            f"{c['backlog']:,}" + (f" ({c['source']})" if c.get("source") else ""),
            f"{c['baseline_mb']:.1f}",
            f"{c['peak_mb']:.1f}",
            f"{c['growth_mb']:.1f}",
            c["poll_s"],
            c["all_reported"],
        ]
        for c in m["cases"]
    ]
    out = table(
        ["backlog", "RSS after imports (MB)", "peak RSS (MB)", "growth (MB)", "poll (s)", "all reported"],
        rows,
    )
    out += [
        "",
        "![peak RSS against the backlog](memory.png)",
        "",
        "The poll runs in a process of its own (AWS is a moto server in another process, the store in "
        "the parent), so the peak is the poll function's alone. It is read from `VmHWM`: Linux carries "
        "`ru_maxrss` across `execve` from the forked parent, which would report the parent's RSS.",
    ]
    if m.get("interpreter"):
        out.append(f"Interpreter: {m['interpreter']}.")
    if not m["met"]:
        out.append(
            f"\n**Missed:** the peak grew by {m['peak_growth_small_to_large_mb']:.1f} MB from the small to the "
            "large backlog, more than the tolerance: something accumulates across pages."
        )
    return out
