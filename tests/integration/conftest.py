"""Fixtures of the delivery tests: a callback receiver on loopback, the events queue driven like Lambda."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from jsonschema import Draft202012Validator

from callbacks import CallbackReceiver
from devstack.resources import StackResources
from devstack.sqs_source import lambda_record
from tests.conftest import REGION
from tests.support.api import ApiClient, LambdaContext
from tests.support.bodies import api_account

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "notification.schema.json"
STORE_URL = "https://api.bigcommerce.com/stores/abc123/v3/"
STORE_TOKEN = "store-token-9f8e7d6c5b4a"


@pytest.fixture(scope="session")
def notification_schema() -> Draft202012Validator:
    schema = json.loads(SCHEMA.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@pytest.fixture
def receiver(notification_schema: Draft202012Validator) -> Iterator[CallbackReceiver]:
    """A callback receiver; every body it received is checked against the notification schema."""
    server = CallbackReceiver()
    server.start()
    try:
        yield server
    finally:
        server.stop()
    for request in server.requests:
        notification_schema.validate(json.loads(request.body))


@pytest.fixture
def make_instance(api: ApiClient) -> Callable[..., dict[str, Any]]:
    """Create an instance through the API; returns its stored item (secrets included)."""
    from bcevents.aws.tables import get_storage

    def make(callback_url: str, **configuration: Any) -> dict[str, Any]:
        body = api_account(STORE_URL, STORE_TOKEN, callback_url, **configuration)
        body["validateCredentials"] = False
        body["name"], body["tags"] = "deliveries", ["test"]
        response = api.post("/instances", body)
        assert response.status == 200, response.body
        item = get_storage().get_instance(str(response.body["id"]))
        assert item is not None
        return item

    return make


class Deliveries:
    """The events queue and the deliver function, driven the way Lambda's SQS poller drives them."""

    def __init__(self, aws: StackResources) -> None:
        self.aws = aws
        self.sqs = boto3.session.Session(region_name=REGION).client("sqs")

    def enqueue(self, *notifications: Any) -> None:
        """What the poller does: log the notifications as NEW, then send them."""
        from bcevents.aws.event_log import record_enqueued
        from bcevents.compat.queued import to_sqs_entry

        record_enqueued(notifications)
        entries = [to_sqs_entry(n) for n in notifications]
        for start in range(0, len(entries), 10):
            result = self.sqs.send_message_batch(
                QueueUrl=self.aws.events_queue_url,
                Entries=entries[start : start + 10],  # type: ignore[arg-type]
            )
            assert not result.get("Failed"), result

    def receive(self, queue_url: str | None = None, wait: int = 0) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.sqs.receive_message(
            QueueUrl=queue_url or self.aws.events_queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])  # type: ignore[assignment]
        return messages

    def event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """ReceiveMessage output in the shape of a Lambda SQS event (as in events/deliver.json)."""
        arn = f"arn:aws:sqs:{REGION}:123456789012:{self.aws.events_queue_url.rsplit('/', 1)[-1]}"
        return {"Records": [lambda_record(m, arn, REGION) for m in messages]}

    def invoke(self, event: dict[str, Any], context: LambdaContext | None = None) -> dict[str, Any]:
        from deliver_handler import lambda_handler

        result: dict[str, Any] = lambda_handler(
            event, context or LambdaContext(aws_request_id=str(uuid.uuid4()))
        )
        return result

    def run(self, context: LambdaContext | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """Receive a batch, invoke the function, delete what it did not report as failed."""
        messages = self.receive()
        assert messages, "the events queue has nothing to receive"
        event = self.event(messages)
        response = self.invoke(event, context)
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        for message in messages:
            if message["MessageId"] not in failed:
                self.sqs.delete_message(
                    QueueUrl=self.aws.events_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        return event, response

    def run_until_empty(self, limit: int = 20) -> int:
        """Run batches until the queue shows nothing; how many batches ran."""
        for runs in range(limit):
            if not self.receive_count():
                return runs
            self.run()
        raise AssertionError(f"the events queue still has messages after {limit} runs")

    def receive_count(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.aws.events_queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    def dead_letters(self) -> list[dict[str, Any]]:
        return self.receive(self.aws.events_dlq_url)

    def counts(self) -> dict[str, int]:
        """The events queue's messages: visible, in flight and delayed."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        names.append("ApproximateNumberOfMessagesDelayed")
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.aws.events_queue_url, AttributeNames=names)
        return {
            "visible": int(attributes["Attributes"]["ApproximateNumberOfMessages"]),
            "in_flight": int(attributes["Attributes"]["ApproximateNumberOfMessagesNotVisible"]),
            "delayed": int(attributes["Attributes"]["ApproximateNumberOfMessagesDelayed"]),
        }

    def delayed(self) -> list[Waiting]:
        """The delayed messages of the events queue, read from moto's model (SQS cannot receive them)."""
        now = time.time()
        return [
            Waiting(
                body=m.body,
                attributes={k: v["StringValue"] for k, v in m.message_attributes.items()},
                delay=(m.delayed_until / 1000) - now,
            )
            for m in self._queue()._messages
            if m.delayed
        ]

    def end_delays(self) -> None:
        """Make every delayed message of the events queue receivable now, as if its delay had ended."""
        for message in self._queue()._messages:
            message.delayed_until = 0.0

    def _queue(self) -> Any:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.sqs.models import sqs_backends

        return sqs_backends[DEFAULT_ACCOUNT_ID][REGION].get_queue(
            self.aws.events_queue_url.rsplit("/", 1)[-1]
        )


@dataclass(frozen=True)
class Waiting:
    """A delayed message: its body, its attributes (string values) and the seconds its delay has left."""

    body: str
    attributes: dict[str, str]
    delay: float


@pytest.fixture
def deliveries(aws: StackResources) -> Iterator[Deliveries]:
    import deliver_handler

    # The handler builds its idempotency store once per process; each test has its own moto.
    deliver_handler.idempotent_delivery.cache_clear()
    yield Deliveries(aws)
    deliver_handler.idempotent_delivery.cache_clear()


def set_retry_schedule(monkeypatch: pytest.MonkeyPatch, *seconds: int) -> None:
    """Set DELIVERY_RETRY_SCHEDULE, as the template does ("0,0,0")."""
    from bcevents.settings import get_settings

    monkeypatch.setenv("DELIVERY_RETRY_SCHEDULE", ",".join(str(s) for s in seconds))
    get_settings.cache_clear()
    assert get_settings().delivery_retry_schedule == seconds


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three immediate retries, then the dead-letter queue."""
    set_retry_schedule(monkeypatch, 0, 0, 0)


@pytest.fixture
def notify() -> Callable[..., list[Any]]:
    """Notifications about BigCommerce orders of an instance item, as the poller builds them."""
    from bcevents.compat.envelope import InstanceInfo, build_notifications

    def build(item: dict[str, Any], *order_ids: int, event_type: str = "UPDATED") -> list[Any]:
        info = InstanceInfo(
            instance_id=item["id"],
            name=item["name"],
            tags=item["tags"],
            org_id=item["org_id"],
            user_id=item["user_id"],
        )
        poll_date = datetime(2025, 3, 4, 10, 20, 0, tzinfo=UTC)
        return build_notifications(
            info, "orders", order_changes(*order_ids, event_type=event_type), poll_date
        )

    return build


def order_changes(*ids: int, event_type: str = "UPDATED") -> list[Any]:
    """Changes of BigCommerce orders, each with a realistic v2 record."""
    from bcevents.compat.envelope import ChangeEvent

    changes = []
    for order_id in ids:
        modified = datetime(2025, 3, 4, 10, 15, order_id % 60, tzinfo=UTC)
        record = {
            "id": order_id,
            "status": "Awaiting Fulfillment",
            "date_created": "Tue, 04 Mar 2025 10:00:00 +0000",
            "date_modified": modified.strftime("%a, %d %b %Y %H:%M:%S +0000"),
            "total_inc_tax": "42.5000",
            "currency_code": "USD",
            "billing_address": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"},
        }
        changes.append(
            ChangeEvent(event_type=event_type, object_id=str(order_id), date=modified, record=record)
        )
    return changes
