"""3. Pipeline throughput and cost per event: store → poll → SQS → deliver → callback receiver.

Both handlers run in this process against emulated AWS, the sandbox store and a loopback
receiver; Lambda's SQS event source is emulated (batches of ten messages). Reported per run:

- events per second end to end (everything on this machine, the emulator included);
- CPU milliseconds per event in the poll and the deliver handlers (the emulator's CPU excluded);
- AWS requests and callback connections per event.

The naive baseline runs in the same process right after: one SQS message (SendMessage) per event
and a new HTTP connection for every callback, everything else unchanged. Runs alternate between
the two designs and the medians are compared, so both see the same machine noise.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from bench.calls import CallStats
from bench.common import median
from bench.eventsource import SqsEventSource
from bench.stack import Stack, resource

EVENTS = 400
RUNS = 3


@contextlib.contextmanager
def naive() -> Iterator[None]:
    """The naive design: a notification (and an SQS SendMessage) per event, a connection per callback."""
    from bcevents.aws import clients, queues
    from bcevents.delivery import callback_client
    from bcevents.polling import queue_sink

    build = getattr(queue_sink, "build_notifications")  # noqa: B009 - replaced below

    def one_event_each(instance: Any, object_type: str, changes: Any, poll_date: Any, **kw: Any) -> Any:
        return [n for change in changes for n in build(instance, object_type, [change], poll_date, **kw)]

    def send_each(entries: Any, queue_url: str | None = None) -> None:
        from bcevents.settings import get_settings

        url = queue_url or get_settings().events_queue_url
        for entry in entries:
            clients.sqs().send_message(
                QueueUrl=url, MessageBody=entry["MessageBody"], MessageAttributes=entry["MessageAttributes"]
            )

    patches: list[tuple[Any, str, Any]] = [
        (queue_sink, "build_notifications", one_event_each),
        (queues, "send_entries", send_each),
        (callback_client, "_session", callback_client._session.__wrapped__),
    ]
    originals = [(module, name, getattr(module, name)) for module, name, _ in patches]
    for module, name, value in patches:
        setattr(module, name, value)
    try:
        yield
    finally:
        for module, name, value in originals:
            setattr(module, name, value)


def measure(stack: Stack, events: int, *, design: str) -> dict[str, Any]:
    """Poll ``events`` new orders and deliver them all; what it took."""
    stack.fresh()
    import deliver_handler

    deliver_handler.idempotent_delivery.cache_clear()
    instance = stack.create_instance({"orders": resource()})
    stats = CallStats()
    source = SqsEventSource(stack.resources.events_queue_url, stats)
    with naive() if design == "naive" else contextlib.nullcontext():
        # A warm container, as Lambda keeps one: clients, sessions and lazy imports exist already.
        stack.backlog(1)
        stack.poll(instance)
        SqsEventSource(stack.resources.events_queue_url, CallStats()).drain()
        stack.receiver.reset()
        stack.backlog(events)
        started = time.perf_counter()
        poll = stack.poll(instance, stats)
        delivered = source.drain()
    end = stack.receiver.last_at or time.perf_counter()
    wall = end - started
    receiver = stack.receiver
    aws_poll = sum(v for k, v in stats.calls.items() if k[0] == "poll")
    aws_deliver = sum(v for k, v in stats.calls.items() if k[0] == "deliver")
    aws_source = sum(v for k, v in stats.calls.items() if k[0] == "sqs-event-source")
    return {
        "design": design,
        "events": events,
        "events_delivered": receiver.events,
        "unique_delivered": len(receiver.object_ids),
        "notifications": receiver.notifications,
        "callback_connections": receiver.connections,
        "deliver_invocations": len(delivered.invocations),
        "batch_failures": delivered.failures,
        "wall_s": round(wall, 3),
        "events_per_s": round(receiver.events / wall, 1) if wall else 0.0,
        "handler_events_per_s": round(events / (poll.wall + delivered.handler_wall), 1),
        "poll_cpu_ms_per_event": round(poll.cpu * 1000 / events, 4),
        "deliver_cpu_ms_per_event": round(delivered.handler_cpu * 1000 / events, 4),
        "emulated_aws_s": round(poll.emulator_wall + sum(i.emulator_wall for i in delivered.invocations), 3),
        "aws_requests_per_event": {
            "poll": round(aws_poll / events, 4),
            "deliver": round(aws_deliver / events, 4),
            "sqs_event_source": round(aws_source / events, 4),
        },
        "aws_calls": {actor: stats.by_operation(actor) for actor in ("poll", "deliver", "sqs-event-source")},
    }


def run(stack: Stack, *, events: int = EVENTS, runs: int = RUNS) -> dict[str, Any]:
    """Alternate batched and naive runs; medians and the batched/naive ratios."""
    samples: dict[str, list[dict[str, Any]]] = {"batched": [], "naive": []}
    for _ in range(runs):
        for design in ("batched", "naive"):
            samples[design].append(measure(stack, events, design=design))
    summary: dict[str, dict[str, float]] = {}
    keys = ("events_per_s", "handler_events_per_s", "poll_cpu_ms_per_event", "deliver_cpu_ms_per_event")
    for design, runs_ in samples.items():
        summary[design] = {key: median([r[key] for r in runs_]) for key in keys}
        summary[design]["aws_requests_per_event"] = median(
            [sum(r["aws_requests_per_event"].values()) for r in runs_]
        )
        summary[design]["callback_connections_per_event"] = median(
            [r["callback_connections"] / r["events"] for r in runs_]
        )
        summary[design]["all_delivered"] = all(r["unique_delivered"] == r["events"] for r in runs_)
        summary[design]["batch_failures"] = max(r["batch_failures"] for r in runs_)
    b, n = summary["batched"], summary["naive"]
    return {
        "events": events,
        "runs": runs,
        "median": summary,
        "speedup": {
            "events_per_s": round(b["events_per_s"] / n["events_per_s"], 2),
            "cpu_per_event": round(
                (n["poll_cpu_ms_per_event"] + n["deliver_cpu_ms_per_event"])
                / (b["poll_cpu_ms_per_event"] + b["deliver_cpu_ms_per_event"]),
                2,
            ),
            "aws_requests_per_event": round(n["aws_requests_per_event"] / b["aws_requests_per_event"], 2),
        },
        "samples": samples,
    }
