"""Deliveries are signed both ways, never leak a secret, and never reach a forbidden address."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from standardwebhooks.webhooks import Webhook

from bcevents.aws import event_log
from bcevents.aws.tables import get_storage
from bcevents.delivery import signing
from callbacks import CallbackReceiver, Reply
from devstack.resources import StackResources
from tests.integration.conftest import STORE_TOKEN, Deliveries
from tests.support.api import ApiClient

MakeInstance = Callable[..., dict[str, Any]]
Notify = Callable[..., list[Any]]
SIGNATURE_KEY = "ce-signature-key-Qm9vayBvZiBTZWNyZXRz"


def _cloud_elements_recipe(key: str, body: bytes) -> str:
    """Cloud Elements' verification example: "sha256=" + Base64(HmacSHA256(key, payload))."""
    return "sha256=" + base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def _api_secrets(api: ApiClient) -> list[str]:
    """The user and organization secrets of the API client's Authorization header."""
    match = re.fullmatch(r"User (\S+), Organization (\S+)", api.authorization or "")
    assert match
    return [match[1], match[2]]


# --- signatures ---------------------------------------------------------------------------------
def test_a_delivery_verifies_with_standard_webhooks_and_the_cloud_elements_recipe(
    deliveries: Deliveries, receiver: CallbackReceiver, make_instance: MakeInstance, notify: Notify
) -> None:
    item = make_instance(receiver.url(), **{"event.notification.signature.key": SIGNATURE_KEY})
    [n] = notify(item, 1, 2, 3)
    deliveries.enqueue(n)

    deliveries.run()

    [request] = receiver.requests
    assert Webhook(item["webhook_secret"]).verify(request.body, request.headers) == json.loads(n.body)
    assert request.header("Elements-Webhook-Signature") == _cloud_elements_recipe(SIGNATURE_KEY, request.body)


def test_without_a_signature_key_there_is_no_cloud_elements_signature(
    deliveries: Deliveries, receiver: CallbackReceiver, make_instance: MakeInstance, notify: Notify
) -> None:
    item = make_instance(receiver.url())
    deliveries.enqueue(*notify(item, 1))

    deliveries.run()

    [request] = receiver.requests
    assert request.header("Elements-Webhook-Signature") is None
    assert request.header("Elements-Webhook-Id")
    Webhook(item["webhook_secret"]).verify(request.body, request.headers)


def test_a_rotated_secret_and_its_predecessor_both_verify_a_queued_notification(
    deliveries: Deliveries, receiver: CallbackReceiver, make_instance: MakeInstance, notify: Notify
) -> None:
    """Given a notification already queued when the secret is rotated, its delivery is signed
    with the new secret and (during the grace period) the old one."""
    item = make_instance(receiver.url())
    deliveries.enqueue(*notify(item, 1))
    new_secret, fields = signing.rotated(item, datetime.now(UTC))
    get_storage().update_instance_fields(item["id"], **fields)

    deliveries.run()

    [request] = receiver.requests
    assert len((request.header("webhook-signature") or "").split(" ")) == 2
    Webhook(new_secret).verify(request.body, request.headers)
    Webhook(item["webhook_secret"]).verify(request.body, request.headers)


@pytest.mark.usefixtures("fast_retries")
def test_a_redelivery_keeps_its_ids_and_is_signed_again(
    deliveries: Deliveries, receiver: CallbackReceiver, make_instance: MakeInstance, notify: Notify
) -> None:
    receiver.script("/hook", Reply(500), Reply(200))
    item = make_instance(receiver.url(), **{"event.notification.signature.key": SIGNATURE_KEY})
    deliveries.enqueue(*notify(item, 1))

    deliveries.run_until_empty()

    first, second = receiver.requests
    assert first.header("webhook-id") == second.header("webhook-id")
    assert first.header("Elements-Webhook-Id") == second.header("Elements-Webhook-Id")
    for request in (first, second):
        Webhook(item["webhook_secret"]).verify(request.body, request.headers)
        assert request.header("Elements-Webhook-Signature") == _cloud_elements_recipe(
            SIGNATURE_KEY, request.body
        )


