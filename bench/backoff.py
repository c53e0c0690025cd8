"""A dead callback at scale (#14, item 10): one instance's 150,000 waiting notifications, another's on time.

python -m bench.backoff           # 150,000 waiting, 2 minutes watched (~4 min on 2 cores): bench/results/backoff.md
python -m bench.backoff --quick   # 2,000 waiting, seconds (tests/bench/test_backoff.py)

Instance A's callback is dead (connection refused) and its 150,000 notifications already wait for
their retries, as after the callback has been down for a while: each is a message sent with a
delay (SQS's longest is 900 s) that ends at a random moment of the next ``spread_s`` seconds,
carrying its attempt count (3 to 9 made) and its due time. So A's messages come back at
150,000 / 900 s = 167 a second, what that many waiting notifications cost however long they
wait, and none of them is in flight while it waits. A message is due when its delay ends as
often as it is over the default retry schedule (:func:`attempt_share`: 10 attempts in 298
receipts, 3.4 %): the deliver function attempts it against the dead callback and sends it on
for the next step (or, after the ninth attempt, to the dead-letter queue). The others are due
later (up to the schedule's longest step, 54 h) and are sent on without an attempt.

Instance B's callback works. For ``run_s`` seconds a producer thread enqueues B's notifications at
a steady rate as the poll function does (the event log, then SendMessageBatch), and one deliver
environment (Lambda's event source emulated: ReceiveMessage of ten, the handler, DeleteMessageBatch
of the successes) takes everything off the queue: the worst case, Lambda starts five and scales. B's latency runs from its enqueue to the
callback receiving it; the baseline is the same run without A.

SQS is :mod:`bench.sqs_model` (moto takes ~4 s per ReceiveMessage with 150,000 messages queued);
DynamoDB is moto in this process; the handlers are the product's, called in this process.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import random
import socket
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import REGION, ROOT, add_code_paths, machine, measured_commit, write_json
from bench.invocation import LOGS, LambdaContext
from bench.sqs_model import IN_FLIGHT_LIMIT, MAX_DELAY_SECONDS, Queue, Sqs, answering
from bench.stack import Stack

add_code_paths()

DEFAULT_OUT = ROOT / "bench" / "results"
#: The template's EventsQueue: its visibility timeout and redrive policy.
VISIBILITY_TIMEOUT = 180
MAX_RECEIVE_COUNT = 50
#: The schedule's longest step (DELIVERY_RETRY_SCHEDULE's default), the farthest a due time lies.
LONGEST_STEP_S = 196_608
#: "On time": B's 99th percentile within this. A poll period is a minute at least, and Lambda's
#: batching window alone (MaximumBatchingWindowInSeconds, not emulated here) adds up to a second.
ON_TIME_S = 5.0


@dataclass(frozen=True)
class Plan:
    """The scenario's sizes."""

    waiting: int = 150_000  # A's notifications waiting for a retry
    spread_s: float = 900.0  # their delays end spread over this (SQS's longest delay)
    due_share: float | None = None  # the share of A's messages due when their delay ends (attempt_share)
    environments: int = 1  # deliver environments (Powertools' metrics allow one invocation per process)
    run_s: float = 120.0  # how long B is enqueued (and A watched)
    per_second: float = 5.0  # B's notifications per second
    baseline_s: float = 20.0  # B alone first, for comparison
    seed: int = 14


QUICK = Plan(waiting=2_000, spread_s=20.0, run_s=3.0, per_second=10.0, baseline_s=1.0)


@dataclass
class Phase:
    """What one phase measured."""

    b_enqueued: int = 0
    b_delivered: int = 0
    b_duplicates: int = 0
    b_latency_s: list[float] = field(default_factory=list)
    a_waiting: int = 0
    a_received: int = 0
    a_sent_on: int = 0
    a_attempts: int = 0
    dead_lettered: int = 0
    peak_in_flight: int = 0
    peak_visible: int = 0
    delayed_at_end: int = 0
    invocations: int = 0
    handler_busy_s: float = 0.0
    wall_s: float = 0.0
    samples: list[list[float]] = field(default_factory=list)  # [t, visible, in flight, delayed]


def attempt_share(schedule: tuple[int, ...]) -> float:
    """Of a notification's receipts over the whole retry schedule, the share that are attempts: the
    first, then one per step, each step received once per SQS delay (900 s) it lasts."""
    receipts = 1 + sum(max(1, math.ceil(step / MAX_DELAY_SECONDS)) for step in schedule)
    return (1 + len(schedule)) / receipts


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
        "baseline": _summary(baseline),
        "scenario": _summary(scenario),
        "bounce_ms": round(bounce_ms, 3),
        "samples": scenario.samples,
        "seconds": round(time.perf_counter() - started, 1),
    }
    result["checks"] = _checks(result)
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


# --- figures, checks and the report ------------------------------------------------------------
def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, round(share * (len(values) - 1)))]


def _summary(phase: Phase) -> dict[str, Any]:
    out = {k: v for k, v in asdict(phase).items() if k not in ("b_latency_s", "samples")}
    latencies = phase.b_latency_s
    out["b_latency_p50_s"] = round(_percentile(latencies, 0.5), 3)
    out["b_latency_p99_s"] = round(_percentile(latencies, 0.99), 3)
    out["b_latency_max_s"] = round(max(latencies, default=0.0), 3)
    out["handler_busy_s"] = round(phase.handler_busy_s, 1)
    out["wall_s"] = round(phase.wall_s, 1)
    out["a_received_per_s"] = round(phase.a_received / phase.wall_s, 1) if phase.wall_s else 0.0
    return out


