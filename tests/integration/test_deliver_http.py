"""How delivery treats what a callback does over HTTP: redirects, huge bodies, slowness, broken transports."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from bcevents.aws import event_log
from callbacks import CallbackReceiver, Reply
from tests.integration.conftest import Deliveries

MakeInstance = Callable[..., dict[str, Any]]
Notify = Callable[..., list[Any]]


def _only_attempt(n: Any) -> dict[str, Any]:
    [attempt] = event_log.list_attempts(n.instance_id, n.id)
    return attempt


def test_a_redirect_is_not_followed_and_counts_as_a_failure(
    deliveries: Deliveries, receiver: CallbackReceiver, make_instance: MakeInstance, notify: Notify
) -> None:
    receiver.script("/hook", Reply(307, headers={"Location": receiver.url("/elsewhere")}))
    item = make_instance(receiver.url())
    [n] = notify(item, 1)
    deliveries.enqueue(n)

    _, response = deliveries.run()

    assert response == {"batchItemFailures": []}
    assert deliveries.counts()["delayed"] == 1  # a new message waits for the retry
    assert len(receiver.requests_to("/hook")) == 1
    assert receiver.requests_to("/elsewhere") == []
    attempt = _only_attempt(n)
    assert (attempt["status_code"], attempt["status"]) == (307, "RETRYING")


def test_a_huge_response_body_is_read_only_up_to_the_cap(
    deliveries: Deliveries, receiver: CallbackReceiver, make_instance: MakeInstance, notify: Notify
) -> None:
    """A 2xx that streams an endless body is delivered after reading 64 KiB of it; the
    connection is then dropped rather than drained."""
    receiver.script("/hook", Reply(200, endless=True))
    item = make_instance(receiver.url())
    [n] = notify(item, 1)
    deliveries.enqueue(n)
    started = time.monotonic()

    _, response = deliveries.run()

    assert time.monotonic() - started < 5
    assert response == {"batchItemFailures": []}
    attempt = _only_attempt(n)
    assert (attempt["status"], attempt["response_bytes"]) == ("DELIVERED", 64 * 1024)
    deadline = time.monotonic() + 5
    while not receiver.hangups and time.monotonic() < deadline:
        time.sleep(0.05)
    assert receiver.hangups == 1


def test_a_receiver_slower_than_the_timeout_is_a_read_timeout(
    deliveries: Deliveries,
    receiver: CallbackReceiver,
    make_instance: MakeInstance,
    notify: Notify,
    setenv: Any,
) -> None:
    setenv(DELIVERY_TIMEOUT_SECONDS="0.5")
    receiver.script("/hook", Reply(200, delay=2))
    item = make_instance(receiver.url())
    [n] = notify(item, 1)
    deliveries.enqueue(n)

    _, response = deliveries.run()

    assert response == {"batchItemFailures": []}
    assert deliveries.counts()["delayed"] == 1  # a new message waits for the retry
    attempt = _only_attempt(n)
    assert (attempt["error"], attempt["status"]) == ("ReadTimeout", "RETRYING")
    assert 400 <= attempt["latency_ms"] < 2000


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("callback", "error"),
    [
        (lambda r: r.url("/reset"), "ConnectionError"),
        (lambda r: f"http://127.0.0.1:{_closed_port()}/hook", "ConnectionError"),
        (lambda r: r.url().replace("http://", "https://"), "SSLError"),
        (lambda r: r.url(host="nowhere.example"), "NameResolutionError"),
    ],
    ids=["connection-reset", "connection-refused", "tls-error", "dns-error"],
)
def test_transport_failures_are_retried_with_their_error_class(
    callback: Callable[[CallbackReceiver], str],
    error: str,
    deliveries: Deliveries,
    receiver: CallbackReceiver,
    make_instance: MakeInstance,
    notify: Notify,
) -> None:
    receiver.script("/reset", Reply(reset=True))
    item = make_instance(callback(receiver))
    [n] = notify(item, 1)
    deliveries.enqueue(n)

    _, response = deliveries.run()

    assert response == {"batchItemFailures": []}
    assert deliveries.counts()["delayed"] == 1  # a new message waits for the retry
    attempt = _only_attempt(n)
    assert (attempt["error"], attempt["status"]) == (error, "RETRYING")
    state = event_log.get_notification(n.instance_id, n.id)
    assert state is not None
    assert (state["status"], state["last_error"], state["attempts"]) == ("RETRYING", error, 1)
