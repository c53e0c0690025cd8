"""The pager whatever BigCommerce's undocumented bounds mean (#14, items 4 and 5).

Whether ``min_date_modified``/``max_date_modified`` (and v3 ``date_modified:min/max``) include
their bound is undocumented, and so is ``min_id``. The sandbox store can answer either way; each
test here runs under both and must report every change once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from bcevents.bigcommerce.client import Page
from bcevents.errors import StoreRequestFailed
from bcevents.polling import pager, strategies
from bcevents.polling.window import DateBounds
from tests.support.inprocess_store import StoreQuirk
from tests.unit.test_pager import LEGACY_PRODUCTS, START, V2_ORDERS, V3_CUSTOMERS, _pass, _store

V3_PRODUCTS = "/hubs/ecommerce/products?where=date_modified>='${date:yyyy-MM-dd'T'HH:mm:ss'Z'}'"
V3_CUSTOMERS_CREATED_TOO = (
    "/hubs/ecommerce/customers?where=date_modified>='${date:yyyy-MM-dd'T'HH:mm:ss'Z'}' "
    "and date_created>='${date:yyyy-MM-dd'T'HH:mm:ss'Z'}'"
)
BOUNDS = pytest.mark.parametrize("inclusive", [True, False], ids=["inclusive", "exclusive"])


def _bursts(store: Any, kind: str) -> list[int]:
    """Records in runs sharing a second, larger and smaller than a page of 2, at page edges."""
    create = {"orders": store.create_orders, "products": store.create_products}.get(
        kind, store.create_customers
    )
    ids: list[int] = []
    for offset, count in enumerate([3, 5, 1, 4, 2]):
        ids += create(count, start=START + timedelta(seconds=offset))
    return ids


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


@BOUNDS
@pytest.mark.parametrize(
    ("url", "kind"), [(V2_ORDERS, "orders"), (V3_PRODUCTS, "products"), (V3_CUSTOMERS, "customers")]
)
def test_every_change_is_reported_once_whatever_the_date_bounds_mean(
    inclusive: bool, url: str, kind: str
) -> None:
    store = _store()
    store.settings.date_bounds_inclusive = inclusive
    ids = _bursts(store, kind)
    p, sink, _client = _pass(store, url, page_size=2)

    pager.page_resource(p)

    assert sorted(sink.ids) == sorted(str(i) for i in ids)
    assert len(sink.ids) == len(ids)  # once each
    assert p.report.complete


@BOUNDS
def test_a_second_changed_again_after_a_run_is_reported_by_the_next_run(inclusive: bool) -> None:
    """The watermark second: what a run read there is skipped next time, what changed is not."""
    store = _store()
    store.settings.date_bounds_inclusive = inclusive
    ids = store.create_orders(3, start=START)
    p, sink, _ = _pass(store, V2_ORDERS, page_size=2)
    pager.page_resource(p)
    store.set_clock(START + timedelta(minutes=5))
    store.update_order(ids[1], staff_notes="again")
    store.create_orders(2)

    later, sink2, _ = _pass(store, V2_ORDERS, page_size=2, stored=p.watermark.to_item())
    later.until = store.now()  # as if the settle lag had passed
    pager.page_resource(later)

    assert sorted(sink.ids) == sorted(str(i) for i in ids)
    assert sink2.ids[0] == str(ids[1])
    assert len(sink2.ids) == 3


def test_bounds_are_sent_a_second_wide_until_the_store_proves_them_inclusive() -> None:
    store = _store()  # inclusive
    store.create_orders(4, start=START, step_seconds=1)
    p, _sink, client = _pass(store, V2_ORDERS, page_size=2)

    pager.page_resource(p)

    mins = [_query(u)["min_date_modified"][0][-14:-6] for u in client.urls]
    # Page 1 (START, START+1 s) asks a second before the window. Page 2 restarts a second before
    # page 1's last and gets START back: proof of an inclusive bound, so that page is asked again
    # from START+1 s itself; every later page starts at its predecessor's last second.
    assert mins == ["08:58:59", "09:00:00", "09:00:01", "09:00:02", "09:00:03"]
    assert p.bounds.min_inclusive


def test_an_exclusive_store_is_never_taken_for_an_inclusive_one() -> None:
    store = _store()
    store.settings.date_bounds_inclusive = False
    store.create_orders(6, start=START)  # one second, three pages
    store.create_orders(3, start=START + timedelta(seconds=1))
    p, sink, client = _pass(store, V2_ORDERS, page_size=2)

    pager.page_resource(p)

    assert len(sink.ids) == 9
    assert not p.bounds.min_inclusive
    assert not p.bounds.max_inclusive
    drains = [u for u in client.urls if _query(u)["sort"] == ["id:asc"]]  # v2 orders: by id, explicitly
    # START's six orders: asked for exactly once (nothing: a bound is exclusive), then in four
    # pages a second either side (min_id is sent at the last id until it comes back); START+1 s's
    # three in two (no second exact probe in the pass).
    assert len(drains) == 7
    assert p.bounds.not_both_inclusive


def test_a_drain_on_an_inclusive_store_proves_its_bounds_and_reads_its_second_once() -> None:
    """A whole page of one second: the drain asks for it exactly, the answer proves both bounds
    inclusive, and the keyset then starts past the second (no re-read of it a bound sent wide
    would cost): the minimum, one request per page plus the closing ones."""
    store = _store()
    ids = store.create_orders(5)  # one second, pages of 2
    p, sink, client = _pass(store, V2_ORDERS, page_size=2)

    pager.page_resource(p)

    assert sorted(sink.ids) == sorted(str(i) for i in ids)
    assert p.bounds.min_inclusive
    assert p.bounds.max_inclusive
    # The keyset page; the drain's four (the second repeats one id until min_id proves
    # inclusive, and a full last page needs an empty one after it); the keyset past the second,
    # asked from the next second itself (no re-read of this one).
    assert len(client.urls) == 6
    assert "09%3A00%3A01" in client.urls[-1].split("min_date_modified=")[1].split("&")[0]


def test_date_bounds_learn_only_from_a_record_dated_on_the_bound() -> None:
    bounds = DateBounds()
    low, high = bounds.query_min(START), bounds.query_max(START)
    assert (low, high) == (START - timedelta(seconds=1), START + timedelta(seconds=1))
    bounds.learn((low, high), [START, None])
    assert not bounds.min_inclusive
    assert not bounds.max_inclusive
    bounds.learn((low, high), [low])
    assert bounds.min_inclusive
    assert bounds.query_min(START) == START
    assert not bounds.max_inclusive


@BOUNDS
def test_a_second_placeholder_is_the_window_start_on_every_page(inclusive: bool) -> None:
    """#14 item 5: ``date_created>='${...}'`` was rendered from the moving page cursor, so a page
    after the first asked only for customers created after that page's dates."""
    store = _store()
    store.settings.date_bounds_inclusive = inclusive
    old = store.create_customers(1, start=START - timedelta(minutes=10))
    store.update_customer(old[0], notes="changed in the window")  # created long before the window
    ids = store.create_customers(5, start=START, step_seconds=1)
    p, sink, client = _pass(store, V3_CUSTOMERS_CREATED_TOO, page_size=2)

    pager.page_resource(p)

    created = {_query(u)["date_created:min"][0] for u in client.urls}
    start = p.start.replace(tzinfo=None)
    # The window's start on every page: a second early until the store proves its bounds inclusive.
    assert created <= {f"{start - timedelta(seconds=1):%Y-%m-%dT%H:%M:%S}Z", f"{start:%Y-%m-%dT%H:%M:%S}Z"}
    assert sorted(sink.ids) == sorted(str(i) for i in ids)


