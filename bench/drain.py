"""2. Backlog drain against the store's rate limit.

The sandbox store enforces a fixed-window quota (BigCommerce's ``X-Rate-Limit-*`` headers). One
poll drains a backlog of orders; the bound is the requests it needs (⌈N/limit⌉ + 1 list requests
and the ``/v2/time`` request) divided by the quota's rate. The quota must make the store, not this
machine, the bottleneck: the poller, with emulated DynamoDB and SQS in the loop (a moto UpdateItem
costs 10-15 ms here, 25 of them per page), handles one to three pages a second depending on the
machine's load. So an unthrottled calibration poll measures that first, and the store allows 70 %
of it (15 requests per window; BigCommerce's Standard plan is 150 per 30 000 ms, five a second).
Reset-Ms headers are in real milliseconds, so a client that sleeps what the store says waits
exactly as long as it should.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from bench.api_efficiency import minimum_requests
from bench.memory import poll_in_child
from bench.stack import Stack, list_requests, resource

BACKLOG = 50_000
QUOTA = 15
CALIBRATION_ORDERS = 2_500
#: The store allows this share of the pages per second the poller managed unthrottled.
HEADROOM = 0.7
TARGET = 1.10


def calibrate(stack: Stack, python: str, orders: int = CALIBRATION_ORDERS) -> float:
    """Pages per second one unthrottled poll (in a child, as the drain) manages on this machine now."""
    stack.fresh()
    instance = stack.create_instance({"orders": resource()})
    stack.backlog(orders)
    result = poll_in_child(stack, instance, orders, python)
    return float(len(list_requests(stack.store)) / result["poll_s"])


def window_for(quota: int, pages_per_s: float) -> int:
    """A window (a multiple of 250 ms) in which ``quota`` requests is HEADROOM of the poller's pace."""
    seconds = quota / (HEADROOM * pages_per_s)
    return max(250, math.ceil(seconds * 4) * 250)


def run(
    stack: Stack,
    *,
    backlog: int = BACKLOG,
    quota: int = QUOTA,
    window_ms: int | None = None,
    python: str = sys.executable,
) -> dict[str, Any]:
    """One poll of a fresh instance with ``backlog`` orders under the quota (calibrated if not given).

    The poll runs in a child process (``stack`` has AWS as a server), which also gives its peak RSS.
    """
    capacity = calibrate(stack, python) if window_ms is None else None
    if window_ms is None:
        assert capacity is not None
        window_ms = window_for(quota, capacity)
    stack.fresh()
    instance = stack.create_instance({"orders": resource()})
    stack.backlog(backlog)
    store = stack.store
    store.settings.update({"rate_limit_quota": quota, "rate_limit_window_ms": window_ms})
    store.rate_limiter.reset()
    store.clear_requests()
    child = poll_in_child(stack, instance, backlog, python)
    elapsed = child["poll_s"]
    requests = store.requests
    first = requests[0].at if requests else 0.0
    needed = minimum_requests(backlog) + 1  # and the /v2/time request
    rate = quota / (window_ms / 1000)
    bound = needed / rate
    events = child["events"]
    store.settings.update({"rate_limit_quota": 10_000, "rate_limit_window_ms": 30_000})
    return {
        "backlog": backlog,
        "quota": quota,
        "window_ms": window_ms,
        "quota_rate_per_s": round(rate, 3),
        "calibrated_pages_per_s": round(capacity, 2) if capacity is not None else None,
        "requests_needed": needed,
        "requests_made": len(requests),
        "list_requests": len(list_requests(store)),
        "status_429": sum(1 for r in requests if r.status == 429),
        "drain_s": round(elapsed, 2),
        "bound_s": round(bound, 2),
        # With a fixed window the last request can go out no sooner than this (a burst per window).
        "window_floor_s": ((needed - 1) // quota) * window_ms / 1000,
        "ratio": round(elapsed / bound, 4),
        "events_reported": events,
        "all_reported": events == backlog,
        "outcome": child["outcome"],
        "poll_cpu_s": child["cpu_s"],
        "child": child,
        "request_times_s": [round(r.at - first, 3) for r in requests],
        "target": TARGET,
        "met": elapsed / bound <= TARGET and all(r.status != 429 for r in requests),
    }
