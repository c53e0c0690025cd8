"""Lambda's SQS event source mapping, locally: receive batches, invoke the function, delete what succeeded.

One thread receives (so the emulator never hands one message to two receivers at once) and hands
each batch to a small pool of invokers. As in AWS: a batch holds up to ``BatchSize`` messages,
gathered for at most ``MaximumBatchingWindowInSeconds``; with ``ReportBatchItemFailures`` only the
messages the function lists in ``batchItemFailures`` stay in the queue (a listed id that is not in
the batch fails the whole batch); a function error leaves the whole batch. Messages left in the
queue come back when their visibility ends: the queue's default, or whatever the function set
with ``ChangeMessageVisibility``. After ``maxReceiveCount`` receives the emulator moves a message
to the dead-letter queue (its redrive policy comes from the template). A message sent with
``DelaySeconds`` (a delivery waiting for its retry) is not received before its delay ends: the
emulator honours it, and short polls see it as soon as it does.
"""

from __future__ import annotations

import base64
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from devstack.functions import FunctionSpec, QueueTrigger
from devstack.runtime import Runtime
from devstack.workers import Outcome

#: Pause between polls of an empty queue.
_IDLE_SECONDS = 0.2
_SYSTEM_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "AWSTraceHeader",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
)


def lambda_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One SQS message in the shape Lambda hands it to a function (camelCase, typed attributes)."""
    attributes = message.get("Attributes", {})
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {k: attributes[k] for k in _SYSTEM_ATTRIBUTES if k in attributes},
        "messageAttributes": {
            name: _attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _attribute(value: dict[str, Any]) -> dict[str, Any]:
    shaped: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
    if "StringValue" in value:
        shaped["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        shaped["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return shaped


def failed_ids(outcome: Outcome, batch_ids: list[str], report_failures: bool) -> set[str]:
    """The message ids that stay in the queue after an invocation, by Lambda's rules."""
    everything = set(batch_ids)
    if not outcome.ok:
        return everything
    if not report_failures or not isinstance(outcome.payload, dict):
        return set()
    failures = outcome.payload.get("batchItemFailures")
    if not failures:
        return set()
    if not isinstance(failures, list):
        return everything
    ids = {item.get("itemIdentifier") if isinstance(item, dict) else None for item in failures}
    # An empty, missing or unknown identifier makes Lambda treat the whole batch as failed.
    if not ids <= everything:
        return everything
    return {i for i in ids if isinstance(i, str)}


class SqsEventSource:
    """Feeds one queue to one function until stopped."""

    def __init__(
        self,
        runtime: Runtime,
        spec: FunctionSpec,
        trigger: QueueTrigger,
        client: Any,
        queue_url: str,
        queue_arn: str,
        region: str,
        concurrency: int = 2,
    ) -> None:
        self._runtime = runtime
        self._spec = spec
        self._trigger = trigger
        self._client = client
        self._url = queue_url
        self._arn = queue_arn
        self._region = region
        self._slots = threading.Semaphore(concurrency)
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"sqs-{trigger.function}")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Receive and invoke from a background thread."""
        self._thread = threading.Thread(target=self._loop, name=f"sqs:{self._trigger.queue}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Receive nothing more; wait for the batches being processed to be finished and deleted."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._pool.shutdown(wait=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._slots.acquire()
            leave = self._runtime.gate.enter()
            try:
                messages = self.receive()
            except (BotoCoreError, ClientError) as exc:
                messages = []
                self._runtime.console.activity("sqs", f"could not receive from {self._trigger.queue}: {exc}")
                self._stop.wait(1)
            if not messages:
                leave()
                self._slots.release()
                self._stop.wait(_IDLE_SECONDS)  # outside the gate: a snapshot may run meanwhile
                continue
            self._pool.submit(self._process, messages, leave)

    def receive(self) -> list[dict[str, Any]]:
        """One batch: up to BatchSize messages, gathered for at most the batching window once one arrived.

        Short polls (no WaitTimeSeconds): the emulator's long poll only notices a message whose
        visibility ended at the end of its wait, which would add up to a second to every retry.
        """
        batch: list[dict[str, Any]] = []
        window_ends: float | None = None
        while len(batch) < self._trigger.batch_size and not self._stop.is_set():
            received = self._client.receive_message(
                QueueUrl=self._url,
                MaxNumberOfMessages=min(10, self._trigger.batch_size - len(batch)),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            batch += received
            if not batch:
                break
            window_ends = window_ends or time.monotonic() + self._trigger.window_seconds
            if time.monotonic() >= window_ends:
                break
            if not received:
                self._stop.wait(_IDLE_SECONDS)
        return batch

    def _process(self, messages: list[dict[str, Any]], leave: Any) -> None:
        try:
            self.deliver(messages)
        finally:
            leave()
            self._slots.release()

    def deliver(self, messages: list[dict[str, Any]]) -> set[str]:
        """Invoke the function with one batch and delete the messages it succeeded with; returns the failed ids."""
        records = [lambda_record(m, self._arn, self._region) for m in messages]
        outcome = self._runtime.invoke(self._spec, {"Records": records})
        ids = [m["MessageId"] for m in messages]
        failed = failed_ids(outcome, ids, self._trigger.report_failures)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(done[start : start + 10])
            ]
            self._client.delete_message_batch(QueueUrl=self._url, Entries=entries)
        summary = f"{len(done)} done" + (f", {len(failed)} left for retry" if failed else "")
        if not outcome.ok:
            summary += f" (the function failed: {outcome.error})"
        self._runtime.console.activity(
            "deliver",
            f"{len(messages)} message{'s' if len(messages) != 1 else ''} → {summary}  {outcome.seconds:.1f} s",
        )
        return failed
