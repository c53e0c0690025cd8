"""Poller bugs this suite found, each as the smallest history that shows it.

Each failed before its fix (docs/reliability.md, "Bugs this suite found") and guards it now,
under both readings of BigCommerce's undocumented date bounds: inclusive (the sandbox's default)
and exclusive (``date_bounds_inclusive=False``, where three of these lost records before the
pager sent each bound a second wide).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.reliability.conftest import Deadline, Harness, Killed, hub_resource

PAGE = 3
RAW_ORDERS = {
    "url": "/v2/orders?min_date_modified=${gmtDate:EEE, dd MMM yyyy HH:mm:ss Z}&sort=date_modified:asc",
    "idField": "id",
    "pageSize": PAGE,
    "datesConfiguration": {"updatedDateField": "date_modified", "createdDateField": "date_created"},
}


@pytest.fixture(autouse=True, params=["inclusive", "exclusive"])
def date_bounds(request: pytest.FixtureRequest, harness: Harness) -> str:
    """Every test here runs against a store whose min/max date bounds are inclusive, then exclusive."""
    harness.store.settings.date_bounds_inclusive = request.param == "inclusive"
    return str(request.param)


def _ints(ids: list[str]) -> list[int]:
    return [int(i) for i in ids]


def _change_during(harness: Harness, path_suffix: str, request: int, change: Any) -> None:
    """Run ``change`` while the ``request``-th list request of the resource is being answered."""
    seen: list[int] = []

    def hook(record: Any) -> None:
        if record.path.endswith(path_suffix):
            seen.append(1)
            if len(seen) == request:
                harness.store.advance(1)
                change()

    harness.store.on_request(hook)


def test_a_customer_changing_while_a_same_second_burst_is_drained_loses_no_other_customer(
    harness: Harness,
) -> None:
    instance = harness.api_account({"customers": hub_resource("customers", PAGE)})
    harness.start_clock()
    ids = harness.store.create_customers(7)  # one second, more than two pages
    harness.settle()
    _change_during(harness, "/customers", 2, lambda: harness.store.update_customer(ids[0], notes="x"))

    harness.poll(instance)
    harness.store.log.clear_hooks()
    harness.settle()
    harness.poll(instance)

    assert sorted(set(_ints(harness.received.ids()))) == ids


def test_a_raw_url_loses_no_record_when_another_changes_while_it_pages(harness: Harness) -> None:
    instance = harness.legacy({"orders": RAW_ORDERS})
    start = harness.start_clock()
    ids = harness.store.create_orders(7, start=start, step_seconds=1)
    harness.settle()
    _change_during(harness, "/orders", 1, lambda: harness.store.update_order(ids[0], status_id=5))

    harness.poll(instance)
    harness.store.log.clear_hooks()
    harness.settle()
    harness.poll(instance)

    assert sorted(set(_ints(harness.received.ids()))) == ids


def test_a_raw_url_delivers_a_change_made_in_the_second_it_last_read(harness: Harness) -> None:
    instance = harness.legacy({"orders": RAW_ORDERS})
    harness.start_clock()
    order = harness.store.create_order()["id"]
    harness.poll(instance)  # the store clock has not moved: the order is in the current second
    harness.store.update_order(order, status_id=5)  # same second, new content

    harness.settle()
    harness.poll(instance)

    assert harness.received.events[-1].record["status_id"] == 5


@pytest.mark.parametrize("ending", ["killed", "out-of-time"])
def test_a_run_ending_inside_a_same_second_burst_repeats_at_most_one_page(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, ending: str
) -> None:
    page = 50
    instance = harness.legacy({"orders": hub_resource("orders", page)})
    harness.start_clock()
    ids = harness.store.create_orders(4 * page)  # one second, four pages
    harness.settle()
    if ending == "killed":
        from bcevents.aws.tables import Storage

        def killed(*args: Any, **kwargs: Any) -> None:
            raise Killed

        with monkeypatch.context() as patch:
            patch.setattr(Storage, "put_watermark", killed)
            with pytest.raises(Killed):
                harness.poll(instance)
        harness.expire_lease(instance)
    else:
        assert harness.poll(instance, Deadline(harness.sandbox, pages=4))["outcome"].startswith("stopped")

    harness.poll(instance)

    assert sorted(set(_ints(harness.received.ids()))) == ids
    assert harness.received.duplicates() <= page


def test_a_spurious_empty_page_mid_backlog_loses_nothing(harness: Harness) -> None:
    page = 50
    instance = harness.legacy({"orders": hub_resource("orders", page)})
    start = harness.start_clock()
    ids = harness.store.create_orders(4 * page, start=start, step_seconds=1)
    harness.store.set_clock(start + timedelta(seconds=4 * page + 60))
    served: list[int] = []

    def empty_after_two_pages(record: Any) -> None:
        if record.path == "/api/v2/orders":
            served.append(1)
            if len(served) == 2:
                harness.store.inject_fault("/api/v2/orders", "empty_204")

    harness.store.on_request(empty_after_two_pages)

    harness.poll(instance)
    harness.settle()
    harness.poll(instance)

    assert sorted(set(_ints(harness.received.ids()))) == ids
