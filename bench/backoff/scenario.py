"""The scenario: both phases on a fresh stack, A's waiting messages, B's producer, the deliver environment."""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.backoff import LONGEST_STEP_S, MAX_RECEIVE_COUNT, VISIBILITY_TIMEOUT, Phase, Plan, attempt_share
from bench.backoff.report import checks, summary
from bench.common import REGION, machine, measured_commit
from bench.invocation import LOGS, LambdaContext
from bench.sqs_model import Queue, Sqs, answering
from bench.stack import Stack


def run(plan: Plan, say: Any = print) -> dict[str, Any]:
    """Both phases on a fresh stack; every figure, ready for JSON."""
    from bcevents.settings import DEFAULT_RETRY_SCHEDULE

    if plan.due_share is None:
        plan = replace(plan, due_share=round(attempt_share(DEFAULT_RETRY_SCHEDULE), 4))
    started = time.perf_counter()
    with Stack.running() as stack:
        dead = f"http://127.0.0.1:{_closed_port()}/dead"
        a = stack.create_instance(callback_url=dead)
        b = stack.create_instance()
        _phase(stack, plan, b, None, 1 / plan.per_second, lambda line: None, first_order=500_000)  # warm
        say(f"baseline: instance B alone for {plan.baseline_s:g} s")
        baseline = _phase(stack, plan, b, None, plan.baseline_s, say, first_order=1_000_000)
        say(f"scenario: {plan.waiting:,} notifications of A waiting, B for {plan.run_s:g} s")
        scenario = _phase(stack, plan, b, a, plan.run_s, say, first_order=2_000_000)
        bounces = max(100, plan.waiting // 30)
        bounce_ms = _bounce_cost(stack, plan, a, bounces)
        say(f"bounce: {bounce_ms:.2f} ms of handler time per message back early ({bounces:,})")
    result = {
        "plan": asdict(plan),
        "machine": machine(),
        "commit": measured_commit(),
        "baseline": summary(baseline),
        "scenario": summary(scenario),
        "bounce_ms": round(bounce_ms, 3),
        "samples": scenario.samples,
        "seconds": round(time.perf_counter() - started, 1),
    }
    result["checks"] = checks(result)
    result["verdict"] = all(check["held"] for check in result["checks"])
    return result


# --- one phase ----------------------------------------------------------------------------------
def _phase(
    stack: Stack, plan: Plan, b: str, a: str | None, seconds: float, say: Any, *, first_order: int
) -> Phase:
    """One run of B's producer and the deliver environment, with A's messages waiting or not.

    B's orders are numbered from ``first_order`` (the same order again would be the same notification).
    """
    resources = stack.resources
    sqs = Sqs()
    dead_letters = sqs.add(resources.events_dlq_url, Queue("dead-letters"))
    events = sqs.add(
        resources.events_queue_url,
        Queue("events", VISIBILITY_TIMEOUT, MAX_RECEIVE_COUNT, dead_letters),
    )
    phase = Phase()
    # Metrics are printed (EMF) at the end of each invocation; two environments share this process.
    with answering(sqs), contextlib.redirect_stdout(LOGS):
        if a is not None:
            t0 = time.perf_counter()
            phase.a_waiting = _inject(events, a, plan, seconds)
            say(f"  {phase.a_waiting:,} messages of A queued in {time.perf_counter() - t0:.1f} s")
        stack.receiver.reset()
        attempts_before = _attempts(a) if a else 0
        producer = _Producer(b, plan.per_second, seconds, first_order)
        sources = [_EventSource(resources.events_queue_url) for _ in range(plan.environments)]
        stop = threading.Event()
        sampler = threading.Thread(target=_sample, args=(events, phase, stop), daemon=True)
        started = time.perf_counter()
        for thread in (producer, *sources, sampler):
            thread.start()
        producer.join()
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline and len(_delivered(stack)) < len(producer.enqueued):
            time.sleep(0.1)
        for source in sources:
            source.stop.set()
            source.join()
        stop.set()
        sampler.join()
        phase.wall_s = time.perf_counter() - started
    requests = _delivered(stack)
    ids = Counter(request.header("webhook-id") for request in requests)
    phase.b_enqueued = len(producer.enqueued)
    phase.b_delivered = len(ids)
    phase.b_duplicates = sum(count - 1 for count in ids.values())
    firsts: dict[str, float] = {}
    for request in requests:
        firsts.setdefault(str(request.header("webhook-id")), request.at)
    phase.b_latency_s = sorted(
        at - producer.enqueued[i] for i, at in firsts.items() if i in producer.enqueued
    )
    if a is not None:
        phase.a_received = events.received[a]
        phase.a_sent_on = events.sent[a]
        phase.a_attempts = _attempts(a) - attempts_before
    phase.dead_lettered = len(dead_letters.messages)
    phase.peak_in_flight = events.peak_in_flight
    phase.peak_visible = int(max((s[1] for s in phase.samples), default=0))
    phase.delayed_at_end = events.counts()["delayed"]
    phase.invocations = sum(source.invocations for source in sources)
    phase.handler_busy_s = sum(source.busy for source in sources)
    say(
        f"  B: {phase.b_delivered}/{phase.b_enqueued} delivered; A: {phase.a_received:,} received, "
        f"{phase.a_attempts:,} attempted; peak in flight {phase.peak_in_flight}"
    )
    return phase


def _inject(events: Queue, a: str, plan: Plan, seconds: float) -> int:
    """A's waiting messages (delays ending over ``spread_s``), and the log items of those due
    within ``seconds`` (the others are sent on without a read)."""
    from bcevents.aws.event_log import notification_sk
    from bcevents.aws.items import instance_key
    from bcevents.aws.tables import get_storage
    from bcevents.clock import iso_seconds

    rng = random.Random(plan.seed)
    envelope = json.loads(_notification(a, 1).body)
    now = datetime.now(UTC)  # due times count from here; delays from when they are all queued (later)
    waiting: list[tuple[str, dict[str, Any], float]] = []
    with get_storage().events.batch_writer() as log:
        for _ in range(plan.waiting):
            visible_in = rng.uniform(0, plan.spread_s)
            made = rng.randint(3, 9)
            due_now = rng.random() < (plan.due_share or 0.0)
            wait = visible_in - rng.uniform(0, 5) if due_now else visible_in + rng.uniform(60, LONGEST_STEP_S)
            due = iso_seconds(now + timedelta(seconds=wait))
            envelope["id"] = notification_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            values = {"instance_id": a, "notification_id": notification_id, "object_type": "orders"}
            attributes: dict[str, Any] = {
                k: {"DataType": "String", "StringValue": v} for k, v in values.items()
            }
            attributes["attempts"] = {"DataType": "Number", "StringValue": str(made)}
            attributes["next_attempt_at"] = {"DataType": "String", "StringValue": due}
            waiting.append((json.dumps(envelope, separators=(",", ":")), attributes, visible_in))
            if due_now and visible_in <= seconds + 5:
                log.put_item(
                    Item={
                        "pk": instance_key(a),
                        "sk": notification_sk(notification_id),
                        **values,
                        "status": "RETRYING",
                        "attempts": made,
                        "next_attempt_at": due,
                        "created_date": iso_seconds(now),
                        "expires_at": int(now.timestamp()) + 30 * 86_400,
                    }
                )
    events.inject(waiting)
    return plan.waiting


def _bounce_cost(stack: Stack, plan: Plan, a: str, count: int) -> float:
    """Handler milliseconds per message back before it is due (sent on, nothing else read)."""
    resources = stack.resources
    sqs = Sqs()
    events = sqs.add(resources.events_queue_url, Queue("events", VISIBILITY_TIMEOUT))
    with answering(sqs), contextlib.redirect_stdout(LOGS):
        _inject(events, a, replace(plan, waiting=count, spread_s=0.0, due_share=0.0, seed=plan.seed + 1), 0)
        source = _EventSource(resources.events_queue_url)
        source.start()
        while events.received[a] < count:
            time.sleep(0.05)
        source.stop.set()
        source.join()
    return 1000 * source.busy / max(1, events.received[a])


class _Producer(threading.Thread):
    """Enqueues B's notifications at a steady rate, as the poll function does."""

    def __init__(self, instance_id: str, per_second: float, seconds: float, first_order: int) -> None:
        super().__init__(name="bench-producer", daemon=True)
        self.instance_id, self.per_second, self.seconds = instance_id, per_second, seconds
        self.first_order = first_order
        self.enqueued: dict[str, float] = {}

    def run(self) -> None:
        from bcevents.aws.event_log import record_enqueued
        from bcevents.aws.queues import send_entries
        from bcevents.compat.queued import to_sqs_entry

        count = int(self.seconds * self.per_second)
        start = time.perf_counter()
        for i in range(count):
            time.sleep(max(0.0, start + i / self.per_second - time.perf_counter()))
            n = _notification(self.instance_id, self.first_order + i)
            record_enqueued([n])
            self.enqueued[n.id] = time.time()
            send_entries([to_sqs_entry(n)])


class _EventSource(threading.Thread):
    """One deliver environment fed by Lambda's event source: ten at a time, successes deleted."""

    def __init__(self, queue_url: str) -> None:
        import boto3

        super().__init__(name="bench-event-source", daemon=True)
        self.url = queue_url
        self.arn = f"arn:aws:sqs:{REGION}:123456789012:{queue_url.rsplit('/', 1)[-1]}"
        self.sqs = boto3.session.Session(region_name=REGION).client("sqs")
        self.stop = threading.Event()
        self.invocations = 0
        self.busy = 0.0

    def run(self) -> None:
        from deliver_handler import lambda_handler
        from devstack.sqs_source import lambda_record

        while not self.stop.is_set():
            messages = self.sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=10,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                self.stop.wait(0.01)
                continue
            event = {"Records": [lambda_record(dict(m), self.arn, REGION) for m in messages]}
            context = LambdaContext(function_name="DeliverFunction", timeout_ms=120_000)
            started = time.perf_counter()
            result = lambda_handler(event, context)  # its EMF output goes to the phase's LOGS
            self.busy += time.perf_counter() - started
            self.invocations += 1
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            done = [m for m in messages if m["MessageId"] not in failed]
            if done:
                self.sqs.delete_message_batch(
                    QueueUrl=self.url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
                )


def _sample(events: Queue, phase: Phase, stop: threading.Event) -> None:
    start = time.perf_counter()
    while not stop.wait(0.5):
        counts = events.counts()
        phase.samples.append(
            [round(time.perf_counter() - start, 1), counts["visible"], counts["in_flight"], counts["delayed"]]
        )


def _notification(instance_id: str, order_id: int) -> Any:
    """One notification about one order of the instance, built as the poller builds it."""
    from bcevents.aws.tables import get_storage
    from bcevents.compat.envelope import ChangeEvent, InstanceInfo, build_notifications

    item = get_storage().get_instance(instance_id) or {}
    info = InstanceInfo(
        instance_id, "bench", ["bench"], str(item.get("org_id", "")), str(item.get("user_id", ""))
    )
    modified = datetime(2025, 3, 4, 10, 15, tzinfo=UTC) + timedelta(seconds=order_id)
    record = {
        "id": order_id,
        "status": "Awaiting Fulfillment",
        "date_created": "Tue, 04 Mar 2025 10:00:00 +0000",
        "date_modified": modified.strftime("%a, %d %b %Y %H:%M:%S +0000"),
        "total_inc_tax": "42.5000",
    }
    change = ChangeEvent(event_type="UPDATED", object_id=str(order_id), date=modified, record=record)
    [n] = build_notifications(info, "orders", [change], modified + timedelta(minutes=1))
    return n


def _delivered(stack: Stack) -> list[Any]:
    return list(stack.receiver.requests_to("/hook"))


def _attempts(instance_id: str) -> int:
    """ATTEMPT items of the instance in the event log."""
    from boto3.dynamodb.conditions import Key

    from bcevents.aws.items import instance_key
    from bcevents.aws.tables import get_storage

    table = get_storage().events
    condition = Key("pk").eq(instance_key(instance_id)) & Key("sk").begins_with("ATTEMPT#")
    kwargs: dict[str, Any] = {"KeyConditionExpression": condition, "Select": "COUNT"}
    total = 0
    while True:
        page = table.query(**kwargs)
        total += int(page["Count"])
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
