"""The Markdown report and its PNG plots, written from ``results.json`` alone."""

# ruff: noqa: RUF001 - matplotlib is optional; the multiplication sign is meant

from __future__ import annotations

from pathlib import Path
from typing import Any

TITLES = {
    "api_efficiency": "1. API efficiency",
    "drain": "2. Backlog drain against the rate limit",
    "pipeline": "3. Pipeline throughput and cost per event",
    "coldstart": "4. Cold start",
    "memory": "5. Memory",
    "peers": "6. Peers",
    "cost": "7. Cost model",
}


def _yes(flag: bool | None) -> str:
    if flag is None:
        return "—"
    return "**met**" if flag else "**missed**"


def _money(value: float) -> str:
    return f"${value:.4f}" if value < 1 else f"${value:,.2f}"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


# --- headline -------------------------------------------------------------------------------------
def headline(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per measure: what the target is, what was measured, whether it is met."""
    s = results.get("sections", {})
    rows: list[dict[str, Any]] = []

    def add(key: str, target: str, measured: str, met: bool | None) -> None:
        rows.append({"key": key, "measure": TITLES[key], "target": target, "measured": measured, "met": met})

    if "api_efficiency" in s and "error" not in s["api_efficiency"]:
        a = s["api_efficiency"]
        distinct = max(c["ratio"] for c in a["cases"] if c["timestamps"] == "distinct")
        shared = [c["ratio"] for c in a["cases"] if c["timestamps"] != "distinct"]
        add(
            "api_efficiency",
            f"requests ÷ minimum ≤ {a['target']}",
            f"worst {distinct:.2f} (distinct timestamps), {max(shared):.2f} (one shared second; {a['worst_case']})",
            a["met"],
        )
    if "drain" in s and "error" not in s["drain"]:
        d = s["drain"]
        add(
            "drain",
            f"drain ÷ bound ≤ {d['target']:.2f}, no 429",
            f"{d['ratio']:.2f} ({d['drain_s']:.1f} s ÷ {d['bound_s']:.1f} s, {d['backlog']:,} orders), "
            f"{d['status_429']} × 429",
            d["met"],
        )
    if "pipeline" in s and "error" not in s["pipeline"]:
        p = s["pipeline"]
        b, n = p["median"]["batched"], p["median"]["naive"]
        add(
            "pipeline",
            "(report; compare with the naive baseline)",
            f"{b['events_per_s']:.0f} events/s end to end vs {n['events_per_s']:.0f} naive "
            f"(×{p['speedup']['events_per_s']}); CPU {b['poll_cpu_ms_per_event']:.2f} + "
            f"{b['deliver_cpu_ms_per_event']:.2f} ms/event (poll + deliver), "
            f"×{p['speedup']['cpu_per_event']} less than naive"
            + (" — **deliver reported batch item failures: not valid**" if b.get("batch_failures") else ""),
            None,
        )
    if "coldstart" in s and "error" not in s["coldstart"]:
        c = s["coldstart"]
        worst = max(c["ratio_to_boto3"].items(), key=lambda kv: kv[1])
        add(
            "coldstart",
            f"handler import ÷ `import boto3` ≤ {c['target']}",
            f"{', '.join(f'{m} {r:.2f}' for m, r in c['ratio_to_boto3'].items())} "
            f"(boto3 {c['median_ms']['boto3']:.0f} ms; worst {worst[0]})",
            c["met"],
        )
    if "memory" in s and "error" not in s["memory"]:
        m = s["memory"]
        small, large = m["cases"][0], m["cases"][-1]
        add(
            "memory",
            "peak RSS does not grow with the backlog",
            f"{small['peak_mb']:.0f} MB at {small['backlog']:,} → {large['peak_mb']:.0f} MB at {large['backlog']:,} "
            f"records ({m['peak_growth_small_to_large_mb']:+.1f} MB)",
            m["met"],
        )
    if "peers" in s and "error" not in s["peers"]:
        pe = s["peers"]
        ratio = pe["ours_to_ceiling"]
        add(
            "peers",
            f"(b) ≥ {pe['target']} × (a) records/s",
            f"(b)/(a) = {ratio:.2f}" if ratio is not None else "not measured",
            pe["met"],
        )
    if "cost" in s and "error" not in s["cost"]:
        co = s["cost"]
        e = co["estimate"]
        add(
            "cost",
            f"≤ ${co['target']:.2f} per instance-month",
            f"{_money(e['per_instance_month'])} per instance-month ({_money(e['fleet_month'])} for 1 000); "
            f"largest: {e['dominant']}",
            co["met"],
        )
    return rows


# --- sections -------------------------------------------------------------------------------------
def _api(a: dict[str, Any]) -> list[str]:
    rows = [
        [
            c["changes"],
            c["timestamps"],
            c["list_requests"],
            c["time_requests"],
            c["minimum"],
            f"{c['ratio']:.2f}",
            "yes" if c["all_reported"] else "**no**",
        ]
        for c in a["cases"]
    ]
    out = _table(
        ["changes", "timestamps", "list requests", "/v2/time", "minimum", "ratio", "all reported"], rows
    )
    out += ["", "![requests per poll against the minimum](api_efficiency.png)", ""]
    out.append(
        "Idle, the poll of an instance with three resources makes one list request per resource, plus "
        "one `/v2/time` per run (the store's clock, shared by the resources). A short page ends a pass, "
        "so fewer than ⌈N/limit⌉ + 1 requests are often enough (ratios below 1)."
    )
    if not a["met_distinct"]:
        out.append("\n**Distinct timestamps miss the target**: see the cases above.")
    if not a["met"]:
        out.append(
            "\n**Why the shared-second cases miss it:** when a date-sorted page is entirely one second, "
            "the poller cannot know where that second's records continue (BigCommerce documents no tie "
            "order for `sort=date_modified`), so it re-reads the second from its first id "
            "(`min_date_modified = max_date_modified = that second`, id order): the first page is fetched "
            "twice, and one empty page closes each pass (the poller as written at this commit). Missed: "
            + ", ".join(
                f"{c['changes']:,} records {c['list_requests']} requests (ratio {c['ratio']:.2f})"
                for c in a["cases"]
                if c["ratio"] > a["target"]
            )
            + ". **What would fix it:** "
            "if BigCommerce's tie order is by id (to be checked against a real store), start the id drain "
            "after the largest id of the first page; otherwise request the second by id from the start "
            "(ask for `max_date_modified` = the second on the first page when the previous page ended on it)."
        )
    return out


def _drain(d: dict[str, Any]) -> list[str]:
    out = _table(
        [
            "backlog",
            "quota",
            "requests needed",
            "made",
            "429s",
            "drain",
            "bound",
            "ratio",
            "fixed-window floor",
        ],
        [
            [
                f"{d['backlog']:,}",
                f"{d['quota']} / {d['window_ms']:,} ms ({d['quota_rate_per_s']:g}/s)",
                d["requests_needed"],
                d["requests_made"],
                d["status_429"],
                f"{d['drain_s']:.1f} s",
                f"{d['bound_s']:.1f} s",
                f"{d['ratio']:.3f}",
                f"{d['window_floor_s']:.1f} s",
            ]
        ],
    )
    out += [
        "",
        "![requests over time against the quota](drain.png)",
        "",
        "The bound is requests needed ÷ the quota's rate. The store's window is fixed, so each window "
        "opens with a burst and the last requests can go out a little before the bound (the fixed-window "
        "floor: the start of the window of the last request). The quota must make the store the "
        "bottleneck: with the emulated DynamoDB and SQS in the loop (moto's UpdateItem alone costs "
        "10-15 ms here, one per notification, 25 per page) the poller's pace depends on this machine's "
        "load, so an unthrottled calibration poll measured it just before"
        + (
            f" ({d['calibrated_pages_per_s']:.2f} pages a second) and the store allowed 70 % of that."
            if d.get("calibrated_pages_per_s")
            else "."
        )
        + " A faster quota would measure this machine, not the pacing.",
    ]
    if not d["met"]:
        slow = d["status_429"] == 0
        out.append(
            "\n**Missed:** "
            + (
                "no 429, so the pacing held; the poller could not use every request the quota allowed "
                "(this machine slowed down after the calibration: these machines are shared). "
                "Rerun `--only drain,memory` on a quiet machine."
                if slow
                else "the drain took longer than the bound allows or met a 429: the client misread the "
                "store's reset header or retried too eagerly."
            )
        )
    return out


def _pipeline(p: dict[str, Any]) -> list[str]:
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
    out = _table([f"median of {p['runs']} runs, {p['events']} events", "batched", "naive", "gain"], rows)
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


def _coldstart(c: dict[str, Any]) -> list[str]:
    rows = [[m, f"{ms:.0f} ms", f"{c['ratio_to_boto3'].get(m, 1.0):.2f}"] for m, ms in c["median_ms"].items()]
    out = _table([f"module (median of {c['rounds']} fresh processes)", "import", "÷ boto3"], rows)
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
        out += _table(
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


def _memory(m: dict[str, Any]) -> list[str]:
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
    out = _table(
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


def _peers(pe: dict[str, Any]) -> list[str]:
    rows = []
    for r in pe["peers"]:
        if not r.get("ran"):
            rows.append(
                [
                    f"({r['key']}) {r['name']}",
                    r.get("install", ""),
                    "—",
                    "—",
                    "—",
                    "—",
                    "—",
                    "—",
                    r.get("error", ""),
                ]
            )
            continue
        rows.append(
            [
                f"({r['key']}) {r['name']}",
                f"{r['client']}, Python {r['python']}",
                f"{r['orders']:,}",
                f"{r['records_per_s']:,.0f}",
                f"{r['cpu_s_per_10k']:.2f}",
                f"{r['peak_rss_mb']:.0f}",
                f"{int(r['requests']):,} ({r['requests_per_record']:.3f}/record)",
                "yes" if r["emitted_every_record"] else f"**no** ({r['unique_ids']:,} of {r['orders']:,})",
                r.get("error", ""),
            ]
        )
    out = _table(
        [
            "peer",
            "what ran",
            "orders",
            "records/s",
            "CPU s per 10k",
            "peak RSS MB",
            "HTTP requests",
            "every record",
            "note",
        ],
        rows,
    )
    out += [
        "",
        "![records per second](peers.png)",
        "",
        f"Medians of {pe['runs']} runs, alternating between peers, in one run on one sandbox store "
        "(HTTP/1.1 keep-alive on loopback, no rate limit). Each peer runs in its own process and "
        "virtualenv; records per second and CPU cover the extraction, not the interpreter's start. "
        "Slow peers read fewer orders (records per second is what compares). (b) is the real poller "
        "with its three AWS sinks replaced by no-ops: it still builds every notification body and SQS entry.",
    ]
    if not pe["met"] and pe["ours_to_ceiling"] is not None:
        out.append(
            f"\n**Why (b) ÷ (a) = {pe['ours_to_ceiling']:.2f} misses {pe['target']}:** besides the JSON decode that "
            "(a) also does, the poller parses each record's dates about five times (the window date, "
            "the updated date, the classification's created and updated dates, and the page's min/max), each "
            "through the Java-pattern parser with a fallback to RFC 2822, and serializes every record again "
            "into its notification body. **What would fix it:** parse each record's dates once per page "
            "(keep them beside the record), add a fast path for BigCommerce's fixed `EEE, dd MMM yyyy "
            "HH:mm:ss +0000` form, and build the notification body from the page's raw JSON slices "
            "rather than re-encoding the decoded records."
        )
    return out


def _cost(co: dict[str, Any]) -> list[str]:
    e, naive = co["estimate"], co["naive"]
    inputs = e["inputs"]
    rows = [
        [name, _money(v), _money(naive["components"].get(name, 0.0))] for name, v in e["components"].items()
    ]
    rows.append(
        [
            "**total per instance-month**",
            f"**{_money(e['per_instance_month'])}**",
            f"**{_money(naive['per_instance_month'])}**",
        ]
    )
    out = _table(["component", "ours", "naive (same model)"], rows)
    m = co["measured"]
    out += [
        "",
        "![cost per instance-month by component](cost.png)",
        "",
        f"Reference month: 1 000 instances × 3 resources, a poll every 5 minutes ({inputs['polls']:,.0f} polls "
        f"per instance), 100 changes a day → {inputs['notifications']:,.0f} notifications per instance "
        "(a notification per poll and resource that saw a change). Prices: us-east-1, read "
        f"{co['prices_read']} (constants in `bench/cost.py`); free tiers ignored.",
        "",
        "Measured per invocation (medians; call counts identical across samples):",
        "",
    ]
    for name, sample in (
        ("idle poll (3 resources)", m["idle_poll"]),
        ("poll with one change", m["changed_poll"]),
        ("deliver (1 notification)", m["deliver"]),
    ):
        calls = ", ".join(f"{op} × {int(v['calls'])} ({v['units']:g} u)" for op, v in sample["aws"].items())
        out.append(
            f"- {name}: {sample['store_requests']} store requests; {calls}; "
            f"{sample['cpu_ms']:.1f} ms CPU, {sample['wall_ms']:.1f} ms wall on loopback; {sample['log_bytes']} log bytes"
        )
    if "event_source" in m["deliver"]:
        out.append(
            "- Lambda's event source per notification: "
            + ", ".join(f"{op} × {int(v['calls'])}" for op, v in m["deliver"]["event_source"].items())
        )
    out += [
        "",
        f"Durations on Lambda are estimated from the measured wall time stretched to the memory size's CPU "
        f"share (poll {inputs['memory_mb']['poll']} MB, deliver {inputs['memory_mb']['deliver']} MB, a full vCPU at 1 769 MB) "
        f"plus assumed round trips (BigCommerce {inputs['store_latency_ms']:g} ms, DynamoDB 6 ms, SQS 12 ms, "
        f"callback 40 ms): poll {inputs['poll_duration_ms']:.0f} ms, deliver {inputs['deliver_duration_ms']:.0f} ms. "
        f"As measured on loopback (no latency, no stretch) the month costs "
        f"{_money(co['as_measured_on_loopback']['per_instance_month'])} per instance.",
        "",
        "BigCommerce latency sensitivity (per instance-month): "
        + ", ".join(f"{k}: {_money(v)}" for k, v in co["store_latency_sensitivity"].items())
        + ".",
        "",
        f"Naive anchor (perf-anchors.md, its own model): {_money(co['naive_anchor_per_instance'])} per instance-month.",
    ]
    if not co["met"]:
        top = list(e["components"].items())[:3]
        total = e["per_instance_month"]
        out += [
            "",
            "**Why missed:** the largest components are "
            + ", ".join(f"{name} ({value / total:.0%})" for name, value in top)
            + f". The poll function ({inputs['memory_mb']['poll']} MB) is estimated at {inputs['poll_duration_ms']:.0f} ms, "
            f"{inputs['poll_waiting_ms']:.0f} ms of it waiting on the network; X-Ray's default sampling "
            "records about a trace a second per traced function. Writes measured (WRU): an idle poll "
            + _writes(m["idle_poll"]["aws"])
            + "; a poll with one change "
            + _writes(m["changed_poll"]["aws"])
            + "; a delivery "
            + _writes(m["deliver"]["aws"])
            + ". **What would fix it** (each step on top of the previous, by the same model):",
            "",
        ]
        out += _table(
            ["change", "per instance-month"],
            [[step["change"], _money(step["per_instance_month"])] for step in co["levers"]],
        )
    return out


def _writes(aws: dict[str, dict[str, float]]) -> str:
    writes = [
        f"{name.removeprefix('dynamodb.')} {v['units']:g}"
        for name, v in aws.items()
        if name.startswith("dynamodb.")
        and not name.split(".", 1)[1].startswith(("Get", "Query", "Scan", "BatchGet"))
    ]
    return ", ".join(writes) or "none"


_SECTIONS = {
    "api_efficiency": _api,
    "drain": _drain,
    "pipeline": _pipeline,
    "coldstart": _coldstart,
    "memory": _memory,
    "peers": _peers,
    "cost": _cost,
}


def markdown(results: dict[str, Any], plots: bool) -> str:
    """The report."""
    m = results["machine"]
    lines = [
        "# Benchmarks",
        "",
        f"Measured {m['date']} on {m['cpu_model'] or 'an unnamed CPU'}, {m['cores']} cores "
        f"({m['system']}, Python {m['python']}), commit `{results.get('commit', '?')}`"
        f"{' (quick run: tiny inputs, not figures to quote)' if results.get('quick') else ''}. "
        f"`make bench` took {results.get('total_s', 0) / 60:.1f} minutes. These machines are shared and "
        "noisy: every comparison is a ratio measured in one run, every timing a median of several runs.",
        "",
        "## Targets",
        "",
    ]
    lines += _table(
        ["measure", "target", "measured", ""],
        [[r["measure"], r["target"], r["measured"], _yes(r["met"])] for r in headline(results)],
    )
    if not plots:
        lines += ["", "_Plots were not drawn (matplotlib is not installed in this interpreter)._"]
    for key, render in _SECTIONS.items():
        section = results.get("sections", {}).get(key)
        if section is None:
            continue
        lines += ["", f"## {TITLES[key]}", ""]
        if "error" in section:
            lines.append(f"**Did not run:** `{section['error']}`")
            continue
        lines += render(section)
        if section.get("elapsed_s") is not None:
            lines += ["", f"_This section took {section['elapsed_s']:.0f} s._"]
    lines += [
        "",
        "## How to reproduce",
        "",
        "`make bench` (about a quarter of an hour on 2 cores; see `bench/README.md`). "
        "`results.json` beside this report has every figure, sample and count.",
        "",
    ]
    return "\n".join(lines)


def write(results: dict[str, Any], out: Path) -> bool:
    """Write report.md (and the plots, when matplotlib is importable); whether plots were drawn."""
    try:
        from bench import plots as plotting
    except ImportError:
        drawn = False
    else:
        plotting.draw(results, out)
        drawn = True
    (out / "report.md").write_text(markdown(results, drawn))
    return drawn
