"""Stop the local stack mid-run (Ctrl-C) and start it again: nothing acknowledged comes twice, nothing is lost."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from callbacks import Delivery, WebhookSecrets
from tests.e2e.conftest import Client, CliStack, Receiver, events_of, free_port

pytestmark = pytest.mark.e2e


def _versions(deliveries: list[Delivery]) -> Counter[tuple[str, str, str, str]]:
    """How often each event version (type, event, id, record date) was acknowledged."""
    counted: Counter[tuple[str, str, str, str]] = Counter()
    for delivery in deliveries:
        for event in json.loads(delivery.body)["message"]["events"]:
            counted[(event["objectType"], event["eventType"], event["objectId"], event["date"])] += 1
    return counted


def test_a_restart_keeps_pending_deliveries_and_repeats_nothing_acknowledged(
    tmp_path: Path, receiver: Receiver
) -> None:
    """Given an acknowledged order and a product change whose delivery is waiting to be retried,
    when the stack is stopped with Ctrl-C and started again on the same state directory,
    then the product change is delivered, the order is not delivered again, the sandbox store
    kept its records (the next order is number 7) and a change made after the restart arrives too."""
    # The instance's store.url names the sandbox's port: it must be the same after the restart.
    sandbox = {"LOCAL_SANDBOX_PORT": str(free_port())}
    first = CliStack(tmp_path, sandbox)
    try:
        client = Client(first.urls)
        created = client.create_instance(receiver.url)
        receiver.secrets[str(created["id"])] = WebhookSecrets(created["webhookSigningSecret"])
        receiver.handler.fail_next(1000, 503, object_type="products")
        order = client.store("POST", "/orders", {"status_id": 11})
        client.store("PUT", "/products/2", {"price": 21.0})
        assert order["id"] == 6
        assert ("orders", "CREATED", "6") in receiver.wait_for_events({("orders", "CREATED", "6")})
        refused = receiver.handler.wait_for(
            lambda ds: any(not d.acknowledged and d.events[0].object_type == "products" for d in ds), 20
        )
        assert refused, "the product change was never attempted before the stop"
    finally:
        assert first.interrupt() == 0, "".join(first.output)
    assert "state saved" in "".join(first.output)
    receiver.handler.stop_failing()

    second = CliStack(tmp_path, sandbox)
    try:
        client = Client(second.urls)
        assert "restored" in "".join(second.output)
        next_order = client.store("POST", "/orders", {"status_id": 11})
        expected = {("products", "UPDATED", "2"), ("orders", "CREATED", str(next_order["id"]))}
        arrived = receiver.wait_for_events(expected, timeout=25)
    finally:
        assert second.interrupt() == 0, "".join(second.output)

    assert next_order["id"] == 7
    assert expected <= arrived
    acknowledged = receiver.acknowledged()
    assert all(d.standard_signature for d in acknowledged)
    assert Counter(d.webhook_id for d in acknowledged).most_common(1)[0][1] == 1
    assert max(_versions(acknowledged).values()) == 1
    assert events_of(acknowledged) == {("orders", "CREATED", "6"), *expected}
