"""Java time-zone ids and zone names, as ``java.util.TimeZone`` and ``SimpleDateFormat`` read them."""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# java.time.ZoneId.SHORT_IDS, which java.util.TimeZone also honours: EST, MST and HST are fixed
# offsets, the other three-letter ids are regions (so PST follows daylight saving like Java).
_JAVA_SHORT_IDS = {
    "ACT": "Australia/Darwin", "AET": "Australia/Sydney", "AGT": "America/Argentina/Buenos_Aires",
    "ART": "Africa/Cairo", "AST": "America/Anchorage", "BET": "America/Sao_Paulo",
    "BST": "Asia/Dhaka", "CAT": "Africa/Harare", "CNT": "America/St_Johns",
    "CST": "America/Chicago", "CTT": "Asia/Shanghai", "EAT": "Africa/Addis_Ababa",
    "ECT": "Europe/Paris", "IET": "America/Indiana/Indianapolis", "IST": "Asia/Kolkata",
    "JST": "Asia/Tokyo", "MIT": "Pacific/Apia", "NET": "Asia/Yerevan", "NST": "Pacific/Auckland",
    "PLT": "Asia/Karachi", "PNT": "America/Phoenix", "PRT": "America/Puerto_Rico",
    "PST": "America/Los_Angeles", "SST": "Pacific/Guadalcanal", "VST": "Asia/Ho_Chi_Minh",
    # Not Java ids: Java would silently fall back to GMT. Users who write them mean the region.
    "EDT": "America/New_York", "CDT": "America/Chicago", "MDT": "America/Denver",
    "PDT": "America/Los_Angeles",
}  # fmt: skip
_JAVA_FIXED_IDS = {"EST": -300, "MST": -420, "HST": -600}

# Short zone *names* (what `z` prints and reads), in minutes east of UTC. A name is printed
# only when it agrees with the instant's offset, so every printed name reads back exactly.
ZONE_NAMES = {
    "UTC": 0, "GMT": 0, "UT": 0, "Z": 0, "WET": 0, "WEST": 60, "BST": 60, "CET": 60,
    "CEST": 120, "EET": 120, "EEST": 180, "SAST": 120, "MSK": 180, "IST": 330, "HKT": 480,
    "AWST": 480, "JST": 540, "KST": 540, "ACST": 570, "ACDT": 630, "AEST": 600, "AEDT": 660,
    "NZST": 720, "NZDT": 780, "AST": -240, "ADT": -180, "EST": -300, "EDT": -240, "CST": -360,
    "CDT": -300, "MST": -420, "MDT": -360, "PST": -480, "PDT": -420, "AKST": -540,
    "AKDT": -480, "HST": -600, "HDT": -540,
}  # fmt: skip
_OFFSET_ID = re.compile(r"(?:GMT|UTC|UT)?([+-])([0-9]{1,2})(?::?([0-9]{2}))?")


def fixed_zone(minutes: int, name: str | None = None) -> tzinfo:
    """A fixed offset ``minutes`` east of UTC, named like Java names it (``GMT+05:30``)."""
    if name is None:
        sign, hours, mins = split_minutes(minutes)
        name = f"GMT{sign}{hours:02d}:{mins:02d}"
    return timezone(timedelta(minutes=minutes), name)


def split_minutes(minutes: int) -> tuple[str, int, int]:
    """Sign, hours and minutes of an offset in minutes."""
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return sign, hours, mins


def offset_minutes(dt: datetime) -> int:
    """The offset of an aware datetime in whole minutes."""
    offset = dt.utcoffset() or timedelta(0)
    seconds = int(offset.total_seconds())
    # Java drops an offset's seconds (historic LMT offsets) by truncation toward zero.
    return -(-seconds // 60) if seconds < 0 else seconds // 60


@functools.lru_cache(maxsize=256)
def resolve_zone(name: str) -> tzinfo:
    """Turn a Java time-zone id (``UTC``, ``EST``, ``PST``, ``GMT+05:30``, ``-8:00``, IANA) into a tzinfo."""
    key = name.strip()
    upper = key.upper()
    if upper in ("UTC", "Z", "UT"):
        return UTC
    if upper == "GMT":
        return timezone(timedelta(0), "GMT")
    if upper in _JAVA_FIXED_IDS:
        return fixed_zone(_JAVA_FIXED_IDS[upper], upper)
    if upper in _JAVA_SHORT_IDS:
        return ZoneInfo(_JAVA_SHORT_IDS[upper])
    match = _OFFSET_ID.fullmatch(upper)
    if match:
        sign, hours, mins = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if hours > 23 or mins > 59:
            raise ValueError(f"time zone offset out of range: {name!r}")
        return fixed_zone((hours * 60 + mins) * (-1 if sign == "-" else 1))
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"unknown time zone {name!r}: use UTC, GMT, a Java id such as EST or PST, "
            "an offset such as GMT+05:30 or -08:00, or an IANA id such as America/New_York"
        ) from None


def as_zone(tz: str | tzinfo) -> tzinfo:
    """A tzinfo from a Java zone id or a tzinfo."""
    return tz if isinstance(tz, tzinfo) else resolve_zone(tz)


def zone_from_text(text: str, whole: str, pattern: str) -> tzinfo:
    """The zone a parsed ``z``/``Z`` field names (short names and GMT offsets)."""
    zone = _zone_named(text.upper())
    if zone is None:
        raise ValueError(f"{whole!r}: unknown time zone name {text!r} for date pattern {pattern!r}")
    return zone


@functools.lru_cache(maxsize=256)
def _zone_named(upper: str) -> tzinfo | None:
    # A store writes the same few zone texts on every record: cache what they mean.
    if upper in ZONE_NAMES:
        return fixed_zone(ZONE_NAMES[upper], upper)
    match = _OFFSET_ID.fullmatch(upper)
    if match and int(match.group(2)) <= 23 and int(match.group(3) or 0) <= 59:
        minutes = int(match.group(2)) * 60 + int(match.group(3) or 0)
        return fixed_zone(-minutes if match.group(1) == "-" else minutes)
    return None
