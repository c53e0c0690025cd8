"""Filters, bounds, sort and paging of the list endpoints, as a poller depends on them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest

from tests.sandbox.conftest import Client

T0 = datetime(2025, 1, 15, 13, 0, 0, tzinfo=UTC)


def rfc(when: datetime) -> str:
    return when.strftime("%a, %d %b %Y %H:%M:%S +0000")


@pytest.fixture
def three_seconds(client: Client) -> list[int]:
    """Orders modified at T0, T0+1s and T0+2s."""
    return [client.store.create_order(date_created=T0 + timedelta(seconds=i))["id"] for i in range(3)]


def ids(records: list[dict]) -> list[int]:
    return [r["id"] for r in records]


# --- v2 orders ----------------------------------------------------------------------------------
def test_default_listing_is_50_orders_by_id_ascending(client: Client) -> None:
    client.store.create_orders(60)

    page = client.get("/v2/orders").json()

    assert ids(page) == list(range(1, 51))


def test_page_past_the_end_is_204(client: Client) -> None:
    client.store.create_orders(3)

    assert client.get("/v2/orders", page=2).status_code == 204


@pytest.mark.parametrize(
    "value",
    [
        rfc(T0 + timedelta(seconds=1)),
        "2025-01-15T13:00:01Z",
        "2025-01-15T08:00:01.000-05:00",
        "2025-01-15T13:00:01",
    ],
)
def test_min_date_modified_is_inclusive_in_any_documented_format(
    client: Client, three_seconds: list[int], value: str
) -> None:
    assert ids(client.get("/v2/orders", min_date_modified=value).json()) == three_seconds[1:]


def test_max_date_modified_is_inclusive(client: Client, three_seconds: list[int]) -> None:
    page = client.get("/v2/orders", max_date_modified=rfc(T0 + timedelta(seconds=1))).json()

    assert ids(page) == three_seconds[:2]


def test_exclusive_bounds_setting_drops_the_boundary_second(client: Client, three_seconds: list[int]) -> None:
    client.store.settings.date_bounds_inclusive = False
    second = rfc(T0 + timedelta(seconds=1))

    assert ids(client.get("/v2/orders", min_date_modified=second).json()) == three_seconds[2:]
    assert ids(client.get("/v2/orders", max_date_modified=second).json()) == three_seconds[:1]


def test_unix_seconds_are_not_a_documented_v2_date(client: Client, three_seconds: list[int]) -> None:
    response = client.get("/v2/orders", min_date_modified=str(int(T0.timestamp())))

    assert response.status_code == 400


def test_orders_created_with_a_historical_date_are_found_by_date_created_only(client: Client) -> None:
    client.store.set_clock(T0)
    imported = client.store.create_order(date_created=T0 - timedelta(days=400), date_modified=T0)

    created_recently = client.get("/v2/orders", min_date_created=rfc(T0 - timedelta(days=1)))
    modified_recently = client.get("/v2/orders", min_date_modified=rfc(T0 - timedelta(days=1)))

    assert created_recently.status_code == 204
    assert ids(modified_recently.json()) == [imported["id"]]
    assert imported["date_created"] == rfc(T0 - timedelta(days=400))


def test_sort_by_date_modified_breaks_ties_by_id(client: Client) -> None:
    client.store.set_clock(T0)
    client.store.create_orders(3)
    client.store.advance(-60)
    client.store.create_orders(2)  # older modification dates, higher ids

    ascending = client.get("/v2/orders", sort="date_modified:asc").json()
    descending = client.get("/v2/orders", sort="date_modified:desc").json()

    assert ids(ascending) == [4, 5, 1, 2, 3]
    assert ids(descending) == [3, 2, 1, 5, 4]


def test_sort_without_direction_is_ascending(client: Client) -> None:
    client.store.create_orders(3)
    client.store.update_order(1, customer_id=99)

    assert ids(client.get("/v2/orders", sort="customer_id").json())[-1] == 1


def test_update_bumps_date_modified_to_the_store_clock(client: Client) -> None:
    client.store.set_clock(T0)
    order = client.store.create_order()
    client.store.advance(90)

    updated = client.store.update_order(order["id"], status_id=2)

    assert updated["date_modified"] == rfc(T0 + timedelta(seconds=90))
    assert updated["date_created"] == order["date_created"]
    assert updated["status"] == "Shipped"


def test_archiving_sets_is_deleted_and_bumps_date_modified(client: Client) -> None:
    client.store.set_clock(T0)
    order = client.store.create_order()
    client.store.advance(5)

    client.store.archive_order(order["id"])
    seen = client.get(f"/v2/orders/{order['id']}").json()

    assert seen["is_deleted"] is True
    assert seen["date_modified"] == rfc(T0 + timedelta(seconds=5))


def test_archived_orders_are_listed_by_default_and_filterable(client: Client) -> None:
    client.store.create_orders(3)
    client.store.archive_order(2)

    assert ids(client.get("/v2/orders").json()) == [1, 2, 3]
    assert ids(client.get("/v2/orders", is_deleted="true").json()) == [2]
    assert ids(client.get("/v2/orders", is_deleted="false").json()) == [1, 3]


def test_setting_can_hide_archived_orders_from_default_listings(client: Client) -> None:
    client.store.settings.include_archived_orders = False
    client.store.create_orders(3)
    client.store.archive_order(2)

    assert ids(client.get("/v2/orders").json()) == [1, 3]
    assert ids(client.get("/v2/orders", is_deleted="true").json()) == [2]


def test_setting_can_hide_incomplete_orders_unless_asked_for(client: Client) -> None:
    client.store.settings.include_incomplete_orders = False
    client.store.create_orders(2)
    client.store.create_order(status_id=0)

    assert ids(client.get("/v2/orders").json()) == [1, 2]
    assert ids(client.get("/v2/orders", status_id=0).json()) == [3]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status_id": 7}, [2]),
        ({"customer_id": 3}, [4]),
        ({"min_id": 2, "max_id": 3}, [2, 3]),
        ({"email": "WEI.DOE3@example.com"}, [4]),
    ],
)
def test_v2_order_filters(client: Client, params: dict, expected: list[int]) -> None:
    client.store.create_orders(5)

    assert ids(client.get("/v2/orders", **params).json()) == expected


def test_count_applies_the_filters(client: Client) -> None:
    client.store.create_orders(10)

    everything = client.get("/v2/orders/count").json()
    awaiting = client.get("/v2/orders/count", status_id=11).json()

    assert everything["count"] == 10
    assert sum(s["count"] for s in everything["statuses"]) == 10
    assert awaiting["count"] == 3
    assert {s["id"] for s in everything["statuses"]} == set(range(15))


def test_six_hundred_orders_in_one_second_page_completely(client: Client) -> None:
    client.store.set_clock(T0)
    client.store.create_orders(600)

    pages = [
        client.get("/v2/orders", min_date_modified=rfc(T0), sort="date_modified:asc", limit=250, page=n)
        for n in (1, 2, 3, 4)
    ]

    assert [p.status_code for p in pages] == [200, 200, 200, 204]
    seen = [r for p in pages[:3] for r in p.json()]
    assert ids(seen) == list(range(1, 601))
    assert {r["date_modified"] for r in seen} == {rfc(T0)}


def test_clock_can_jump_backwards(client: Client) -> None:
    client.store.set_clock(T0)
    client.store.create_order()
    client.store.advance(-3600)

    late = client.store.create_order()

    assert parsedate_to_datetime(late["date_modified"]) == T0 - timedelta(hours=1)
    assert ids(client.get("/v2/orders", sort="date_modified:asc").json()) == [2, 1]


# --- v2 products and customers (legacy) ---------------------------------------------------------
def test_v2_products_and_customers_filter_by_date_and_ignore_sort(client: Client) -> None:
    client.store.set_clock(T0)
    client.store.create_products(2)
    client.store.create_customers(2)
    client.store.advance(10)
    client.store.update_product(1, price=1.5)
    client.store.update_customer(2, notes="vip")

    products = client.legacy("/products", min_date_modified=rfc(T0 + timedelta(seconds=10)), sort="id:desc")
    customers = client.legacy("/customers", max_date_modified=rfc(T0))

    assert ids(products.json()) == [1]
    assert products.json()[0]["price"] == "1.5000"
    assert ids(customers.json()) == [1]
    assert ids(client.legacy("/products", sort="id:desc").json()) == [1, 2]


# --- v3 catalog products ------------------------------------------------------------------------
@pytest.fixture
def morning_and_afternoon(client: Client) -> None:
    """Products modified at 09:00 and 15:00 on 2025-01-15, with the store clock at 13:00 that day."""
    client.store.set_clock(T0)
    client.store.create_product(date_created=T0.replace(hour=9))
    client.store.create_product(date_created=T0.replace(hour=15))


def test_date_only_products_bound_gets_the_current_time_of_day(
    client: Client, morning_and_afternoon: None
) -> None:
    # Research §3/§9.1: `date_modified:min=2025-01-15` means 2025-01-15 plus the request's time of day.
    date_only = client.get("/v3/catalog/products", **{"date_modified:min": "2025-01-15"}).json()
    full = client.get("/v3/catalog/products", **{"date_modified:min": "2025-01-15T00:00:00Z"}).json()

    assert ids(date_only["data"]) == [2]
    assert ids(full["data"]) == [1, 2]


def test_products_accept_unix_timestamps(client: Client, morning_and_afternoon: None) -> None:
    noon = int(T0.replace(hour=12).timestamp())

    page = client.get("/v3/catalog/products", **{"date_modified:max": str(noon)}).json()

    assert ids(page["data"]) == [1]


def test_products_exact_date_modified_matches_the_day(client: Client, morning_and_afternoon: None) -> None:
    assert ids(client.get("/v3/catalog/products", date_modified="2025-01-15").json()["data"]) == [1, 2]
    assert client.get("/v3/catalog/products", date_modified="2025-01-16").json()["data"] == []


def test_products_sort_and_direction(client: Client) -> None:
    client.store.set_clock(T0)
    client.store.create_products(3)
    client.store.advance(5)
    client.store.update_product(1, name="Zebra")

    by_modified = client.get("/v3/catalog/products", sort="date_modified", direction="asc").json()
    by_name_desc = client.get("/v3/catalog/products", sort="name", direction="desc").json()

    assert ids(by_modified["data"]) == [2, 3, 1]
    assert by_name_desc["data"][0]["name"] == "Zebra"
    assert by_modified["data"][-1]["date_modified"] == "2025-01-15T13:00:05+00:00"


def test_products_id_in_filter(client: Client) -> None:
    client.store.create_products(5)

    assert ids(client.get("/v3/catalog/products", **{"id:in": "4,2,9"}).json()["data"]) == [2, 4]


def test_products_pagination_meta(client: Client) -> None:
    client.store.create_products(5)

    meta = client.get("/v3/catalog/products", limit=2, page=2).json()["meta"]["pagination"]

    assert meta == {
        "total": 5,
        "count": 2,
        "per_page": 2,
        "current_page": 2,
        "total_pages": 3,
        "links": {"current": "?page=2&limit=2", "previous": "?page=1&limit=2", "next": "?page=3&limit=2"},
    }


def test_deleted_product_disappears(client: Client) -> None:
    client.store.create_products(2)
    client.store.delete_product(1)

    assert ids(client.get("/v3/catalog/products").json()["data"]) == [2]
    assert client.get("/v3/catalog/products/1").status_code == 404


# --- v3 customers -------------------------------------------------------------------------------
def test_customers_date_bounds_and_sort(client: Client) -> None:
    client.store.set_clock(T0)
    client.store.create_customers(3)
    client.store.advance(60)
    client.store.update_customer(1, notes="moved")

    recent = client.get("/v3/customers", **{"date_modified:min": "2025-01-15T13:01:00"}).json()
    newest_first = client.get("/v3/customers", sort="date_modified:desc").json()
    created_window = client.get("/v3/customers", **{"date_created:max": "2025-01-15T13:00:00Z"}).json()

    assert ids(recent["data"]) == [1]
    assert ids(newest_first["data"]) == [1, 3, 2]
    assert ids(created_window["data"]) == [1, 2, 3]
    assert recent["data"][0]["date_modified"] == "2025-01-15T13:01:00Z"


def test_customers_date_only_bound_means_midnight(client: Client) -> None:
    client.store.set_clock(T0)
    client.store.create_customer()

    assert ids(client.get("/v3/customers", **{"date_modified:min": "2025-01-15"}).json()["data"]) == [1]


@pytest.mark.parametrize(
    ("direction", "expected"), [("asc", list(range(1, 8))), ("desc", list(range(7, 0, -1)))]
)
def test_customers_cursor_walk_sees_every_record_once(
    client: Client, direction: str, expected: list[int]
) -> None:
    client.store.set_clock(T0)
    client.store.create_customers(7)
    sort = f"date_modified:{direction}"
    seen: list[int] = []

    first = client.get("/v3/customers", limit=3, sort=sort).json()
    seen += ids(first["data"])
    cursor = first["meta"]["cursor_pagination"]
    while "next" in cursor["links"]:
        page = client.get("/v3/customers", limit=3, sort=sort, after=cursor["end_cursor"]).json()
        assert "pagination" not in page["meta"]
        seen += ids(page["data"])
        cursor = page["meta"]["cursor_pagination"]

    assert seen == expected


def test_customers_cursor_from_another_sort_is_refused(client: Client) -> None:
    client.store.create_customers(3)
    cursor = client.get("/v3/customers", limit=1).json()["meta"]["cursor_pagination"]["end_cursor"]

    assert client.get("/v3/customers", sort="last_name:asc", after=cursor).status_code == 422
    assert client.get("/v3/customers", after="not-a-cursor!").status_code == 422


def test_customers_before_cursor_returns_the_previous_page(client: Client) -> None:
    client.store.create_customers(6)
    second = client.get(
        "/v3/customers",
        limit=2,
        after=client.get("/v3/customers", limit=2).json()["meta"]["cursor_pagination"]["end_cursor"],
    ).json()

    back = client.get(
        "/v3/customers", limit=2, before=second["meta"]["cursor_pagination"]["start_cursor"]
    ).json()

    assert ids(second["data"]) == [3, 4]
    assert ids(back["data"]) == [1, 2]


def test_customers_page_two_has_offset_pagination_only(client: Client) -> None:
    client.store.create_customers(3)

    meta = client.get("/v3/customers", limit=2, page=2).json()["meta"]

    assert set(meta) == {"pagination"}
