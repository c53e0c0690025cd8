"""Cloud Elements notifications: the exact JSON a callback receives, and its SQS message form.

A notification carries at most :data:`MAX_EVENTS` changes of one resource, and at most
:data:`MAX_BODY_BYTES` unless a single record is larger, in the envelope a real Cloud Elements
polling callback received (``schemas/notification.schema.json`` describes it).
Three choices are ours, because Cloud Elements' values cannot be reproduced:

- ``id``, ``message.eventId``, ``Elements-Webhook-Id`` and ``webhook-id`` are one and the same
  notification id. Cloud Elements used two unrelated platform ids; one id lets a receiver
  deduplicate on whichever field it already reads, and it is stable across redeliveries.
- The id is derived from the instance, the resource and each change's (objectId, updated date),
  so a page the poller repeats after a crash yields the same id and delivery drops the duplicate.
- ``accountId``, ``companyId`` and ``userId`` are our organization and user ids, which are
  strings (Cloud Elements' were numbers); ``instanceId``/``instance_id`` are numbers, as before.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bcevents import clock
from bcevents.batching import runs
from bcevents.clock import iso_seconds, utc
from bcevents.compat.configuration import ELEMENT_KEY
from bcevents.errors import ServiceError

MAX_EVENTS = 10
#: A notification's body stays within this, unless one record alone is larger (it then travels
#: by reference, ``compat.queued``): the classic SQS message size, which every receiver and the
#: deliver function's 6 MB batch payload accommodate ten at a time.
MAX_BODY_BYTES = 256 * 1024
#: What an event entry (and its share of the envelope) adds to its record's size, at most.
_EVENT_BYTES = 512
HUB_KEY = "ecommerce"
ACTION = "create"  # what the captured Cloud Elements notification says, whatever the event types
SEVERITY = "medium"
#: The envelope's ``user``: who sent the notification (Cloud Elements: notifications@cloud-elements.com).
USER = "notifications@bigcommerce-events.invalid"

#: Namespace of notification ids (uuid5): fixed forever, or every id would change.
_ID_NAMESPACE = uuid.UUID("6f1d8a52-3c0b-5e55-9a37-0c2b4d1e7a90")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class MalformedNotification(ServiceError):
    """An SQS message that is not a notification this service wrote."""


@dataclass(frozen=True)
class ChangeEvent:
    """One change the poller found."""

    event_type: str  # "CREATED" | "UPDATED" | "DELETED" | "UNKNOWN"
    object_id: str
    date: datetime | None  # the record's updated date (aware), None if unreadable
    record: dict[str, Any]  # the raw record as the store returned it


@dataclass(frozen=True)
class InstanceInfo:
    """What the envelope says about the instance."""

    instance_id: str  # numeric string, e.g. "123456789012"; the envelope shows it as an int
    name: str
    tags: list[str]
    org_id: str  # becomes accountId and companyId
    user_id: str  # becomes userId


@dataclass(frozen=True)
class Notification:
    """One notification, serialized once: ``body`` is exactly what is POSTed (and queued)."""

    id: str
    instance_id: str
    object_type: str
    body: bytes
    event_types: tuple[str, ...]
    object_ids: tuple[str, ...]
    #: The body is the event log's (``compat.queued``): this one is only the message's reference.
    by_reference: bool = False


def build_notifications(
    instance: InstanceInfo,
    object_type: str,
    changes: Sequence[ChangeEvent],
    poll_date: datetime,
    *,
    now: datetime | None = None,
    max_bytes: int = MAX_BODY_BYTES,
) -> list[Notification]:
    """Cut ``changes`` (of one resource, in order) into notifications of at most ten events and,
    unless one record alone is larger, at most ``max_bytes`` of body.

    Each notification's ``raw`` carries the records of its own events under the resource name.
    ``now`` is the notification's ``createdDate`` (the current time unless a test fixes it).
    """
    created = now or clock.now()
    notifications: list[Notification] = []
    for group in runs(changes, size=_estimate, max_count=MAX_EVENTS, max_size=max_bytes):
        notifications += _within(instance, object_type, group, poll_date, created, max_bytes)
    return notifications


def _within(
    instance: InstanceInfo,
    object_type: str,
    changes: Sequence[ChangeEvent],
    poll_date: datetime,
    created: datetime,
    max_bytes: int,
) -> list[Notification]:
    """The notification of ``changes``, halved until each fits (an estimate can fall short)."""
    notification = _notification(instance, object_type, changes, poll_date, created)
    if len(notification.body) <= max_bytes or len(changes) == 1:
        return [notification]
    half = len(changes) // 2
    return _within(instance, object_type, changes[:half], poll_date, created, max_bytes) + _within(
        instance, object_type, changes[half:], poll_date, created, max_bytes
    )


def _estimate(change: ChangeEvent) -> int:
    """What a change adds to a body: its record's JSON, its event entry and share of the envelope."""
    record = json.dumps(change.record, separators=(",", ":"), default=str)
    return len(record.encode("utf-8")) + _EVENT_BYTES


