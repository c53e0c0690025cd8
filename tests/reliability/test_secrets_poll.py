"""No credential leaves the poll function: not in a log line, a result, an error, a queued
message, the event log or a watermark, on the happy path or any error path.

The API's responses and logs are tests/integration/test_instances_secrets.py; delivery's logs,
event log and queues are tests/integration/test_deliver_security.py.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from tests.reliability.conftest import Harness, hub_resource

SIGNATURE_KEY = "poll-signature-key-7Hq2v9XkLm"


def _ordinary(harness: Harness) -> None:
    pass


def _revoked(harness: Harness) -> None:
    harness.store.inject_fault("/api/v2/orders", "status", status=401)
    harness.store.inject_fault("/stores/sandbox/v2/orders", "status", status=401)


def _down(harness: Harness) -> None:
    harness.store.inject_fault("/api/v2/orders", "status", count=8, status=500)
    harness.store.inject_fault("/stores/sandbox/v3/catalog", "status", count=8, status=503)


def _garbage(harness: Harness) -> None:
    harness.store.inject_fault("/api/v2/orders", "malformed_json")
    harness.store.inject_fault("/stores/sandbox/v2/orders", "truncated")


def _storm(harness: Harness) -> None:
    harness.store.inject_fault("/api/v2/orders", "rate_limit", count=3, reset_ms=600_000)
    harness.store.inject_fault("/stores/sandbox/v2/orders", "rate_limit", count=3, reset_ms=600_000)


def _no_clock(harness: Harness) -> None:
    harness.store.inject_fault("/api/v2/time", "status", count=8, status=500)
    harness.store.inject_fault("/stores/sandbox/v2/time", "status", count=8, status=502)


PATHS: dict[str, Callable[[Harness], None]] = {
    "delivered": _ordinary,
    "store-401": _revoked,
    "store-5xx": _down,
    "malformed-or-truncated": _garbage,
    "429-storm": _storm,
    "store-clock-unreadable": _no_clock,
}


@pytest.mark.usefixtures("no_backoff")
def test_no_credential_reaches_a_log_a_result_an_error_a_message_or_a_table(
    harness: Harness, service_logs: Any, aws: Any
) -> None:
    """Given a legacy instance (password, signature key) and an API-account instance (access
    token), each polled on every path (delivered, 401, 5xx, malformed, 429 storm, clock
    unreadable) with the service logging at DEBUG, no secret appears anywhere."""
    from bcevents.aws.tables import get_storage

    store = harness.store
    legacy = harness.legacy(
        {"orders": hub_resource("orders")}, **{"event.notification.signature.key": SIGNATURE_KEY}
    )
    account = harness.api_account(
        {"orders": hub_resource("orders"), "products": hub_resource("products")},
        **{"event.notification.signature.key": SIGNATURE_KEY},
    )
    harness.start_clock()
    outputs: list[str] = []
    for name, disturb in PATHS.items():
        store.create_orders(2)
        store.create_products(1)
        harness.settle()
        disturb(harness)
        for instance in (legacy, account):
            try:
                outputs.append(json.dumps(harness.poll(instance)))
            except Exception as exc:  # the error itself is a haystack
                outputs.append(f"{name}: {exc!s} {exc!r} {exc.__cause__!r}")
        store.faults.clear()
    assert len(harness.received.events) >= 6  # the happy path delivered, so the queue was searched

    items = [get_storage().get_instance(legacy), get_storage().get_instance(account)]
    user_secret, org_secret = re.findall(
        r"(?:User|Organization) (\S+?)(?:,|$)", harness.api.authorization or ""
    )
    secrets = {
        "store password": store.password,
        "store Basic credentials": base64.b64encode(f"{store.username}:{store.password}".encode()).decode(),
        "store access token": store.access_token,
        "signature key": SIGNATURE_KEY,
        "webhook secrets": "|".join(i["webhook_secret"] for i in items if i),
        "API user secret": user_secret,
        "API organization secret": org_secret,
    }
    tables = boto3.session.Session().resource("dynamodb")
    haystacks = {
        "logs": service_logs(),
        "results and errors": "\n".join(outputs),
        "queued messages": "\n".join(harness.messages),
        "event log": repr(tables.Table(aws.events_table).scan()["Items"]),
        "watermarks and leases": repr(
            [i for i in tables.Table(aws.instances_table).scan()["Items"] if i["sk"] != "INSTANCE"]
        ),
    }
    assert '"poll finished"' in haystacks["logs"]  # the logs were captured
    assert "401" in haystacks["results and errors"]  # the error paths were taken
    assert "StoreThrottled" in haystacks["results and errors"]
    leaks = [
        f"{what} in the {where}"
        for what, secret in secrets.items()
        for part in secret.split("|")
        for where, text in haystacks.items()
        if part and part in text
    ]
    assert leaks == []
