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
from datetime import datetime
from itertools import pairwise
from typing import Any

from bcevents.compat.classify import dotted
from bcevents.compat.configuration import ResourceConfig
from bcevents.errors import StoreRequestFailed
from bcevents.polling.window import ONE_SECOND, DateBounds, ResourcePass


class DateKeyset:
    """Page by modification date, a checkpoint after every full page."""

    def __init__(self, p: ResourcePass) -> None:
        self.p = p

    def run(self) -> None:
        """Page from the watermark to the window's end.

        ``since`` is the second the next page starts at (included, whatever the store's bounds
        mean: see ``DateBounds``). After a page ending on second L the next starts at L again,
        since more records may share it; ``seen`` skips those already reported.
        """
        p = self.p
        since = p.lower
        full_pages = 0
        while True:
            wide = not p.bounds.min_inclusive
            records = p.fetch(p.params(since, page=1)).records
            dates = [d for d in p.report_page(records, since, p.until) if d is not None]
            if not records and full_pages:
                # An empty answer right after a full page (v2's 204): an exact multiple of the
                # page size, or a store that stopped short. Trust it only as far as we read.
                p.checkpoint(since)
                return
            if len(records) < p.limit or any(d > p.until for d in dates):
                break  # the end, or records newer than the window (the next run has them)
            full_pages += 1
            first, last = min(dates, default=since), max(dates, default=since)
            if last <= since and wide and p.bounds.min_inclusive:
                # Nothing after `since`, but the bound, sent a second wide, has just proved
                # inclusive: the page may be full of the second before. Ask from `since` itself
                # (after a checkpoint: what this page reported is not repeated by a later run).
                p.checkpoint(since)
                continue
            if last < since.replace(microsecond=0):
                raise StoreRequestFailed(
                    f"{p.plan.path} answered a full page older than {p.plan.since_key}: it ignores "
                    "the bound, and paging on would read the same page forever"
                )
            if first == last or last <= since:
                # A whole page shares one second (or holds nothing after `since`): drain that
                # second in id order, then move past it. The checkpoint first: the page's events
                # were handed on, and a run that stops during the drain must not repeat them.
                second = max(last, since.replace(microsecond=0))
                p.checkpoint(second)
                SameSecondDrain(p, second).run()
                since = second + ONE_SECOND
            else:
                since = last
            if since > p.until:
                break  # records without a readable date filled the pages up to the window's end
            p.checkpoint(since)
        p.finish(p.until)


class SameSecondDrain:
    """Every record of one second, in id order; ``seen`` makes a repeated page harmless."""

    def __init__(self, p: ResourcePass, second: datetime) -> None:
        self.p = p
        self.second = second

    def run(self) -> None:
        """Drain the second, checkpointing (at that second) after every full page.

        The second is asked for exactly first (``min = max = second``): the page before held
        records of it, so an answer proves both bounds inclusive (and spares the re-read of
        this second a bound sent wide would cost later), and an empty one means a bound is not:
        the drain asks again a second either side, and ``report_page`` cuts the neighbours an
        inclusive bound adds. The query is then fixed for the whole drain (a cursor belongs to
        the query it came from). Where the endpoint has no id filter (v3 customers) the drain
        follows the store's cursor, never page numbers: a record that changes leaves the
        second and would shift every later page back by one.
        """
        p, second = self.p, self.second
        known = p.bounds.frozen()
        probing = not ((known.min_inclusive and known.max_inclusive) or known.not_both_inclusive)
        bounds = (
            DateBounds(min_inclusive=True, max_inclusive=True, ids_inclusive=known.ids_inclusive)
            if probing
            else known
        )
        keyset = id_keyset(p)
        after: int | None = None
        cursor: str | None = None
        while True:
            params = p.params(second, page=1, until=second, by_id=True, bounds=bounds)
            if keyset and after is not None:
                params = replacing(params, keyset(after))
            elif cursor is not None:
                params.append(("after", cursor))
            listing = p.fetch(params)
            if probing:
                probing = False
                if not listing.records:
                    p.bounds.not_both_inclusive = True  # (asked once a pass)
                    bounds = p.bounds.frozen()  # a second either side
                    continue
            p.report_page(past(listing.records, after, p.resource), second, second)
            if len(listing.records) < p.limit:
                return
            if keyset:
                after = next_after(listing.records, p, after)
            else:
                cursor = end_cursor(listing.meta)
                if cursor is None:
                    raise StoreRequestFailed(
                        f"{p.plan.path} answered a full page of one second without "
                        "meta.cursor_pagination.end_cursor; that second cannot be paged without "
                        "losing records (page numbers shift when a record changes)"
                    )
            p.checkpoint(second)  # `seen` holds this second's reported records: a repeat skips them


