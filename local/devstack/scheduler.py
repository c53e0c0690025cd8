"""EventBridge Scheduler, locally: fire each schedule of the group in the emulator at its ``rate(...)``.

The emulator stores schedules but never fires them; this loop does. A schedule fires one period
after its creation, then every period (as EventBridge's rate schedules do, without drifting),
with its target's ``Input`` as the event, through the runtime (the same path an ``Event``
invocation of the Lambda endpoint takes). A period of N
minutes lasts N x ``LOCAL_MINUTE_SECONDS`` real seconds. A schedule whose previous run is still
going is skipped for that period rather than run twice at once, and missed periods (the stack
was stopped) are not caught up one by one: the schedule fires once, then keeps its rhythm.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from devstack.runtime import Runtime, summary
from devstack.workers import Outcome

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_MINUTES = {"minute": 1, "hour": 60, "day": 1440}


def rate_minutes(expression: str) -> int | None:
    """The period of a ``rate(N unit)`` expression in minutes; None for cron, at or anything else."""
    match = _RATE.match(expression.strip())
    if match is None:
        return None
    return int(match.group(1)) * _MINUTES[match.group(2).rstrip("s")]


def _epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


@dataclass(frozen=True)
class Firing:
    """One period of a schedule: when it was due, when it fired and how the run went.

    ``outcome`` is None for a period skipped because the schedule's previous run was still going.
    """

    schedule: str
    event: Any
    due: float
    fired: float
    outcome: Outcome | None


@dataclass
class _Schedule:
    name: str
    modified: float
    period: float | None  # real seconds; None when the expression is not a rate
    enabled: bool
    target: str
    event: Any
    anchor: float  # when it last fired (or was created): the next firing is one period later
    running: bool = False
    skipping: bool = False


class LocalScheduler:
    """Fires the schedules of one group; ``tick`` is one pass, ``start`` runs it on a thread."""

    def __init__(
        self,
        runtime: Runtime,
        client: Any,
        group: str,
        minute_seconds: float,
        anchors: Mapping[str, float] | None = None,
        clock: Callable[[], float] = time.time,
        on_firing: Callable[[Firing], None] | None = None,
    ) -> None:
        self._runtime = runtime
        self._client = client
        self._group = group
        self._minute = minute_seconds
        self._restored = dict(anchors or {})
        self._clock = clock
        self._on_firing = on_firing
        self._schedules: dict[str, _Schedule] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.interval = min(1.0, max(0.05, minute_seconds / 4))

    def anchors(self) -> dict[str, float]:
        """When each schedule last fired (or was created): saved with the state so restarts keep the rhythm."""
        with self._lock:
            return {name: schedule.anchor for name, schedule in self._schedules.items()}

    def tick(self) -> list[str]:
        """Refresh the schedules from the emulator and fire the due ones; returns the names fired."""
        self._refresh()
        now = self._clock()
        fired = []
        with self._lock:
            due = [
                s
                for s in self._schedules.values()
                if s.enabled and s.period is not None and now >= s.anchor + s.period
            ]
            for schedule in due:
                due_at = schedule.anchor + (schedule.period or 0)
                # Keep the rhythm (the next firing is one period after this one was due), unless
                # a whole period was missed: then it fires once and counts from now.
                schedule.anchor = due_at if now - due_at < (schedule.period or 0) else now
                if schedule.running:
                    if not schedule.skipping:  # said once per overrun, not every period
                        self._runtime.console.activity(
                            "schedule",
                            f"{schedule.name}: its last run is still going; skipping until it ends",
                        )
                    schedule.skipping = True
                    if self._on_firing is not None:
                        self._on_firing(Firing(schedule.name, schedule.event, due_at, now, None))
                    continue
                spec = self._runtime.resolve(schedule.target)
                if spec is None:
                    self._runtime.console.activity(
                        "schedule", f"{schedule.name}: no function {schedule.target}"
                    )
                    continue
                schedule.running = True
                fired.append(schedule.name)
                self._runtime.invoke_async(
                    spec,
                    schedule.event,
                    done=self._finisher(schedule.name, schedule.event, due_at, now),
                )
        return fired

    def _finisher(self, name: str, event: Any, due: float, fired: float) -> Callable[[Outcome], None]:
        what = (
            f"instance {event['instanceId']}" if isinstance(event, dict) and "instanceId" in event else name
        )
        kind = "poll" if isinstance(event, dict) and "instanceId" in event else "schedule"

        def done(outcome: Outcome) -> None:
            with self._lock:
                schedule = self._schedules.get(name)
                if schedule is not None:
                    schedule.running = schedule.skipping = False
            self._runtime.console.activity(
                kind, f"{what} (schedule): {summary(outcome)}  {outcome.seconds:.1f} s"
            )
            if self._on_firing is not None:
                self._on_firing(Firing(name, event, due, fired, outcome))

        return done

    def _refresh(self) -> None:
        summaries: dict[str, dict[str, Any]] = {}
        kwargs: dict[str, Any] = {"GroupName": self._group}
        while True:
            page = self._client.list_schedules(**kwargs)
            summaries.update({s["Name"]: s for s in page.get("Schedules", [])})
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
        with self._lock:
            for gone in set(self._schedules) - set(summaries):
                del self._schedules[gone]
            stale = [
                name
                for name, summary in summaries.items()
                if name not in self._schedules
                or self._schedules[name].modified != _epoch(summary.get("LastModificationDate", 0))
            ]
        for name in stale:
            self._load(name)

    def _load(self, name: str) -> None:
        try:
            detail = self._client.get_schedule(Name=name, GroupName=self._group)
        except self._client.exceptions.ResourceNotFoundException:
            return  # deleted between the listing and now
        minutes = rate_minutes(detail["ScheduleExpression"])
        target = detail["Target"]
        with self._lock:
            known = self._schedules.get(name)
            anchor = (
                known.anchor
                if known is not None
                else self._restored.pop(name, _epoch(detail.get("CreationDate", self._clock())))
            )
            if minutes is None and known is None:
                self._runtime.console.activity(
                    "schedule",
                    f"{name}: {detail['ScheduleExpression']} is not a rate; it will not fire locally",
                )
            self._schedules[name] = _Schedule(
                name=name,
                modified=_epoch(detail.get("LastModificationDate", 0)),
                period=minutes * self._minute if minutes is not None else None,
                enabled=detail.get("State", "ENABLED") == "ENABLED",
                target=target["Arn"],
                event=json.loads(target.get("Input") or "{}"),
                anchor=anchor,
                running=known.running if known is not None else False,
                skipping=known.skipping if known is not None else False,
            )

    def start(self) -> None:
        """Fire schedules from a background thread until ``stop``."""
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except (BotoCoreError, ClientError) as exc:  # the emulator hiccuped; the next tick retries
                self._runtime.console.activity("schedule", f"could not read the schedules: {exc}")

    def stop(self) -> None:
        """Fire nothing more (runs already started finish on their own)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
