"""Defects an adversarial review of the date-bounds and pinned-raw change found (#14); each
failed before its fix (docs/reliability.md, "Bugs this suite found")."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from bcevents.bigcommerce.client import Page
from bcevents.errors import StoreRequestFailed
from bcevents.polling import pager
from bcevents.polling.window import OutOfTime
from tests.support.inprocess_store import StoreQuirk
from tests.unit.test_pager import START, V2_ORDERS, _pass, _store

# Not pinnable (the placeholder is not the lower date_modified bound): paged by number.
RAW_BY_CREATED = "/v2/orders?min_date_created=${date:EEE, dd MMM yyyy HH:mm:ss Z}"


def test_a_raw_pass_paged_by_number_moves_on_when_a_new_record_merely_arrives_in_the_settle_lag() -> None:
    """PinnedWindow: ``moved |= any(d > until)``. A non-pinned raw URL sends no upper bound, so any
    order created in the settle lag (or while the pass pages) comes back dated after ``until`` and
    counts as "moved", although nothing read earlier moved. On a store taking orders steadily every
    pass "moves": the watermark never advances, the window (and each pass) grows without end, and
    once it holds > MAX_SEEN records every run re-reports the forgotten ones."""
    store = _store()
    store.create_orders(3, start=START, step_seconds=1)
    stored = None
    for _run in range(3):
        p, _sink, _ = _pass(store, RAW_BY_CREATED, page_size=2, stored=stored)
        store.set_clock(p.until + timedelta(seconds=1))  # a new order, after this run's `until`
        store.create_orders(1)
        pager.page_resource(p)
        stored = p.watermark.to_item()
        store.set_clock(store.now() + timedelta(minutes=1))
    # Three runs over a window that nothing moved in: it should have moved on at least once.
    assert p.watermark.updated_at > START - timedelta(minutes=1), stored


V3_PRODUCTS_ID_FILTER = (
    "/hubs/ecommerce/products?where=date_modified>='${date:yyyy-MM-dd'T'HH:mm:ss'Z'}' and id > 0"
)
V2_ORDERS_ID_FILTER = (
    "/hubs/ecommerce/orders?where=min_date_modified='${date:EEE, dd MMM yyyy HH:mm:ss Z}' and id >= 1"
)


class FirstValueWins(StoreQuirk):
    """A store that reads the first of a repeated query key (as many frameworks do)."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.urls: list[str] = []

    def list_page(self, url: str, params: Any = None) -> Page:
        self.urls.append(url)
        parts = urlsplit(url)
        seen: set[str] = set()
        kept = []
        for k, v in parse_qsl(parts.query, keep_blank_values=True):
            if k not in seen:
                seen.add(k)
                kept.append((k, v))
        return self.client.list_page(urlunsplit(parts._replace(query=urlencode(kept, safe=":"))), params)  # type: ignore[no-any-return]


def _drain_with_an_id_filter(url: str, create: str) -> None:
    store = _store()
    getattr(store, create)(7, start=START)  # one second, more than a page: drained by id
    p, sink, client = _pass(store, url, page_size=2)
    wrapped = FirstValueWins(client)
    p.store.client = wrapped  # type: ignore[assignment]
    calls = iter(range(200))
    p.store.remaining_seconds = lambda: 900.0 if next(calls, None) is not None else 0.0
    with contextlib.suppress(OutOfTime):
        pager.page_resource(p)
    dup = [
        u
        for u in wrapped.urls
        if len(parse_qsl(urlsplit(u).query)) != len(dict(parse_qsl(urlsplit(u).query)))
    ]
    assert not dup, f"{len(dup)} of {len(wrapped.urls)} requests repeat a query key, e.g. {dup[0]}"
    assert len(set(sink.ids)) == 7


def test_a_v3_products_drain_never_sends_id_greater_twice_when_the_url_filters_ids() -> None:
    """SameSecondDrain appends ``id:greater=<after>`` to a query that already has the user's
    ``id:greater=0``: a store that reads the first value re-reads page one until the run's time is
    up, every run (a stall); one that refuses repeated keys fails the resource every run."""
    _drain_with_an_id_filter(V3_PRODUCTS_ID_FILTER, "create_products")


def test_a_v2_orders_drain_never_sends_min_id_twice_when_the_url_filters_ids() -> None:
    _drain_with_an_id_filter(V2_ORDERS_ID_FILTER, "create_orders")


class IgnoresMinDate(StoreQuirk):
    """A store (or an endpoint version) that ignores the lower date bound."""

    def list_page(self, url: str, params: Any = None) -> Page:
        parts = urlsplit(url)
        kept = [(k, v) for k, v in parse_qsl(parts.query) if k != "min_date_modified"]
        return self.client.list_page(urlunsplit(parts._replace(query=urlencode(kept, safe=":"))), params)  # type: ignore[no-any-return]


def test_the_date_keyset_never_checkpoints_past_the_window_end() -> None:
    """DateKeyset: a full page whose dates are all before ``since`` is drained at ``since`` and
    ``since`` moves one second on, with no test against ``p.until``. Where page one keeps coming back
    full of old records (a lower bound ignored), the loop marches ``since`` (and the checkpointed
    watermark) second by second past ``until`` and past the store's clock until the run runs out
    of time: records dated in those unsettled seconds and written later are never read."""
    store = _store()
    store.create_orders(4, start=START - timedelta(minutes=10))  # before the window
    p, _sink, client = _pass(store, V2_ORDERS, page_size=2)
    p.store.client = IgnoresMinDate(client)  # type: ignore[assignment]
    calls = iter(range(400))
    p.store.remaining_seconds = lambda: 900.0 if next(calls, None) is not None else 0.0
    with pytest.raises(StoreRequestFailed, match="ignores"):  # the resource fails, named, this run
        pager.page_resource(p)
    assert p.watermark.updated_at <= p.until, (p.watermark.updated_at, p.until)
    assert client.requests_made == 1
