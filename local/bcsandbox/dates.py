"""Date formats BigCommerce writes and the filter values it accepts.

Records keep their dates as whole Unix seconds: v2 answers in RFC 2822, which has no fractions,
so every comparison happens at one-second resolution.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from email.utils import parsedate_to_datetime
from functools import lru_cache

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# A signed numeric offset (or a zone name) is required: an unencoded "+0000" arrives as " 0000",
# which real BigCommerce rejects ("date_created is not valid", bigcommerce/api#121).
_RFC2822 = re.compile(
    r"^(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{2}:\d{2}(?::\d{2})?\s+(?:[+-]\d{4}|GMT|UTC|UT|Z)$"
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?$"
)
_UNIX = re.compile(r"^\d{1,12}$")


class InvalidDate(ValueError):
    """A filter value no accepted format can read."""


@lru_cache(maxsize=8192)
def rfc2822(ts: int) -> str:
    """`Tue, 20 Nov 2012 00:00:00 +0000`: v2's format, always UTC (spec, orders `date_created`)."""
    d = datetime.fromtimestamp(ts, UTC)
    return (
        f"{_DAYS[d.weekday()]}, {d.day:02d} {_MONTHS[d.month - 1]} {d.year:04d} "
        f"{d.hour:02d}:{d.minute:02d}:{d.second:02d} +0000"
    )


@lru_cache(maxsize=8192)
def iso_offset(ts: int) -> str:
    """`2018-08-15T14:49:05+00:00`, as the catalog spec's product examples show."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


@lru_cache(maxsize=8192)
def iso_z(ts: int) -> str:
    """`2018-11-14T16:46:23Z`, as the customers spec's examples show."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_ts(value: datetime) -> int:
    """Whole seconds, naive datetimes read as UTC; fractions dropped as the store's clock does."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() // 1)


def parse_v2(value: str) -> int:
    """A v2 `min_/max_date_*` value: RFC 2822 or ISO 8601, per the orders spec.

    Unix seconds are not documented for v2, so they are refused rather than guessed at. A date
    without a time means midnight UTC; an ISO value without an offset is read as UTC.
    """
    text = value.strip()
    if _RFC2822.match(text):
        try:
            return to_ts(parsedate_to_datetime(text))
        except (TypeError, ValueError) as exc:
            raise InvalidDate(value) from exc
    return _parse_iso(text, value, date_only_time=time(0, 0))


def parse_v3(value: str, *, now: datetime, date_only_adds_time_of_day: bool) -> int:
    """A v3 date filter value: ISO 8601 or Unix seconds.

    The catalog spec says a `date_modified:min/:max` without hours, minutes and seconds gets "the
    current time of the request" added (research §3, §9.1). `date_only_adds_time_of_day` turns that
    on for products; elsewhere a bare date means midnight UTC.
    """
    text = value.strip()
    if _UNIX.match(text):
        return int(text)
    day_time = now.astimezone(UTC).time().replace(microsecond=0) if date_only_adds_time_of_day else time(0, 0)
    return _parse_iso(text, value, date_only_time=day_time)


def parse_day(value: str) -> date | None:
    """The calendar day of a date-only value, for the exact `date_modified` filter; else None."""
    text = value.strip()
    if not _ISO_DATE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidDate(value) from exc


def _parse_iso(text: str, original: str, *, date_only_time: time) -> int:
    try:
        if _ISO_DATE.match(text):
            return to_ts(datetime.combine(date.fromisoformat(text), date_only_time, UTC))
        if _ISO_DATETIME.match(text):
            return to_ts(datetime.fromisoformat(text.replace(" ", "T", 1)))
    except ValueError as exc:
        raise InvalidDate(original) from exc
    raise InvalidDate(original)


def day_bounds(day: date) -> tuple[int, int]:
    """First and last second of a UTC calendar day."""
    start = to_ts(datetime.combine(day, time(0, 0), UTC))
    return start, start + 86_399


def to_timestamp(value: object) -> int:
    """A date a caller hands the store: datetime, Unix seconds, or RFC 2822 / ISO 8601 text."""
    if isinstance(value, datetime):
        return to_ts(value)
    if isinstance(value, int | float):
        return int(value)
    try:
        return parse_v2(str(value))
    except InvalidDate:
        raise ValueError(f"cannot read date {value!r}") from None
