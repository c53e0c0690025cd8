"""Reading records the way Cloud Elements did: dotted fields, configured date formats, event types."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bcevents.compat.configuration import ResourceConfig
from bcevents.compat.dates import parse_date_lenient


def dotted(record: dict[str, Any], path: str) -> Any:
    """The value at a dotted path (``_info.lastUpdated``), or None."""
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def object_id(record: dict[str, Any], resource: ResourceConfig) -> str | None:
    """The record's id as the event's ``objectId`` (a string, as Cloud Elements sent it)."""
    value = dotted(record, resource.id_field)
    return None if value is None or value == "" else str(value)


def read_date(record: dict[str, Any], path: str | None, pattern: str | None, zone: str) -> datetime | None:
    """A date field read with its configured pattern, falling back to RFC 2822 / ISO 8601 / epoch."""
    if not path:
        return None
    value = dotted(record, path)
    if value is None or value == "" or isinstance(value, bool):
        return None
    if not isinstance(value, str | int | float):
        return None
    return parse_date_lenient(value, pattern, zone)


def updated_date(record: dict[str, Any], resource: ResourceConfig) -> datetime | None:
    """The record's last-modified date per the resource's ``datesConfiguration``."""
    dates = resource.dates
    return read_date(record, dates.updated_date_field, dates.updated_date_format, dates.updated_date_timezone)


def created_date(record: dict[str, Any], resource: ResourceConfig) -> datetime | None:
    """The record's creation date per the resource's ``datesConfiguration``."""
    dates = resource.dates
    return read_date(record, dates.created_date_field, dates.created_date_format, dates.created_date_timezone)


def event_type(record: dict[str, Any], resource: ResourceConfig) -> str:
    """CREATED when created == updated (± ``createdCheckTolerance`` s), else UPDATED; archived → DELETED.

    A record whose dates cannot be read is still reported, as UNKNOWN (never dropped).
    """
    return event_type_given(record, resource, updated_date(record, resource))


def event_type_given(record: dict[str, Any], resource: ResourceConfig, updated: datetime | None) -> str:
    """:func:`event_type` for a record whose updated date the caller has read already
    (parsing dates is the poller's hot path)."""
    if record.get("is_deleted") is True:
        return "DELETED"
    created = created_date(record, resource)
    if not resource.filter_by_updated_date:
        return "CREATED" if created is not None else "UNKNOWN"
    if updated is None:
        return "UNKNOWN"
    if created is None:
        return "UPDATED"
    return (
        "CREATED"
        if abs((updated - created).total_seconds()) <= resource.created_check_tolerance
        else "UPDATED"
    )
