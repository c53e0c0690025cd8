"""What happened in a load run: the instances, every period of their schedules, the changes, the samples.

A :class:`Run` is filled in by the driver as the run goes, and is all the checks look at; a
:class:`Poll` keeps of each firing only what they need.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.load.changes import Change
from bench.load.instruments import MemorySamples, Stalls
from bench.load.plan import Plan
from devstack.scheduler import Firing


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

    def expected_events(self) -> set[tuple[str, str, str, str]]:
        """Every change, at every instance: (instance, object type, event type, object id)."""
        return {
            (instance, c.object_type, c.event_type, c.object_id)
            for instance in self.instances
            for c in self.changes
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
