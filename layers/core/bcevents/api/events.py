"""The event log API: an instance's notifications, newest first and filtered, and one in full.

A cursor is the created key of the last notification a page showed, base64url-encoded. It is
checked to be such a key and only ever positions a read inside the partition of the instance
named in the path (which the caller owns): a cursor cannot reach another instance's log.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime

from bcevents.api import instances
from bcevents.api.access import Principal
from bcevents.api.models import AttemptView, NotificationDetail, NotificationPage, NotificationView
from bcevents.aws import event_bodies, event_log, event_log_index
from bcevents.aws.event_log import Status
from bcevents.aws.tables import Item
from bcevents.clock import iso_seconds, utc
from bcevents.errors import FieldProblem, InvalidRequest, NotificationNotFound

#: Index pages read for one answer when filters skip most notifications; the cursor goes on.
MAX_PAGES = 10
#: A notification body larger than this is not shown in its detail (redeliver it to see it).
MAX_SHOWN_BODY_BYTES = 4_000_000
#: Notifications read per index page when a filter applies (a page is billed by size, not count).
FILTERED_PAGE_SIZE = 200
_CREATED_KEY = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z#[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)


@dataclass(frozen=True)
class LogFilter:
    """Which notifications to list: all filters must hold (``None`` means any)."""

    status: Status | None = None
    object_type: str | None = None
    object_id: str | None = None  # the notification has an event about this object
    event_type: str | None = None  # the notification has an event of this type
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created at or before


def list_notifications(
    principal: Principal, instance_id: int, filters: LogFilter, *, limit: int, cursor: str | None
) -> NotificationPage:
    """A page of the instance's event log, newest first."""
    item = instances.get_instance(principal, instance_id)
    found, next_cursor = query_log(item["id"], filters, limit=limit, cursor=cursor)
    return NotificationPage(notifications=[to_view(i) for i in found], next_cursor=next_cursor)


def get_notification(principal: Principal, instance_id: int, notification_id: str) -> NotificationDetail:
    """One notification with every delivery attempt and its body."""
    item = instances.get_instance(principal, instance_id)
    state = find(item["id"], notification_id)
    attempts = [
        AttemptView(
            attempt=a["attempt"],
            attempted_date=a["attempted_date"],
            status_code=a.get("status_code"),
            error=a.get("error"),
            latency_ms=a.get("latency_ms", 0),
            response_bytes=a.get("response_bytes", 0),
            status=a["status"],
            redelivery=a.get("redelivery", 0),
        )
        for a in event_log.list_attempts(item["id"], notification_id)
    ]
    # A body over what one API answer can carry (Lambda answers at most 6 MB) is not shown.
    shown = state.get("body_bytes", 0) <= MAX_SHOWN_BODY_BYTES
    body = event_bodies.load_body(item["id"], notification_id) if shown else None
    return NotificationDetail(
        **to_view(state).model_dump(),
        delivery_attempts=attempts,
        body=json.loads(body) if body is not None else None,
    )


def find(instance_id: str, notification_id: str) -> Item:
    """A notification's log item, or NotificationNotFound."""
    state = event_log.get_notification(instance_id, notification_id) if _is_uuid(notification_id) else None
    if state is None:
        raise NotificationNotFound(notification_id)
    return state


def query_log(
    instance_id: str, filters: LogFilter, *, limit: int, cursor: str | None, where: str = "query"
) -> tuple[list[Item], str | None]:
    """Up to ``limit`` notifications matching ``filters``, newest first, and the cursor after them.

    Reads at most MAX_PAGES index pages: a rare match far back gives a short (even empty) page
    with a cursor, never a long request. ``where`` prefixes the names of bad parameters
    (``query.cursor``; empty for a body's own keys).
    """
    lower, upper = _bounds(filters, where)
    after = decode_cursor(cursor, where) if cursor else None
    if after is not None and upper is not None and after > upper:
        after = None  # a cursor from a wider range: start at this range's newest
    if after is not None and lower is not None and after < lower:
        return [], None  # the cursor is past this range's oldest
    equals: dict[str, str] = {}
    contains: dict[str, str] = {}
    if filters.status is not None:
        equals["status"] = filters.status.value
    if filters.object_type is not None:
        equals["object_type"] = filters.object_type
    if filters.object_id is not None:
        contains["object_ids"] = filters.object_id
    if filters.event_type is not None:
        contains["event_types"] = filters.event_type
    size = FILTERED_PAGE_SIZE if equals or contains else limit
    found: list[Item] = []
    for _ in range(MAX_PAGES):
        items, after_page = event_log_index.page(
            instance_id,
            lower=lower,
            upper=upper,
            after=after,
            equals=equals,
            contains=contains,
            limit=size,
        )
        for item in items:
            found.append(item)
            if len(found) == limit:
                more = item is not items[-1] or after_page is not None
                return found, encode_cursor(item["created_key"]) if more else None
        if after_page is None:
            return found, None
        after = after_page
    return found, encode_cursor(after) if after else None


def to_view(item: Item) -> NotificationView:
    """A log item as the API shows it."""
    return NotificationView(
        id=item["notification_id"],
        object_type=item.get("object_type", ""),
        event_types=item.get("event_types", []),
        object_ids=item.get("object_ids", []),
        status=item.get("status", Status.NEW),
        status_reason=item.get("status_reason"),
        attempts=item.get("attempts", 0),
        last_attempt_date=item.get("last_attempt_date"),
        last_status_code=item.get("last_status_code"),
        last_error=item.get("last_error"),
        next_attempt_at=item.get("next_attempt_at"),
        redeliveries=item.get("redeliveries", 0),
        redelivered_date=item.get("redelivered_date"),
        redeliverable=item.get("redeliverable", False),
        created_date=item["created_date"],
        updated_date=item.get("updated_date"),
    )


def encode_cursor(created_key: str) -> str:
    """The opaque form of a position in the log."""
    return base64.urlsafe_b64encode(created_key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, where: str = "query") -> str:
    """A position in the log from its opaque form (InvalidRequest if it is not one we wrote)."""
    try:
        key = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        key = ""
    if not _CREATED_KEY.match(key):
        raise InvalidRequest([FieldProblem(_name(where, "cursor"), "is not a cursor this API returned")])
    return key


def _name(where: str, parameter: str) -> str:
    return f"{where}.{parameter}" if where else parameter


def _bounds(filters: LogFilter, where: str) -> tuple[str | None, str | None]:
    since = utc(filters.since) if filters.since else None
    until = utc(filters.until) if filters.until else None
    if since is not None and until is not None and since > until:
        raise InvalidRequest([FieldProblem(_name(where, "from"), "is after 'to'")])
    # Created keys are "<date>#<id>": a bare date sorts before every key of its second, "~" after.
    lower = iso_seconds(since) if since else None
    upper = iso_seconds(until) + "#~" if until else None
    return lower, upper


def _is_uuid(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", value))
