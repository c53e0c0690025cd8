"""The instance's poll status, kept by the poll function: what the last runs did.

One ``STATUS`` item per instance in InstancesTable: the last run (start, end, outcome, requests,
429s, events), per resource its last pass (start, end, outcome, error, records, events, how far
it is polled through), the store's clock offset and the last error (kept after later runs
succeed). ``GET .../status`` reads it (``api.status``).

Idle polls must stay cheap, so a run rewrites the item only when it tells something new: it
enqueued events, its outcome or a resource's outcome or error changed, or the stored item is
older than ``POLL_STATUS_HEARTBEAT_MINUTES`` (15 by default). Deciding costs one eventually
consistent read (0.5 RRU). Polled every 5 minutes and idle, an instance costs per month 8,640
reads and 2,880 writes of < 1 KB: ~$0.0023 at $0.125/M RRU and $0.625/M WRU (a write every run
would be 8,640 writes, ~$0.0054).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bcevents.aws.tables import Item, get_storage
from bcevents.clock import iso_seconds, parse_iso
from bcevents.polling.report import ResourceReport
from bcevents.settings import get_settings

#: Error messages are kept this long at most.
ERROR_CHARS = 500


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
    previous: Item | None,
) -> None:
    """Keep a poll run in the instance's status item, if it tells something new (module docstring).

    ``previous``: the status item as the run read it before taking its lease (no other run wrote
    it since: they would have needed the lease).
    """
    storage = get_storage()
    previous = previous or {}
    resources: dict[str, Any] = dict(previous.get("resources") or {})
    for report in reports:
        resources[report.resource] = _resource_entry(report, resources.get(report.resource) or {})
    events = sum(report.events for report in reports)
    status: Item = {
        "recorded_date": iso_seconds(finished),
        "last_poll": {
            "started_date": iso_seconds(started),
            "finished_date": iso_seconds(finished),
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
        "error": report.error[:ERROR_CHARS] if report.error else None,
        "records": report.records,
        "events": report.events,
        "requests": report.requests,
        # An unfinished pass keeps the bound of the last finished one.
        "polled_through": report.polled_through or previous.get("polled_through"),
    }


def _seconds(moment: str | None) -> str | None:
    return iso_seconds(parse_iso(moment)) if moment else None


def _run_error(outcome: str, reports: Sequence[ResourceReport], when: datetime) -> Item | None:
    if outcome.startswith("failed"):
        return {
            "date": iso_seconds(when),
            "resource": None,
            "message": outcome.removeprefix("failed: ")[:ERROR_CHARS],
        }
    for report in reports:
        if report.error:
            return {
                "date": iso_seconds(when),
                "resource": report.resource,
                "message": report.error[:ERROR_CHARS],
            }
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