# --- no secret anywhere -------------------------------------------------------------------------
@pytest.mark.usefixtures("fast_retries")
def test_no_secret_appears_in_the_logs_the_event_log_or_the_queues(
    deliveries: Deliveries,
    receiver: CallbackReceiver,
    make_instance: MakeInstance,
    notify: Notify,
    api: ApiClient,
    aws: StackResources,
    service_logs: Any,
) -> None:
    """Given an instance with a store token, a signature key and a webhook secret, and every
    outcome path (retry, dead letter, delivery, 410) logged at DEBUG, no secret shows anywhere."""
    receiver.script("/hook", Reply(500), Reply(200))
    receiver.script("/dead", Reply(500))
    receiver.script("/gone", Reply(410))
    configuration = {"event.notification.signature.key": SIGNATURE_KEY}
    items = [make_instance(receiver.url(path), **configuration) for path in ("/hook", "/dead", "/gone")]
    notifications = [notify(item, 1)[0] for item in items]
    deliveries.enqueue(*notifications)
    queued = [m["Body"] for m in deliveries.receive()]
    deliveries.sqs.purge_queue(QueueUrl=aws.events_queue_url)
    deliveries.enqueue(*notifications)
    deliveries.run_until_empty()
    logs = service_logs()

    assert '"notification_id"' in logs  # the logs were captured
    event_log = boto3.resource("dynamodb").Table(aws.events_table).scan()["Items"]
    assert {i["status"] for i in event_log if str(i["sk"]).startswith("NOTIFICATION#")} == {
        "DELIVERED",
        "FAILED",
        "DISABLED",
    }
    dead = [m["Body"] + json.dumps(m["MessageAttributes"]) for m in deliveries.dead_letters()]
    assert len(dead) == 1
    secrets = [SIGNATURE_KEY, STORE_TOKEN, *(item["webhook_secret"] for item in items), *_api_secrets(api)]
    haystacks = {
        "logs": logs,
        "event log": repr(event_log),
        "queues": repr(queued + dead),
    }
    for where, text in haystacks.items():
        for secret in secrets:
            assert secret not in text, f"a secret leaked into the {where}"


# --- the egress guard at connect time -----------------------------------------------------------
def test_a_callback_by_host_name_is_delivered_to_the_address_it_resolves_to(
    deliveries: Deliveries,
    receiver: CallbackReceiver,
    make_instance: MakeInstance,
    notify: Notify,
    fake_dns: dict[str, str],
) -> None:
    fake_dns["hooks.example"] = "127.0.0.1"
    item = make_instance(receiver.url(host="hooks.example"))
    deliveries.enqueue(*notify(item, 1))

    deliveries.run()

    [request] = receiver.requests
    assert request.header("Host") == f"hooks.example:{receiver.port}"


@pytest.mark.parametrize(
    ("address", "allow_private"),
    [("127.0.0.1", False), ("169.254.169.254", True), ("169.254.169.254", False)],
    ids=["loopback-when-private-is-refused", "metadata-even-when-private-is-allowed", "metadata"],
)
def test_a_callback_host_that_now_resolves_to_a_forbidden_address_is_never_contacted(
    address: str,
    allow_private: bool,
    deliveries: Deliveries,
    receiver: CallbackReceiver,
    make_instance: MakeInstance,
    notify: Notify,
    fake_dns: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Given a callback host that was acceptable when the instance was saved, when its name
    resolves to a forbidden address at delivery time (DNS rebinding), then nothing connects:
    the attempt fails with EgressRefused and the notification waits for its retry."""
    from bcevents.settings import get_settings

    fake_dns["hooks.example"] = "127.0.0.1"
    item = make_instance(receiver.url(host="hooks.example"))
    [n] = notify(item, 1)
    deliveries.enqueue(n)
    fake_dns["hooks.example"] = address
    monkeypatch.setenv("ALLOW_PRIVATE_NETWORKS", "true" if allow_private else "false")
    get_settings.cache_clear()

    _, response = deliveries.run()

    assert response == {"batchItemFailures": []}
    assert deliveries.counts()["delayed"] == 1  # a new message waits for the retry
    assert receiver.requests == []
    [attempt] = event_log.list_attempts(n.instance_id, n.id)
    assert (attempt["error"], attempt["status"]) == ("EgressRefused", "RETRYING")
    assert "status_code" not in attempt
