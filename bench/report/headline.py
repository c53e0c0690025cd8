"""The report's table of targets: one row per measure, its target, the figure measured and whether it is met."""

# ruff: noqa: RUF001 - the multiplication sign is meant

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.report.cells import TITLES, money

#: A measure's (target, measured, met) from its section of the results; met is None for a report.
Row = tuple[str, str, bool | None]


def _api_efficiency(a: dict[str, Any]) -> Row:
    distinct = max(c["ratio"] for c in a["cases"] if c["timestamps"] == "distinct")
    shared = [c["ratio"] for c in a["cases"] if c["timestamps"] != "distinct"]
    return (
        f"requests ÷ minimum ≤ {a['target']}",
        f"worst {distinct:.2f} (distinct timestamps), {max(shared):.2f} (one shared second; {a['worst_case']})",
        a["met"],
    )


def _drain(d: dict[str, Any]) -> Row:
    return (
        f"drain ÷ bound ≤ {d['target']:.2f}, no 429",
        f"{d['ratio']:.2f} ({d['drain_s']:.1f} s ÷ {d['bound_s']:.1f} s, {d['backlog']:,} orders), "
        f"{d['status_429']} × 429",
        d["met"],
    )


def _pipeline(p: dict[str, Any]) -> Row:
    b, n = p["median"]["batched"], p["median"]["naive"]
    return (
        "(report; compare with the naive baseline)",
        f"{b['events_per_s']:.0f} events/s end to end vs {n['events_per_s']:.0f} naive "
        f"(×{p['speedup']['events_per_s']}); CPU {b['poll_cpu_ms_per_event']:.2f} + "
        f"{b['deliver_cpu_ms_per_event']:.2f} ms/event (poll + deliver), "
        f"×{p['speedup']['cpu_per_event']} less than naive"
        + (" — **deliver reported batch item failures: not valid**" if b.get("batch_failures") else ""),
        None,
    )


def _coldstart(c: dict[str, Any]) -> Row:
    worst = max(c["ratio_to_boto3"].items(), key=lambda kv: kv[1])
    return (
        f"handler import ÷ `import boto3` ≤ {c['target']}",
        f"{', '.join(f'{m} {r:.2f}' for m, r in c['ratio_to_boto3'].items())} "
        f"(boto3 {c['median_ms']['boto3']:.0f} ms; worst {worst[0]})",
        c["met"],
    )


def _memory(m: dict[str, Any]) -> Row:
    small, large = m["cases"][0], m["cases"][-1]
    return (
        "peak RSS does not grow with the backlog",
        f"{small['peak_mb']:.0f} MB at {small['backlog']:,} → {large['peak_mb']:.0f} MB at {large['backlog']:,} "
        f"records ({m['peak_growth_small_to_large_mb']:+.1f} MB)",
        m["met"],
    )


def _peers(pe: dict[str, Any]) -> Row:
    ratio = pe["ours_to_ceiling"]
    return (
        f"(b) ≥ {pe['target']} × (a) records/s",
        f"(b)/(a) = {ratio:.2f}" if ratio is not None else "not measured",
        pe["met"],
    )


def _cost(co: dict[str, Any]) -> Row:
    e = co["estimate"]
    return (
        f"≤ ${co['target']:.2f} per instance-month",
        f"{money(e['per_instance_month'])} per instance-month ({money(e['fleet_month'])} for 1 000); "
        f"largest: {e['dominant']}",
        co["met"],
    )


_ROWS: dict[str, Callable[[dict[str, Any]], Row]] = {
    "api_efficiency": _api_efficiency,
    "drain": _drain,
    "pipeline": _pipeline,
    "coldstart": _coldstart,
    "memory": _memory,
    "peers": _peers,
    "cost": _cost,
}


def headline(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per measure that ran: what the target is, what was measured, whether it is met."""
    sections = results.get("sections", {})
    rows: list[dict[str, Any]] = []
    for key, row in _ROWS.items():
        section = sections.get(key)
        if section is None or "error" in section:
            continue
        target, measured, met = row(section)
        rows.append({"key": key, "measure": TITLES[key], "target": target, "measured": measured, "met": met})
    return rows
