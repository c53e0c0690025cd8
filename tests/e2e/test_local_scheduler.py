"""The local scheduler: schedules the api function made in the emulator fire at their rate."""

from __future__ import annotations

import time
from collections.abc import Callable

import boto3
import pytest

from bcevents.aws import schedules
from devstack.resources import StackResources
from devstack.scheduler import Firing, LocalScheduler, rate_minutes
from tests.conftest import POLL_FUNCTION_ARN
from tests.e2e.fakes import FakeRuntime

NAME = "instance-42"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _scheduler(
    aws: StackResources,
    runtime: FakeRuntime,
    clock: Clock,
    anchors: dict[str, float] | None = None,
    on_firing: Callable[[Firing], None] | None = None,
) -> LocalScheduler:
    client = boto3.client("scheduler")
    return LocalScheduler(
        runtime,  # type: ignore[arg-type]
        client,
        aws.schedule_group,
        1.0,
        anchors,
        clock=clock,
        on_firing=on_firing,
    )


def _runtime() -> FakeRuntime:
    """A runtime that knows the function the api function's schedules target."""
    return FakeRuntime(known=(POLL_FUNCTION_ARN,))


@pytest.mark.parametrize(
    ("expression", "minutes"),
    [
        ("rate(1 minute)", 1),
        ("rate(15 minutes)", 15),
        ("rate(2 hours)", 120),
        ("rate(1 day)", 1440),
        ("cron(0 12 * * ? *)", None),
        ("at(2026-01-01T00:00:00)", None),
        ("rate(minutes)", None),
    ],
)
def test_rate_expressions_are_read_in_minutes(expression: str, minutes: int | None) -> None:
    assert rate_minutes(expression) == minutes


def test_a_schedule_fires_one_period_after_its_creation_with_its_input(aws: StackResources) -> None:
    """Given the api function's schedule of 15 minutes and a minute of one second,
    then nothing fires at 14 s and the poll function gets the instance id at 15 s."""
    schedules.put_schedule("42", 15)
    clock = Clock()  # after the creation: no schedule is younger than the clock
    runtime = _runtime()
    scheduler = _scheduler(aws, runtime, clock)

    clock.now += 14
    early = scheduler.tick()
    clock.now += 1.5
    due = scheduler.tick()

    assert early == []
    assert due == [NAME]
    assert runtime.calls == [{"instanceId": "42"}]


def test_a_schedule_never_runs_twice_at_once(aws: StackResources) -> None:
    schedules.put_schedule("42", 1)
    clock = Clock()  # after the creation: no schedule is younger than the clock
    runtime = _runtime()
    scheduler = _scheduler(aws, runtime, clock)

    clock.now += 1.1
    scheduler.tick()
    clock.now += 1.1
    while_running = scheduler.tick()
    runtime.finish()
    clock.now += 1.1
    after = scheduler.tick()

    assert while_running == []
    assert after == [NAME]


def test_a_late_tick_does_not_shift_the_rhythm(aws: StackResources) -> None:
    """Given a one-minute schedule whose first firing came 0.4 s late (the tick was late),
    then the next is due one period after the first was due, not one period after it fired."""
    schedules.put_schedule("42", 1)
    clock = Clock()  # after the creation: no schedule is younger than the clock
    created = clock.now
    runtime = _runtime()
    scheduler = _scheduler(aws, runtime, clock, anchors={NAME: created})

    clock.now = created + 1.4
    late = scheduler.tick()
    runtime.finish()
    clock.now = created + 2.0
    on_time = scheduler.tick()

    assert late == [NAME]
    assert on_time == [NAME]


def test_every_period_is_reported_with_when_it_was_due_fired_and_how_it_went(
    aws: StackResources,
) -> None:
    """Given a listener, then a run is reported when it ends (due, fired, outcome) and a period
    skipped because the previous run was still going is reported without an outcome."""
    schedules.put_schedule("42", 1)
    clock = Clock()
    start = clock.now
    runtime = _runtime()
    firings: list[Firing] = []
    scheduler = _scheduler(aws, runtime, clock, anchors={NAME: start}, on_firing=firings.append)

    clock.now = start + 1.2
    scheduler.tick()
    clock.now = start + 2.1
    scheduler.tick()  # the first run is still going: this period is skipped
    runtime.finish()

    skipped, ran = firings
    assert (skipped.due, skipped.fired, skipped.outcome) == (start + 2, start + 2.1, None)
    assert (ran.due, ran.fired, ran.schedule, ran.event) == (
        start + 1,
        start + 1.2,
        NAME,
        {"instanceId": "42"},
    )
    assert ran.outcome is not None
    assert ran.outcome.ok


def test_a_deleted_or_disabled_schedule_does_not_fire(aws: StackResources) -> None:
    schedules.put_schedule("42", 1)
    schedules.put_schedule("43", 1)
    clock = Clock()  # after the creation: no schedule is younger than the clock
    runtime = _runtime()
    scheduler = _scheduler(aws, runtime, clock)
    scheduler.tick()

    schedules.delete_schedule("42")
    client = boto3.client("scheduler")
    detail = client.get_schedule(Name="instance-43", GroupName=aws.schedule_group)
    client.update_schedule(
        Name="instance-43",
        GroupName=aws.schedule_group,
        ScheduleExpression=detail["ScheduleExpression"],
        FlexibleTimeWindow={"Mode": "OFF"},
        Target=detail["Target"],
        State="DISABLED",
    )
    clock.now += 2
    fired = scheduler.tick()

    assert fired == []


def test_a_changed_rate_applies_from_the_last_firing(aws: StackResources) -> None:
    schedules.put_schedule("42", 10)
    clock = Clock()  # after the creation: no schedule is younger than the clock
    runtime = _runtime()
    scheduler = _scheduler(aws, runtime, clock)
    scheduler.tick()

    time.sleep(0.01)  # a new LastModificationDate
    schedules.put_schedule("42", 2)
    clock.now += 2.5

    assert scheduler.tick() == [NAME]


def test_a_restored_schedule_keeps_its_rhythm_and_catches_up_once(aws: StackResources) -> None:
    """Given a schedule that last fired 100 periods ago (the stack was stopped),
    then it fires once at the first tick, then again only a period later."""
    schedules.put_schedule("42", 1)
    clock = Clock()  # after the creation: no schedule is younger than the clock
    runtime = _runtime()
    scheduler = _scheduler(aws, runtime, clock, anchors={NAME: clock.now - 100})

    first = scheduler.tick()
    runtime.finish()
    clock.now += 0.5
    second = scheduler.tick()

    assert first == [NAME]
    assert second == []
    assert scheduler.anchors() == {NAME: clock.now - 0.5}


def test_a_target_that_is_no_function_is_reported_not_fired(
    aws: StackResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLL_FUNCTION_ARN", "arn:aws:lambda:us-east-1:123456789012:function:Elsewhere")
    schedules.put_schedule("42", 1)
    clock = Clock()  # after the creation: no schedule is younger than the clock
    runtime = _runtime()
    scheduler = _scheduler(aws, runtime, clock)

    clock.now += 2

    assert scheduler.tick() == []
    assert runtime.calls == []
