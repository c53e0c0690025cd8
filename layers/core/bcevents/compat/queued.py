"""A notification as an SQS message: its body inline, or a reference to the body in the event log.

SQS takes messages of up to 1 MiB, and batches of up to 1 MiB in all. A notification whose body
is larger than :data:`~bcevents.compat.envelope.MAX_BODY_BYTES` (one record larger than that:
product descriptions of megabytes exist) travels as a reference: a small envelope with the same
``id``, instance, resource and events, marked ``"bodyInEventLog": true``, while its exact body waits
in the event log, where it was stored before the message was sent. Delivery reads it there and
POSTs it whole; a receiver never sees the reference.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bcevents.compat.envelope import MAX_BODY_BYTES, MalformedNotification, Notification

#: The mark of a reference envelope.
BY_REFERENCE = "bodyInEventLog"
_ATTRIBUTES = ("instance_id", "notification_id", "object_type")


def travels_by_reference(n: Notification) -> bool:
    """Whether the notification's message carries a reference instead of its body."""
    return n.by_reference or len(n.body) > MAX_BODY_BYTES


def to_sqs_entry(n: Notification) -> dict[str, Any]:
    """A SendMessageBatch entry (drop ``Id`` for SendMessage): the body and three attributes.

    No secret ever goes to the queue: delivery reads the callback URL and keys from the instance.
    """
    values = {"instance_id": n.instance_id, "notification_id": n.id, "object_type": n.object_type}
    return {
        "Id": n.id,
        "MessageBody": _reference(n).decode("utf-8") if travels_by_reference(n) else n.body.decode("utf-8"),
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
        by_reference=envelope.get(BY_REFERENCE) is True,
    )


def with_body(n: Notification, body: bytes) -> Notification:
    """The notification of a reference, with the body read from the event log."""
    return replace(n, body=body, by_reference=False)


def _reference(n: Notification) -> bytes:
    """The reference envelope of a notification (itself, if it is one already)."""
    if n.by_reference:
        return n.body
    envelope = json.loads(n.body)
    message = envelope["message"]
    reference = {
        "id": envelope["id"],
        BY_REFERENCE: True,
        "message": {
            "instanceId": message["instanceId"],
            "raw": {"objectType": message["raw"]["objectType"]},
            "events": message["events"],
        },
    }
    return json.dumps(reference, separators=(",", ":")).encode("utf-8")
