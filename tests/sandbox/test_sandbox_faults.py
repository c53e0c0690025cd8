"""Injected faults, each kind, and the hook that changes records between pages."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import requests

from bcsandbox.requestlog import RequestRecord
from tests.sandbox.conftest import Client

ORDERS = "/stores/sandbox/v2/orders"


@pytest.fixture(autouse=True)
def _orders(client: Client) -> None:
    client.store.create_orders(6)


@pytest.mark.parametrize("code", [500, 502, 503])
def test_status_fault_answers_that_status_with_a_v2_error(client: Client, code: int) -> None:
    client.store.inject_fault(ORDERS, "status", status=code, retry_after=7)

    response = client.get("/v2/orders")

    assert response.status_code == code
    assert response.headers["Retry-After"] == "7"
    assert response.json()[0]["status"] == code


def test_status_fault_on_v3_uses_the_v3_error_shape(client: Client) -> None:
    client.store.inject_fault("/stores/sandbox/v3", "status", status=500)

    body = client.get("/v3/customers").json()

    assert body["status"] == 500
    assert body["title"] == "Internal Server Error"


def test_status_fault_can_carry_a_custom_body(client: Client) -> None:
    client.store.inject_fault(ORDERS, "status", status=500, body={"oops": True})

    assert client.get("/v2/orders").json() == {"oops": True}


def test_faults_are_consumed_first_in_first_out_then_requests_succeed(client: Client) -> None:
    client.store.inject_fault(ORDERS, "status", count=2, status=502)
    client.store.inject_fault(ORDERS, "empty_204")

    statuses = [client.get("/v2/orders").status_code for _ in range(4)]

    assert statuses == [502, 502, 204, 200]
    assert client.store.faults.pending() == []


def test_fault_applies_only_under_its_prefix(client: Client) -> None:
    client.store.inject_fault("/stores/sandbox/v3/customers", "status", status=503)

    assert client.get("/v2/orders").status_code == 200
    assert client.get("/v3/customers").status_code == 503


def test_delay_fault_delays_then_answers_normally(client: Client) -> None:
    client.store.inject_fault(ORDERS, "delay", seconds=0.2)
    started = time.monotonic()

    response = client.get("/v2/orders")

    assert time.monotonic() - started >= 0.2
    assert response.status_code == 200
    assert client.store.requests[-1].fault == "delay"


def test_reset_fault_closes_the_connection_without_a_response(client: Client) -> None:
    client.store.inject_fault(ORDERS, "reset")

    with pytest.raises(requests.ConnectionError):
        client.get("/v2/orders")
    assert client.get("/v2/orders").status_code == 200


def test_malformed_json_fault_sends_unparseable_json(client: Client) -> None:
    client.store.inject_fault(ORDERS, "malformed_json")

    response = client.get("/v2/orders")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    with pytest.raises(requests.JSONDecodeError):
        response.json()


def test_truncated_fault_sends_less_than_content_length(client: Client) -> None:
    client.store.inject_fault(ORDERS, "truncated")

    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        client.get("/v2/orders")
    assert client.get("/v2/orders").status_code == 200


def test_wrong_content_type_fault_sends_html(client: Client) -> None:
    client.store.inject_fault(ORDERS, "wrong_content_type", status=503)

    response = client.get("/v2/orders")

    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>")


def test_rate_limit_fault_sends_429_with_reset_headers(client: Client) -> None:
    client.store.inject_fault(ORDERS, "rate_limit", reset_ms=1500)

    response = client.get("/v2/orders")

    assert response.status_code == 429
    assert response.headers["X-Rate-Limit-Requests-Left"] == "0"
    assert response.headers["X-Rate-Limit-Time-Reset-Ms"] == "1500"
    assert response.headers["X-Retry-After"] == "2"


def test_rate_limit_fault_without_headers_mimics_platform_load(client: Client) -> None:
    # Research §5: a 429 without the headers means platform load; back off longer.
    client.store.inject_fault(ORDERS, "rate_limit", with_headers=False)

    response = client.get("/v2/orders")

    assert response.status_code == 429
    assert "X-Rate-Limit-Time-Reset-Ms" not in response.headers


def test_empty_204_fault(client: Client) -> None:
    client.store.inject_fault(ORDERS, "empty_204")

    response = client.get("/v2/orders")

    assert response.status_code == 204
    assert response.content == b""


def test_faulted_requests_are_logged_with_their_kind(client: Client) -> None:
    client.store.inject_fault(ORDERS, "status", status=500)
    client.get("/v2/orders")

    assert [(r.status, r.fault) for r in client.store.requests] == [(500, "status")]


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("explode", {}, "unknown fault kind"),
        ("delay", {"status": 500}, "takes no option"),
        ("status", {"count": 0}, "at least 1"),
    ],
)
def test_bad_fault_is_refused_up_front(client: Client, kind: str, options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        client.store.inject_fault(ORDERS, kind, **options)


def test_hook_mutating_between_pages_shifts_offset_pages(client: Client) -> None:
    # Research §9.3: a record modified while a poller pages by date moves to the end, so offset
    # paging skips the record that slides into its place. The hook runs before page 1 is sent.
    client.store.reset()
    client.store.set_clock(datetime(2025, 1, 15, 13, 0, tzinfo=UTC))
    client.store.create_orders(6)
    calls: list[RequestRecord] = []

    def touch_first_order(entry: RequestRecord) -> None:
        if not calls and entry.path == ORDERS:
            client.store.advance(1)
            client.store.update_order(1, staff_notes="changed mid-poll")
        calls.append(entry)

    client.store.on_request(touch_first_order)
    page1 = client.get("/v2/orders", sort="date_modified:asc", limit=3, page=1).json()
    page2 = client.get("/v2/orders", sort="date_modified:asc", limit=3, page=2).json()

    assert [o["id"] for o in page1] == [1, 2, 3]
    assert [o["id"] for o in page2] == [5, 6, 1]
    assert len(calls) == 2


def test_hook_can_be_removed(client: Client) -> None:
    calls: list[RequestRecord] = []
    remove = client.store.on_request(calls.append)
    client.get("/v2/time")
    remove()
    client.get("/v2/time")

    assert len(calls) == 1
