"""The SQS event source of the local stack, against moto, with a tiny fake function."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from devstack.functions import QueueTrigger
from devstack.resources import StackResources
from devstack.sqs_source import SqsEventSource, failed_ids, lambda_record
from devstack.workers import Outcome
from tests.e2e.fakes import SPEC, FakeRuntime

TRIGGER = QueueTrigger("StubFunction", "EventsQueue", batch_size=10, window_seconds=0, report_failures=True)


def _source(runtime: FakeRuntime, url: str, trigger: QueueTrigger = TRIGGER) -> SqsEventSource:
    sqs = boto3.client("sqs")
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return SqsEventSource(runtime, SPEC, trigger, sqs, url, arn, "us-east-1")  # type: ignore[arg-type]


def _send(url: str, *bodies: str) -> None:
    sqs = boto3.client("sqs")
    for body in bodies:
        attributes = {"object_type": {"DataType": "String", "StringValue": "orders"}}
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attributes)


def _failing(*bodies: str, visibility: int | None = None) -> Any:
    """A function that fails the messages with these bodies (and may set their visibility)."""

    def answer(event: Any) -> Outcome:
        failures = []
        for record in event["Records"]:
            if record["body"] in bodies:
                failures.append({"itemIdentifier": record["messageId"]})
                if visibility is not None:
                    boto3.client("sqs").change_message_visibility(
                        QueueUrl=_url_of(record),
                        ReceiptHandle=record["receiptHandle"],
                        VisibilityTimeout=visibility,
                    )
        return Outcome(True, {"batchItemFailures": failures}, 0.01)

    return answer


def _url_of(record: dict[str, Any]) -> str:
    return boto3.client("sqs").get_queue_url(QueueName=record["eventSourceARN"].rsplit(":", 1)[1])["QueueUrl"]


def test_a_record_has_lambdas_shape(aws: StackResources) -> None:
    _send(aws.events_queue_url, "hello")
    source = _source(FakeRuntime(), aws.events_queue_url)

    record = lambda_record(source.receive()[0], "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1")

    assert record["body"] == "hello"
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:q"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["object_type"] == {
        "stringValue": "orders",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["messageId"]
    assert record["receiptHandle"]


def test_only_the_messages_the_function_succeeded_with_are_deleted(aws: StackResources) -> None:
    """Given three messages of which the function fails one (and makes it visible again at once),
    when the batch is delivered, then only that one comes back, received a second time."""
    _send(aws.events_queue_url, "a", "b", "c")
    runtime = FakeRuntime(_failing("b", visibility=0))
    source = _source(runtime, aws.events_queue_url)

    failed = source.deliver(source.receive())
    again = source.receive()

    assert len(failed) == 1
    assert [m["Body"] for m in again] == ["b"]
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    assert len(runtime.calls[0]["Records"]) == 3


def test_a_failed_message_left_alone_stays_invisible_for_the_queue_default(aws: StackResources) -> None:
    _send(aws.events_queue_url, "a")
    source = _source(FakeRuntime(_failing("a")), aws.events_queue_url)

    source.deliver(source.receive())

    assert source.receive() == []
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=aws.events_queue_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"


def test_a_function_error_leaves_the_whole_batch(aws: StackResources) -> None:
    _send(aws.events_queue_url, "a", "b")
    source = _source(
        FakeRuntime(lambda event: Outcome(False, {"errorType": "Boom"}, 0.0)), aws.events_queue_url
    )

    failed = source.deliver(source.receive())

    assert len(failed) == 2


@pytest.mark.parametrize(
    ("outcome", "failed"),
    [
        (Outcome(True, None, 0), set()),
        (Outcome(True, {"batchItemFailures": []}, 0), set()),
        (Outcome(True, {"batchItemFailures": [{"itemIdentifier": "m2"}]}, 0), {"m2"}),
        (Outcome(True, {"batchItemFailures": [{"itemIdentifier": "elsewhere"}]}, 0), {"m1", "m2"}),
        (Outcome(True, {"batchItemFailures": [{"itemIdentifier": ""}]}, 0), {"m1", "m2"}),
        (Outcome(True, {"batchItemFailures": [{}]}, 0), {"m1", "m2"}),
        (Outcome(True, {"batchItemFailures": "m2"}, 0), {"m1", "m2"}),
        (Outcome(False, {"errorType": "Boom"}, 0), {"m1", "m2"}),
    ],
)
def test_which_messages_stay_follows_lambdas_rules(outcome: Outcome, failed: set[str]) -> None:
    assert failed_ids(outcome, ["m1", "m2"], report_failures=True) == failed


def test_without_report_batch_item_failures_a_returned_list_means_nothing() -> None:
    outcome = Outcome(True, {"batchItemFailures": [{"itemIdentifier": "m2"}]}, 0)

    assert failed_ids(outcome, ["m1", "m2"], report_failures=False) == set()


def test_a_batch_holds_at_most_batch_size_messages(aws: StackResources) -> None:
    _send(aws.events_queue_url, *(str(i) for i in range(13)))
    source = _source(FakeRuntime(), aws.events_queue_url)

    first = source.receive()
    source.deliver(first)
    second = source.receive()

    assert (len(first), len(second)) == (10, 3)


def test_after_max_receive_count_the_queue_moves_a_message_to_its_dead_letter_queue(
    aws: StackResources,
) -> None:
    sqs = boto3.client("sqs")
    dlq_arn = sqs.get_queue_attributes(QueueUrl=aws.events_dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
    url = sqs.create_queue(
        QueueName="poison", Attributes={"VisibilityTimeout": "0", "RedrivePolicy": redrive}
    )["QueueUrl"]
    _send(url, "poison")
    source = _source(FakeRuntime(_failing("poison")), url)

    receipts = 0
    for _ in range(3):
        batch = source.receive()
        receipts += len(batch)
        if batch:
            source.deliver(batch)

    assert receipts == 2
    assert sqs.receive_message(QueueUrl=aws.events_dlq_url)["Messages"][0]["Body"] == "poison"


def test_started_it_feeds_the_function_until_stopped(aws: StackResources) -> None:
    runtime = FakeRuntime()
    source = _source(runtime, aws.events_queue_url)
    source.start()
    try:
        _send(aws.events_queue_url, "x")
        deadline = time.monotonic() + 5
        while not runtime.calls and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        source.stop()

    assert [r["body"] for r in runtime.calls[0]["Records"]] == ["x"]
    assert runtime.gate.idle
