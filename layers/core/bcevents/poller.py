"""The poll of one instance: ask BigCommerce what changed, enqueue notifications, checkpoint.

Per resource, each run reads the window from the watermark (minus ``pollDelay``) up to the
store's clock minus a settle lag, and pages through it:

* endpoints that sort by date ascending are paged by keyset: each page starts at the last
  modification date seen (inclusive) and skips the (id, date) pairs already reported, so a
  record that changes while we page moves forward and is met again, never skipped; a page
  made only of one timestamp is drained by id within that second before moving on;
* endpoints that cannot sort by date (v2 products and customers, raw URLs) are paged by id
  (or page number) inside a pinned window, resumable from the last id.

After each page its events are recorded, enqueued (notifications of at most ten events) and
only then is the watermark checkpointed, under the lease: a crash repeats at most one page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bcevents import eventlog, hub
from bcevents.bigcommerce import BigCommerceClient, Page
from bcevents.classify import dotted, event_type_given, object_id, read_date, updated_date
from bcevents.configuration import InstanceConfiguration, ResourceConfig
from bcevents.envelope import ChangeEvent, InstanceInfo, build_notifications, to_sqs_entry
from bcevents.errors import StoreRequestFailed, StoreUnavailable
from bcevents.observability import logger
from bcevents.queue import send_entries
from bcevents.settings import get_settings
from bcevents.storage import Item, Storage
from bcevents.watermark import Watermark

#: A run stops taking new pages when less than this is left (the checkpoint and the lease release
#: must still fit); the next run resumes from the checkpoint.
DEADLINE_MARGIN_SECONDS = 15.0
ONE_SECOND = timedelta(seconds=1)
STALE_WINDOW = timedelta(days=1)


class OutOfTime(Exception):
    """The run is about to hit its time limit; stop cleanly (everything done so far is saved)."""


@dataclass
class ResourceReport:
    """What one resource's poll did (times are ISO 8601 strings: the report is the run's JSON answer)."""

    resource: str
    requests: int = 0
    events: int = 0
    complete: bool = False
    error: str | None = None
    records: int = 0  # records the store listed (events are those not reported before)
    started_at: str | None = None
    finished_at: str | None = None
    polled_through: str | None = None  # the window's upper bound, once a pass over it is complete


@dataclass
class PollContext:
    """Everything a resource poll needs that does not change during the run."""

    instance_id: str
    instance: InstanceInfo
    kind: hub.AccountKind
    base: hub.StoreBase
    client: BigCommerceClient
    storage: Storage
    lease_owner: str
    lease_token: int
    store_now: datetime
    remaining_seconds: Callable[[], float]
    created_at: datetime
    reports: list[ResourceReport] = field(default_factory=list)


def instance_info(item: Item) -> InstanceInfo:
    """What the envelope says about an instance."""
    return InstanceInfo(
        instance_id=item["id"],
        name=item["name"],
        tags=list(item.get("tags", [])),
        org_id=item["org_id"],
        user_id=item.get("user_id", ""),
    )


def poll_resources(ctx: PollContext, config: InstanceConfiguration) -> list[ResourceReport]:
    """Poll every resource of the instance; a resource the store refuses does not stop the others."""
    watermarks = ctx.storage.get_watermarks(ctx.instance_id)
    for name, resource in config.poller_resources().items():
        report = ResourceReport(name, started_at=_now().isoformat())
        ctx.reports.append(report)
        before = ctx.client.requests_made
        try:
            ResourcePoll(ctx, name, resource, watermarks.get(name), report).run()
        except (StoreRequestFailed, StoreUnavailable) as exc:
            report.error = str(exc)
            logger.warning("resource poll failed", extra={"resource": name, "error": str(exc)})
        finally:
            report.requests = ctx.client.requests_made - before
            report.finished_at = _now().isoformat()
    return ctx.reports


class ResourcePoll:
    """One resource's pass over its window."""

    def __init__(
        self,
        ctx: PollContext,
        name: str,
        resource: ResourceConfig,
        stored: Item | None,
        report: ResourceReport,
    ) -> None:
        self.ctx = ctx
        self.name = name
        self.resource = resource
        self.report = report
        self.plan = hub.plan_request(resource.url, ctx.kind)
        start = resource.backfill_from or ctx.created_at
        self.watermark = Watermark.from_item(stored) if stored else Watermark(updated_at=start)
        self.until = ctx.store_now - timedelta(seconds=get_settings().poll_settle_seconds)
        self.limit = min(resource.page_size, self.plan.max_limit)
        self._resumed = stored is not None and stored.get("pass_until") is not None
        self._wrote = False

    # -- the two ways of paging ------------------------------------------------------------------
    def run(self) -> None:
        """Page through the window, checkpointing after every page."""
        if self.until <= self.watermark.updated_at:
            self.report.polled_through = self.watermark.updated_at.isoformat()
            return  # nothing new can be settled yet (or the store's clock went back)
        if self.plan.sorted_by_date and not self.plan.raw:
            self._by_date()
        else:
            self._pinned_window()
        self.report.complete = True

    def _by_date(self) -> None:
        cursor = self.watermark.updated_at - timedelta(seconds=self.resource.poll_delay)
        full_pages = 0
        while True:
            records = self._fetch(self._params(cursor, page=1))
            dates = [d for d in self._report(records, self.until) if d is not None]
            if not records and full_pages:
                # An empty answer right after a full page (v2's 204): an exact multiple of the
                # page size, or a store that stopped short. Trust it only as far as we read.
                self._checkpoint(cursor)
                return
            if len(records) < self.limit or any(d > self.until for d in dates):
                break  # the end, or records newer than the window (the next run has them)
            full_pages += 1
            first, last = min(dates, default=cursor), max(dates, default=cursor)
            if first == last:
                # A whole page shares one timestamp (and nothing older is left): drain that
                # second in id order, then move past it.
                self._drain_second(last)
                cursor = last + ONE_SECOND
            else:
                cursor = last
            self._checkpoint(cursor)
        self._finish(self.until)

    def _drain_second(self, second: datetime) -> None:
        keyset = _id_keyset(self.plan)
        after: int | None = None
        cursor: str | None = None
        page = 1
        while True:
            params = self._params(second, page=1 if keyset or cursor else page, until=second, by_id=True)
            if keyset and after is not None:
                params.append(keyset(after))
            elif cursor is not None:
                # v3 customers filter ids only by list: their cursor (unlike a page number) does
                # not shift when a record of this second changes, and so leaves it, meanwhile.
                params.append(("after", cursor))
            listing = self._fetch_page(params)
            self._report(listing.records, second)
            if len(listing.records) < self.limit:
                return
            after = max((_int_id(r, self.resource) for r in listing.records), default=after)
            cursor = _end_cursor(listing.meta)
            self._checkpoint(second)  # `seen` holds this second's reported records: a repeat skips them
            page += 1

    def _pinned_window(self) -> None:
        wm = self.watermark
        until = wm.pass_until or self.until
        since = wm.updated_at - timedelta(seconds=self.resource.poll_delay)
        keyset = None if self.plan.raw else _id_keyset(self.plan)
        page = 1
        moved = False
        while True:
            params = self._params(since, page=1 if keyset else page, until=until)
            if keyset and wm.after_id is not None:
                params.append(keyset(wm.after_id))
            records = self._fetch(params)
            moved |= any(d is not None and d > until for d in self._report(records, until))
            if len(records) < self.limit:
                break
            if keyset:
                wm.after_id = max((_int_id(r, self.resource) for r in records), default=wm.after_id)
                wm.pass_until = until
                self._save()
            page += 1
        wm.pass_until, wm.after_id = None, None
        if moved and not keyset:
            # Records changed during (or just before) a pass paged by number: the pages may have
            # shifted past one. Keep the lower bound (what was reported is in `seen`): the next
            # run repeats the pass and reports only what this one missed.
            self._save()
            return
        self._finish(until)

    # -- helpers -----------------------------------------------------------------------------
    def _params(
        self, since: datetime, *, page: int, until: datetime | None = None, by_id: bool = False
    ) -> list[tuple[str, str]]:
        if self.plan.raw:
            _path, params = hub.render_raw(self.plan, since, self.resource.dates.updated_date_timezone)
            keys = {key for key, _ in params}
            params += [(k, v) for k, v in (("limit", str(self.limit)), ("page", str(page))) if k not in keys]
            return params
        upper = until if until is not None else self.until
        params = hub.render_params(
            self.plan,
            since=since,
            until=upper if self.resource.filter_by_current_date or by_id else None,
            page=page,
            limit=self.limit,
        )
        if by_id:
            sort_keys = {key for key, _ in self.plan.sort}
            params = [p for p in params if p[0] not in sort_keys] + list(_id_sort(self.plan))
        return params

    def _fetch(self, params: list[tuple[str, str]]) -> list[dict[str, Any]]:
        return self._fetch_page(params).records

    def _fetch_page(self, params: list[tuple[str, str]]) -> Page:
        if self.ctx.remaining_seconds() < DEADLINE_MARGIN_SECONDS:
            raise OutOfTime(self.name)
        url = hub.build_url(self.ctx.base, self.plan, params)
        return self.ctx.client.list_page(url)

    def _window_date(self, record: dict[str, Any], updated: datetime | None) -> datetime | None:
        """The date the store filters and sorts on (what the keyset moves by)."""
        if self.plan.raw or self.plan.date_field == self.resource.dates.updated_date_field:
            return updated  # the same field: read once (dates are the hot path)
        return read_date(record, self.plan.date_field, None, "UTC")

    def _report(self, records: list[dict[str, Any]], until: datetime) -> list[datetime | None]:
        """Turn a page into events, skip what was reported before, enqueue them; the records'
        window dates, in order. Records changed after ``until`` (the window's end) are left for
        the next run: the store may still be writing that second."""
        self.report.records += len(records)
        lower = self.watermark.updated_at - timedelta(seconds=self.resource.poll_delay)
        changes: list[ChangeEvent] = []
        windows: list[datetime | None] = []
        for record in records:
            oid = object_id(record, self.resource)
            updated = updated_date(record, self.resource)
            window = self._window_date(record, updated)
            windows.append(window)
            if window is not None and window > until:
                continue
            if window is not None and window < lower.replace(microsecond=0):
                continue  # not changed since the last poll (an endpoint that ignores the filter)
            key = oid if oid is not None else repr(dotted(record, self.resource.id_field))
            if self.watermark.was_seen(key, updated):
                continue
            changes.append(
                ChangeEvent(event_type_given(record, self.resource, updated), oid or "", updated, record)
            )
            self.watermark.remember(key, updated)
        if changes:
            notifications = build_notifications(self.ctx.instance, self.name, changes, _now())
            eventlog.record_enqueued(notifications)
            send_entries([to_sqs_entry(n) for n in notifications])
            self.report.events += len(changes)
        return windows

    def _checkpoint(self, to: datetime) -> None:
        self.watermark.advance(to, self.resource.poll_delay)
        self._save()

    def _finish(self, until: datetime) -> None:
        """Close a complete pass. A pass that found nothing is not written down: the next window
        just starts earlier and still costs one request, and an idle poll then costs no write
        (the cost model's largest saving). Once a day the bound moves on anyway, so windows
        stay short."""
        stale = until - self.watermark.updated_at > STALE_WINDOW
        if self.report.events or self._resumed or self._wrote or stale:
            self._checkpoint(until)
        self.report.polled_through = until.isoformat()

    def _save(self) -> None:
        self._wrote = True
        self.ctx.storage.put_watermark(
            self.ctx.instance_id, self.name, self.watermark.to_item(), self.ctx.lease_token
        )


