"""The one "now" of the service and the one way it writes and reads ISO 8601 dates.

Dates the service writes (the event log, status, instances, envelopes, signatures) are UTC with
a ``Z``: such strings sort in time order. A naive datetime is taken as UTC (the poller works in
UTC); an aware one is converted.
"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC (a naive datetime is taken to be UTC already)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso_seconds(moment: datetime) -> str:
    """``2018-08-20T15:29:06Z``: the log's, the status's and the envelope's dates."""
    return utc(moment).isoformat(timespec="seconds").replace("+00:00", "Z")


def iso_millis(moment: datetime) -> str:
    """``2018-08-20T15:29:06.123Z``: an instance's created and updated dates (Cloud Elements' shape)."""
    return utc(moment).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(value: str) -> datetime:
    """A date the service wrote (``Z`` or an offset)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
