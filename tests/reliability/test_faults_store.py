"""The store misbehaving mid-backlog, end to end through the poll function.

Each test names the invariant it protects. The client-level behaviour of each fault (retries,
backoff, typed errors) is in tests/integration/test_bigcommerce_client.py; here the question is
what reaches the queue and the watermark: nothing lost after the next run, nothing reported twice.

The tests whose outcome rests on where a window's bounds fall (a run resumed after a failure,
a clock that went back) also run with the store's date bounds exclusive (``date_bounds_inclusive``,
undocumented for v2: research §2); the store's other undocumented behaviour (tie order, default
order, id bounds, cursors, archives) is paging, which tests/reliability/test_model_poller.py runs
under each flip. The faults here are answers instead of pages: the order of records never matters.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.reliability.conftest import Harness, hub_resource

PAGE = 50
#: Distinct records in the first two pages of a backlog one second apart: the second page starts
#: a second before the first one's last (the bound is sent wide until it proves inclusive), so it
#: repeats two records, which `seen` skips.
TWO_PAGES = 2 * PAGE - 2
BACKLOG = 200
ORDERS = "/api/v2/orders"
#: The store's date bounds as the sandbox reads the docs (inclusive), and flipped.
DATE_BOUNDS = pytest.mark.parametrize("inclusive", [True, False], ids=["inclusive-dates", "exclusive-dates"])


def _backlog(harness: Harness, count: int = BACKLOG, **resources: Any) -> tuple[str, list[int]]:
    """A legacy instance polling orders in pages of 50 (plus ``resources``) over a backlog of
    orders one second apart, all settled."""
    instance = harness.legacy({"orders": hub_resource("orders", PAGE), **resources})
    start = harness.start_clock()
    ids = harness.store.create_orders(count, start=start, step_seconds=1)
    harness.store.set_clock(start + timedelta(seconds=count + 60))
    return instance, ids


def _fail_after_pages(harness: Harness, pages: int, kind: str, count: int, **options: Any) -> None:
    """Once ``pages`` order pages were served, the next ``count`` order requests fail as ``kind``."""
    served: list[str] = []

    def hook(record: Any) -> None:
        if record.path == ORDERS and record.fault is None:
            served.append(record.query)
            if len(served) == pages:
                harness.store.inject_fault(ORDERS, kind, count=count, **options)

    harness.store.on_request(hook)


def _ints(ids: list[str]) -> list[int]:
    return [int(i) for i in ids]


STORE_FAULTS = [
    pytest.param("status", 10, {"status": 500}, id="500-after-retries"),
    pytest.param("status", 10, {"status": 502}, id="502-after-retries"),
    pytest.param("status", 10, {"status": 503}, id="503-after-retries"),
    pytest.param("delay", 10, {"seconds": 2.5}, id="timeout-after-retries"),
    pytest.param("reset", 10, {}, id="connection-reset-after-retries"),
    # Every fault lasts until cleared: on a loaded machine a truncated answer can also time out,
    # and the client's retry must not be served the page after all.
    pytest.param("malformed_json", 10, {}, id="malformed-json"),
    pytest.param("truncated", 10, {}, id="truncated-body"),
    pytest.param("wrong_content_type", 10, {}, id="html-maintenance-page"),
]


@pytest.mark.usefixtures("no_backoff")
@pytest.mark.parametrize(("kind", "count", "options"), STORE_FAULTS)
def test_a_page_the_store_fails_to_serve_is_delivered_by_the_next_run_and_nothing_twice(
    harness: Harness, setenv: Any, kind: str, count: int, options: dict[str, Any]
) -> None:
    """Invariant: a page the store does not serve (after the client's own retries) is neither
    reported nor checkpointed past; the rest of the instance is still polled; the next run
    delivers exactly what is missing."""
    setenv(STORE_TIMEOUT_SECONDS="1.0")  # short, yet no normal page of a loaded CI machine times out
    instance, ids = _backlog(harness, products=hub_resource("products"))
    harness.store.create_products(3, start=harness.store.now() - timedelta(seconds=30))
    _fail_after_pages(harness, 2, kind, count, **options)

    first = harness.poll(instance)

    reports = {r["resource"]: r for r in first["resources"]}
    assert first["outcome"] == "polled"
    assert reports["orders"]["complete"] is False
    assert reports["orders"]["error"]
    assert reports["products"]["complete"] is True  # one failing resource does not stop the others
    assert len(harness.received.ids("products")) == 3
    # Exactly the pages served before the failure: a gap-free prefix.
    assert _ints(harness.received.ids("orders")) == ids[:TWO_PAGES]

    harness.store.faults.clear()
    harness.settle()
    harness.poll(instance)

    assert sorted(_ints(harness.received.ids("orders"))) == ids
    assert harness.received.duplicates() == 0


@pytest.mark.usefixtures("no_backoff")
@DATE_BOUNDS
def test_a_store_that_revokes_the_credentials_mid_backlog_fails_the_run_and_loses_nothing(
    harness: Harness, inclusive: bool
) -> None:
    """Invariant: a 401 mid-backlog ends the run as failed (lease released) with every page before
    it checkpointed; once the store accepts the credentials again nothing is missing or repeated."""
    harness.store.settings.update({"date_bounds_inclusive": inclusive})
    instance, ids = _backlog(harness)
    _fail_after_pages(harness, 2, "status", 1, status=401)

    first = harness.poll(instance)

    assert first["outcome"].startswith("failed: the store answered 401")
    assert harness.lease(instance) is None
    harness.settle()
    harness.poll(instance)
    assert sorted(_ints(harness.received.ids("orders"))) == ids
    assert harness.received.duplicates() == 0


def test_a_429_storm_longer_than_the_run_stops_it_cleanly_and_the_next_run_resumes(
    harness: Harness,
) -> None:
    """Invariant: a rate-limit wait longer than the invocation has left ends the run early (lease
    released, pages so far checkpointed) instead of sleeping into the Lambda timeout."""
    instance, ids = _backlog(harness)
    _fail_after_pages(harness, 1, "rate_limit", 1, reset_ms=600_000)  # ten minutes: past any run

    first = harness.poll(instance)

    assert first["outcome"] == "stopped early: StoreThrottled"
    assert harness.lease(instance) is None
    assert _ints(harness.received.ids("orders")) == ids[:PAGE]
    harness.settle()
    harness.poll(instance)
    assert sorted(_ints(harness.received.ids("orders"))) == ids
    assert harness.received.duplicates() == 0


def test_a_burst_of_429s_within_the_run_is_waited_out_and_the_run_completes(harness: Harness) -> None:
    """Invariant: short 429 storms cost time, never events: the run completes in one go."""
    instance, ids = _backlog(harness)
    _fail_after_pages(harness, 1, "rate_limit", 4, reset_ms=50)

    result = harness.poll(instance)

    assert result["outcome"] == "polled"
    assert sorted(_ints(harness.received.ids("orders"))) == ids
    assert [r.status for r in harness.store.requests if r.path == ORDERS].count(429) == 4


@pytest.mark.usefixtures("no_backoff")
def test_a_store_clock_that_cannot_be_read_fails_the_run_loudly_and_releases_the_lease(
    harness: Harness,
) -> None:
    """Invariant: without the store's clock there is no safe window, so nothing is polled; the
    invocation fails (and is retried) without holding the lease."""
    from bcevents.errors import StoreUnavailable

    instance, ids = _backlog(harness, count=10)
    harness.store.inject_fault("/api/v2/time", "status", count=10, status=503)

    with pytest.raises(StoreUnavailable):
        harness.poll(instance)

    assert harness.lease(instance) is None
    assert harness.received.events == []
    assert harness.watermarks(instance) == {}
    harness.store.faults.clear()
    harness.poll(instance)
    assert sorted(_ints(harness.received.ids("orders"))) == ids


@DATE_BOUNDS
def test_the_store_clock_jumping_backwards_moves_no_watermark_and_invents_nothing(
    harness: Harness, inclusive: bool
) -> None:
    """Invariant: a store clock that goes back an hour (and later recovers) never moves the
    watermark back and never re-reports what was delivered; changes after the recovery flow."""
    harness.store.settings.update({"date_bounds_inclusive": inclusive})
    instance, ids = _backlog(harness, count=20)
    harness.poll(instance)
    before = harness.watermarks(instance)
    assert len(harness.received.events) == 20

    harness.store.advance(-3600)
    behind = harness.poll(instance)

    assert behind["outcome"] == "polled"
    assert harness.watermarks(instance) == before
    assert len(harness.received.events) == 20

    harness.store.advance(3600 + 10)
    harness.store.update_order(ids[0], status_id=2)
    harness.settle()
    harness.poll(instance)

    assert harness.received.ids("orders")[20:] == [str(ids[0])]
    assert harness.received.duplicates() == 0


@DATE_BOUNDS
def test_changes_made_while_the_store_clock_was_behind_are_caught_within_poll_delay(
    harness: Harness, inclusive: bool
) -> None:
    """Invariant: with ``pollDelay`` at least the size of a backwards jump, a change dated before
    the watermark (because the clock was behind) is still reported, once."""
    harness.store.settings.update({"date_bounds_inclusive": inclusive})
    instance = harness.legacy({"orders": hub_resource("orders", PAGE, pollDelay=120)})
    harness.start_clock()
    order = harness.store.create_order()["id"]
    harness.settle()
    harness.poll(instance)

    harness.store.advance(-60)  # the clock is now behind the watermark
    harness.store.update_order(order, status_id=2)
    harness.store.advance(90)
    harness.poll(instance)
    harness.settle()
    harness.poll(instance)

    assert harness.received.ids("orders") == [str(order), str(order)]
    assert [e.event_type for e in harness.received.events] == ["CREATED", "UPDATED"]
