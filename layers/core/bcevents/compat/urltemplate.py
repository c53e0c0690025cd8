"""Cloud Elements resource-URL placeholders: ``${date:FMT}``, ``${gmtDate:FMT}``, ``${epoch}``...

A poller ``url`` carries the date of the last poll as a placeholder, usually inside a CEQL
string (``where=min_date_modified='${date:EEE, dd MMM yyyy HH:mm:ss Z}'``). Supported forms,
as the Cloud Elements docs write them:

- ``${date:FMT}``: FMT (Java pattern) in the resource's ``updatedDateTimezone`` (default UTC);
- ``${gmtDate:FMT}``: FMT in GMT;
- ``${dateTimeZone:ZONE:FMT}``: FMT in ZONE, e.g. ``${dateTimeZone:America/Denver:yyyy-MM-dd}``
  (cloud-elements/devportal docs/elements/quickbooksenterprise/tips.md) or ``-8:00``;
- ``${epoch}`` / ``${epoch:ms}`` milliseconds, ``${epoch:s}`` seconds, ``${epoch:us}`` microseconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from bcevents.compat.javadate import compile_pattern
from bcevents.compat.javazone import resolve_zone

_KINDS = {"date": "date", "gmtdate": "gmtDate", "datetimezone": "dateTimeZone", "epoch": "epoch"}
_EPOCH_UNITS = {"ms": 1_000, "s": 1_000_000, "us": 1}  # microseconds per unit
# A zone written as an offset carries its own colon (-8:00, GMT+05:30): read it whole.
_ZONE_PREFIX = re.compile(r"((?:GMT|UTC)?[+-][0-9]{1,2}:[0-9]{2}|[^:]+):")
_EPOCH_START = datetime(1970, 1, 1, tzinfo=UTC)
_SUPPORTED = "${date:FMT}, ${gmtDate:FMT}, ${dateTimeZone:ZONE:FMT}, ${epoch}, ${epoch:s|ms|us}"


@dataclass(frozen=True)
class Placeholder:
    """One ``${...}`` in a template: where it sits and what it renders."""

    text: str
    start: int
    end: int
    kind: str
    pattern: str | None = None
    zone: str | None = None
    unit: str | None = None


def _find_end(template: str, start: int) -> int:
    # The Java pattern may quote text ('T', 'Z', even '}'), so a brace inside quotes is text.
    quoted = False
    for index in range(start + 2, len(template)):
        char = template[index]
        if char == "'":
            quoted = not quoted
        elif char == "}" and not quoted:
            return index + 1
    raise ValueError(f"unterminated placeholder {template[start:]!r}: expected a closing '}}'")


def _parse(text: str, start: int = 0) -> Placeholder:
    if not (text.startswith("${") and text.endswith("}")):
        raise ValueError(f"{text!r} is not a ${{...}} placeholder")
    body = text[2:-1]
    name, _, rest = body.partition(":")
    kind = _KINDS.get(name.strip().lower())
    end = start + len(text)
    if kind == "epoch":
        unit = rest.strip() or "ms"
        if unit not in _EPOCH_UNITS:
            raise ValueError(f"placeholder {text!r}: epoch unit must be s, ms or us")
        return Placeholder(text, start, end, kind, unit=unit)
    if kind in ("date", "gmtDate"):
        if not rest:
            raise ValueError(f"placeholder {text!r} needs a date format, e.g. ${{{name}:yyyy-MM-dd}}")
        return Placeholder(text, start, end, kind, pattern=rest)
    if kind == "dateTimeZone":
        match = _ZONE_PREFIX.match(rest)
        if match is None or not rest[match.end() :]:
            raise ValueError(f"placeholder {text!r} must read ${{dateTimeZone:ZONE:FORMAT}}")
        return Placeholder(text, start, end, kind, pattern=rest[match.end() :], zone=match.group(1))
    raise ValueError(f"unknown placeholder {text!r}: supported are {_SUPPORTED}")


def template_placeholders(template: str) -> list[Placeholder]:
    """List the placeholders of a template, in order; ValueError for a malformed or unknown one."""
    found: list[Placeholder] = []
    start = template.find("${")
    while start != -1:
        end = _find_end(template, start)
        found.append(_parse(template[start:end], start))
        start = template.find("${", end)
    return found


def validate_template(template: str) -> None:
    """Check every placeholder (kind, Java pattern, zone); ValueError names the offending one."""
    for placeholder in template_placeholders(template):
        try:
            if placeholder.pattern is not None:
                compile_pattern(placeholder.pattern)
            if placeholder.zone is not None:
                resolve_zone(placeholder.zone)
        except ValueError as exc:
            raise ValueError(f"placeholder {placeholder.text!r}: {exc}") from None


def render_value(placeholder: str | Placeholder, since: datetime, tz: str = "UTC") -> str:
    """Render one placeholder at ``since`` (aware), raw and unencoded; ``tz`` serves ``${date:...}``."""
    if since.tzinfo is None:
        raise ValueError("since must be timezone-aware")
    parsed = placeholder if isinstance(placeholder, Placeholder) else _parse(placeholder.strip())
    if parsed.kind == "epoch":
        micros = (since - _EPOCH_START) // timedelta(microseconds=1)
        return str(micros // _EPOCH_UNITS[parsed.unit or "ms"])
    zone = {"date": tz, "gmtDate": "GMT"}.get(parsed.kind, parsed.zone or tz)
    return compile_pattern(parsed.pattern or "").format(since, zone)


def render_text(template: str, *, since: datetime, tz: str = "UTC") -> str:
    """Replace every placeholder with its raw value; the rest of the text is kept as is."""
    return _substitute(template, since, tz, lambda value: value)


def render_url(template: str, *, since: datetime, tz: str = "UTC", encode_colon: bool = False) -> str:
    """Render a resource URL: each placeholder's value is percent-encoded, the rest kept verbatim.

    ``+`` becomes ``%2B`` (a raw ``+`` in a query reads back as a space), space ``%20``, comma
    ``%2C``, slash ``%2F``. Colons stay raw unless ``encode_colon``: RFC 3986 allows them in a
    query, and BigCommerce's v3 customers endpoint reportedly rejects ``%3A`` in date values
    (bigcommerce/docs#620), while no endpoint is known to reject a raw colon.
    """
    safe = "" if encode_colon else ":"
    return _substitute(template, since, tz, lambda value: quote(value, safe=safe))


def _substitute(template: str, since: datetime, tz: str, encode: Callable[[str], str]) -> str:
    parts: list[str] = []
    position = 0
    for placeholder in template_placeholders(template):
        parts.append(template[position : placeholder.start])
        parts.append(encode(render_value(placeholder, since, tz)))
        position = placeholder.end
    parts.append(template[position:])
    return "".join(parts)