def _checks(result: dict[str, Any]) -> list[dict[str, Any]]:
    base, scenario = result["baseline"], result["scenario"]
    return [
        {
            "check": "nothing waits in flight",
            "measured": f"peak {scenario['peak_in_flight']} in flight with {scenario['a_waiting']:,} waiting "
            f"(SQS's limit: {IN_FLIGHT_LIMIT:,}); {scenario['delayed_at_end']:,} delayed at the end",
            # One batch per environment in flight at most.
            "held": scenario["peak_in_flight"] <= 10 * result["plan"]["environments"],
        },
        {
            "check": f"B delivered on time (p99 within {ON_TIME_S:g} s)",
            "measured": f"p50 / p99 / max {scenario['b_latency_p50_s']} / {scenario['b_latency_p99_s']} / "
            f"{scenario['b_latency_max_s']} s; alone {base['b_latency_p50_s']} / {base['b_latency_p99_s']} / "
            f"{base['b_latency_max_s']} s",
            "held": scenario["b_latency_p99_s"] <= ON_TIME_S,
        },
        {
            "check": "B delivered, once each",
            "measured": f"{scenario['b_delivered']} of {scenario['b_enqueued']}, {scenario['b_duplicates']} duplicates",
            "held": scenario["b_delivered"] == scenario["b_enqueued"] > 0 and scenario["b_duplicates"] == 0,
        },
        {
            "check": "A's waiting messages are handled as they come",
            "measured": f"{scenario['a_received']:,} received ({scenario['a_received_per_s']}/s), "
            f"{scenario['a_attempts']:,} attempted, {scenario['a_sent_on']:,} sent on, "
            f"{scenario['dead_lettered']:,} dead-lettered; at most {scenario['peak_visible']:,} visible at once",
            "held": scenario["a_received"] > 0
            and scenario["a_attempts"] > 0
            and scenario["a_sent_on"] + scenario["dead_lettered"] == scenario["a_received"],
        },
    ]


def write(result: dict[str, Any], out: Path) -> None:
    """``backoff.json`` (every figure) and ``backoff.md`` (the checks) in ``out``."""
    write_json(out / "backoff.json", result)
    plan, scenario = result["plan"], result["scenario"]
    machine_ = result["machine"]
    lines = [
        "# A dead callback at scale",
        "",
        f"Measured {machine_['date']} on {machine_['cpu_model'] or 'an unnamed CPU'}, {machine_['cores']} cores "
        f"(Python {machine_['python']}), commit `{result['commit']}`, in {result['seconds']} s with "
        f"`python -m bench.backoff` (`bench/backoff.py` says how). Instance A's callback refuses connections; "
        f"{plan['waiting']:,} of its notifications wait for retries, their delays ending over "
        f"{plan['spread_s']:g} s, {plan['due_share']:.1%} of them due then. Instance B's callback works: "
        f"{plan['per_second']:g} notifications a second for {plan['run_s']:g} s; {plan['environments']} deliver "
        "environments. "
        f"Verdict: **{'every check held' if result['verdict'] else 'a check failed'}**.",
        "",
        "| check | measured | |",
        "|---|---|---|",
        *[
            f"| {c['check']} | {c['measured']} | **{'held' if c['held'] else 'failed'}** |"
            for c in result["checks"]
        ],
        "",
        f"The deliver environments were busy {scenario['handler_busy_s']} s in all of {scenario['wall_s']} s "
        f"({scenario['invocations']:,} invocations); a message back before it is due costs "
        f"{result['bounce_ms']} ms of it (measured apart), the rest is attempts and B's deliveries, "
        "each a handful of DynamoDB calls that moto answers in milliseconds. SQS is a model of a standard queue "
        "(`bench/sqs_model.py`: delays, visibility, receive counts, the 120,000 in-flight limit), "
        "DynamoDB is moto in the same process; B's latency has no batching window (Lambda's adds up to 1 s).",
        "",
        "Before this change a waiting notification was held in flight (its visibility set to its next "
        "attempt, up to 12 h): every one of these waiting notifications would have counted against "
        f"SQS's {IN_FLIGHT_LIMIT:,}, and past it ReceiveMessage answers `OverLimit` for every instance.",
        "",
    ]
    (out / "backoff.md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.backoff``: run, write the results, exit 0 when every check held."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.backoff", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="2,000 waiting, a few seconds")
    parser.add_argument("--waiting", type=int, help="A's waiting notifications")
    parser.add_argument("--seconds", type=float, help="how long B is enqueued")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else Plan()
    if args.waiting is not None:
        plan = replace(plan, waiting=args.waiting)
    if args.seconds is not None:
        plan = replace(plan, run_s=args.seconds)
    result = run(plan, say=lambda line: print(line, file=sys.__stdout__, flush=True))
    args.out.mkdir(parents=True, exist_ok=True)
    write(result, args.out)
    for check in result["checks"]:
        print(f"{'held  ' if check['held'] else 'FAILED'} {check['check']}: {check['measured']}")
    return 0 if result["verdict"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
