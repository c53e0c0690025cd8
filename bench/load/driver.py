"""The load run itself: the local stack started, the instances created, the store changed, everything waited for.

The stack runs in this process (free ports, a throwaway state directory) with a scheduled minute
lasting the plan's ``minute_seconds``; a memory sampler and the stall watchdog run on threads
beside it, and a line of progress is said now and then. What the run comes to is judged by
:func:`bench.load.checks.results`.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests
from standardwebhooks.webhooks import Webhook

from bench.common import measured_commit
from bench.load.changes import Changer
from bench.load.checks import results
from bench.load.plan import Plan
from bench.load.record import Poll, Run
from bench.load.tally import Tally
from devstack.config import HOST, LocalSettings
from devstack.console import Console
from devstack.demo_story import legacy_body
from devstack.httpserver import LoopbackServer
from devstack.scheduler import Firing
from devstack.stack import Stack

#: Periods between the last instance created and the first change: environments have started,
#: every instance has polled once. Until then the stack ramps up and is not judged.
WARM_UP_PERIODS = 3


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
        expected = record.expected_events()
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
