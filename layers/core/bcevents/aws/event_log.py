"""The event log: every notification and every delivery attempt, in EventsTable, expired by TTL.

Per instance (``pk = INSTANCE#<id>``):

- ``NOTIFICATION#<notification id>``: status (NEW → RETRYING → DELIVERED | FAILED | DISABLED),
  resource, event types, object ids, attempts, last status code or error, next attempt time.
- ``ATTEMPT#<notification id>#<nnn>``: one delivery attempt (number, status code or error class,
  latency, time, the redelivery it belongs to, and the notification's status after it).
- ``BODY#<notification id>`` (and its parts): the exact body, zlib-compressed (``aws.event_bodies``),
  so it can be redelivered, or delivered at all when it travels by reference. Apart from the
  notification item: every status update rewrites (and is billed for) the whole item.

Notification items carry ``created_key`` (``<created date>#<id>``), the sort key of the sparse
``ByCreatedDate`` index through which the event log is listed newest first.

A redelivery keeps the notification's id and attempt history: it counts ``redeliveries``, notes
the attempts made before it (``retry_base``, so the retry schedule starts over) and sets the
status back to NEW. A queued message carries the redelivery it belongs to; an older one is dropped.

Nothing here ever holds a secret: no header, no URL, no key, only what the receiver answered and
the store records the notification carries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from bcevents import clock
from bcevents.aws import event_bodies
from bcevents.aws.items import (
    Item,
    conditional_failed,
    error_code,
    instance_key,
    to_dynamo,
    to_plain,
    without_keys,
)
from bcevents.aws.tables import get_storage
from bcevents.clock import iso_seconds
from bcevents.compat.envelope import Notification
from bcevents.compat.queued import travels_by_reference
from bcevents.errors import ServiceError
from bcevents.settings import get_settings

#: The index that lists an instance's notifications by creation date.
BY_CREATED_DATE = "ByCreatedDate"


class EventLogFailed(ServiceError):
    """DynamoDB refused to log notifications (they are not enqueued: the poll repeats them)."""


class Status(StrEnum):
    """Where a notification stands."""

    NEW = "NEW"
    RETRYING = "RETRYING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    DISABLED = "DISABLED"

    @property
    def final(self) -> bool:
        """Whether nothing more will happen to the notification."""
        return self in (Status.DELIVERED, Status.FAILED, Status.DISABLED)


@dataclass(frozen=True)
class Attempt:
    """One POST to a callback: what it answered (``status_code``) or why it did not (``error``)."""

    number: int
    at: datetime
    latency_ms: int
    status_code: int | None = None
    error: str | None = None  # an error class: "ReadTimeout", "EgressRefused", ...
    response_bytes: int = 0
    redelivery: int = 0  # 0 for the original delivery, n for the n-th redelivery


def notification_sk(notification_id: str) -> str:
    """The sort key of a notification's item."""
    return f"NOTIFICATION#{notification_id}"


def attempt_sk(notification_id: str, number: int) -> str:
    """The sort key of one attempt (zero-padded, so attempts sort in order)."""
    return f"ATTEMPT#{notification_id}#{number:03d}"


def created_key(created_date: str, notification_id: str) -> str:
    """The index sort key: creation date (ISO, seconds), then the id, so it is unique and ordered."""
    return f"{created_date}#{notification_id}"


def record_enqueued(notifications: Sequence[Notification], *, now: datetime | None = None) -> None:
    """Log notifications as NEW, with their bodies; call it before sending them to the queue.

    An upsert per notification that only fills what is missing: enqueuing the same notification
    again (a poll repeated after a crash) never moves it back from RETRYING or DELIVERED to NEW.
    Raises BodyTooLarge, before logging anything, for a body that must travel by reference and
    is too large to keep.
    """
    moment = now or clock.now()
    # A body outlives the retry schedule, whatever the retention: delivery may need it until the end.
    schedule = sum(get_settings().delivery_retry_schedule) + 86_400
    bodies_expire = max(_expires_at(moment), int(moment.timestamp()) + schedule)
    kept = [event_bodies.body_items(n, bodies_expire) for n in notifications]
    for n, items in zip(notifications, kept, strict=True):
        if not items and travels_by_reference(n):
            raise event_bodies.BodyTooLarge(
                f"notification {n.id} ({len(n.body):,} bytes, of {n.object_type} {', '.join(n.object_ids)}) "
                "is too large to keep, and so to deliver"
            )
    try:
        for n, items in zip(notifications, kept, strict=True):
            _update(n, moment, {}, new=True, facts={"redeliverable": bool(items), "body_bytes": len(n.body)})
        event_bodies.put([item for items in kept for item in items])
    except ClientError as exc:
        raise EventLogFailed(f"the event log refused a write: {error_code(exc)}") from exc


def reopen(
    notification: Notification,
    state: Mapping[str, Any],
    *,
    number: int | None = None,
    now: datetime | None = None,
) -> int:
    """Open a notification for its redelivery ``number`` (by default the next); returns it.

    The status goes back to NEW, the next attempt is due at once, and the retry schedule starts
    over after the attempts made so far (which stay in the log). A reopening never goes back: if
    the log already counts ``number`` redeliveries (or more), nothing changes. Two concurrent
    redeliveries may pick the same number: their messages then share an idempotency key and are
    POSTed once.
    """
    moment = now or clock.now()
    number = number or int(state.get("redeliveries", 0)) + 1
    changes = {
        "status": Status.NEW.value,
        "redeliveries": number,
        "retry_base": int(state.get("attempts", 0)),
        "redelivered_date": iso_seconds(moment),
        "status_reason": None,
        "next_attempt_at": None,
    }
    try:
        _update(notification, moment, changes, below=("redeliveries", number))
    except ClientError as exc:
        if not conditional_failed(exc):
            raise
    return number


