"""The README walkthrough against a running local stack: create an instance, change the store, see callbacks."""

from __future__ import annotations

import json
import time

import boto3
import pytest
import requests
from botocore.config import Config

from callbacks import WebhookSecrets
from devstack.stack import Stack
from tests.e2e.conftest import SETTLE_SECONDS, Client, Receiver, wait_until

pytestmark = pytest.mark.e2e


def test_a_schedule_fires_and_the_built_in_receiver_shows_signed_events(
    local_stack: Stack, client: Client, instance_cleanup: list[int]
) -> None:
    """Given an instance polled every minute (half a second here) calling the stack's own receiver,
    when an order is created and a customer changed in the sandbox,
    then the receiver lists both events, each with a verified Standard Webhooks signature."""
    inbox = local_stack.urls["callbacks"]
    seen_before = requests.get(inbox, timeout=10).json()["count"]
    created = client.create_instance(inbox, **{"event.notification.signature.key": "walkthrough-key"})
    instance_cleanup.append(created["id"])

    order = client.store("POST", "/orders", {"status_id": 11})
    client.store("PUT", "/customers/2", {"company": "Acme"})

    def listed() -> set[tuple[str, str, str]]:
        deliveries = requests.get(inbox, params={"since": seen_before}, timeout=10).json()["deliveries"]
        mine = [d for d in deliveries if d["instance_id"] == str(created["id"]) and d["status"] == 200]
        assert all(d["standard_signature"] is True and d["elements_signature"] is True for d in mine), mine
        return {(e["object_type"], e["event_type"], e["object_id"]) for d in mine for e in d["events"]}

    expected = {("orders", "CREATED", str(order["id"])), ("customers", "UPDATED", "2")}
    assert wait_until(lambda: expected <= listed(), timeout=20), listed()


def test_poll_now_goes_through_the_lambda_invoke_endpoint(
    local_stack: Stack, client: Client, receiver: Receiver, instance_cleanup: list[int]
) -> None:
    """Given an instance whose schedule will not fire during the test (a day's interval),
    when a product changes and the user asks for a poll now,
    then the API answers 202 and the change is delivered, signed."""
    created = client.create_instance(receiver.url, minutes="1440")
    instance_cleanup.append(created["id"])
    receiver.secrets[str(created["id"])] = WebhookSecrets(created["webhookSigningSecret"])
    client.store("PUT", "/products/3", {"price": 13.5})
    time.sleep(SETTLE_SECONDS)

    response = client.http.post(f"{client.urls['api']}/instances/{created['id']}/events/poll", timeout=30)

    assert response.status_code == 202
    assert ("products", "UPDATED", "3") in receiver.wait_for_events({("products", "UPDATED", "3")})
    assert all(d.standard_signature for d in receiver.acknowledged())


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/nothing/here"), ("TRACE", "/instances"), ("OPTIONS", "/instances"), ("FOO", "/")],
)
def test_the_api_bridge_answers_unknown_routes_as_api_gateway_does(
    local_stack: Stack, method: str, path: str
) -> None:
    """#14: TRACE got the HTTP server's own 501 page, where API Gateway answers its JSON 403."""
    response = requests.request(method, f"{local_stack.urls['api']}{path}", timeout=10)

    assert response.status_code == 403
    assert response.json() == {"message": "Missing Authentication Token"}


def test_the_api_function_answers_through_the_bridge_unchanged(local_stack: Stack) -> None:
    response = requests.get(
        f"{local_stack.urls['api']}/instances",
        headers={"Authorization": "User x, Organization y"},
        timeout=10,
    )

    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/json"
    assert "message" in response.json()


def test_the_lambda_endpoint_speaks_botocore_invoke(local_stack: Stack) -> None:
    """Given boto3's Lambda client pointed at the endpoint, every invocation type behaves as in AWS."""
    lam = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client("lambda", endpoint_url=local_stack.urls["lambda"], config=Config(retries={"max_attempts": 1}))
    arn = "arn:aws:lambda:us-east-1:123456789012:function:bcevents-PollFunction"

    sync = lam.invoke(FunctionName=arn, Payload=b'{"instanceId": "1"}')
    event = lam.invoke(FunctionName="PollFunction", InvocationType="Event", Payload=b'{"instanceId": "1"}')
    dry = lam.invoke(FunctionName="bcevents-PollFunction", InvocationType="DryRun")
    failed = lam.invoke(FunctionName=arn, Payload=b'{"instanceId": "not a number"}')

    assert sync["StatusCode"] == 200
    assert "FunctionError" not in sync
    assert b"skipped" in sync["Payload"].read()
    assert event["StatusCode"] == 202
    assert dry["StatusCode"] == 204
    assert failed["FunctionError"] == "Unhandled"
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="NoSuchFunction", Payload=b"{}")


def test_the_state_is_saved_while_the_stack_runs(local_stack: Stack) -> None:
    """The periodic snapshot: taken with all work paused, it holds the bootstrap organization."""
    saved = local_stack.snapshot()

    data = json.loads((local_stack.settings.state_dir / "state.json").read_text())
    assert saved
    assert any(item["sk"]["S"] == "USER" for item in data["dynamodb"]["InstancesTable"])
    assert data["sandbox"]["orders"]
