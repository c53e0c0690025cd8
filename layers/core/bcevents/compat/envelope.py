"""Cloud Elements notifications: the exact JSON a callback receives, and its SQS message form.

A notification carries at most :data:`MAX_EVENTS` changes of one resource, in the envelope a real
Cloud Elements polling callback received (``schemas/notification.schema.json`` describes it).
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bcevents import clock
from bcevents.clock import iso_seconds, utc
from bcevents.compat.configuration import ELEMENT_KEY
from bcevents.errors import ServiceError

MAX_EVENTS = 10
HUB_KEY = "ecommerce"
ACTION = "create"  # what the captured Cloud Elements notification says, whatever the event types
SEVERITY = "medium"
#: The envelope's ``user``: who sent the notification (Cloud Elements: notifications@cloud-elements.com).
USER = "notifications@bigcommerce-events.invalid"

#: Namespace of notification ids (uuid5): fixed forever, or every id would change.
_ID_NAMESPACE = uuid.UUID("6f1d8a52-3c0b-5e55-9a37-0c2b4d1e7a90")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ATTRIBUTES = ("instance_id", "notification_id", "object_type")


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


def build_notifications(
    instance: InstanceInfo,
    object_type: str,
    changes: Sequence[ChangeEvent],
    poll_date: datetime,
    *,
    now: datetime | None = None,
) -> list[Notification]:
    """Cut ``changes`` (of one resource, in order) into notifications of at most ten events.

    Each notification's ``raw`` carries the records of its own events under the resource name.
    ``now`` is the notification's ``createdDate`` (the current time unless a test fixes it).
    """
    created = now or clock.now()
    return [
        _notification(instance, object_type, changes[start : start + MAX_EVENTS], poll_date, created)
        for start in range(0, len(changes), MAX_EVENTS)
    ]


def notification_id(instance_id: str, object_type: str, changes: Sequence[ChangeEvent]) -> str:
    """The deterministic id of the notification carrying exactly ``changes``.

    A change is identified by its object id and updated date; a change without a readable date
    by its record's content instead, so a later change of the same record still gets a new id.
    """
    lines = [instance_id, object_type, *(f"{c.object_id}\t{_change_version(c)}" for c in changes)]
    return str(uuid.uuid5(_ID_NAMESPACE, "\n".join(lines)))


def to_sqs_entry(n: Notification) -> dict[str, Any]:
    """A SendMessageBatch entry (drop ``Id`` for SendMessage): the body and three attributes.

    No secret ever goes to the queue: delivery reads the callback URL and keys from the instance.
    """
    values = {"instance_id": n.instance_id, "notification_id": n.id, "object_type": n.object_type}
    return {
        "Id": n.id,
        "MessageBody": n.body.decode("utf-8"),
        "MessageAttributes": {
            name: {"DataType": "String", "StringValue": value} for name, value in values.items()
        },
    }


def from_sqs_record(record: Mapping[str, Any]) -> Notification:
    """The notification in a Lambda SQS event record (the body is authoritative)."""
    text = record.get("body")
    if not isinstance(text, str):
        raise MalformedNotification("the message has no body")
    try:
        envelope = json.loads(text)
        message = envelope["message"]
        events = message["events"]
        found = {
            "notification_id": str(envelope["id"]),
            "instance_id": str(message["instanceId"]),
            "object_type": str(message["raw"]["objectType"]),
        }
        event_types = tuple(str(e["eventType"]) for e in events)
        object_ids = tuple(str(e["objectId"]) for e in events)
    except (ValueError, KeyError, TypeError) as exc:
        raise MalformedNotification(f"the message body is not a notification envelope ({exc!r})") from exc
    attributes = record.get("messageAttributes") or {}
    for name in _ATTRIBUTES:
        value = (attributes.get(name) or {}).get("stringValue")
        if value is not None and value != found[name]:
            raise MalformedNotification(f"attribute {name} does not match the body")
    return Notification(
        id=found["notification_id"],
        instance_id=found["instance_id"],
        object_type=found["object_type"],
        body=text.encode("utf-8"),
        event_types=event_types,
        object_ids=object_ids,
    )


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
