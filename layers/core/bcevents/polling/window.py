"""One resource's pass over its window: the window, its pages' queries, their events, checkpoints.

The window runs from the watermark (minus ``pollDelay``) up to the store's clock minus a settle
lag. BigCommerce does not say whether its ``min``/``max`` date filters are inclusive, so each is
sent one second wider than the window until an answer proves it inclusive (:class:`DateBounds`),
and every page is cut to the window here: the window is read whole either way. A strategy (``polling.strategies``) decides which pages to ask for; this turns each page
into events for the sink, skipping what was reported before, and checkpoints the watermark
through the sink only after a page's events were handed on: a crash repeats at most one page.
Nothing here touches AWS; the store is reached through the client the run hands in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bcevents.bigcommerce import endpoints, planner
from bcevents.bigcommerce.client import BigCommerceClient, Page
from bcevents.compat.classify import dotted, event_type_given, object_id, read_date, updated_date
from bcevents.compat.configuration import ResourceConfig
from bcevents.compat.envelope import ChangeEvent
from bcevents.polling.report import ResourceReport
from bcevents.polling.sink import Sink
from bcevents.polling.watermark import Watermark
from bcevents.settings import get_settings

#: A run stops taking new pages when less than this is left (the checkpoint and the lease release
#: must still fit); the next run resumes from the checkpoint.
DEADLINE_MARGIN_SECONDS = 15.0
#: A window that long finds nothing is still written down once (windows stay short).
STALE_WINDOW = timedelta(days=1)


#: The resolution of BigCommerce's date filters and dates.
ONE_SECOND = timedelta(seconds=1)


@dataclass
class DateBounds:
    """What the store's ``min``/``max`` date filters turned out to mean, learnt from its answers.

    Until a record dated exactly on a bound we sent comes back (proof that the bound is
    inclusive), the bound is sent one second outside the window: an exclusive store then answers
    exactly the window, an inclusive one a second more, which :meth:`ResourcePass.report_page`
    drops. Exclusivity can never be proved (an empty second looks the same), so it is never
    assumed.
    """

    min_inclusive: bool = False
    max_inclusive: bool = False
    #: v2's ``min_id`` (the id keyset), proved inclusive the same way.
    ids_inclusive: bool = False
    #: A second known to hold records, asked for exactly, came back empty: a bound is exclusive.
    not_both_inclusive: bool = False

    def query_min(self, since: datetime) -> datetime:
        """The ``min`` to send for a window that starts at ``since`` (included)."""
        since = since.replace(microsecond=0)
        return since if self.min_inclusive else since - ONE_SECOND

    def query_max(self, until: datetime) -> datetime:
        """The ``max`` to send for a window that ends at ``until`` (included)."""
        until = until.replace(microsecond=0)
        return until if self.max_inclusive else until + ONE_SECOND

    def learn(self, sent: tuple[datetime | None, datetime | None], dates: list[datetime | None]) -> None:
        """Note a bound proved inclusive by a record dated exactly on it."""
        low, high = sent
        self.min_inclusive |= low is not None and low in dates
        self.max_inclusive |= high is not None and high in dates

    def frozen(self) -> DateBounds:
        """A copy that later answers do not change (one query for a whole cursor-paged drain)."""
        return DateBounds(self.min_inclusive, self.max_inclusive, self.ids_inclusive, self.not_both_inclusive)


class OutOfTime(Exception):
    """The run is about to hit its time limit; stop cleanly (everything done so far is saved)."""


@dataclass
class Store:
    """The store as one run sees it: its client and API roots, its clock, and the run's time left."""

    client: BigCommerceClient
    base: endpoints.StoreBase
    now: datetime
    remaining_seconds: Callable[[], float]


