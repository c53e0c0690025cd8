"""The load run (``make verify``): a quick run holds every check, and each check fails when it should."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from bench.load.changes import Change
from bench.load.checks import delivery_check, flatness, schedule_check
from bench.load.instruments import Stalls
from bench.load.plan import QUICK, Plan
from bench.load.record import Poll, Run
from bench.load.tally import Tally
from devstack.httpserver import HttpRequest
from devstack.scheduler import Firing
from devstack.workers import Outcome

ROOT = Path(__file__).resolve().parents[2]
PERIOD = 2.0
POLLED = Outcome(True, {"outcome": "polled", "resources": []}, 0.1)


def test_a_quick_load_run_holds_every_check_and_writes_its_figures(tmp_path: Path) -> None:
    """``python -m bench.load --quick``: the local stack, instances on one-minute schedules, store
    changes, refused notifications retried; every check holds and both files are written."""
    done = subprocess.run(  # noqa: S603 - this interpreter, our module
        [sys.executable, "-m", "bench.load", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    report = tmp_path / "load.md"
    failed = [line for line in report.read_text().splitlines() if "FAILED" in line] if report.exists() else []
    assert done.returncode == 0, "\n".join(failed) + "\n" + done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads((tmp_path / "load.json").read_text())
    assert result["verdict"] is True
    assert result["instances"] == QUICK.instances
    assert result["schedules"]["polls"] >= QUICK.instances * 5
    deliveries = result["deliveries"]
    assert deliveries["changes"] > 0
    assert (
        deliveries["delivered_events"]
        == deliveries["expected_events"]
        == (deliveries["changes"] * QUICK.instances)
    )
    assert deliveries["notifications_refused_on_purpose"] > 0
    assert set(result["memory"]["functions"]) == {"ApiFunction", "PollFunction", "DeliverFunction"}
    assert "every check held" in (tmp_path / "load.md").read_text()


# --- the checks, on records made up to break them ----------------------------------------------------
def _record(firings_per_instance: dict[str, list[tuple[float, Outcome | None]]]) -> Run:
    """A run judged over [100, 100 + 10 periods): each instance's firings as (due, outcome)."""
    plan = Plan(instances=len(firings_per_instance), minutes=10, minute_seconds=PERIOD)
    record = Run(plan, started=90.0, steady=100.0, ended=100.0 + 11 * PERIOD)
    for instance, firings in firings_per_instance.items():
        record.instances[instance] = 90.0
        record.polls += [
            Poll.of(
                Firing(f"instance-{instance}", {"instanceId": instance}, due, due + 0.1, outcome),
                due + 0.1 + (outcome.seconds if outcome else 0),
            )
            for due, outcome in firings
        ]
    return record


def _every_period(
    outcome: Outcome | None = POLLED, *, skip: int | None = None
) -> list[tuple[float, Outcome | None]]:
    return [(100.0 + i * PERIOD, None if i == skip else outcome) for i in range(10)]


def test_a_schedule_that_fired_every_period_and_polled_holds() -> None:
    check = schedule_check(_record({"1": _every_period(), "2": _every_period()}))

    assert check["ok"] is True
    assert check["polls"] == 20


def test_a_skipped_period_fails_the_schedule_check() -> None:
    check = schedule_check(_record({"1": _every_period(), "2": _every_period(skip=4)}))

    assert check["ok"] is False
    assert check["skipped_periods"] == 1
    assert check["skipped_at_minutes"] == [4]


def test_a_poll_record_keeps_how_long_it_queued_and_what_it_answered() -> None:
    """The compact record: queued = reported - fired - ran; the answer reduced to its outcome."""
    firing = Firing("instance-1", {"instanceId": "1"}, 100.0, 100.5, POLLED)

    poll = Poll.of(firing, finished=103.0)

    assert (poll.instance, poll.due, poll.fired, poll.result) == ("1", 100.0, 100.5, "polled")
    assert poll.waited == pytest.approx(2.4)
    assert Poll.of(Firing("s", {"instanceId": "1"}, 1.0, 1.0, None), 1.0).result == "skipped"
    assert Poll.of(Firing("s", {}, 1, 1, Outcome(True, "polled", 0.1)), 2).result == "answered 'polled'"


def test_the_stall_watchdog_reports_full_collections_and_stalls_within_the_window() -> None:
    stalls = Stalls(tick=0.01)
    stop = threading.Event()
    watching = threading.Thread(target=stalls.watch, args=(stop,))
    watching.start()
    try:
        deadline = time.monotonic() + 10
        while stalls._on_gc not in gc.callbacks and time.monotonic() < deadline:  # watching
            time.sleep(0.01)
        gc.collect()
    finally:
        stop.set()
        watching.join()
    stalls.stalls += [(10.0, 0.7), (20.0, 2.5), (99.0, 9.0)]

    summary = stalls.summary(0.0, 50.0, 10.0, snapshots=[(5.0, 1.2), (70.0, 3.0)])

    assert stalls.full_collections, "gc.collect() is a full collection"
    assert (summary["stalls_over_half_a_second"], summary["stall_seconds_max"]) == (2, 2.5)
    assert summary["longest_stalls"] == [(2.0, 2.5), (1.0, 0.7)]  # (minute of the window, seconds)
    assert (summary["snapshots"], summary["snapshot_hold_seconds_max"]) == (1, 1.2)
    assert summary["full_collections"] == 0  # they happened now, outside [0, 50)
    assert stalls.summary(0.0, time.time() + 1, 10.0)["full_collections"] >= 1
    assert stalls._on_gc not in gc.callbacks  # the watchdog leaves the collector as it was


