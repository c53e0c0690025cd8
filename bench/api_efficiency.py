"""1. API efficiency: BigCommerce requests per poll against the minimum.

The minimum is one list request per resource when idle, and ⌈N/limit⌉ + 1 list requests for N
changes (every page, and the one that shows there is no more). The run's one ``/v2/time`` request
(the store's clock, once per instance and run) is reported beside it. Request counts are
deterministic, so each case runs once.
"""

from __future__ import annotations

import math
import time
from typing import Any

from bench.calls import CallStats
from bench.stack import PAGE_LIMIT, Stack, list_requests, resource

SIZES = (0, 1, 249, 250, 251, 10_000)
QUICK_SIZES = (0, 1, 250, 251)
TARGET = 1.02
IDLE_RESOURCES = ("orders", "products", "customers")


def minimum_requests(changes: int, resources: int = 1) -> int:
    """The fewest list requests that can report ``changes`` records (of one resource)."""
    if changes == 0:
        return resources
    return math.ceil(changes / PAGE_LIMIT) + 1


def measure_case(stack: Stack, changes: int, *, shared_second: bool) -> dict[str, Any]:
    """One poll of a fresh instance with ``changes`` orders waiting."""
    stack.fresh()
    names = IDLE_RESOURCES if changes == 0 else ("orders",)
    resources = {name: resource(name) for name in names}
    instance = stack.create_instance(resources)
    stack.backlog(changes, shared_second=shared_second)
    stats = CallStats()
    started = time.perf_counter()
    with stack.discarding_queue():
        invocation = stack.poll(instance, stats)
    elapsed = time.perf_counter() - started
    requests = stack.store.requests
    lists = len(list_requests(stack.store))
    minimum = minimum_requests(changes, len(resources))
    events = sum(r["events"] for r in invocation.result["resources"])
    return {
        "changes": changes,
        "timestamps": "one shared second" if shared_second else "distinct",
        "resources": len(resources),
        "list_requests": lists,
        "time_requests": len(requests) - lists,
        "minimum": minimum,
        "ratio": round(lists / minimum, 4),
        "events_reported": events,
        "all_reported": events == changes,
        "messages_sent": stats.messages_sent,
        "status_429": sum(1 for r in requests if r.status == 429),
        "outcome": invocation.result["outcome"],
        "elapsed_s": round(elapsed, 3),
        "pages_per_s": round(lists / elapsed, 2) if elapsed else None,
    }


def run(stack: Stack, *, quick: bool = False) -> dict[str, Any]:
    """Every size with distinct timestamps and with one shared second (idle once: it has no timestamps)."""
    sizes = QUICK_SIZES if quick else SIZES
    cases = [measure_case(stack, n, shared_second=False) for n in sizes]
    cases += [measure_case(stack, n, shared_second=True) for n in sizes if n > 0]
    worst = max(cases, key=lambda c: c["ratio"])
    return {
        "target": TARGET,
        "cases": cases,
        "worst_ratio": worst["ratio"],
        "worst_case": f"{worst['changes']} changes, {worst['timestamps']} timestamps",
        "met": all(c["ratio"] <= TARGET for c in cases),
        "met_distinct": all(c["ratio"] <= TARGET for c in cases if c["timestamps"] == "distinct"),
        "all_reported": all(c["all_reported"] for c in cases),
    }
