"""``make verify``: hours of load on the local stack, and a verdict: nothing missed, lost or leaking.

    python -m bench.load                    # 200 instances, 3 simulated hours (~50 min on 2 cores)
    python -m bench.load --quick            # 8 instances, 6 simulated minutes (make test runs it)
    python -m bench.load --instances 50 --hours 1 --minute-seconds 4

The local stack runs in this process (free ports, a throwaway state directory) with a scheduled
minute lasting ``--minute-seconds`` real seconds. Instances are created over its API with the
Cloud Elements page's legacy body (orders, products and customers) on one-minute schedules, all
watching the sandbox store, all calling back a receiver here; they are created evenly over one
period, so their schedules fire spread over it as those of instances made over time do. Then the
store changes at a steady pace (records created, and updated a few minutes later) for the
simulated duration, a share of notifications is answered 503 (so retries run under load too),
and after the last change the run waits until everything has arrived or a bound has passed. Three checks make the verdict:

- **no missed schedule**: every instance's schedule fired in every period from its creation to
  the end (none skipped, no gap beyond a period, every run ``polled``);
- **every change delivered**: every change reached every instance's callback, acknowledged,
  with a valid Standard Webhooks signature;
- **memory flat**: each function's execution environments use no more memory at the end of the
  run than after its first quarter (within the slack below).

The stack's own process (the AWS emulator keeps every event and attempt it is sent, like the
tables do for the retention window) is measured and reported, not judged: its memory, how often
it stalled (a watchdog thread woke late) and its full garbage collections. Results go to
``load.json`` and ``load.md`` in ``--out`` (default ``bench/results``); the exit status is 0 only
when all three checks hold.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import itertools
import json
import math
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import requests

from bench.common import ROOT, add_code_paths, machine, measured_commit, write_json

add_code_paths()

from standardwebhooks.webhooks import Webhook, WebhookVerificationError  # noqa: E402

from devstack.config import HOST, LocalSettings  # noqa: E402
from devstack.console import Console  # noqa: E402
from devstack.demo_story import legacy_body  # noqa: E402
from devstack.httpserver import HttpRequest, HttpResponse, LoopbackServer  # noqa: E402
from devstack.scheduler import Firing  # noqa: E402
from devstack.stack import Stack  # noqa: E402

DEFAULT_OUT = ROOT / "bench" / "results"
RESOURCES = ("orders", "products", "customers")
#: A function's environments may end the run this much above their size after its first quarter.
RSS_SLACK_RATIO = 0.10
RSS_SLACK_MB = 4.0
#: Records are updated this many simulated minutes after their creation (so each change is its
#: own event: two changes of one record within a poll would be one event, its latest state).
UPDATE_AFTER_MINUTES = 3
#: Periods between the last instance created and the first change: environments have started,
#: every instance has polled once. Until then the stack ramps up and is not judged.
WARM_UP_PERIODS = 3


@dataclass(frozen=True)
class Plan:
    """What one load run does."""

    instances: int = 200
    minutes: int = 180
    #: Real seconds per scheduled minute (LOCAL_MINUTE_SECONDS). 200 instances polled every 15 s
    #: keep this 2-core machine's emulated AWS (one core: moto is one Python process) about half busy.
    minute_seconds: float = 15.0
    #: One change every two simulated minutes: 100 changes an hour, each delivered to every instance.
    changes_per_minute: float = 0.5
    #: Every Nth notification is answered 503 (0: none); the service retries it.
    fail_every: int = 50
    #: Seconds between memory samples.
    sample_seconds: float = 10.0
    retry_schedule: str = "1,2,4,8"
    #: Execution environments per function (LOCAL_CONCURRENCY).
    concurrency: int = 4

    @property
    def period(self) -> float:
        """Real seconds between two polls of an instance (one-minute schedules)."""
        return self.minute_seconds

    @property
    def drain_seconds(self) -> float:
        """How long to wait after the last change: settling, two polls, every retry, and slack."""
        retries = sum(float(s) for s in self.retry_schedule.split(","))
        return 3 + 3 * self.period + retries + 30


QUICK = Plan(instances=8, minutes=6, minute_seconds=3, changes_per_minute=2, fail_every=7, sample_seconds=1)


@dataclass(frozen=True)
class Change:
    """One change made to the store: every instance must deliver it."""

    object_type: str
    event_type: str
    object_id: str
    at: float


# --- the receiver --------------------------------------------------------------------------------
class Tally:
    """The callback receiver's handler: checks signatures, fails every Nth notification, counts events."""

    def __init__(self, fail_every: int) -> None:
        self.secrets: dict[str, Webhook] = {}
        self._fail_every = fail_every
        self._lock = threading.Lock()
        self.notifications = 0
        self.refused = 0
        self.bad_signatures = 0
        #: (instance, object type, event type, object id) -> when it was first acknowledged.
        self.first_arrival: dict[tuple[str, str, str, str], float] = {}
        #: Acknowledged notifications per notification id (more than one: a duplicate).
        self.acknowledged_ids: Counter[str] = Counter()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Answer one notification: 401 unsigned, 503 when it is due to fail, else 200."""
        payload = json.loads(request.body)
        message = payload.get("message") or {}
        instance = str(message.get("instanceId"))
        webhook = self.secrets.get(instance)
        headers = {k.lower(): v for k, v in request.headers}
        try:
            if webhook is None:
                raise WebhookVerificationError("no secret for this instance")
            webhook.verify(request.body, headers, json_parse=False)
        except WebhookVerificationError:
            with self._lock:
                self.bad_signatures += 1
            return HttpResponse(401)
        now = time.time()
        with self._lock:
            self.notifications += 1
            if self._fail_every and self.notifications % self._fail_every == 0:
                self.refused += 1
                return HttpResponse(503, [("Retry-After", "1")])
            self.acknowledged_ids[headers.get("webhook-id", "")] += 1
            for event in message.get("events") or []:
                key = (instance, str(event["objectType"]), str(event["eventType"]), str(event["objectId"]))
                self.first_arrival.setdefault(key, now)
        return HttpResponse(200, [("Content-Type", "application/json")], b'{"received": true}')

    def arrived(self) -> dict[tuple[str, str, str, str], float]:
        """A copy of what arrived so far."""
        with self._lock:
            return dict(self.first_arrival)


# --- the store's changes ---------------------------------------------------------------------------
_CREATE: dict[str, Any] = {
    "orders": lambda n: {"status_id": 11},
    "products": lambda n: {"name": f"Load product {n}", "price": 10.0 + n % 90},
    "customers": lambda n: {
        "first_name": "Load",
        "last_name": f"Customer {n}",
        "email": f"load{n}@example.com",
    },
}
_UPDATE: dict[str, Any] = {
    "orders": lambda n: {"status_id": 2},
    "products": lambda n: {"price": 5.0 + n % 50},
    "customers": lambda n: {"company": f"Company {n}"},
}


class Changer:
    """Changes the store at a steady pace: creates a record of each kind in turn, updates it later."""

    def __init__(self, sandbox: str, plan: Plan) -> None:
        self._admin = f"{sandbox}/__admin"
        self._http = requests.Session()
        self._plan = plan
        self._created: list[tuple[str, str, float]] = []  # (resource, id, at), oldest first
        self.changes: list[Change] = []
        self.errors: list[str] = []

    def run(self, until: float, stop: threading.Event) -> None:
        """Make one change every ``minute_seconds / changes_per_minute`` seconds until ``until``."""
        interval = self._plan.minute_seconds / self._plan.changes_per_minute
        due = time.time()
        n = 0
        while due < until and not stop.wait(max(0.0, due - time.time())):
            try:
                self.changes.append(self._change(n))
            except (requests.RequestException, ValueError, KeyError) as exc:
                self.errors.append(f"change {n}: {exc}")
            n += 1
            due += interval

    def _change(self, n: int) -> Change:
        ripe = time.time() - UPDATE_AFTER_MINUTES * self._plan.minute_seconds
        if n % 2 and self._created and self._created[0][2] <= ripe:
            resource, record_id, _ = self._created.pop(0)
            response = self._http.put(
                f"{self._admin}/{resource}/{record_id}", json=_UPDATE[resource](n), timeout=10
            )
            response.raise_for_status()
            return Change(resource, "UPDATED", record_id, time.time())
        resource = RESOURCES[(n // 2) % len(RESOURCES)]
        response = self._http.post(f"{self._admin}/{resource}", json=_CREATE[resource](n), timeout=10)
        response.raise_for_status()
        record_id = str(response.json()["id"])
        self._created.append((resource, record_id, time.time()))
        return Change(resource, "CREATED", record_id, time.time())


# --- memory ----------------------------------------------------------------------------------------
def rss_mb(pid: int) -> float | None:
    """A process's resident set size in MB (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class MemorySamples:
    """RSS over time: the stack's own process and, per function, its largest environment."""

    times: list[float] = field(default_factory=list)
    stack: list[float] = field(default_factory=list)
    functions: dict[str, list[float | None]] = field(default_factory=lambda: defaultdict(list))

    def sample(self, at: float, stack: Stack) -> None:
        self.times.append(at)
        self.stack.append(rss_mb(os.getpid()) or 0.0)
        for function, pids in stack.processes().items():
            sizes = [size for size in map(rss_mb, pids) if size is not None]
            self.functions[function].append(max(sizes) if sizes else None)