class ResourcePass:
    """One resource's pass over its window; the strategies page, this turns pages into events."""

    def __init__(
        self,
        store: Store,
        sink: Sink,
        name: str,
        resource: ResourceConfig,
        stored: Mapping[str, Any] | None,
        report: ResourceReport,
        *,
        created_at: datetime,
    ) -> None:
        """``created_at``: when the resource was added (its first window starts there, unless
        ``backfillFrom`` says otherwise)."""
        self.store = store
        self.sink = sink
        self.name = name
        self.resource = resource
        self.report = report
        self.plan = planner.plan_request(resource.url, store.base.kind)
        start = resource.backfill_from or created_at
        self.watermark = Watermark.from_item(stored) if stored else Watermark(updated_at=start)
        self.until = store.now - timedelta(seconds=get_settings().poll_settle_seconds)
        self.limit = min(resource.page_size, self.plan.max_limit)
        self._resumed = stored is not None and stored.get("pass_until") is not None
        self._wrote = False
        self.bounds = DateBounds()
        #: Where this pass's window starts (the watermark moves on as pages are checkpointed).
        self.start = self.lower
        #: The date bounds of the last query (None where none was sent), to learn from its answer.
        self._sent: tuple[datetime | None, datetime | None] = (None, None)

    @property
    def settled(self) -> bool:
        """Whether nothing new can be settled yet (or the store's clock went back)."""
        return self.until <= self.watermark.updated_at

    @property
    def lower(self) -> datetime:
        """The window's lower bound: the watermark, ``pollDelay`` earlier."""
        return self.watermark.updated_at - timedelta(seconds=self.resource.poll_delay)

    # -- asking the store -------------------------------------------------------------------------
    def params(
        self,
        since: datetime,
        *,
        page: int,
        until: datetime | None = None,
        by_id: bool = False,
        bounds: DateBounds | None = None,
    ) -> list[tuple[str, str]]:
        """The query of one page of the window from ``since`` (``by_id``: in id order), the page
        size, the page. ``bounds`` (default: what this pass learnt) says how wide to send them.
        Other placeholders of the URL (``date_created>='${...}'``) are the window's start."""
        bounds = bounds or self.bounds
        if self.plan.raw:
            # A raw URL's placeholders may sit in any filter, inclusive or not: a second early
            # (the page is cut to the window below).
            at = since.replace(microsecond=0) - ONE_SECOND
            _path, params = planner.render_raw(self.plan, at, self.resource.dates.updated_date_timezone)
            high = None
            if self.plan.until_key:  # pinned and paged by id like the hub's (planner._raw_upper_key)
                high = bounds.query_max(until if until is not None else self.until)
                params.append((self.plan.until_key, planner.encode_date(high, self.plan.date_encoding)))
                params += list(endpoints.id_sort(self.plan))
            params += [("limit", str(self.limit)), ("page", str(page))]
            self._sent = (None, high)
            return params
        upper = until if until is not None else self.until
        low = bounds.query_min(since)
        high = bounds.query_max(upper) if self.resource.filter_by_current_date or by_id else None
        params = planner.render_params(
            self.plan,
            since=low,
            until=high,
            page=page,
            limit=self.limit,
            also_since=bounds.query_min(self.start),
        )
        self._sent = (low, high)
        if by_id:
            sort_keys = {key for key, _ in self.plan.sort}
            params = [p for p in params if p[0] not in sort_keys] + list(endpoints.id_sort(self.plan))
        return params

    def fetch(self, params: list[tuple[str, str]]) -> Page:
        """One page, unless the run is about to run out of time."""
        if self.store.remaining_seconds() < DEADLINE_MARGIN_SECONDS:
            raise OutOfTime(self.name)
        return self.store.client.list_page(planner.build_url(self.store.base, self.plan, params))

    # -- turning a page into events ---------------------------------------------------------------
    def report_page(
        self, records: list[dict[str, Any]], since: datetime, until: datetime
    ) -> list[datetime | None]:
        """Turn a page into events, skip what was reported before, publish them; the records'
        window dates, in order. Only records of the window ``[since, until]`` are reported:
        older ones came back because a bound was sent wide (or the endpoint ignores it), newer
        ones are left for the next run (the store may still be writing that second)."""
        self.report.records += len(records)
        lower = since.replace(microsecond=0)
        changes: list[ChangeEvent] = []
        windows: list[datetime | None] = []
        for record in records:
            oid = object_id(record, self.resource)
            updated = updated_date(record, self.resource)
            window = self._window_date(record, updated)
            windows.append(window)
            if window is not None and window > until:
                continue
            if window is not None and window < lower:
                continue  # before the window: a bound sent one second wide, or ignored
            key = oid if oid is not None else repr(dotted(record, self.resource.id_field))
            if self.watermark.was_seen(key, updated):
                continue
            changes.append(
                ChangeEvent(event_type_given(record, self.resource, updated), oid or "", updated, record)
            )
            self.watermark.remember(key, updated)
        self.bounds.learn(self._sent, windows)
        if changes:
            self.sink.publish(self.name, changes)
            self.report.events += len(changes)
        return windows

    def _window_date(self, record: dict[str, Any], updated: datetime | None) -> datetime | None:
        """The date the store filters and sorts on (what the keyset moves by)."""
        if self.plan.raw or self.plan.date_field == self.resource.dates.updated_date_field:
            return updated  # the same field: read once (dates are the hot path)
        return read_date(record, self.plan.date_field, None, "UTC")

    # -- checkpoints ------------------------------------------------------------------------------
    def checkpoint(self, to: datetime) -> None:
        """Move the watermark to ``to`` and save it."""
        self.watermark.advance(to, self.resource.poll_delay)
        self.save()

    def finish(self, until: datetime) -> None:
        """Close a complete pass. A pass that found nothing is not written down: the next window
        just starts earlier and still costs one request, and an idle poll then costs no write
        (the cost model's largest saving). Once a day the bound moves on anyway, so windows
        stay short."""
        stale = until - self.watermark.updated_at > STALE_WINDOW
        if self.report.events or self._resumed or self._wrote or stale:
            self.checkpoint(until)
        self.report.polled_through = until.isoformat()

    def save(self) -> None:
        """Save the watermark as it is (a resumable pass's progress included), bounded."""
        self._wrote = True
        self.watermark.bound()
        self.sink.checkpoint(self.name, self.watermark)
