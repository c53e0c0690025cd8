"""The pager's strategies against the sandbox store in-process: every change once, checkpoints after
each page, no AWS (the sink is a list)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bcevents.compat.configuration import ResourceConfig
from bcevents.compat.envelope import ChangeEvent
from bcevents.polling import pager, strategies
from bcevents.polling.report import ResourceReport
from bcevents.polling.watermark import Watermark
from bcevents.polling.window import OutOfTime, ResourcePass, Store
from bcsandbox.store import SandboxStore
from tests.support.inprocess_store import InProcessClient

START = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
RFC2822 = "EEE, dd MMM yyyy HH:mm:ss Z"
V2_ORDERS = f"/hubs/ecommerce/orders?where=min_date_modified='${{date:{RFC2822}}}'"
V3_CUSTOMERS = "/hubs/ecommerce/customers?where=date_modified>='${date:yyyy-MM-dd'T'HH:mm:ss'Z'}'"
LEGACY_PRODUCTS = f"/hubs/ecommerce/products?where=min_date_modified='${{date:{RFC2822}}}'"


class ListSink:
    """Keeps what a pass publishes and every watermark it checkpoints."""

    def __init__(self) -> None:
        self.pages: list[list[str]] = []
        self.checkpoints: list[dict[str, Any]] = []

    def publish(self, resource: str, changes: Sequence[ChangeEvent]) -> None:
        self.pages.append([c.object_id for c in changes])

    def checkpoint(self, resource: str, watermark: Watermark) -> None:
        self.checkpoints.append(watermark.to_item())

    @property
    def ids(self) -> list[str]:
        return [oid for page in self.pages for oid in page]


def _store() -> SandboxStore:
    store = SandboxStore()
    store.set_clock(START)
    return store


def _pass(
    store: SandboxStore,
    url: str,
    *,
    page_size: int,
    stored: dict[str, Any] | None = None,
    legacy: bool = False,
) -> tuple[ResourcePass, ListSink, InProcessClient]:
    client = InProcessClient(store, legacy=legacy)
    sink = ListSink()
    window = Store(
        client=client,
        base=client.base,
        now=store.now() + timedelta(seconds=30),
        remaining_seconds=lambda: 900.0,
    )  # type: ignore[arg-type]
    resource = ResourceConfig.model_validate({"url": url, "pageSize": page_size})
    p = ResourcePass(
        window, sink, "r", resource, stored, ResourceReport("r"), created_at=START - timedelta(minutes=1)
    )
    return p, sink, client


def test_the_date_keyset_reports_each_change_once_and_checkpoints_after_every_full_page() -> None:
    store = _store()
    ids = store.create_orders(7, start=START, step_seconds=1)
    p, sink, client = _pass(store, V2_ORDERS, page_size=3)

    pager.page_resource(p)

    assert sink.ids == [str(i) for i in ids]
    # Each page restarts at the last date it saw (inclusive): 1-3, 3-5, 5-7, 7; a checkpoint
    # after each full page, then the window's end.
    marks = [c["updated_at"] for c in sink.checkpoints]
    assert marks == sorted(marks)
    assert len(marks) == 4
    assert marks[-1] == p.until.isoformat()
    assert p.report.complete
    assert p.report.events == 7
    assert client.requests_made == 4


def test_a_page_of_one_second_is_drained_by_id_then_passed() -> None:
    store = _store()
    ids = store.create_orders(5)  # all in one second
    p, sink, client = _pass(store, V2_ORDERS, page_size=2)

    pager.page_resource(p)

    assert sorted(sink.ids) == sorted(str(i) for i in ids)
    assert len(sink.ids) == 5
    assert any("min_id=" in url for url in client.urls), client.urls
    # Past the drained second; the empty answer after a full page is trusted only as far as read.
    assert p.watermark.updated_at == START + timedelta(seconds=1)


def test_the_same_second_drain_follows_v3_customers_cursor() -> None:
    store = _store()
    ids = store.create_customers(5)
    p, sink, client = _pass(store, V3_CUSTOMERS, page_size=2)

    strategies.SameSecondDrain(p, START).run()

    assert sorted(sink.ids) == sorted(str(i) for i in ids)
    assert any("after=" in url for url in client.urls), client.urls
    assert all(c["updated_at"] == START.isoformat() for c in sink.checkpoints)


def test_the_pinned_window_pages_by_id_and_saves_where_to_resume() -> None:
    store = _store()
    ids = store.create_products(5, start=START, step_seconds=1)
    p, sink, _client = _pass(store, LEGACY_PRODUCTS, page_size=2, legacy=True)
    assert not p.plan.sorted_by_date  # v2 products: id order only

    pager.page_resource(p)

    assert sink.ids == [str(i) for i in ids]
    resumable = [c for c in sink.checkpoints if "after_id" in c]
    # min_id is first sent at the last id itself (its inclusivity is undocumented); once that id
    # comes back (the sandbox's min_id is inclusive) the pages start past it.
    assert [c["after_id"] for c in resumable] == [ids[1], ids[2], ids[4]]
    assert all(c["pass_until"] == p.until.isoformat() for c in resumable)
    assert "after_id" not in sink.checkpoints[-1]
    assert "pass_until" not in sink.checkpoints[-1]


def test_a_pinned_window_resumes_after_the_saved_id() -> None:
    store = _store()
    ids = store.create_products(4, start=START, step_seconds=1)
    until = START + timedelta(seconds=20)
    stored = {
        "updated_at": (START - timedelta(minutes=1)).isoformat(),
        "seen": {},
        "pass_until": until.isoformat(),
        "after_id": ids[1],
    }
    p, sink, _ = _pass(store, LEGACY_PRODUCTS, page_size=10, stored=stored, legacy=True)
    assert not p.plan.sorted_by_date  # v2 products: id order only

    pager.page_resource(p)

    assert sink.ids == [str(ids[2]), str(ids[3])]
    # The resumed pass ends at its pinned end, then a pass up to now follows in the same run.
    marks = [c["updated_at"] for c in sink.checkpoints]
    assert until.isoformat() in marks
    assert marks[-1] == p.until.isoformat()


def test_an_idle_pass_writes_nothing() -> None:
    p, sink, client = _pass(_store(), V2_ORDERS, page_size=3)

    pager.page_resource(p)

    assert (sink.pages, sink.checkpoints) == ([], [])
    assert p.report.polled_through == p.until.isoformat()
    assert client.requests_made == 1


def test_a_pass_stops_before_the_deadline_and_keeps_what_it_reported() -> None:
    store = _store()
    store.create_orders(4, start=START, step_seconds=1)
    p, sink, _ = _pass(store, V2_ORDERS, page_size=2)
    left = iter([900.0, 1.0])
    p.store.remaining_seconds = lambda: next(left)

    with pytest.raises(OutOfTime):
        pager.page_resource(p)

    assert len(sink.ids) == 2
    assert len(sink.checkpoints) == 1


def test_a_pinned_pass_over_20000_changed_records_keeps_its_state_within_an_item() -> None:
    """#14: a pinned-window pass saved `seen` after every page, unbounded: a bulk import of ~12k
    records made the watermark pass DynamoDB's 400 KB item limit, and the resource stopped for good."""
    store = _store()
    store.create_products(20_000, start=START, step_seconds=0.001)
    p, sink, _ = _pass(store, LEGACY_PRODUCTS, page_size=250, legacy=True)
    sizes: list[int] = []
    real_checkpoint = sink.checkpoint

    def measured(resource: str, watermark: Watermark) -> None:
        sizes.append(len(json.dumps(watermark.to_item())))
        real_checkpoint(resource, watermark)

    sink.checkpoint = measured  # type: ignore[method-assign]

    pager.page_resource(p)

    assert len(sink.ids) == 20_000
    assert len(set(sink.ids)) == 20_000
    assert max(sizes) < 400_000 * 0.75  # DynamoDB's item limit, with room for the keys