def flatness(values: list[float | None]) -> dict[str, Any]:
    """The largest size in the second quarter of the steady window against the largest in its last."""
    known = [v for v in values if v is not None]
    if len(known) < 4:
        return {"after_first_quarter_mb": None, "end_mb": None, "growth_mb": None, "flat": False}
    quarter = max(1, len(known) // 4)
    early = max(known[quarter : 2 * quarter])
    late = max(known[-quarter:])
    growth = late - early
    return {
        "after_first_quarter_mb": round(early, 1),
        "end_mb": round(late, 1),
        "growth_mb": round(growth, 1),
        "flat": growth <= max(RSS_SLACK_MB, early * RSS_SLACK_RATIO),
    }


# --- stalls ----------------------------------------------------------------------------------------
#: A thread of the stack's process that wakes this late stalled, as every thread of it did.
STALL_SECONDS = 0.5


@dataclass
class Stalls:
    """When the stack's own process stopped running Python for a while, and its full collections.

    A watchdog thread sleeps ``tick`` seconds at a time and notes each wake-up at least
    STALL_SECONDS late (the process held the GIL elsewhere, or was not scheduled); the garbage
    collector reports how long each full (generation 2) collection took.
    """

    tick: float = 0.05
    stalls: list[tuple[float, float]] = field(default_factory=list)  # (at, seconds late)
    full_collections: list[tuple[float, float]] = field(default_factory=list)  # (at, seconds)
    _began: float = field(default=0.0, init=False, repr=False)  # the running full collection's start

    def watch(self, stop: threading.Event) -> None:
        """Run the watchdog until ``stop`` (on a thread of its own)."""
        gc.callbacks.append(self._on_gc)
        try:
            before = time.monotonic()
            while not stop.wait(self.tick):
                now = time.monotonic()
                late = now - before - self.tick
                if late >= STALL_SECONDS:
                    self.stalls.append((time.time(), late))
                before = now
        finally:
            gc.callbacks.remove(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.full_collections.append((time.time(), time.perf_counter() - self._began))

    def summary(
        self, start: float, end: float, period: float, snapshots: Iterable[tuple[float, float]] = ()
    ) -> dict[str, Any]:
        """Stalls, full collections and snapshots within [start, end); the longest of each as
        (simulated minute of the window, seconds)."""

        def within(events: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
            return [
                (round((at - start) / period, 1), round(took, 2)) for at, took in events if start <= at < end
            ]

        stalls, collections, holds = within(self.stalls), within(self.full_collections), within(snapshots)
        return {
            "stalls_over_half_a_second": len(stalls),
            "stall_seconds_max": max((took for _, took in stalls), default=0.0),
            "stall_seconds_total": round(sum(took for _, took in stalls), 1),
            "full_collections": len(collections),
            "full_collection_seconds_max": max((took for _, took in collections), default=0.0),
            "snapshots": len(holds),
            "snapshot_hold_seconds_max": max((took for _, took in holds), default=0.0),
            "longest_stalls": sorted(stalls, key=lambda e: -e[1])[:10],
            "longest_full_collections": sorted(collections, key=lambda e: -e[1])[:10],
            "longest_snapshots": sorted(holds, key=lambda e: -e[1])[:10],
        }


# --- the run ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Poll:
    """One period of one instance's schedule, as the checks need it (not the poll's whole answer).

    ``seconds`` is None for a period skipped because the previous poll was still queued or running.
    ``waited`` is how long the poll queued for a free execution environment after it fired.
    """

    instance: str
    due: float
    fired: float
    seconds: float | None
    waited: float
    result: str  # "polled", "skipped", or what else the run answered

    @classmethod
    def of(cls, firing: Firing, finished: float) -> Poll:
        """The record of a firing reported at ``finished``."""
        event = firing.event if isinstance(firing.event, dict) else {}
        outcome = firing.outcome
        seconds = outcome.seconds if outcome is not None else None
        waited = max(0.0, finished - firing.fired - seconds) if seconds is not None else 0.0
        return cls(str(event.get("instanceId")), firing.due, firing.fired, seconds, waited, _result(firing))

    @property
    def ran(self) -> bool:
        return self.seconds is not None


@dataclass
class Run:
    """What happened: the instances, the firings, the changes, the samples, and when each phase began."""

    plan: Plan
    instances: dict[str, float] = field(default_factory=dict)  # id -> created at
    polls: list[Poll] = field(default_factory=list)
    stalls: Stalls = field(default_factory=Stalls)
    changes: list[Change] = field(default_factory=list)
    memory: MemorySamples = field(default_factory=MemorySamples)
    started: float = 0.0  # the stack is up: instances are being created (the ramp)
    steady: float = 0.0  # every instance created and warmed up: the window the checks judge
    changes_until: float = 0.0
    ended: float = 0.0  # the last delivery arrived (or the drain bound passed): the stack stops
    commit: str = ""  # the product measured, as the run began (the tree may change during it)
    snapshot_holds: list[tuple[float, float]] = field(default_factory=list)  # the stack's, at the end
    errors: list[str] = field(default_factory=list)

    @property
    def window(self) -> tuple[float, float]:
        """Periods due in this window are judged: from the steady state to a period before the stop
        (a poll that fired later might be cut short by the stop itself)."""
        return self.steady, self.ended - self.plan.period


def run(plan: Plan, say: Any = print) -> dict[str, Any]:
    """Run the load and return the results (``verdict`` says whether every check held)."""
    state_dir = Path(tempfile.mkdtemp(prefix="bcevents-load-"))
    settings = _settings(plan, state_dir)
    tally = Tally(plan.fail_every)
    record = Run(plan, commit=measured_commit())
    lock = threading.Lock()

    def on_firing(firing: Firing) -> None:
        poll = Poll.of(firing, time.time())
        with lock:
            record.polls.append(poll)

    stack = Stack(settings, Console(None), on_firing=on_firing, freeze_gc=True)
    callbacks = LoopbackServer("load-callbacks", tally, HOST, 0)
    stop = threading.Event()
    sampler = threading.Thread(target=_sample, args=(stack, record, stop), daemon=True)
    watchdog = threading.Thread(target=record.stalls.watch, args=(stop,), name="watchdog", daemon=True)
    try:
        stack.start()
        callbacks.start()
        record.started = time.time()
        sampler.start()
        watchdog.start()
        say(
            f"local stack ready; creating {plan.instances} instances on one-minute schedules "
            f"over one period ({plan.period:g} s)"
        )
        _create_instances(stack, f"{callbacks.url}/callbacks", plan, tally, record)
        say(f"created in {time.time() - record.started:.0f} s; {WARM_UP_PERIODS} periods to settle")
        time.sleep(WARM_UP_PERIODS * plan.period)
        _change_and_drain(stack, plan, record, tally, stop, say)
    finally:
        record.ended = time.time()
        stop.set()
        for thread in (sampler, watchdog):
            if thread.is_alive():
                thread.join()
        callbacks.stop()
        stack.stop(save=False)
        record.snapshot_holds = list(stack.snapshot_holds)
    result = results(record, tally)
    if result["verdict"]:
        shutil.rmtree(state_dir, ignore_errors=True)
    else:
        say(f"function logs kept in {state_dir / 'logs' / 'functions.log'}")
    return result


def _change_and_drain(
    stack: Stack, plan: Plan, record: Run, tally: Tally, stop: threading.Event, say: Any
) -> None:
    """The judged part: steady store changes, then until everything arrived (or a bound passed)."""
    record.steady = time.time()
    record.changes_until = record.steady + plan.minutes * plan.minute_seconds
    say(
        f"changing the store {plan.changes_per_minute:g} times a simulated minute for {plan.minutes} "
        f"simulated minutes ({plan.minutes * plan.minute_seconds / 60:.1f} min real)"
    )
    changer = Changer(stack.urls["sandbox"], plan)
    with _progress(say, record, tally, plan):
        changer.run(record.changes_until, stop)
        record.changes, record.errors = changer.changes, changer.errors
        expected = _expected(record)
        say(f"last change made; waiting up to {plan.drain_seconds:.0f} s for {len(expected)} deliveries")
        deadline = time.time() + plan.drain_seconds
        while time.time() < deadline and not expected <= tally.arrived().keys():
            time.sleep(0.5)
        # Polls keep running: the window judged ends a period before the stop.
        time.sleep(max(0.0, record.changes_until + 2 * plan.period - time.time()))


def _settings(plan: Plan, state_dir: Path) -> LocalSettings:
    base = LocalSettings.from_env({})
    overrides = {"DELIVERY_RETRY_SCHEDULE": plan.retry_schedule, "POWERTOOLS_LOG_LEVEL": "WARNING"}
    return base.on_free_ports(
        minute_seconds=plan.minute_seconds,
        concurrency=plan.concurrency,
        state_dir=state_dir,
        overrides=overrides,
    )


def _create_instances(stack: Stack, callback_url: str, plan: Plan, tally: Tally, record: Run) -> None:
    http = requests.Session()
    http.headers["Authorization"] = stack.authorization
    credentials = http.get(f"{stack.urls['sandbox']}/__admin/credentials", timeout=10).json()
    body = legacy_body(
        credentials["legacy_api_path"], credentials["username"], credentials["password"], callback_url
    )
    body["configuration"]["event.poller.refresh_interval"] = "1"
    began = time.time()
    for n in range(plan.instances):
        # Spread over one period, as instances created by people over time are: created in the
        # same second, every schedule would fire in the same second, every period.
        time.sleep(max(0.0, began + n * plan.period / plan.instances - time.time()))
        response = http.post(f"{stack.urls['api']}/instances", json=body, timeout=60)
        response.raise_for_status()
        created = response.json()
        instance_id = str(created["id"])
        tally.secrets[instance_id] = Webhook(created["webhookSigningSecret"])
        record.instances[instance_id] = time.time()


def _sample(stack: Stack, record: Run, stop: threading.Event) -> None:
    interval = record.plan.sample_seconds
    while True:
        record.memory.sample(time.time() - record.started, stack)
        if stop.wait(interval):
            return


@contextlib.contextmanager
def _progress(say: Any, record: Run, tally: Tally, plan: Plan) -> Iterator[None]:
    """A line a (real) minute or so: simulated time, polls, changes, deliveries."""
    done = threading.Event()

    def report() -> None:
        every = max(5.0, min(60.0, plan.minutes * plan.minute_seconds / 10))
        while not done.wait(every):
            elapsed = time.time() - record.steady
            say(
                f"  {elapsed / plan.minute_seconds:6.0f} simulated min: {len(record.polls)} polls, "
                f"{len(tally.arrived())} events acknowledged, {tally.refused} refused on purpose"
            )

    thread = threading.Thread(target=report, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _expected(record: Run) -> set[tuple[str, str, str, str]]:
    """Every change, at every instance."""
    return {
        (instance, c.object_type, c.event_type, c.object_id)
        for instance in record.instances
        for c in record.changes
    }


# --- the verdict -----------------------------------------------------------------------------------
def schedule_check(record: Run) -> dict[str, Any]:
    """Per instance, every period due in the judged window fired once, on time, and polled."""
    period = record.plan.period
    start, end = record.window
    by_instance: dict[str, list[Poll]] = defaultdict(list)
    ramp = Counter(not p.ran for p in record.polls if p.due < start)
    judged = [p for p in record.polls if start <= p.due < end]
    for poll in judged:
        by_instance[poll.instance].append(poll)
    gaps = 0
    short: list[str] = []
    for instance in record.instances:
        polls = sorted(by_instance.get(instance, []), key=lambda p: p.due)
        gaps += sum(1 for a, b in itertools.pairwise(polls) if b.due - a.due > 1.5 * period)
        # A rate schedule is due once a period: a window of n periods holds n or n - 1 due times.
        due = math.floor((end - start) / period)
        if len(polls) < due - 1:
            short.append(f"{instance}: {len(polls)} of {due}")
    ran = [p for p in judged if p.ran]
    skipped = [p for p in judged if not p.ran]
    failed = [p for p in ran if p.result != "polled"]
    lateness = [p.fired - p.due for p in ran]
    durations = [p.seconds for p in ran if p.seconds is not None]
    waits = [p.waited for p in ran]
    return {
        "judged_minutes": round((end - start) / period, 1),
        "polls": len(ran),
        "skipped_periods": len(skipped),
        "skipped_at_minutes": sorted({round((p.due - start) / period) for p in skipped})[:20],
        "gaps_over_a_period": gaps,
        "failed_polls": len(failed),
        "failed_sample": sorted({p.result for p in failed})[:10],
        "instances_short_of_firings": short[:10],
        "ramp_polls": ramp[False],
        "ramp_skipped_periods": ramp[True],
        "lateness_seconds_p50": round(_percentile(lateness, 50), 3),
        "lateness_seconds_p99": round(_percentile(lateness, 99), 3),
        "lateness_seconds_max": round(max(lateness, default=0.0), 3),
        "queued_seconds_p50": round(_percentile(waits, 50), 3),
        "queued_seconds_p99": round(_percentile(waits, 99), 3),
        "queued_seconds_max": round(max(waits, default=0.0), 3),
        "poll_seconds_p50": round(_percentile(durations, 50), 3),
        "poll_seconds_p99": round(_percentile(durations, 99), 3),
        "ok": bool(ran) and not skipped and gaps == 0 and not failed and not short,
    }


def _result(firing: Firing) -> str:
    """What a period came to: ``polled``, ``skipped``, the invocation's error, or the run's outcome."""
    outcome = firing.outcome
    if outcome is None:
        return "skipped"
    if not outcome.ok:
        return outcome.error
    payload = outcome.payload
    return str(payload.get("outcome")) if isinstance(payload, dict) else f"answered {payload!r:.200}"


def delivery_check(record: Run, tally: Tally) -> dict[str, Any]:
    """Every change at every instance, acknowledged and signed; none invented."""
    expected = _expected(record)
    arrived = tally.arrived()
    missing = expected - arrived.keys()
    invented = arrived.keys() - expected
    when = {(c.object_type, c.event_type, c.object_id): c.at for c in record.changes}
    latency = [at - when[key[1:]] for key, at in arrived.items() if key[1:] in when]
    duplicates = sum(n - 1 for n in tally.acknowledged_ids.values() if n > 1)
    return {
        "changes": len(record.changes),
        "expected_events": len(expected),
        "delivered_events": len(expected & arrived.keys()),
        "missing_events": len(missing),
        "missing_sample": sorted(missing)[:10],
        "unexpected_events": len(invented),
        "unexpected_sample": sorted(invented)[:10],
        "notifications_acknowledged": sum(tally.acknowledged_ids.values()),
        "notifications_refused_on_purpose": tally.refused,
        "duplicate_notifications": duplicates,
        "bad_signatures": tally.bad_signatures,
        "change_errors": record.errors[:10],
        "latency_seconds_p50": round(_percentile(latency, 50), 2),
        "latency_seconds_p99": round(_percentile(latency, 99), 2),
        "latency_seconds_max": round(max(latency, default=0.0), 2),
        "ok": bool(expected)
        and not missing
        and not invented
        and tally.bad_signatures == 0
        and not record.errors,
    }


def memory_check(record: Run) -> dict[str, Any]:
    """Each function's environments flat; the stack's own process reported."""
    steady = record.steady - record.started
    first = next((i for i, t in enumerate(record.memory.times) if t >= steady), len(record.memory.times))
    functions = {name: flatness(values[first:]) for name, values in sorted(record.memory.functions.items())}
    stack = record.memory.stack
    return {
        "samples": len(record.memory.times),
        "functions": functions,
        "stack_process_mb": {
            "start": round(stack[0], 1) if stack else None,
            "end": round(stack[-1], 1) if stack else None,
        },
        "series": {
            "seconds": [round(t, 1) for t in record.memory.times],
            "stack_mb": [round(v, 1) for v in stack],
            **{
                name: [None if v is None else round(v, 1) for v in values]
                for name, values in record.memory.functions.items()
            },
        },
        "ok": bool(functions) and all(f["flat"] for f in functions.values()),
    }


def results(record: Run, tally: Tally) -> dict[str, Any]:
    """The figures and the verdict of a run."""
    checks = {
        "schedules": schedule_check(record),
        "deliveries": delivery_check(record, tally),
        "memory": memory_check(record),
    }
    return {
        "plan": {**asdict(record.plan), "simulated_hours": round(record.plan.minutes / 60, 2)},
        "machine": machine(),
        "commit": record.commit or measured_commit(),
        "real_seconds": round(record.ended - record.started, 1),
        "instances": len(record.instances),
        **checks,
        "stalls": record.stalls.summary(*record.window, record.plan.period, record.snapshot_holds),
        "verdict": all(check["ok"] for check in checks.values()),
    }


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1)]


# --- the report ------------------------------------------------------------------------------------
def _mark(ok: bool) -> str:
    return "**held**" if ok else "**FAILED**"


def markdown(result: dict[str, Any]) -> str:
    """``load.md``: the verdict and the figures behind it."""
    plan, m = result["plan"], result["machine"]
    schedules, deliveries, memory = result["schedules"], result["deliveries"], result["memory"]
    stalls = result["stalls"]
    lines = [
        "# Load on the local stack",
        "",
        f"Measured {m['date']} on {m['cpu_model']}, {m['cores']} cores ({m['system']}, Python {m['python']}), "
        f"commit `{result['commit']}`, with `make verify` (`python -m bench.load`). "
        f"{result['instances']} instances on one-minute schedules for {plan['minutes']} simulated minutes "
        f"({plan['simulated_hours']:g} h; a minute lasted {plan['minute_seconds']:g} s, "
        f"the run {result['real_seconds'] / 60:.1f} min), the store changed "
        f"{plan['changes_per_minute']:g} time(s) a simulated minute, every {plan['fail_every']}th "
        "notification answered 503. Verdict: "
        + ("**every check held**." if result["verdict"] else "**a check failed**."),
        "",
        "| check | measured | |",
        "|---|---|---|",
        f"| no missed schedule | {schedules['polls']:,} polls; {schedules['skipped_periods']} skipped periods, "
        f"{schedules['gaps_over_a_period']} gaps over a period, {schedules['failed_polls']} failed polls, "
        f"{len(schedules['instances_short_of_firings'])} instances short of firings | {_mark(schedules['ok'])} |",
        f"| every change delivered | {deliveries['delivered_events']:,} of {deliveries['expected_events']:,} "
        f"events ({deliveries['changes']} changes x {result['instances']} instances), "
        f"{deliveries['unexpected_events']} unexpected, {deliveries['bad_signatures']} bad signatures | "
        f"{_mark(deliveries['ok'])} |",
        "| memory flat (function environments) | "
        + "; ".join(
            f"{name} {f['after_first_quarter_mb']} → {f['end_mb']} MB"
            for name, f in memory["functions"].items()
        )
        + f" | {_mark(memory['ok'])} |",
        "",
        "## Schedules",
        "",
        "| firing lateness p50 / p99 / max (s) | queued for an environment p50 / p99 / max (s) | "
        "poll duration p50 / p99 (s) |",
        "|---|---|---|",
        f"| {schedules['lateness_seconds_p50']} / {schedules['lateness_seconds_p99']} / "
        f"{schedules['lateness_seconds_max']} | {schedules['queued_seconds_p50']} / "
        f"{schedules['queued_seconds_p99']} / {schedules['queued_seconds_max']} | "
        f"{schedules['poll_seconds_p50']} / {schedules['poll_seconds_p99']} |",
        "",
        "Lateness is from when a period was due to when the local scheduler fired it (it looks "
        f"every {min(1.0, max(0.05, plan['minute_seconds'] / 4)):g} s); a fired poll then queues "
        f"until one of the {plan['concurrency']} environments is free. A period that comes while "
        "the instance's previous poll is still queued or running is skipped, and counts as missed"
        + (
            f" (skipped at simulated minutes {', '.join(map(str, schedules['skipped_at_minutes']))})."
            if schedules["skipped_at_minutes"]
            else "."
        ),
        "",
        f"The stack's own process (the emulated AWS, the store, this receiver) stalled "
        f"{stalls['stalls_over_half_a_second']} times for half a second or more (longest "
        f"{stalls['stall_seconds_max']} s, {stalls['stall_seconds_total']} s in all) and ran "
        f"{stalls['full_collections']} full garbage collections (longest "
        f"{stalls['full_collection_seconds_max']} s) in the judged window; its {stalls['snapshots']} "
        f"snapshots of the local state held work back for up to {stalls['snapshot_hold_seconds_max']} s.",
        "",
        "## Deliveries",
        "",
        "| notifications acknowledged | refused on purpose (retried) | duplicates | "
        "change → acknowledged p50 / p99 / max (s) |",
        "|---|---|---|---|",
        f"| {deliveries['notifications_acknowledged']:,} | {deliveries['notifications_refused_on_purpose']:,} | "
        f"{deliveries['duplicate_notifications']} | {deliveries['latency_seconds_p50']} / "
        f"{deliveries['latency_seconds_p99']} / {deliveries['latency_seconds_max']} |",
        "",
        "A duplicate is a notification id acknowledged more than once. Latency includes the poller "
        "reading the store up to two seconds ago, the wait for the next poll and the retries of "
        "refused notifications.",
        "",
        "## Memory",
        "",
        "| process | after the first quarter (MB) | at the end (MB) | growth (MB) | flat |",
        "|---|---|---|---|---|",
        *(
            f"| {name} (largest environment) | {f['after_first_quarter_mb']} | {f['end_mb']} | "
            f"{f['growth_mb']} | {f['flat']} |"
            for name, f in memory["functions"].items()
        ),
        f"| the stack's own process | {memory['stack_process_mb']['start']} (start) | "
        f"{memory['stack_process_mb']['end']} | | reported |",
        "",
        f"{memory['samples']} samples of VmRSS. Flat means the end is at most "
        f"{RSS_SLACK_RATIO:.0%} (or {RSS_SLACK_MB:g} MB) above the largest size of the run's second "
        "quarter, once every environment has warmed up. The stack's own process holds the AWS "
        "emulator, whose tables keep every event and attempt written (TTL is not applied by the "
        "emulator), the sandbox store and this receiver: it grows with the events by design.",
        "",
    ]
    return "\n".join(lines)


def write(result: dict[str, Any], out: Path) -> None:
    """``load.json`` and ``load.md`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "load.json", result)
    (out / "load.md").write_text(markdown(result), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.load``: run, write the results, exit 0 when every check held."""
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="8 instances, 6 simulated minutes (seconds)")
    parser.add_argument("--instances", type=int)
    parser.add_argument("--hours", type=float, help="simulated hours")
    parser.add_argument("--minute-seconds", type=float, help="real seconds per scheduled minute")
    parser.add_argument("--changes-per-minute", type=float)
    parser.add_argument("--concurrency", type=int, help="execution environments per function")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else Plan()
    if args.instances is not None:
        plan = replace(plan, instances=args.instances)
    if args.hours is not None:
        plan = replace(plan, minutes=round(args.hours * 60))
    if args.minute_seconds is not None:
        plan = replace(plan, minute_seconds=args.minute_seconds)
    if args.concurrency is not None:
        plan = replace(plan, concurrency=args.concurrency)
    if args.changes_per_minute is not None:
        plan = replace(plan, changes_per_minute=args.changes_per_minute)
    started = time.time()
    result = run(plan, say=lambda line: print(line, flush=True))
    write(result, args.out)
    print(
        f"{'every check held' if result['verdict'] else 'A CHECK FAILED'} in {(time.time() - started) / 60:.1f} min; "
        f"see {args.out / 'load.md'}"
    )
    return 0 if result["verdict"] else 1


if __name__ == "__main__":
    sys.exit(main())