class NoCursor(StoreQuirk):
    """The client of a store whose v3 customers answer without ``meta.cursor_pagination``."""

    def list_page(self, url: str, params: Any = None) -> Page:
        page = self.client.list_page(url, params)
        return Page(page.records, {k: v for k, v in page.meta.items() if k != "cursor_pagination"})


def test_a_customers_drain_without_a_cursor_fails_its_resource_and_never_pages_by_number() -> None:
    store = _store()
    store.create_customers(5)  # one second, more than a page of 2
    p, _sink, client = _pass(store, V3_CUSTOMERS, page_size=2)
    p.store.client = NoCursor(client)  # type: ignore[assignment]
    before = p.watermark.updated_at

    with pytest.raises(StoreRequestFailed, match="end_cursor"):
        strategies.SameSecondDrain(p, START).run()

    assert not any("page=2" in u for u in client.urls)
    assert p.watermark.updated_at == before  # nothing past the second is claimed


class OutOfIdOrder(StoreQuirk):
    """The client of a store whose v2 listings come newest id first (not id order)."""

    def list_page(self, url: str, params: Any = None) -> Page:
        page = self.client.list_page(url, params)
        return Page(list(reversed(page.records)), page.meta)


def test_a_v2_listing_out_of_id_order_is_paged_by_number_instead_and_loses_nothing() -> None:
    store = _store()
    ids = store.create_products(7, start=START, step_seconds=1)
    p, sink, client = _pass(store, LEGACY_PRODUCTS, page_size=2, legacy=True)
    p.store.client = OutOfIdOrder(client)  # type: ignore[assignment]

    pager.page_resource(p)

    assert sorted(sink.ids) == sorted(str(i) for i in ids)
    assert len(sink.ids) == len(ids)
    assert any("page=4" in u for u in client.urls)


