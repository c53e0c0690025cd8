"""Each assumption the poller rests on where BigCommerce's documentation is silent is a store
setting (`bcsandbox.settings`); here each can be flipped, and the flip changes what a client sees.

The poller's suites run under these flips (tests/reliability/test_model_poller.py says which).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.sandbox.conftest import Client

T0 = datetime(2025, 1, 15, 13, 0, 0, tzinfo=UTC)


def ids(records: list[dict]) -> list[int]:
    return [r["id"] for r in records]


def rfc(when: datetime) -> str:
    return when.strftime("%a, %d %b %Y %H:%M:%S +0000")


# --- tie_order ----------------------------------------------------------------------------------
@pytest.fixture
def five_in_one_second(client: Client) -> list[int]:
    """Five orders, products and customers modified in the same second (T0)."""
    client.store.set_clock(T0)
    client.store.create_products(5)
    client.store.create_customers(5)
    return client.store.create_orders(5)


def test_ties_are_broken_by_id_by_default(client: Client, five_in_one_second: list[int]) -> None:
    orders = client.get("/v2/orders", sort="date_modified:asc").json()
    products = client.get("/v3/catalog/products", sort="date_modified").json()["data"]
    customers = client.get("/v3/customers", sort="date_modified:asc").json()["data"]

    assert ids(orders) == ids(products) == ids(customers) == [1, 2, 3, 4, 5]


def test_reversed_ties_list_a_second_by_id_descending(client: Client, five_in_one_second: list[int]) -> None:
    client.store.settings.update({"tie_order": "reverse"})

    orders = client.get("/v2/orders", sort="date_modified:asc").json()
    customers = client.get("/v3/customers", sort="date_modified:asc").json()["data"]

    assert ids(orders) == ids(customers) == [5, 4, 3, 2, 1]
    assert ids(client.get("/v2/orders", sort="id:asc").json()) == [1, 2, 3, 4, 5]  # ids never tie


def test_unstable_ties_change_order_between_requests_yet_list_every_record(
    client: Client, five_in_one_second: list[int]
) -> None:
    client.store.settings.update({"tie_order": "unstable"})

    orders = [ids(client.get("/v2/orders", sort="date_modified:asc").json()) for _ in range(4)]

    assert all(sorted(o) == [1, 2, 3, 4, 5] for o in orders)
    assert len({tuple(o) for o in orders}) > 1


def test_unstable_ties_can_make_page_numbers_skip_a_record(client: Client) -> None:
    """What a poller paging by number through one second meets: pages that overlap and miss."""
    client.store.set_clock(T0)
    client.store.create_orders(30)
    client.store.settings.update({"tie_order": "unstable"})

    listed = [
        i
        for page in range(1, 4)
        for i in ids(client.get("/v2/orders", sort="date_modified:asc", limit=10, page=page).json())
    ]

    assert len(set(listed)) < 30


def test_unstable_ties_keep_one_order_where_a_cursor_is_offered(client: Client) -> None:
    client.store.set_clock(T0)
    client.store.create_customers(7)
    client.store.settings.update({"tie_order": "unstable"})

    first = client.get("/v3/customers", sort="date_created:asc", limit=3).json()
    after = first["meta"]["cursor_pagination"]["end_cursor"]
    second = client.get("/v3/customers", sort="date_created:asc", limit=3, after=after).json()
    third = client.get(
        "/v3/customers",
        sort="date_created:asc",
        limit=3,
        after=second["meta"]["cursor_pagination"]["end_cursor"],
    ).json()

    walked = ids(first["data"]) + ids(second["data"]) + ids(third["data"])
    assert sorted(walked) == list(range(1, 8))
    assert walked != sorted(walked)  # one arbitrary order, not by id


# --- v2_default_order ---------------------------------------------------------------------------
def test_v2_lists_by_id_ascending_by_default(client: Client) -> None:
    client.store.set_clock(T0)
    client.store.create_orders(3, start=T0, step_seconds=-60)  # higher ids created earlier

    assert ids(client.get("/v2/orders").json()) == [1, 2, 3]


@pytest.mark.parametrize("path", ["/v2/orders", "/v2/customers", "/v2/products"])
def test_another_v2_default_order_applies_without_sort(client: Client, path: str) -> None:
    client.store.set_clock(T0)
    client.store.create_orders(3, start=T0, step_seconds=-60)
    client.store.create_customers(3, start=T0, step_seconds=-60)
    client.store.create_products(3, start=T0, step_seconds=-60)
    client.store.settings.update({"v2_default_order": "date_created:asc"})

    assert ids(client.get(path).json()) == [3, 2, 1]
    # Products and customers v2 document no sort: they keep the default order whatever `sort` says.
    expected = [1, 2, 3] if path == "/v2/orders" else [3, 2, 1]
    assert ids(client.get(path, sort="id:asc").json()) == expected


def test_an_unknown_v2_default_order_is_refused(client: Client) -> None:
    response = client.admin("POST", "/settings", {"v2_default_order": "total:asc"})

    assert response.status_code == 400
    assert "v2_default_order" in response.json()["error"]


# --- customers_cursor ---------------------------------------------------------------------------
def test_without_customer_cursors_meta_has_none_and_after_is_ignored(client: Client) -> None:
    client.store.create_customers(5)
    cursor = client.get("/v3/customers", limit=2).json()["meta"]["cursor_pagination"]["end_cursor"]
    client.store.settings.update({"customers_cursor": False})

    first = client.get("/v3/customers", limit=2).json()
    after = client.get("/v3/customers", limit=2, after=cursor).json()

    assert "cursor_pagination" not in first["meta"]
    assert first["meta"]["pagination"]["total"] == 5
    assert ids(after["data"]) == [1, 2]  # the first page again: `after` is not a known key


# --- id_bounds_inclusive ------------------------------------------------------------------------
def test_exclusive_id_bounds_leave_out_the_ids_named(client: Client) -> None:
    client.store.create_orders(5)
    client.store.create_customers(5)
    assert ids(client.get("/v2/orders", min_id=2, max_id=4).json()) == [2, 3, 4]

    client.store.settings.update({"id_bounds_inclusive": False})

    assert ids(client.get("/v2/orders", min_id=2, max_id=4).json()) == [3]
    assert ids(client.legacy("/customers", min_id=2).json()) == [3, 4, 5]
    # v3's `id:min` is documented as >=: the setting is v2's alone.
    assert ids(client.get("/v3/customers", **{"id:min": 2}).json()["data"]) == [2, 3, 4, 5]


# --- archive_bumps_date_modified ----------------------------------------------------------------
def test_archiving_can_leave_date_modified_as_it_was(client: Client) -> None:
    client.store.set_clock(T0)
    order = client.store.create_order()
    client.store.advance(5)
    client.store.settings.update({"archive_bumps_date_modified": False})

    client.store.archive_order(order["id"])
    seen = client.get(f"/v2/orders/{order['id']}").json()

    assert seen["is_deleted"] is True
    assert seen["date_modified"] == rfc(T0)
    assert client.get("/v2/orders", min_date_modified=rfc(T0 + timedelta(seconds=1))).status_code == 204


# --- legacy_rate_limit_headers ------------------------------------------------------------------
def test_legacy_answers_can_come_without_rate_limit_headers(client: Client) -> None:
    client.store.create_orders(1)
    assert "X-Rate-Limit-Requests-Left" in client.legacy("/orders").headers
    client.store.settings.update({"legacy_rate_limit_headers": False, "rate_limit_quota": 3})

    legacy = client.legacy("/orders")
    api = client.get("/v2/orders")

    assert not any(name.lower().startswith("x-rate-limit") for name in legacy.headers)
    assert legacy.headers["X-BC-ApiLimit-Remaining"] == "1"  # the same quota: 3, two spent
    assert api.headers["X-Rate-Limit-Requests-Left"] == "0"  # API accounts keep theirs
    refused = client.legacy("/orders")
    assert refused.status_code == 429
    assert not any(name.lower().startswith("x-rate-limit") for name in refused.headers)
