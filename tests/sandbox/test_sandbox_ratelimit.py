"""The store's request quota and its headers (research §5), and the request log."""

from __future__ import annotations

import time

import pytest

from bcsandbox.ratelimit import RateLimiter
from tests.sandbox.conftest import Client

HEADERS = (
    "X-Rate-Limit-Requests-Quota",
    "X-Rate-Limit-Requests-Left",
    "X-Rate-Limit-Time-Window-Ms",
    "X-Rate-Limit-Time-Reset-Ms",
)


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("path", ["/v2/orders", "/v2/time", "/v3/catalog/products", "/v3/customers"])
def test_every_api_response_carries_the_rate_limit_headers(client: Client, path: str) -> None:
    response = client.get(path)

    assert all(name in response.headers for name in HEADERS)
    assert response.headers["X-Rate-Limit-Requests-Quota"] == "10000"
    assert response.headers["X-Rate-Limit-Time-Window-Ms"] == "30000"


def test_legacy_responses_carry_them_too(client: Client) -> None:
    assert "X-Rate-Limit-Requests-Left" in client.legacy("/time").headers


def test_requests_left_counts_down_within_a_window(client: Client) -> None:
    client.store.settings.rate_limit_quota = 150

    lefts = [int(client.get("/v2/time").headers["X-Rate-Limit-Requests-Left"]) for _ in range(3)]

    assert lefts == [149, 148, 147]


def test_request_beyond_the_quota_is_429_with_headers(client: Client) -> None:
    client.store.settings.rate_limit_quota = 2
    client.get("/v2/time")
    client.get("/v2/time")

    response = client.get("/v2/orders")

    assert response.status_code == 429
    assert response.headers["X-Rate-Limit-Requests-Left"] == "0"
    reset_ms = int(response.headers["X-Rate-Limit-Time-Reset-Ms"])
    assert 0 < reset_ms <= 30_000
    assert response.headers["X-Retry-After"] == str(-(-reset_ms // 1000))


def test_quota_returns_when_the_window_resets(client: Client) -> None:
    client.store.settings.rate_limit_quota = 1
    client.store.settings.rate_limit_window_ms = 200
    assert client.get("/v2/time").status_code == 200
    limited = client.get("/v2/time")
    assert limited.status_code == 429

    time.sleep(int(limited.headers["X-Rate-Limit-Time-Reset-Ms"]) / 1000 + 0.02)

    assert client.get("/v2/time").status_code == 200


def test_time_scale_compresses_the_window_but_not_the_headers(client: Client) -> None:
    client.store.settings.rate_limit_quota = 1
    client.store.settings.rate_limit_time_scale = 100.0  # 30 000 sandbox ms = 300 real ms
    client.get("/v2/time")
    limited = client.get("/v2/time")

    time.sleep(0.35)
    again = client.get("/v2/time")

    assert limited.status_code == 429
    assert int(limited.headers["X-Rate-Limit-Time-Reset-Ms"]) > 1000
    assert limited.headers["X-Rate-Limit-Time-Window-Ms"] == "30000"
    assert again.status_code == 200


def test_unauthenticated_and_admin_requests_spend_no_quota(client: Client) -> None:
    client.store.settings.rate_limit_quota = 1
    client.session.get(f"{client.base}/v2/orders", headers={"X-Auth-Token": "wrong"})
    client.admin("GET", "/credentials")

    assert client.get("/v2/time").status_code == 200


def test_window_opens_at_the_first_request_after_the_last_one_closed() -> None:
    clock = FakeMonotonic()
    limiter = RateLimiter(clock)

    first = limiter.take(2, 1000, 1.0)
    clock.now += 0.4
    second = limiter.take(2, 1000, 1.0)
    third = limiter.take(2, 1000, 1.0)
    clock.now += 0.6
    fresh = limiter.take(2, 1000, 1.0)

    assert (first.left, first.reset_ms) == (1, 1000)
    assert (second.left, second.reset_ms) == (0, 600)
    assert not third.allowed
    assert third.reset_ms == 600
    assert (fresh.allowed, fresh.left, fresh.reset_ms) == (True, 1, 1000)


def test_peek_spends_nothing() -> None:
    limiter = RateLimiter(FakeMonotonic())
    limiter.take(5, 1000, 1.0)

    assert limiter.peek(5, 1000, 1.0).left == 4
    assert limiter.peek(5, 1000, 1.0).left == 4


def test_request_log_records_method_path_query_status_and_arrival(client: Client) -> None:
    client.store.settings.rate_limit_quota = 1
    before = time.monotonic()
    client.get("/v2/orders", min_id=5)
    client.get("/v2/orders")

    log = client.store.requests

    assert [(r.method, r.path, r.status) for r in log] == [
        ("GET", "/stores/sandbox/v2/orders", 204),
        ("GET", "/stores/sandbox/v2/orders", 429),
    ]
    assert log[0].params == {"min_id": "5"}
    assert before <= log[0].at <= log[1].at
    assert client.store.request_count == 2


def test_request_log_is_bounded_but_the_count_is_not(client: Client) -> None:
    client.store.settings.request_log_size = 3
    client.store.clear_requests()
    for _ in range(5):
        client.get("/v2/time")

    assert len(client.store.requests) == 3
    assert client.store.request_count == 5
