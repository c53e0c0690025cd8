"""Selecting one page of records: filters, sort, offset and cursor paging.

A listing walks a list already sorted by (sort field, id); a date or id bound on the sort field
narrows it by bisection first, so a poller's windowed, date-sorted page costs O(log n + page)
even over 50 000 orders. Ties on the sort field are broken by id, in the same direction, unless
the store's `tie_order` setting says otherwise (`Selection.ties`).
"""

from __future__ import annotations

import base64
import json
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bcsandbox.errors import ApiError
from bcsandbox.records import Record

Predicate = Callable[[Record], bool]


@dataclass
class Bound:
    """A range on one integer field (`id`, `date_created` or `date_modified`)."""

    field: str
    lo: int | None = None
    hi: int | None = None
    lo_inclusive: bool = True
    hi_inclusive: bool = True

    def tighten(self, other: Bound) -> None:
        """Intersect with another bound on the same field."""
        if other.lo is not None and (self.lo is None or other.lo > self.lo):
            self.lo, self.lo_inclusive = other.lo, other.lo_inclusive
        if other.hi is not None and (self.hi is None or other.hi < self.hi):
            self.hi, self.hi_inclusive = other.hi, other.hi_inclusive

    def admits(self, value: int) -> bool:
        """Whether a value lies inside the bound."""
        if self.lo is not None and (value < self.lo or (value == self.lo and not self.lo_inclusive)):
            return False
        return not (self.hi is not None and (value > self.hi or (value == self.hi and not self.hi_inclusive)))


@dataclass
class Selection:
    """What one list request asks for."""

    sort_field: str = "id"
    descending: bool = False
    bounds: dict[str, Bound] = field(default_factory=dict)
    predicates: list[Predicate] = field(default_factory=list)
    page: int = 1
    limit: int = 50
    after: tuple[Any, int] | None = None
    before: tuple[Any, int] | None = None
    #: How records sharing a sort value are ordered: "id", "reverse", "scrambled" (one arbitrary
    #: order) or "unstable" (a new arbitrary order per request, drawn by the table).
    ties: str = "id"
    salt: int = 0

    def bound(self, new: Bound) -> None:
        """Add a bound, intersecting with any already on that field."""
        if new.field in self.bounds:
            self.bounds[new.field].tighten(new)
        else:
            self.bounds[new.field] = new


@dataclass
class Page:
    """One page of a listing and what paging metadata needs."""

    records: list[Record]
    total: int
    more_after: bool
    more_before: bool


_MIX = 0x9E3779B97F4A7C15  # Fibonacci hashing: neighbouring ids land far apart
_MASK = (1 << 64) - 1


def tiebreak(ties: str, salt: int = 0) -> Callable[[int], int]:
    """The number that orders records sharing a sort value, from their id."""
    if ties == "id":
        return lambda rid: rid
    if ties == "reverse":
        return lambda rid: -rid
    return lambda rid: ((rid ^ salt) * _MIX) & _MASK


def sort_key(sort_field: str, ties: str = "id", salt: int = 0) -> Callable[[Record], tuple[Any, int]]:
    """The (value, tiebreak) key a listing sorted on `sort_field` is ordered by."""
    if sort_field == "id":
        return lambda r: (r.id, r.id)
    tie = tiebreak(ties, salt)
    if sort_field == "date_modified":
        return lambda r: (r.modified, tie(r.id))
    if sort_field == "date_created":
        return lambda r: (r.created, tie(r.id))

    def key(r: Record) -> tuple[Any, int]:
        value = r.data.get(sort_field)
        # Mixed None/str/number values cannot be compared; sort them as text after numbers.
        if isinstance(value, bool | int | float):
            return ((0, value, ""), tie(r.id))
        return ((1, 0, "" if value is None else str(value)), tie(r.id))

    return key


def select(ordered: list[Record], sel: Selection) -> Page:
    """One page of `ordered` (ascending by `sort_key(sel.sort_field, sel.ties, sel.salt)`)
    matching `sel`."""
    key = sort_key(sel.sort_field, sel.ties, sel.salt)
    lo, hi = 0, len(ordered)
    narrow = sel.bounds.get(sel.sort_field)
    if narrow is not None:
        lo, hi = _narrow(ordered, key, narrow, lo, hi)
    rest = [b for name, b in sel.bounds.items() if name != sel.sort_field]
    cursor_lo, cursor_hi = lo, hi
    if sel.after is not None:
        if sel.descending:
            cursor_hi = min(hi, bisect_left(ordered, sel.after, lo, hi, key=key))
        else:
            cursor_lo = max(lo, bisect_right(ordered, sel.after, lo, hi, key=key))
    if sel.before is not None:
        if sel.descending:
            cursor_lo = max(cursor_lo, bisect_right(ordered, sel.before, lo, hi, key=key))
        else:
            cursor_hi = min(cursor_hi, bisect_left(ordered, sel.before, lo, hi, key=key))

    window = ordered[cursor_lo:cursor_hi]
    if sel.descending:
        window.reverse()
    if rest or sel.predicates:
        window = [r for r in window if _keep(r, rest, sel.predicates)]

    if sel.after is not None or sel.before is not None:
        # Cursor pages: `before` takes the page just ahead of the cursor.
        if sel.before is not None and sel.after is None:
            chosen = window[-sel.limit :]
            return Page(chosen, len(window), True, len(window) > sel.limit)
        return Page(window[: sel.limit], len(window), len(window) > sel.limit, True)
    start = (sel.page - 1) * sel.limit
    chosen = window[start : start + sel.limit]
    return Page(chosen, len(window), start + sel.limit < len(window), sel.page > 1)


def _narrow(
    ordered: list[Record], key: Callable[[Record], tuple[Any, int]], b: Bound, lo: int, hi: int
) -> tuple[int, int]:
    def first(r: Record) -> Any:
        return key(r)[0]

    if b.lo is not None:
        finder = bisect_left if b.lo_inclusive else bisect_right
        lo = finder(ordered, b.lo, lo, hi, key=first)
    if b.hi is not None:
        finder = bisect_right if b.hi_inclusive else bisect_left
        hi = max(lo, finder(ordered, b.hi, lo, hi, key=first))
    return lo, hi


def _keep(record: Record, bounds: list[Bound], predicates: list[Predicate]) -> bool:
    for b in bounds:
        if not b.admits(record.value(b.field)):
            return False
    return all(p(record) for p in predicates)


def encode_cursor(record: Record, sel: Selection) -> str:
    """An opaque keyset cursor naming a record's place in the sort order."""
    sort_field = sel.sort_field
    value, rid = sort_key(sort_field, sel.ties, sel.salt)(record)
    raw = json.dumps([sort_field, value, rid], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, sort_field: str, name: str) -> tuple[Any, int]:
    """The sort position a cursor names; a cursor from another sort order is refused."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        field_name, value, rid = json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise ApiError(422, "Invalid cursor", field=name) from exc
    if field_name != sort_field or not isinstance(rid, int):
        raise ApiError(422, "Invalid cursor", field=name)
    if isinstance(value, list):
        value = tuple(value)
    return value, rid
