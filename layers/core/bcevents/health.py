"""Instance health: what the last polls did (kept by the poll function) and ``GET .../status``.

The poll function keeps one ``STATUS`` item per instance in InstancesTable: the last run (start,
end, outcome, requests, 429s, events), per resource its last pass (start, end, outcome, error,
records, events, how far it is polled through), the store's clock offset and the last error
(kept after later runs succeed).

Idle polls must stay cheap, so a run rewrites the item only when it tells something new: it
enqueued events, its outcome or a resource's outcome or error changed, or the stored item is
older than ``POLL_STATUS_HEARTBEAT_MINUTES`` (15 by default). Deciding costs one eventually
consistent read (0.5 RRU). Polled every 5 minutes and idle, an instance costs per month 8,640
reads and 2,880 writes of < 1 KB: ~$0.0023 at $0.125/M RRU and $0.625/M WRU (a write every run
would be 8,640 writes, ~$0.0054).

The 24-hour counters are read from the event log's ``ByCreatedDate`` index when asked (no counter
writes on the delivery path): events of the notifications created in the last 24 hours, by the
status those notifications have now.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from bcevents import instances, logindex
from bcevents.eventlog import Status, iso, parse_iso
from bcevents.models import (
    Counters,
    DeliveryState,
    ErrorView,
    InstanceStatus,
    PollingState,
    PollView,
    ResourceStatus,
)
from bcevents.organizations import Principal
from bcevents.poller import ResourceReport
from bcevents.settings import get_settings
from bcevents.storage import Item, get_storage

#: Index pages (1 MB each at most) read to count a day of notifications.
MAX_COUNT_PAGES = 20
#: A poll is LATE when none was recorded for the heartbeat plus this many refresh intervals.
LATE_INTERVALS = 2
_ERROR_CHARS = 500
_DEFAULT_INTERVAL_MINUTES = 15


# --- the poll side -----------------------------------------------------------------------------
def record_poll(
    instance_id: str,
    *,
    outcome: str,
    reports: Sequence[ResourceReport],
    started: datetime,
    finished: datetime,
    store_now: datetime,
    requests: int,
    throttled: int,
) -> None:
    """Keep a poll run in the instance's status item, if it tells something new (module docstring)."""
    storage = get_storage()
    previous = storage.get_status(instance_id) or {}
    resources: dict[str, Any] = dict(previous.get("resources") or {})
    for report in reports:
        resources[report.resource] = _resource_entry(report, resources.get(report.resource) or {})
    events = sum(report.events for report in reports)
    status: Item = {
        "recorded_date": iso(finished),
        "last_poll": {
            "started_date": iso(started),
            "finished_date": iso(finished),
            "duration_ms": int((finished - started).total_seconds() * 1000),
            "outcome": outcome,
            "requests": requests,
            "throttled": throttled,
            "events": events,
        },
        "resources": resources,
        "store_clock_offset_seconds": round((store_now - started).total_seconds(), 3),
        "expires_at": int((finished + timedelta(days=get_settings().event_retention_days)).timestamp()),
    }
    error = _run_error(outcome, reports, finished) or previous.get("last_error")
    if error:
        status["last_error"] = error
    if previous and not events and _fingerprint(status) == _fingerprint(previous):
        heartbeat = timedelta(minutes=get_settings().poll_status_heartbeat_minutes)
        if finished - parse_iso(previous["recorded_date"]) < heartbeat:
            return
    storage.put_status(instance_id, status)


def _resource_entry(report: ResourceReport, previous: Item) -> Item:
    if report.error:
        outcome = "failed"
    elif report.polled_through:
        outcome = "complete"
    else:
        outcome = "incomplete"
    return {
        "started_date": _seconds(report.started_at),
        "finished_date": _seconds(report.finished_at),
        "outcome": outcome,
        "error": report.error[:_ERROR_CHARS] if report.error else None,
        "records": report.records,
        "events": report.events,
        "requests": report.requests,
        # An unfinished pass keeps the bound of the last finished one.
        "polled_through": report.polled_through or previous.get("polled_through"),
    }


def _seconds(moment: str | None) -> str | None:
    return iso(parse_iso(moment)) if moment else None


def _run_error(outcome: str, reports: Sequence[ResourceReport], when: datetime) -> Item | None:
    if outcome.startswith("failed"):
        return {
            "date": iso(when),
            "resource": None,
            "message": outcome.removeprefix("failed: ")[:_ERROR_CHARS],
        }
    for report in reports:
        if report.error:
            return {"date": iso(when), "resource": report.resource, "message": report.error[:_ERROR_CHARS]}
    return None