class PinnedWindow:
    """Page by id (or page number) inside a window pinned for the whole pass."""

    def __init__(self, p: ResourcePass) -> None:
        self.p = p

    def run(self) -> None:
        """A pass over the pinned window, resumable from the last id; a resumed pass that ends at
        its old pinned end is followed by a pass up to now (a complete run reads everything
        settled when it started).

        An endpoint that lists out of id order cannot be paged by id: the pass falls back to
        page numbers (and repeats itself if records moved meanwhile, as raw URLs do).
        """
        while self.one_pass() < self.p.until:
            pass

    def one_pass(self) -> datetime:
        """One pass; the end of the window it completed (the window's start if it must repeat)."""
        p = self.p
        wm = p.watermark
        until = wm.pass_until or p.until
        since = p.lower
        keyset = None if p.plan.raw and not p.plan.until_key else id_keyset(p)
        page = 1
        moved = False
        versions: dict[str, datetime | None] = {}  # what a pass paged by number read, by id
        while True:
            params = p.params(since, page=1 if keyset else page, until=until)
            if keyset and wm.after_id is not None:
                params = replacing(params, keyset(wm.after_id))
            records = p.fetch(params).records
            fresh = past(records, wm.after_id if keyset else None, p.resource)
            dates = p.report_page(fresh, since, until)
            if not keyset:
                moved |= came_back_changed(fresh, dates, versions, p.resource)
            if keyset and not in_id_order(records, p.resource):
                keyset, page, wm.after_id = None, 1, None  # page numbers from the start; `seen` skips repeats
                continue
            if len(records) < p.limit:
                break
            if keyset:
                wm.after_id = next_after(records, p, wm.after_id)
                wm.pass_until = until
                p.save()
            page += 1
        wm.pass_until, wm.after_id = None, None
        if moved and not keyset:
            # A record this pass had read came back changed: it left its place, and the pages
            # after it shifted back by one, past a record maybe. Keep the lower bound (what was
            # reported is in `seen`): the next run repeats the pass and reports only what this
            # one missed. (A record that is merely new, or changed before it was read, shifted
            # nothing that was still to be read.)
            p.save()
            return p.until
        p.finish(until)
        return until


def int_id(record: dict[str, Any], resource: ResourceConfig) -> int:
    """A record's id as a number (0 if it is not one), for the id keyset."""
    value = dotted(record, resource.id_field)
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def past(records: list[dict[str, Any]], after: int | None, resource: ResourceConfig) -> list[dict[str, Any]]:
    """The records of a page of an id keyset without the one it was asked after (an inclusive
    ``min_id`` sends it again; it was handled on the page before, or before a resumed run)."""
    if after is None:
        return records
    return [r for r in records if int_id(r, resource) != after]


def came_back_changed(
    records: list[dict[str, Any]],
    dates: list[datetime | None],
    versions: dict[str, datetime | None],
    resource: ResourceConfig,
) -> bool:
    """Note what a page read, by id; whether a record read earlier in the pass came back with a
    newer date (it moved in the listing: the pages after its old place shifted back by one)."""
    moved = False
    for record, date in zip(records, dates, strict=True):
        key = repr(dotted(record, resource.id_field))
        before = versions.get(key)
        moved |= before is not None and date is not None and date > before
        versions[key] = date
    return moved


def replacing(params: list[tuple[str, str]], pair: tuple[str, str]) -> list[tuple[str, str]]:
    """The query with ``pair`` instead of any value of its key (a URL that filters ids already
    sets ``min_id``/``id:greater``; a repeated key's meaning is undocumented)."""
    return [item for item in params if item[0] != pair[0]] + [pair]


def in_id_order(records: list[dict[str, Any]], resource: ResourceConfig) -> bool:
    """Whether a page came in ascending id order (what paging by id rests on)."""
    ids = [int_id(r, resource) for r in records]
    return all(a < b for a, b in pairwise(ids))


def next_after(records: list[dict[str, Any]], p: ResourcePass, after: int | None) -> int:
    """The id the next page of an id keyset starts after; a page out of id order fails the
    resource (its ids cannot say what is left), never skips silently."""
    if not in_id_order(records, p.resource):
        raise StoreRequestFailed(f"{p.plan.path} listed a page out of id order although asked for it")
    ids = [int_id(r, p.resource) for r in records]
    # v2's min_id is sent at `after` itself until that record comes back (proof it is inclusive).
    p.bounds.ids_inclusive |= after is not None and after in ids
    return max(ids, default=after or 0)


def end_cursor(meta: dict[str, Any]) -> str | None:
    """The cursor of the page after this one (v3 ``meta.cursor_pagination.end_cursor``), if any."""
    cursor = (meta.get("cursor_pagination") or {}).get("end_cursor")
    return cursor if isinstance(cursor, str) and cursor else None


def id_keyset(p: ResourcePass) -> Callable[[int], tuple[str, str]] | None:
    """The filter that resumes an id-ordered listing after a given id, where the endpoint has one."""
    plan = p.plan
    if plan.version == 2:
        # Whether v2's min_id is inclusive is undocumented: ask from `after` itself until that
        # record comes back (`seen` skips it), then from the next id.
        return lambda after: ("min_id", str(after + 1 if p.bounds.ids_inclusive else after))
    if plan.path == "/catalog/products":
        return lambda after: ("id:greater", str(after))
    return None  # v3 customers filter ids only by list: page numbers within the pinned second
