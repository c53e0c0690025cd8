"""The store's Python API: clock, records, dates, bulk loads and thread safety."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bcsandbox import RecordNotFound, SandboxStore, dates
from bcsandbox.clock import StoreClock
from tests.sandbox.conftest import Client

T0 = datetime(2025, 1, 15, 13, 0, 0, tzinfo=UTC)


# --- dates --------------------------------------------------------------------------------------
def test_formats_match_the_spec_examples() -> None:
    ts = int(datetime(2012, 11, 20, tzinfo=UTC).timestamp())

    assert dates.rfc2822(ts) == "Tue, 20 Nov 2012 00:00:00 +0000"
    assert dates.iso_offset(ts) == "2012-11-20T00:00:00+00:00"
    assert dates.iso_z(ts) == "2012-11-20T00:00:00Z"


@pytest.mark.parametrize(
    "value",
    [
        "Thu, 20 Apr 2017 11:32:00 -0400",
        "20 Apr 2017 15:32:00 GMT",
        "2017-04-20T11:32:00.000-04:00",
        "2017-04-20T15:32:00Z",
        "2017-04-20T15:32:00",
        "2017-04-20 15:32:00+00:00",
    ],
)
def test_v2_reads_rfc2822_and_iso8601(value: str) -> None:
    assert dates.parse_v2(value) == int(datetime(2017, 4, 20, 15, 32, tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    "value",
    [
        "",
        "yesterday",
        "1492702320",
        "Thu, 20 Apr 2017 11:32:00  0400",
        "2017-04-20T11:32:00 04:00",
        "2017-13-01",
        "20170420T153200Z",
    ],
)
def test_v2_refuses_other_values(value: str) -> None:
    with pytest.raises(dates.InvalidDate):
        dates.parse_v2(value)


def test_v3_date_only_value_takes_the_time_of_day_when_asked() -> None:
    now = datetime(2026, 3, 1, 8, 9, 10, 500_000, tzinfo=UTC)

    with_time = dates.parse_v3("2025-01-15", now=now, date_only_adds_time_of_day=True)
    midnight = dates.parse_v3("2025-01-15", now=now, date_only_adds_time_of_day=False)

    assert with_time == int(datetime(2025, 1, 15, 8, 9, 10, tzinfo=UTC).timestamp())
    assert midnight == int(datetime(2025, 1, 15, tzinfo=UTC).timestamp())


@given(st.integers(min_value=0, max_value=4_102_444_800))
def test_every_written_date_reads_back(ts: int) -> None:
    assert dates.parse_v2(dates.rfc2822(ts)) == ts
    assert dates.parse_v3(dates.iso_offset(ts), now=T0, date_only_adds_time_of_day=True) == ts
    assert dates.parse_v3(dates.iso_z(ts), now=T0, date_only_adds_time_of_day=True) == ts


# --- clock --------------------------------------------------------------------------------------
def test_clock_defaults_to_real_utc_time() -> None:
    clock = StoreClock()

    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=2)
    assert not clock.frozen


def test_frozen_clock_stands_still_until_advanced() -> None:
    clock = StoreClock()
    clock.set(T0)

    first = clock.now()
    clock.advance(1.5)

    assert first == T0
    assert clock.now() == T0 + timedelta(seconds=1.5)
    assert clock.seconds() == int(T0.timestamp()) + 1


def test_ticking_clock_moves_on_from_where_it_was_set() -> None:
    clock = StoreClock()
    clock.set(T0, frozen=False)

    assert T0 <= clock.now() < T0 + timedelta(seconds=2)
    clock.freeze()
    frozen_at = clock.now()
    clock.unfreeze()
    assert clock.now() >= frozen_at


def test_naive_datetime_means_utc() -> None:
    clock = StoreClock()
    clock.set(datetime(2025, 1, 15, 13, 0))

    assert clock.now() == T0


# --- records ------------------------------------------------------------------------------------
def test_record_dates_are_whole_seconds_of_the_store_clock() -> None:
    store = SandboxStore()
    store.set_clock(T0 + timedelta(milliseconds=900))

    order = store.create_order()
    product = store.create_product()
    customer = store.create_customer()

    assert order["date_created"] == order["date_modified"] == "Wed, 15 Jan 2025 13:00:00 +0000"
    assert product["date_modified"] == "2025-01-15T13:00:00+00:00"
    assert customer["date_modified"] == "2025-01-15T13:00:00Z"


def test_seed_is_deterministic_apart_from_dates() -> None:
    a, b = SandboxStore(), SandboxStore()
    a.seed()
    b.seed()

    for resource in ("orders", "products", "customers"):
        assert [a.get(resource, i).data for i in a.ids(resource)] == [
            b.get(resource, i).data for i in b.ids(resource)
        ]
    assert a.count("orders") == 5


def test_seed_spreads_records_over_the_last_minutes() -> None:
    store = SandboxStore()
    store.set_clock(T0)
    store.seed(orders=3, products=0, customers=0)

    created = [store.get("orders", i).created for i in store.ids("orders")]

    assert created == [int(T0.timestamp()) - 120, int(T0.timestamp()) - 60, int(T0.timestamp())]


def test_fields_given_at_creation_win() -> None:
    store = SandboxStore()

    order = store.create_order(status_id=5, billing_address={"email": "x@example.com"}, id=500)

    assert order["status"] == "Cancelled"
    assert order["billing_address"]["email"] == "x@example.com"
    assert order["billing_address"]["city"]
    assert store.create_order()["id"] == 501


def test_unknown_ids_raise_record_not_found() -> None:
    store = SandboxStore()

    with pytest.raises(RecordNotFound):
        store.update_order(1, status_id=2)
    with pytest.raises(RecordNotFound):
        store.delete_customer(1)


def test_duplicate_id_is_refused() -> None:
    store = SandboxStore()
    store.create_product(id=3)

    with pytest.raises(ValueError, match="already exists"):
        store.create_product(id=3)


def test_concurrent_creates_get_distinct_ids() -> None:
    store = SandboxStore()

    def create() -> None:
        for _ in range(200):
            store.create_order()

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert store.ids("orders") == list(range(1, 801))


def test_fifty_thousand_orders_load_and_page(client: Client) -> None:
    client.store.set_clock(T0)
    ids = client.store.create_orders(50_000, start=T0 - timedelta(seconds=50_000), step_seconds=1)

    last = client.get("/v2/orders", sort="date_modified:desc", limit=250).json()
    window = client.get(
        "/v2/orders", min_date_modified="2025-01-15T12:59:00Z", sort="date_modified:asc", limit=250
    )
    count = client.get("/v2/orders/count").json()

    assert len(ids) == 50_000
    assert last[0]["id"] == 50_000
    assert [o["id"] for o in window.json()] == list(range(49_941, 50_001))  # the last 60 seconds
    assert count["count"] == 50_000
