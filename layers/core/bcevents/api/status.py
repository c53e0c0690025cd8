"""``GET .../status``: is the instance polling, is it delivering, and if not, why.

The poll function keeps one ``STATUS`` item per instance (``polling.status``); this reads it with
the watermarks and the instance's schedule settings. The 24-hour counters are read from the
event log's ``ByCreatedDate`` index when asked (no counter writes on the delivery path): events
of the notifications created in the last 24 hours, by the status those notifications have now.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from bcevents import clock
from bcevents.api import instances
from bcevents.api.access import Principal
from bcevents.api.models import (
    Counters,
    DeliveryState,
    ErrorView,
    InstanceStatus,
    PollingState,
    PollView,
    ResourceStatus,
)
from bcevents.aws import event_log_index
from bcevents.aws.event_log import Status
from bcevents.aws.tables import Item, get_storage
from bcevents.clock import iso_seconds, parse_iso
from bcevents.settings import get_settings

#: Index pages (1 MB each at most) read to count a day of notifications.
MAX_COUNT_PAGES = 20
#: A poll is LATE when none was recorded for the heartbeat plus this many refresh intervals.
LATE_INTERVALS = 2
_DEFAULT_INTERVAL_MINUTES = 15


def instance_status(principal: Principal, instance_id: int, *, now: datetime | None = None) -> InstanceStatus:
    """Is the instance polling, is it delivering, and if not, why."""
    moment = now or clock.now()
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
        items, after = event_log_index.page(
            instance_id,
            lower=iso_seconds(since),
            after=after,
            limit=1000,
            attributes=("status", "event_types"),
        )
        for item in items:
            notifications += 1
            counts[Status(item.get("status", Status.NEW))] += len(item.get("event_types") or ()) or 1
        if after is None:
            complete = True
            break
    return Counters(
        since=iso_seconds(since),
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
