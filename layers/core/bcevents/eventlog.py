"""The event log: every notification and every delivery attempt, in EventsTable, expired by TTL.

Per instance (``pk = INSTANCE#<id>``):

- ``NOTIFICATION#<notification id>``: status (NEW → RETRYING → DELIVERED | FAILED | DISABLED),
  resource, event types, object ids, attempts, last status code or error, next attempt time.
- ``ATTEMPT#<notification id>#<nnn>``: one delivery attempt (number, status code or error class,
  latency, time, and the notification's status after it).

Nothing here ever holds a secret: no header, no URL, no key, only what the receiver answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from boto3.dynamodb.conditions import Key

from bcevents.envelope import Notification
from bcevents.settings import get_settings
from bcevents.storage import Item, _dynamo, _plain, _strip_keys, get_storage, instance_key


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


def notification_sk(notification_id: str) -> str:
    """The sort key of a notification's item."""
    return f"NOTIFICATION#{notification_id}"


def attempt_sk(notification_id: str, number: int) -> str:
    """The sort key of one attempt (zero-padded, so attempts sort in order)."""
    return f"ATTEMPT#{notification_id}#{number:03d}"


def record_enqueued(notifications: Sequence[Notification], *, now: datetime | None = None) -> None:
    """Log notifications as NEW; call it before sending them to the queue.

    An upsert per notification that only fills what is missing: enqueuing the same notification
    again (a poll repeated after a crash) never moves it back from RETRYING or DELIVERED to NEW.
    """
    moment = now or datetime.now(UTC)
    for n in notifications:
        _update(n, moment, {}, new=True)


def record_attempt(
    notification: Notification,
    attempt: Attempt,
    status: Status,
    *,
    next_attempt_at: datetime | None = None,
) -> None:
    """Log one attempt and the notification's status after it."""
    expires_at = _expires_at(attempt.at)
    item: Item = {
        "pk": instance_key(notification.instance_id),
        "sk": attempt_sk(notification.id, attempt.number),
        "notification_id": notification.id,
        "instance_id": notification.instance_id,
        "attempt": attempt.number,
        "status": status.value,
        "attempted_date": _iso(attempt.at),
        "latency_ms": attempt.latency_ms,
        "response_bytes": attempt.response_bytes,
        "expires_at": expires_at,
    }
    if attempt.status_code is not None:
        item["status_code"] = attempt.status_code
    if attempt.error is not None:
        item["error"] = attempt.error
    get_storage().events.put_item(Item=_dynamo(item))
    changes: dict[str, Any] = {
        "status": status.value,
        "attempts": attempt.number,
        "last_attempt_date": _iso(attempt.at),
        "last_status_code": attempt.status_code,
        "last_error": attempt.error,
        "next_attempt_at": _iso(next_attempt_at) if next_attempt_at else None,
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
        "next_attempt_at": _iso(next_attempt_at) if next_attempt_at else None,
    }
    _update(notification, now or datetime.now(UTC), changes)


def get_notification(instance_id: str, notification_id: str) -> Item | None:
    """A notification's item (without its keys), or None if it was never logged."""
    item = (
        get_storage()
        .events.get_item(
            Key={"pk": instance_key(instance_id), "sk": notification_sk(notification_id)}, ConsistentRead=True
        )
        .get("Item")
    )
    return _strip_keys(_plain(item)) if item else None


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
        items += [_strip_keys(_plain(i)) for i in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def parse_iso(value: str) -> datetime:
    """A date this module wrote."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# ------------------------------------------------------------------------------------------
def _update(notification: Notification, now: datetime, changes: dict[str, Any], *, new: bool = False) -> None:
    """One UpdateItem: set ``changes`` (None removes), fill the notification's facts if missing."""
    missing: dict[str, Any] = {
        "notification_id": notification.id,
        "instance_id": notification.instance_id,
        "object_type": notification.object_type,
        "event_types": list(notification.event_types),
        "object_ids": list(notification.object_ids),
        "created_date": _iso(now),
        "expires_at": _expires_at(now),
    }
    if new:
        missing.update(status=Status.NEW.value, attempts=0)
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    sets: list[str] = []
    removes: list[str] = []
    for i, (name, value) in enumerate(missing.items()):
        names[f"#m{i}"] = name
        values[f":m{i}"] = _dynamo(value)
        sets.append(f"#m{i} = if_not_exists(#m{i}, :m{i})")
    for i, (name, value) in enumerate(changes.items()):
        names[f"#c{i}"] = name
        if value is None:
            removes.append(f"#c{i}")
        else:
            values[f":c{i}"] = _dynamo(value)
            sets.append(f"#c{i} = :c{i}")
    names["#u"], values[":u"] = "updated_date", _iso(now)
    sets.append("#u = :u")
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    get_storage().events.update_item(
        Key={"pk": instance_key(notification.instance_id), "sk": notification_sk(notification.id)},
        UpdateExpression=expression,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )


def _expires_at(now: datetime) -> int:
    return int((now + timedelta(days=get_settings().event_retention_days)).timestamp())


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
