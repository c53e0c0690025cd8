"""The cost model's measurements: an idle poll of three resources, and one change through poll and deliver.

Per invocation, the AWS requests the handlers make and the units they are billed, the store
requests, the handlers' CPU and wall time without the emulator's, and the bytes they log; timings
are medians of several probes, call counts must agree between them (they are the code's, not noise).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bench.calls import CallStats
from bench.common import median
from bench.cost.prices import POLL_MINUTES
from bench.eventsource import SqsEventSource
from bench.invocation import Invocation
from bench.stack import Stack, resource

PROBES = 7


def _poll_sample(stack: Stack, instance: str, stats: CallStats) -> tuple[Invocation, int]:
    before = stack.store.request_count
    invocation = stack.poll(instance, stats)
    return invocation, stack.store.request_count - before


def probe(stack: Stack, *, probes: int = PROBES) -> dict[str, Any]:
    """Measure an idle poll of three resources, and one change through poll and deliver."""
    import deliver_handler

    stack.fresh()
    deliver_handler.idempotent_delivery.cache_clear()
    instance = stack.create_instance({name: resource(name) for name in ("orders", "products", "customers")})
    store = stack.store
    store.set_clock(store.now().replace(microsecond=0) + timedelta(seconds=10))
    # A warm container first (clients, sessions, lazy imports), as Lambda keeps one: not sampled.
    store.create_order()
    store.advance(30)
    stack.poll(instance)
    SqsEventSource(stack.resources.events_queue_url, CallStats()).drain()
    delivered_before = stack.receiver.notifications
    idle: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    deliver: list[dict[str, Any]] = []
    for _ in range(probes):
        store.advance(POLL_MINUTES * 60)
        stats = CallStats()
        invocation, requests = _poll_sample(stack, instance, stats)
        idle.append(_sample(invocation, stats, "poll", requests))
    for _ in range(probes):
        store.advance(POLL_MINUTES * 60)
        store.create_order()
        store.advance(30)
        stats = CallStats()
        invocation, requests = _poll_sample(stack, instance, stats)
        changed.append(_sample(invocation, stats, "poll", requests))
        source = SqsEventSource(stack.resources.events_queue_url, stats)
        run = source.drain()
        if (
            len(run.invocations) != 1
            or run.failures
            or stack.receiver.notifications < delivered_before + len(deliver) + 1
        ):
            raise RuntimeError(
                f"the cost probe expected one notification delivered per change; deliver ran "
                f"{len(run.invocations)} times and reported {run.failures} batch item failures"
            )
        sample = _sample(run.invocations[0], stats, "deliver", 0)
        sample["callbacks"] = 1
        sample["event_source"] = stats.by_operation("sqs-event-source")
        deliver.append(sample)
    return {
        "probes": probes,
        "idle_poll": _median_sample(idle),
        "changed_poll": _median_sample(changed),
        "deliver": _median_sample(deliver),
    }


def _sample(invocation: Invocation, stats: CallStats, actor: str, store_requests: int) -> dict[str, Any]:
    return {
        "wall_ms": invocation.wall * 1000,
        "cpu_ms": invocation.cpu * 1000,
        "log_bytes": invocation.log_bytes,
        "store_requests": store_requests,
        "aws": stats.by_operation(actor),
    }


def _median_sample(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Timings as medians; call counts must agree between samples (they are the code's, not noise)."""
    first = samples[0]
    return {
        "wall_ms": round(median([s["wall_ms"] for s in samples]), 2),
        "cpu_ms": round(median([s["cpu_ms"] for s in samples]), 2),
        "log_bytes": int(median([s["log_bytes"] for s in samples])),
        "store_requests": int(median([s["store_requests"] for s in samples])),
        "aws": first["aws"],
        **({"event_source": first["event_source"]} if "event_source" in first else {}),
        "counts_stable": all(s["aws"] == first["aws"] for s in samples),
    }
