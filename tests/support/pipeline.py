"""Drive the poll function and read what it enqueued, as the deliver function would see it."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3

from devstack.resources import StackResources
from tests.support.api import LambdaContext, load_event


def run_poll(instance_id: int | str, *, remaining_ms: int = 300_000) -> dict[str, Any]:
    """Invoke the poll function with the scheduler's input (events/poll.json)."""
    from poll_handler import lambda_handler

    event = load_event("poll.json")
    event["instanceId"] = str(instance_id)
    context = LambdaContext(
        function_name="PollFunction", aws_request_id=str(uuid.uuid4()), remaining_ms=remaining_ms
    )
    result: dict[str, Any] = lambda_handler(event, context)
    return result


@dataclass
class Drained:
    """Every notification taken off the events queue, and their events flattened."""

    notifications: list[dict[str, Any]] = field(default_factory=list)

    @property
    def events(self) -> list[dict[str, Any]]:
        return [event for n in self.notifications for event in n["message"]["events"]]

    def ids(self, object_type: str) -> list[str]:
        return [e["objectId"] for e in self.events if e["objectType"] == object_type]

    def types(self, object_type: str) -> Counter[str]:
        return Counter(e["eventType"] for e in self.events if e["objectType"] == object_type)


def drain(aws: StackResources) -> Drained:
    """Receive and delete everything on the events queue."""
    sqs = boto3.client("sqs")
    drained = Drained()
    while True:
        messages = sqs.receive_message(
            QueueUrl=aws.events_queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return drained
        for message in messages:
            drained.notifications.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=aws.events_queue_url, ReceiptHandle=message["ReceiptHandle"])