def test_a_gap_or_a_missing_instance_fails_the_schedule_check() -> None:
    with_gap = _every_period()
    del with_gap[5]

    assert schedule_check(_record({"1": with_gap}))["gaps_over_a_period"] == 1
    assert schedule_check(_record({"1": with_gap}))["ok"] is False
    assert schedule_check(_record({"1": _every_period(), "2": []}))["ok"] is False


def test_a_poll_that_failed_or_stopped_early_fails_the_schedule_check() -> None:
    failed = Outcome(False, {"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out"}, 300)
    early = Outcome(True, {"outcome": "stopped early: OutOfTime"}, 1)

    for outcome in (failed, early):
        check = schedule_check(_record({"1": [*_every_period()[:9], (118.0, outcome)]}))
        assert check["ok"] is False
        assert check["failed_polls"] == 1


def test_the_ramp_is_reported_apart_from_the_judged_window() -> None:
    record = _record({"1": [(96.0, None), (98.0, POLLED), *_every_period()]})

    check = schedule_check(record)

    assert check["ok"] is True
    assert (check["ramp_polls"], check["ramp_skipped_periods"]) == (1, 1)


def _tally_with(*arrived: tuple[str, str, str, str]) -> Tally:
    tally = Tally(fail_every=0)
    tally.first_arrival = dict.fromkeys(arrived, 200.0)
    return tally


def _changes_record() -> Run:
    record = Run(Plan(instances=2))
    record.instances = {"1": 90.0, "2": 90.0}
    record.changes = [
        Change("orders", "CREATED", "7", 150.0),
        Change("products", "UPDATED", "3", 160.0),
    ]
    return record


EVERY_EVENT = [
    (instance, *event)
    for instance in ("1", "2")
    for event in (("orders", "CREATED", "7"), ("products", "UPDATED", "3"))
]


def test_every_change_at_every_instance_holds_the_delivery_check() -> None:
    check = delivery_check(_changes_record(), _tally_with(*EVERY_EVENT))

    assert check["ok"] is True
    assert check["expected_events"] == check["delivered_events"] == 4


def test_a_change_missing_at_one_instance_fails_the_delivery_check() -> None:
    check = delivery_check(_changes_record(), _tally_with(*EVERY_EVENT[:-1]))

    assert check["ok"] is False
    assert check["missing_sample"] == [("2", "products", "UPDATED", "3")]


def test_an_event_no_change_explains_fails_the_delivery_check() -> None:
    check = delivery_check(_changes_record(), _tally_with(*EVERY_EVENT, ("1", "orders", "UPDATED", "7")))

    assert check["ok"] is False
    assert check["unexpected_events"] == 1


def test_no_change_at_all_is_not_a_pass() -> None:
    record = _changes_record()
    record.changes = []

    assert delivery_check(record, _tally_with())["ok"] is False


@pytest.mark.parametrize(
    ("series", "flat"),
    [
        ([120.0] * 20, True),
        ([120.0 + (i % 3) * 0.5 for i in range(20)], True),
        ([120.0 + i * 2 for i in range(20)], False),  # 2 MB a sample: a leak
        ([120.0, 121.0, None], False),  # too few samples to tell
    ],
)
def test_memory_is_flat_only_when_the_end_is_within_slack_of_the_steady_start(
    series: list[float | None], flat: bool
) -> None:
    assert flatness(series)["flat"] is flat


# --- the receiver ------------------------------------------------------------------------------------
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _notification(instance: str, object_id: str, msg_id: str, *, sign: bool = True) -> HttpRequest:
    body = json.dumps(
        {
            "message": {
                "instanceId": instance,
                "events": [{"objectType": "orders", "eventType": "CREATED", "objectId": object_id}],
            }
        }
    ).encode()
    headers = [("webhook-id", msg_id), ("webhook-timestamp", str(int(time.time())))]
    if sign:
        signature = Webhook(SECRET).sign(msg_id, datetime.fromtimestamp(int(time.time()), UTC), body.decode())
        headers.append(("webhook-signature", signature))
    return HttpRequest("POST", "/callbacks", "", headers, body, "127.0.0.1")


def test_the_receiver_counts_signed_events_refuses_every_nth_and_rejects_unsigned_ones() -> None:
    tally = Tally(fail_every=3)
    tally.secrets["1"] = Webhook(SECRET)

    statuses = [tally(_notification("1", str(n), f"msg_{n}")).status for n in range(1, 7)]
    unsigned = tally(_notification("1", "99", "msg_99", sign=False)).status
    unknown = tally(_notification("2", "98", "msg_98")).status

    assert statuses == [200, 200, 503, 200, 200, 503]
    assert (unsigned, unknown) == (401, 401)
    assert tally.bad_signatures == 2
    assert set(tally.arrived()) == {("1", "orders", "CREATED", str(n)) for n in (1, 2, 4, 5)}