def record_attempt(
    notification: Notification,
    attempt: Attempt,
    status: Status,
    *,
    next_attempt_at: datetime | None = None,
    reason: str | None = None,
) -> None:
    """Log one attempt and the notification's status after it (``reason``: why it is settled so)."""
    expires_at = _expires_at(attempt.at)
    item: Item = {
        "pk": instance_key(notification.instance_id),
        "sk": attempt_sk(notification.id, attempt.number),
        "notification_id": notification.id,
        "instance_id": notification.instance_id,
        "attempt": attempt.number,
        "status": status.value,
        "attempted_date": iso_seconds(attempt.at),
        "latency_ms": attempt.latency_ms,
        "response_bytes": attempt.response_bytes,
        "expires_at": expires_at,
    }
    if attempt.status_code is not None:
        item["status_code"] = attempt.status_code
    if attempt.error is not None:
        item["error"] = attempt.error
    if attempt.redelivery:
        item["redelivery"] = attempt.redelivery
    get_storage().events.put_item(Item=to_dynamo(item))
    changes: dict[str, Any] = {
        "status": status.value,
        "attempts": attempt.number,
        "last_attempt_date": iso_seconds(attempt.at),
        "last_status_code": attempt.status_code,
        "last_error": attempt.error,
        "next_attempt_at": iso_seconds(next_attempt_at) if next_attempt_at else None,
        "status_reason": reason,
    }
    _update(notification, attempt.at, changes)


def set_status(
    notification: Notification,
    status: Status,
    *,
    reason: str | None = None,
    next_attempt_at: datetime | None = None,
    now: datetime | None = None,
) -> None:
    """Change a notification's status without an attempt (e.g. its instance is gone)."""
    changes = {
        "status": status.value,
        "status_reason": reason,
        "next_attempt_at": iso_seconds(next_attempt_at) if next_attempt_at else None,
    }
    _update(notification, now or clock.now(), changes)


def get_notification(instance_id: str, notification_id: str) -> Item | None:
    """A notification's item (without its keys), or None if it was never logged."""
    item = (
        get_storage()
        .events.get_item(
            Key={"pk": instance_key(instance_id), "sk": notification_sk(notification_id)}, ConsistentRead=True
        )
        .get("Item")
    )
    return without_keys(to_plain(item)) if item else None


def list_attempts(instance_id: str, notification_id: str) -> list[Item]:
    """A notification's attempts, first to last."""
    items: list[Item] = []
    kwargs: dict[str, Any] = {
        "KeyConditionExpression": Key("pk").eq(instance_key(instance_id))
        & Key("sk").begins_with(f"ATTEMPT#{notification_id}#"),
        "ConsistentRead": True,
    }
    while True:
        page = get_storage().events.query(**kwargs)
        items += [without_keys(to_plain(i)) for i in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# ------------------------------------------------------------------------------------------
def _update(
    notification: Notification,
    now: datetime,
    changes: dict[str, Any],
    *,
    new: bool = False,
    facts: dict[str, Any] | None = None,
    below: tuple[str, int] | None = None,
) -> None:
    """One UpdateItem: set ``changes`` (None removes), fill the notification's facts if missing."""
    missing: dict[str, Any] = {
        "notification_id": notification.id,
        "instance_id": notification.instance_id,
        "object_type": notification.object_type,
        "event_types": list(notification.event_types),
        "object_ids": list(notification.object_ids),
        "created_date": iso_seconds(now),
        "created_key": created_key(iso_seconds(now), notification.id),
        "expires_at": _expires_at(now),
        **(facts or {}),
    }
    if new:
        missing.update(status=Status.NEW.value, attempts=0)
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    sets: list[str] = []
    removes: list[str] = []
    for i, (name, value) in enumerate(missing.items()):
        names[f"#m{i}"] = name
        values[f":m{i}"] = to_dynamo(value)
        sets.append(f"#m{i} = if_not_exists(#m{i}, :m{i})")
    for i, (name, value) in enumerate(changes.items()):
        names[f"#c{i}"] = name
        if value is None:
            removes.append(f"#c{i}")
        else:
            values[f":c{i}"] = to_dynamo(value)
            sets.append(f"#c{i} = :c{i}")
    names["#u"], values[":u"] = "updated_date", iso_seconds(now)
    sets.append("#u = :u")
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    condition: dict[str, Any] = {}
    if below is not None:  # only while the attribute is missing or below the value
        names["#below"], values[":below"] = below
        condition["ConditionExpression"] = "attribute_not_exists(#below) OR #below < :below"
    get_storage().events.update_item(
        Key={"pk": instance_key(notification.instance_id), "sk": notification_sk(notification.id)},
        UpdateExpression=expression,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
        **condition,
    )


def _expires_at(now: datetime) -> int:
    return int((now + timedelta(days=get_settings().event_retention_days)).timestamp())
