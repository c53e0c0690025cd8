"""One resource's pass over its window: the window, its pages' queries, their events, checkpoints.

The window runs from the watermark (minus ``pollDelay``) up to the store's clock minus a settle
lag. A strategy (``polling.strategies``) decides which pages to ask for; this turns each page
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
        self, since: datetime, *, page: int, until: datetime | None = None, by_id: bool = False
    ) -> list[tuple[str, str]]:
        """The query of one page: the window (``by_id``: in id order), the page size, the page."""
        if self.plan.raw:
            _path, params = planner.render_raw(self.plan, since, self.resource.dates.updated_date_timezone)
            keys = {key for key, _ in params}
            params += [(k, v) for k, v in (("limit", str(self.limit)), ("page", str(page))) if k not in keys]
            return params
        upper = until if until is not None else self.until
        params = planner.render_params(
            self.plan,
            since=since,
            until=upper if self.resource.filter_by_current_date or by_id else None,
            page=page,
            limit=self.limit,
        )
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
    def report_page(self, records: list[dict[str, Any]], until: datetime) -> list[datetime | None]:
        """Turn a page into events, skip what was reported before, publish them; the records'
        window dates, in order. Records changed after ``until`` (the window's end) are left for
        the next run: the store may still be writing that second."""
        self.report.records += len(records)
        lower = self.lower.replace(microsecond=0)
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
                continue  # not changed since the last poll (an endpoint that ignores the filter)
            key = oid if oid is not None else repr(dotted(record, self.resource.id_field))
            if self.watermark.was_seen(key, updated):
                continue
            changes.append(
                ChangeEvent(event_type_given(record, self.resource, updated), oid or "", updated, record)
            )
            self.watermark.remember(key, updated)
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
