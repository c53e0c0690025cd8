"""The BigCommerce client against the sandbox store's faults: each names the invariant it protects."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from bcevents.bigcommerce.client import BigCommerceClient, StoreAuth
from bcevents.errors import (
    EgressRefused,
    StoreRejectedCredentials,
    StoreRequestFailed,
    StoreThrottled,
    StoreUnavailable,
)
from bcsandbox import SandboxServer

ORDERS = "/api/v2/orders"


@pytest.fixture
def client(sandbox: SandboxServer, setenv: object) -> BigCommerceClient:
    setenv(ALLOW_PRIVATE_NETWORKS="true", STORE_TIMEOUT_SECONDS="1")  # type: ignore[operator]
    store = sandbox.store
    return BigCommerceClient(StoreAuth(username=store.username, password=store.password))


def test_an_empty_v2_list_is_an_empty_page(client: BigCommerceClient, sandbox: SandboxServer) -> None:
    """204 with no body is BigCommerce's empty list, not an error (research §9.4)."""
    assert client.list_page(f"{sandbox.url}{ORDERS}").records == []


def test_server_errors_are_retried_with_backoff(client: BigCommerceClient, sandbox: SandboxServer) -> None:
    """A transient 5xx never loses a page: the request is repeated."""
    sandbox.store.create_order()
    for status in (500, 502, 503):
        sandbox.store.inject_fault(ORDERS, "status", status=status)

    assert len(client.list_page(f"{sandbox.url}{ORDERS}").records) == 1
    assert [r.status for r in sandbox.store.requests][-4:] == [500, 502, 503, 200]


def test_a_store_that_keeps_failing_is_unavailable(client: BigCommerceClient, sandbox: SandboxServer) -> None:
    """Persistent 5xx ends the run with a typed error (no checkpoint past what was enqueued)."""
    sandbox.store.inject_fault(ORDERS, "status", count=10, status=500)

    with pytest.raises(StoreUnavailable, match="500"):
        client.list_page(f"{sandbox.url}{ORDERS}")


@pytest.mark.parametrize("kind", ["malformed_json", "wrong_content_type"])
def test_an_unreadable_body_is_a_store_error_not_an_empty_page(
    client: BigCommerceClient, sandbox: SandboxServer, kind: str
) -> None:
    """A body we cannot read is never mistaken for "nothing changed"."""
    sandbox.store.inject_fault(ORDERS, kind)

    with pytest.raises(StoreUnavailable):
        client.list_page(f"{sandbox.url}{ORDERS}")


@pytest.mark.parametrize("kind", ["reset", "truncated"])
def test_a_broken_connection_is_reported_as_unavailable(
    client: BigCommerceClient, sandbox: SandboxServer, kind: str
) -> None:
    """Resets (retried by urllib3 first) and truncated bodies end the resource's run typed, never
    as a half-read page."""
    sandbox.store.inject_fault(ORDERS, kind, count=10)

    with pytest.raises(StoreUnavailable):
        client.list_page(f"{sandbox.url}{ORDERS}")


def test_a_slow_store_times_out(client: BigCommerceClient, sandbox: SandboxServer) -> None:
    """A store that does not answer cannot hang the poll past its timeout."""
    sandbox.store.inject_fault(ORDERS, "delay", count=10, seconds=3)

    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        client.list_page(f"{sandbox.url}{ORDERS}")
    assert time.monotonic() - started < 15


def test_wrong_credentials_are_rejected_with_the_store_message(
    sandbox: SandboxServer, setenv: object
) -> None:
    setenv(ALLOW_PRIVATE_NETWORKS="true")  # type: ignore[operator]
    client = BigCommerceClient(StoreAuth(username="nobody", password="wrong"))

    with pytest.raises(StoreRejectedCredentials, match="401"):
        client.store_time(f"{sandbox.url}/api/v2")


def test_a_limit_above_250_is_refused_not_retried(client: BigCommerceClient, sandbox: SandboxServer) -> None:
    with pytest.raises(StoreRequestFailed, match="413"):
        client.list_page(f"{sandbox.url}{ORDERS}?limit=500")


def test_the_store_clock_comes_from_v2_time(client: BigCommerceClient, sandbox: SandboxServer) -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    sandbox.store.set_clock(when)

    assert client.store_time(f"{sandbox.url}/api/v2") == when


def test_a_429_storm_longer_than_the_run_stops_it_cleanly(sandbox: SandboxServer, setenv: object) -> None:
    """When the wait the store asks for exceeds the time left, the run stops (and resumes later)."""
    setenv(ALLOW_PRIVATE_NETWORKS="true")  # type: ignore[operator]
    store = sandbox.store
    client = BigCommerceClient(
        StoreAuth(username=store.username, password=store.password), remaining_seconds=lambda: 1
    )
    store.inject_fault(ORDERS, "rate_limit", count=10, reset_ms=5000)

    with pytest.raises(StoreThrottled):
        client.list_page(f"{sandbox.url}{ORDERS}")
    assert len(store.requests) == 1


def test_a_429_without_headers_backs_off(sandbox: SandboxServer, setenv: object) -> None:
    """A 429 without rate-limit headers means platform load: back off instead of hammering."""
    setenv(ALLOW_PRIVATE_NETWORKS="true")  # type: ignore[operator]
    store = sandbox.store
    waits: list[float] = []
    client = BigCommerceClient(
        StoreAuth(username=store.username, password=store.password), sleep=waits.append
    )
    store.inject_fault(ORDERS, "rate_limit", count=1, with_headers=False)

    client.list_page(f"{sandbox.url}{ORDERS}")

    assert waits
    assert waits[0] >= 4


def test_a_store_url_resolving_to_a_private_address_is_refused_after_creation(
    sandbox: SandboxServer, setenv: object, fake_dns: dict[str, str]
) -> None:
    """The egress guard runs at connect time too: a name re-pointed at loopback is refused."""
    setenv(ALLOW_PRIVATE_NETWORKS="false")  # type: ignore[operator]
    fake_dns["store-evil.example"] = "127.0.0.1"
    client = BigCommerceClient(StoreAuth(access_token="t"))

    with pytest.raises(EgressRefused):
        client.store_time(f"http://store-evil.example:{sandbox.port}/api/v2")


def test_the_store_clock_jumping_back_moves_no_watermark_back() -> None:
    from bcevents.polling.watermark import Watermark

    now = datetime(2026, 1, 1, tzinfo=UTC)
    wm = Watermark(updated_at=now)
    wm.advance(now - timedelta(hours=1), poll_delay=0)

    assert wm.updated_at == now