def test_an_exclusive_min_id_skips_nothing() -> None:
    """v2's ``min_id`` is sent at the last id itself until that record comes back."""
    store = _store()
    ids = store.create_products(5, start=START, step_seconds=1)
    p, sink, client = _pass(store, LEGACY_PRODUCTS, page_size=2, legacy=True)

    class ExclusiveMinId(StoreQuirk):
        def list_page(self, url: str, params: Any = None) -> Page:
            after = _query(url).get("min_id")
            if after:  # ask the (inclusive) sandbox from the next id: what an exclusive bound answers
                url = url.replace(f"min_id={after[0]}", f"min_id={int(after[0]) + 1}")
            return self.client.list_page(url, params)  # type: ignore[no-any-return]

    p.store.client = ExclusiveMinId(client)  # type: ignore[assignment]

    pager.page_resource(p)

    assert sink.ids == [str(i) for i in ids]
    assert not p.bounds.ids_inclusive


RAW_V2_ORDERS = "/v2/orders?min_date_modified=${date:EEE, dd MMM yyyy HH:mm:ss Z}&status_id=11"


class ChangesWhilePaging(StoreQuirk):
    """Runs ``change`` while the second page is read."""

    def __init__(self, client: Any, change: Any) -> None:
        super().__init__(client)
        self.change = change

    def list_page(self, url: str, params: Any = None) -> Page:
        if self.client.requests_made == 1:
            self.change()
        return self.client.list_page(url, params)  # type: ignore[no-any-return]


@BOUNDS
def test_a_raw_url_on_a_known_endpoint_is_pinned_paged_by_id_and_its_watermark_moves(inclusive: bool) -> None:
    """#14 item 3: a raw pass had no upper bound, so on a store that changed during most passes
    it repeated itself and its window only grew. Pinned and paged by id, a record changing while
    it pages moves out of the window (the next run reports it) and the pass still completes."""
    store = _store()
    store.settings.date_bounds_inclusive = inclusive
    ids = store.create_orders(7, start=START, step_seconds=1, status_id=11)
    p, sink, client = _pass(store, RAW_V2_ORDERS, page_size=2)

    def change() -> None:  # dated by the store's clock, after the window's end
        store.set_clock(p.until + timedelta(seconds=5))
        store.update_order(ids[0], staff_notes="later")

    p.store.client = ChangesWhilePaging(client, change)

    pager.page_resource(p)

    assert sorted(sink.ids) == sorted(str(i) for i in ids)
    assert all("max_date_modified" in _query(u) and _query(u)["sort"] == ["id:asc"] for u in client.urls)
    assert p.watermark.updated_at == p.until  # the pass completed: the window moves on
    assert any("after_id" in c for c in sink.checkpoints)  # resumable, like the hub's

    later, sink2, _ = _pass(store, RAW_V2_ORDERS, page_size=2, stored=p.watermark.to_item())
    pager.page_resource(later)
    assert sink2.ids == [str(ids[0])]  # the change made meanwhile, by the next run