def _fingerprint(status: Item) -> tuple[Any, ...]:
    resources = status.get("resources") or {}
    error = status.get("last_error") or {}
    return (
        (status.get("last_poll") or {}).get("outcome"),
        tuple(sorted((name, r.get("outcome"), r.get("error")) for name, r in resources.items())),
        error.get("resource"),
        error.get("message"),
    )


# --- the API side ------------------------------------------------------------------------------
def instance_status(principal: Principal, instance_id: int, *, now: datetime | None = None) -> InstanceStatus:
    """Is the instance polling, is it delivering, and if not, why."""
    moment = now or datetime.now(UTC)
    item = instances.get_instance(principal, instance_id)
    storage = get_storage()
    status = storage.get_status(item["id"]) or {}
    watermarks = storage.get_watermarks(item["id"])
    interval = _interval_minutes(item)
    offset = timedelta(seconds=float(status.get("store_clock_offset_seconds", 0)))
    names = list(dict.fromkeys([*(status.get("resources") or {}), *watermarks]))
    resources = [
        _resource_status(
            name, (status.get("resources") or {}).get(name) or {}, watermarks.get(name), moment + offset
        )
        for name in names
    ]
    last_poll = status.get("last_poll")
    error = status.get("last_error")
    return InstanceStatus(
        instance_id=int(item["id"]),
        delivery=DeliveryState(
            state="ENABLED" if item.get("events_enabled") else "DISABLED",
            reason=None if item.get("events_enabled") else item.get("events_disabled_reason"),
        ),
        polling=PollingState(
            state=_polling_state(item, status, interval, moment),
            refresh_interval_minutes=interval,
            last_poll=PollView(**last_poll) if last_poll else None,
        ),
        resources=resources,
        last_error=ErrorView(**error) if error else None,
        last_24_hours=_counters(item["id"], moment - timedelta(hours=24)),
    )


def _resource_status(name: str, entry: Item, watermark: Item | None, store_now: datetime) -> ResourceStatus:
    marks = [parse_iso(v) for v in (entry.get("polled_through"), (watermark or {}).get("updated_at")) if v]
    lag = max(0, int((store_now - max(marks)).total_seconds())) if marks else None
    return ResourceStatus(
        resource=name,
        started_date=entry.get("started_date"),
        finished_date=entry.get("finished_date"),
        outcome=entry.get("outcome"),
        error=entry.get("error"),
        records=entry.get("records", 0),
        events=entry.get("events", 0),
        requests=entry.get("requests", 0),
        watermark=(watermark or {}).get("updated_at"),
        polled_through=entry.get("polled_through"),
        lag_seconds=lag,
    )


def _polling_state(
    item: Item, status: Item, interval: int, now: datetime
) -> Literal["OK", "FAILING", "LATE", "OFF", "NOT_POLLED_YET"]:
    if not item.get("events_enabled"):
        return "OFF"
    last = status.get("last_poll")
    if not last:
        return "NOT_POLLED_YET"
    resources = (status.get("resources") or {}).values()
    if str(last.get("outcome", "")).startswith("failed") or any(r.get("error") for r in resources):
        return "FAILING"
    quiet = timedelta(minutes=get_settings().poll_status_heartbeat_minutes + LATE_INTERVALS * interval)
    if now - parse_iso(last["finished_date"]) > quiet:
        return "LATE"
    return "OK"


def _counters(instance_id: str, since: datetime) -> Counters:
    counts = dict.fromkeys(Status, 0)
    notifications = 0
    after: str | None = None
    complete = False
    for _ in range(MAX_COUNT_PAGES):
        items, after = logindex.page(
            instance_id, lower=iso(since), after=after, limit=1000, attributes=("status", "event_types")
        )
        for item in items:
            notifications += 1
            counts[Status(item.get("status", Status.NEW))] += len(item.get("event_types") or ()) or 1
        if after is None:
            complete = True
            break
    return Counters(
        since=iso(since),
        notifications=notifications,
        enqueued=sum(counts.values()),
        delivered=counts[Status.DELIVERED],
        failed=counts[Status.FAILED],
        pending=counts[Status.NEW] + counts[Status.RETRYING],
        disabled=counts[Status.DISABLED],
        complete=complete,
    )


def _interval_minutes(item: Item) -> int:
    value = str(item["configuration"].get("event.poller.refresh_interval", _DEFAULT_INTERVAL_MINUTES))
    return int(value) if value.strip().isdigit() else _DEFAULT_INTERVAL_MINUTES
