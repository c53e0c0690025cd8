"""What one load run does: how many instances, for how long, how fast a minute goes, how often the store changes.

:data:`QUICK` is the run ``make test`` makes (8 instances, 6 simulated minutes, in seconds).
"""

from __future__ import annotations

from dataclasses import dataclass


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
