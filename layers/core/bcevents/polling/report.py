"""What one resource's poll did: the run's answer, its metrics and the instance's status read it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ResourceReport:
    """What one resource's poll did (times are ISO 8601 strings: the report is the run's JSON answer)."""

    resource: str
    requests: int = 0
    events: int = 0
    complete: bool = False
    error: str | None = None
    records: int = 0  # records the store listed (events are those not reported before)
    started_at: str | None = None
    finished_at: str | None = None
    polled_through: str | None = None  # the window's upper bound, once a pass over it is complete
