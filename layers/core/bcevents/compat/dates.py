"""A record's date read however it comes: its Java pattern, else RFC 2822, ISO 8601, or epoch s/ms.

Stores and users are not consistent about dates, and a record whose date cannot be read must still
be reported, never dropped: this reads what it can and says None for the rest.
"""

from __future__ import annotations

import contextlib
import email.utils
import re
from datetime import UTC, datetime, timedelta

from bcevents.compat.javadate import compile_pattern
from bcevents.compat.javazone import as_zone

_EPOCH_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_EPOCH_MILLIS_FROM = 100_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_date_lenient(text: str | float, pattern: str | None, tz: str = "UTC") -> datetime | None:
    """Read a record's date however it comes: the pattern, RFC 2822, ISO 8601, or epoch s/ms.

    ``tz`` applies to texts without a zone. Returns None when nothing reads, so the caller can
    report the record rather than drop it. A bad *pattern* still raises: it was validated when
    the instance was created, so reaching one here is a bug.
    """
    if isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        return _from_epoch(text)
    value = text.strip()
    if not value:
        return None
    if pattern:
        compiled = compile_pattern(pattern)
        with contextlib.suppress(ValueError):
            return compiled.parse(value, tz)
    zone = as_zone(tz)
    with contextlib.suppress(TypeError, ValueError, IndexError, OverflowError):
        parsed = email.utils.parsedate_to_datetime(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)
    with contextlib.suppress(ValueError):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)
    if _EPOCH_TEXT.fullmatch(value):
        return _from_epoch(float(value) if "." in value else int(value))
    return None


def _from_epoch(number: float) -> datetime | None:
    # Seconds and milliseconds are told apart by size: no record is dated before 1973 or after 5138.
    millis = abs(number) >= _EPOCH_MILLIS_FROM
    try:
        delta = timedelta(milliseconds=number) if millis else timedelta(seconds=number)
        return _EPOCH + delta
    except (OverflowError, ValueError):  # out of datetime's range, or NaN
        return None