def notification_id(instance_id: str, object_type: str, changes: Sequence[ChangeEvent]) -> str:
    """The deterministic id of the notification carrying exactly ``changes``.

    A change is identified by its object id and updated date; a change without a readable date
    by its record's content instead, so a later change of the same record still gets a new id.
    """
    lines = [instance_id, object_type, *(f"{c.object_id}\t{_change_version(c)}" for c in changes)]
    return str(uuid.uuid5(_ID_NAMESPACE, "\n".join(lines)))


def java_date(moment: datetime) -> str:
    """``Mon Aug 20 15:30:07 UTC 2018``: Java's ``Date.toString()`` in UTC (locale-independent)."""
    t = utc(moment)
    return f"{_DAYS[t.weekday()]} {_MONTHS[t.month - 1]} {t.day:02d} {t:%H:%M:%S} UTC {t.year}"


# ------------------------------------------------------------------------------------------
def _notification(
    instance: InstanceInfo,
    object_type: str,
    changes: Sequence[ChangeEvent],
    poll_date: datetime,
    created: datetime,
) -> Notification:
    nid = notification_id(instance.instance_id, object_type, changes)
    poll_iso = iso_seconds(poll_date)
    envelope = {
        "id": nid,
        "topic": f"instance-{instance.instance_id}-{ELEMENT_KEY}-events",
        "action": ACTION,
        "severity": SEVERITY,
        "createdDate": java_date(created),
        "user": USER,
        "message": {
            "elementKey": ELEMENT_KEY,
            "accountId": instance.org_id,
            "companyId": instance.org_id,
            "userId": instance.user_id,
            "eventId": nid,
            "instanceId": int(instance.instance_id),
            "instance_id": int(instance.instance_id),
            "instanceName": instance.name,
            "instanceTags": list(instance.tags),
            "raw": {
                object_type: [c.record for c in changes],
                "pollDate": int(utc(poll_date).timestamp() * 1000),
                "objectType": object_type,
            },
            "events": [
                {
                    # An unreadable record date falls back to the poll date: receivers parse this field.
                    "date": iso_seconds(c.date) if c.date is not None else poll_iso,
                    "elementKey": ELEMENT_KEY,
                    "pollDate": poll_iso,
                    "eventType": c.event_type,
                    "hubKey": HUB_KEY,
                    "objectId": c.object_id,
                    "objectType": object_type,
                }
                for c in changes
            ],
        },
    }
    body = json.dumps(envelope, separators=(",", ":")).encode("utf-8")
    return Notification(
        id=nid,
        instance_id=instance.instance_id,
        object_type=object_type,
        body=body,
        event_types=tuple(c.event_type for c in changes),
        object_ids=tuple(c.object_id for c in changes),
    )


def _change_version(change: ChangeEvent) -> str:
    if change.date is not None:
        return utc(change.date).isoformat()
    content = json.dumps(change.record, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(content.encode("utf-8")).hexdigest()
