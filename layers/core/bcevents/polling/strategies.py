"""The three ways a pass pages through its window, one class each.

* :class:`DateKeyset`: endpoints that sort by date ascending. Each page starts at the last
  modification date seen (inclusive) and skips the (id, date) pairs already reported, so a
  record that changes while we page moves forward and is met again, never skipped.
* :class:`SameSecondDrain`: a keyset page made only of one timestamp cannot move the date on;
  that second is drained in id order (an id keyset, v3 customers' cursor, or page numbers), then
  the keyset moves past it.
* :class:`PinnedWindow`: endpoints that cannot sort by date (v2 products and customers, raw
  URLs) are paged by id, or by page number, inside a window pinned for the whole pass and
  resumable from the last id.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bcevents.bigcommerce import planner
from bcevents.compat.classify import dotted
from bcevents.compat.configuration import ResourceConfig
from bcevents.polling.window import ResourcePass

ONE_SECOND = timedelta(seconds=1)


class DateKeyset:
    """Page by modification date, a checkpoint after every full page."""

    def __init__(self, p: ResourcePass) -> None:
        self.p = p

    def run(self) -> None:
        """Page from the watermark to the window's end."""
        p = self.p
        cursor = p.lower
        full_pages = 0
        while True:
            records = p.fetch(p.params(cursor, page=1)).records
            dates = [d for d in p.report_page(records, p.until) if d is not None]
            if not records and full_pages:
                # An empty answer right after a full page (v2's 204): an exact multiple of the
                # page size, or a store that stopped short. Trust it only as far as we read.
                p.checkpoint(cursor)
                return
            if len(records) < p.limit or any(d > p.until for d in dates):
                break  # the end, or records newer than the window (the next run has them)
            full_pages += 1
            first, last = min(dates, default=cursor), max(dates, default=cursor)
            if first == last:
                # A whole page shares one timestamp (and nothing older is left): drain that
                # second in id order, then move past it.
                SameSecondDrain(p, last).run()
                cursor = last + ONE_SECOND
            else:
                cursor = last
            p.checkpoint(cursor)
        p.finish(p.until)


class SameSecondDrain:
    """Every record of one second, in id order; ``seen`` makes a repeated page harmless."""

    def __init__(self, p: ResourcePass, second: datetime) -> None:
        self.p = p
        self.second = second

    def run(self) -> None:
        """Drain the second, checkpointing (at that second) after every full page."""
        p, second = self.p, self.second
        keyset = id_keyset(p.plan)
        after: int | None = None
        cursor: str | None = None
        page = 1
        while True:
            params = p.params(second, page=1 if keyset or cursor else page, until=second, by_id=True)
            if keyset and after is not None:
                params.append(keyset(after))
            elif cursor is not None:
                # v3 customers filter ids only by list: their cursor (unlike a page number) does
                # not shift when a record of this second changes, and so leaves it, meanwhile.
                params.append(("after", cursor))
            listing = p.fetch(params)
            p.report_page(listing.records, second)
            if len(listing.records) < p.limit:
                return
            after = max((int_id(r, p.resource) for r in listing.records), default=after)
            cursor = end_cursor(listing.meta)
            p.checkpoint(second)  # `seen` holds this second's reported records: a repeat skips them
            page += 1


class PinnedWindow:
    """Page by id (or page number) inside a window pinned for the whole pass."""

    def __init__(self, p: ResourcePass) -> None:
        self.p = p

    def run(self) -> None:
        """One pass over the pinned window, resumable from the last id."""
        p = self.p
        wm = p.watermark
        until = wm.pass_until or p.until
        since = p.lower
        keyset = None if p.plan.raw else id_keyset(p.plan)
        page = 1
        moved = False
        while True:
            params = p.params(since, page=1 if keyset else page, until=until)
            if keyset and wm.after_id is not None:
                params.append(keyset(wm.after_id))
            records = p.fetch(params).records
            moved |= any(d is not None and d > until for d in p.report_page(records, until))
            if len(records) < p.limit:
                break
            if keyset:
                wm.after_id = max((int_id(r, p.resource) for r in records), default=wm.after_id)
                wm.pass_until = until
                p.save()
            page += 1
        wm.pass_until, wm.after_id = None, None
        if moved and not keyset:
            # Records changed during (or just before) a pass paged by number: the pages may have
            # shifted past one. Keep the lower bound (what was reported is in `seen`): the next
            # run repeats the pass and reports only what this one missed.
            p.save()
            return
        p.finish(until)


def int_id(record: dict[str, Any], resource: ResourceConfig) -> int:
    """A record's id as a number (0 if it is not one), for the id keyset."""
    value = dotted(record, resource.id_field)
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def end_cursor(meta: dict[str, Any]) -> str | None:
    """The cursor of the page after this one (v3 ``meta.cursor_pagination.end_cursor``), if any."""
    cursor = (meta.get("cursor_pagination") or {}).get("end_cursor")
    return cursor if isinstance(cursor, str) and cursor else None


def id_keyset(plan: planner.ResourcePlan) -> Callable[[int], tuple[str, str]] | None:
    """The filter that resumes an id-ordered listing after a given id, where the endpoint has one."""
    if plan.version == 2:
        return lambda after: ("min_id", str(after + 1))  # v2 id bounds are inclusive
    if plan.path == "/catalog/products":
        return lambda after: ("id:greater", str(after))
    return None  # v3 customers filter ids only by list: page numbers within the pinned second
