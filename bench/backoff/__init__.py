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

import math
from dataclasses import dataclass, field

from bench.common import ROOT, add_code_paths
from bench.sqs_model import MAX_DELAY_SECONDS

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