def _now() -> datetime:
    return datetime.now(UTC)


def _int_id(record: dict[str, Any], resource: ResourceConfig) -> int:
    value = dotted(record, resource.id_field)
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _end_cursor(meta: dict[str, Any]) -> str | None:
    """The cursor of the page after this one (v3 ``meta.cursor_pagination.end_cursor``), if any."""
    cursor = (meta.get("cursor_pagination") or {}).get("end_cursor")
    return cursor if isinstance(cursor, str) and cursor else None


def _id_keyset(plan: hub.ResourcePlan) -> Callable[[int], tuple[str, str]] | None:
    """The filter that resumes an id-ordered listing after a given id, where the endpoint has one."""
    if plan.version == 2:
        return lambda after: ("min_id", str(after + 1))  # v2 id bounds are inclusive
    if plan.path == "/catalog/products":
        return lambda after: ("id:greater", str(after))
    return None  # v3 customers filter ids only by list: page numbers within the pinned second


def _id_sort(plan: hub.ResourcePlan) -> Iterator[tuple[str, str]]:
    """Ascending id order: v2's default; v3 catalog products says so explicitly."""
    if plan.version == 3 and plan.path == "/catalog/products":
        yield from (("sort", "id"), ("direction", "asc"))
    elif plan.version == 3:
        yield ("sort", "date_created:asc")
