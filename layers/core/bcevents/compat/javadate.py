"""Java ``SimpleDateFormat`` patterns, as Cloud Elements users write them.

Cloud Elements configurations carry Java patterns (``updatedDateFormat``, ``${date:FMT}``), so
we read and write them with Java's meaning: count-sensitive letters, ``S`` as a millisecond
*count*, quoted literals, ``yy`` read against an 80-years-before/20-after window. Unlike Java's
default lenient mode, parsing here is strict: the whole text must match and every field must
be in range. Zone ids follow ``java.util.TimeZone`` (see :mod:`bcevents.compat.javazone`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from bcevents.compat.javazone import ZONE_NAMES, as_zone, offset_minutes, split_minutes, zone_from_text

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")  # fmt: skip
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: RFC 2822 as a Java pattern: v2 dates, and the default ``${date:...}`` of the seed configuration.
RFC2822 = "EEE, dd MMM yyyy HH:mm:ss Z"
_SUPPORTED_LETTERS = "GyuMLdDEFaHhkKmsSzZX"
_NUMERIC_LETTERS = "yudDFHhkKmsS"  # plus M/L when written with fewer than three letters

_ZONE_TEXT = r"((?:GMT|UTC|UT)(?:[+-][0-9]{1,2}(?::?[0-9]{2})?)?|[+-][0-9]{2}:?[0-9]{2}|[A-Za-z]{1,5})"
_ISO_OFFSET_TEXT = {1: r"(Z|[+-][0-9]{2})", 2: r"(Z|[+-][0-9]{4})", 3: r"(Z|[+-][0-9]{2}:[0-9]{2})"}


@dataclass(frozen=True)
class _Field:
    letter: str
    count: int

    @property
    def numeric(self) -> bool:
        return self.letter in _NUMERIC_LETTERS or (self.letter in "ML" and self.count < 3)


def _tokenize(pattern: str) -> tuple[_Field | str, ...]:
    tokens: list[_Field | str] = []
    literal: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "'":
            if pattern.startswith("''", i):
                literal.append("'")
                i += 2
                continue
            start, i = i, i + 1
            while True:
                if i >= n:
                    raise ValueError(f"unterminated quote at position {start} in date pattern {pattern!r}")
                if pattern.startswith("''", i):
                    literal.append("'")
                    i += 2
                elif pattern[i] == "'":
                    i += 1
                    break
                else:
                    literal.append(pattern[i])
                    i += 1
            continue
        if not (ch.isascii() and ch.isalpha()):
            literal.append(ch)
            i += 1
            continue
        if ch not in _SUPPORTED_LETTERS:
            raise ValueError(f"unsupported letter {ch!r} at position {i} in date pattern {pattern!r}")
        end = i
        while end < n and pattern[end] == ch:
            end += 1
        if (ch == "X" and end - i > 3) or (ch == "z" and end - i > 3):
            raise ValueError(
                f"unsupported {ch * (end - i)!r} at position {i} in date pattern {pattern!r}"
                " (use z, Z, X, XX or XXX)"
            )
        if literal:
            tokens.append("".join(literal))
            literal = []
        tokens.append(_Field(ch, end - i))
        i = end
    if literal:
        tokens.append("".join(literal))
    return tuple(tokens)


def _field_regex(token: _Field, abutting: bool) -> str:
    letter, count = token.letter, token.count
    if token.numeric:
        # Java reads an abutting numeric field (yyyyMMdd) with exactly `count` digits.
        return f"([0-9]{{{count}}})" if abutting else "([0-9]+)"
    if letter in "ML":
        return "(?i:(" + "|".join(_MONTHS + tuple(m[:3] for m in _MONTHS)) + "))"
    if letter == "E":
        return "(?i:(" + "|".join(_DAYS + tuple(d[:3] for d in _DAYS)) + "))"
    if letter == "a":
        return "(?i:(AM|PM))"
    if letter == "G":
        return "(?i:(AD|BC))"
    if letter == "X":
        return _ISO_OFFSET_TEXT[count]
    return _ZONE_TEXT


def _build_regex(tokens: tuple[_Field | str, ...]) -> re.Pattern[str]:
    parts: list[str] = []
    for index, token in enumerate(tokens):
        if isinstance(token, str):
            parts.append(re.escape(token))
            continue
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        parts.append(_field_regex(token, isinstance(following, _Field) and following.numeric))
    return re.compile("".join(parts))


@dataclass(frozen=True)
class JavaDatePattern:
    """A compiled Java date pattern; build it with :func:`compile_pattern`."""

    pattern: str
    _tokens: tuple[_Field | str, ...] = field(repr=False)
    _regex: re.Pattern[str] = field(repr=False)

    @functools.cached_property
    def _fields(self) -> list[_Field]:
        # Parsing is the poller's hot path (several dates per record): work this out once.
        return [t for t in self._tokens if isinstance(t, _Field)]

    @property
    def has_zone(self) -> bool:
        """Whether the text carries its own zone (z, Z or X), so parsing ignores ``tz``."""
        return any(isinstance(t, _Field) and t.letter in "zZX" for t in self._tokens)

    def format(self, dt: datetime, tz: str | tzinfo = "UTC") -> str:
        """Format an aware datetime, converted into ``tz`` first, the way Java would."""
        if dt.tzinfo is None:
            raise ValueError("format needs a timezone-aware datetime")
        local = dt.astimezone(as_zone(tz))
        return "".join(t if isinstance(t, str) else _format_field(t, local) for t in self._tokens)

    def parse(self, text: str, tz: str | tzinfo = "UTC", *, today: date | None = None) -> datetime:
        """Read ``text`` strictly; the zone comes from the text if the pattern has one, else ``tz``.

        ``today`` anchors Java's two-digit-year window (default: the current date). Missing
        fields default as in Java (1970-01-01 00:00:00); a day name that disagrees with the
        date is ignored, as Java lets the date win. Ambiguous local times resolve to the
        earlier instant (fold=0).
        """
        match = self._regex.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"{text!r} does not match date pattern {self.pattern!r}")
        fields = self._fields
        values: dict[str, int] = {}
        zone: tzinfo | None = None
        pm = False
        for token, raw in zip(fields, match.groups(), strict=True):
            letter = token.letter
            if letter in "zZX":
                zone = zone_from_text(raw, text, self.pattern)
            elif letter == "a":
                pm = raw.upper() == "PM"
            elif letter == "G" and raw.upper() == "BC":
                raise ValueError(f"{text!r}: years before the common era are not supported")
            elif letter in "ML":
                values["M"] = int(raw) if token.numeric else _month_number(raw)
            elif letter == "y":
                values["y"] = _read_year(raw, token.count, today or date.today())
            elif token.numeric:
                values[letter] = int(raw)
        try:
            return datetime.combine(_read_date(values), _read_time(values, pm), zone or as_zone(tz))
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a valid date for pattern {self.pattern!r}: {exc}") from None


_MONTH_NUMBERS = {
    **{m.lower(): i for i, m in enumerate(_MONTHS, 1)},
    **{m[:3].lower(): i for i, m in enumerate(_MONTHS, 1)},
}


def _month_number(name: str) -> int:
    return _MONTH_NUMBERS[name.lower()]


def _read_year(raw: str, count: int, today: date) -> int:
    if count <= 2 and len(raw) == 2:
        # Java: a two-digit year lands within 80 years before and 20 years after today.
        start = today.year - 80
        year = start // 100 * 100 + int(raw)
        return year + 100 if year < start else year
    return int(raw)


def _read_date(values: dict[str, int]) -> date:
    year = values.get("y", 1970)
    if "D" in values and "M" not in values and "d" not in values:
        day_of_year = values["D"]
        result = date(year, 1, 1) + timedelta(days=day_of_year - 1)
        if day_of_year < 1 or result.year != year:
            raise ValueError(f"day of year {day_of_year} out of range")
        return result
    return date(year, values.get("M", 1), values.get("d", 1))


def _read_time(values: dict[str, int], pm: bool) -> time:
    if "H" in values:
        hour = values["H"]
    elif "k" in values:
        hour = _in_range(values["k"], 1, 24, "hour (k)") % 24
    elif "h" in values:
        hour = _in_range(values["h"], 1, 12, "hour (h)") % 12 + (12 if pm else 0)
    else:
        hour = _in_range(values.get("K", 0), 0, 11, "hour (K)") + (12 if pm else 0)
    millis = _in_range(values.get("S", 0), 0, 999, "millisecond")
    return time(hour, values.get("m", 0), values.get("s", 0), millis * 1000)


def _in_range(value: int, low: int, high: int, what: str) -> int:
    if not low <= value <= high:
        raise ValueError(f"{what} {value} out of range {low}-{high}")
    return value


def _format_field(token: _Field, dt: datetime) -> str:
    letter, count = token.letter, token.count
    if letter == "G":
        return "AD"
    if letter == "y" and count == 2:
        return f"{dt.year % 100:02d}"
    if letter in "ML" and count >= 3:
        return _MONTHS[dt.month - 1] if count >= 4 else _MONTHS[dt.month - 1][:3]
    if letter == "E":
        return _DAYS[dt.weekday()] if count >= 4 else _DAYS[dt.weekday()][:3]
    if letter == "a":
        return "AM" if dt.hour < 12 else "PM"
    if letter in "zZX":
        return _format_zone(letter, count, dt)
    numbers = {
        "y": dt.year, "M": dt.month, "L": dt.month, "d": dt.day, "D": dt.timetuple().tm_yday,
        "F": (dt.day - 1) // 7 + 1, "u": dt.isoweekday(), "H": dt.hour, "k": dt.hour or 24,
        "K": dt.hour % 12, "h": dt.hour % 12 or 12, "m": dt.minute, "s": dt.second,
        "S": dt.microsecond // 1000,
    }  # fmt: skip
    return str(numbers[letter]).zfill(count)


def _format_zone(letter: str, count: int, dt: datetime) -> str:
    minutes = offset_minutes(dt)
    sign, hours, mins = split_minutes(minutes)
    if letter == "Z":
        return f"{sign}{hours:02d}{mins:02d}"
    if letter == "X":
        if minutes == 0:
            return "Z"
        return {1: f"{sign}{hours:02d}", 2: f"{sign}{hours:02d}{mins:02d}"}.get(
            count, f"{sign}{hours:02d}:{mins:02d}"
        )
    name = dt.tzname() or ""
    if name.isalpha() and ZONE_NAMES.get(name.upper()) == minutes:
        return name
    return "GMT" if minutes == 0 else f"GMT{sign}{hours:02d}:{mins:02d}"


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> JavaDatePattern:
    """Compile a Java ``SimpleDateFormat`` pattern; ValueError names an unsupported letter or quote."""
    tokens = _tokenize(pattern)
    return JavaDatePattern(pattern, tokens, _build_regex(tokens))
