"""A standard SQS queue at scale, for benchmarks that hold more messages than moto can.

moto scans every message of a queue on each call (with 150,000 messages queued, one
ReceiveMessage takes ~4 s and one SendMessage ~1 s here), so a measure of a deep queue would
measure moto. This model keeps what SQS promises and what the measure needs, in O(log n) per
message: ``DelaySeconds`` (at most 900), a visibility timeout per receive, receive counts and
``maxReceiveCount`` into a dead-letter queue, and SQS's in-flight limit for a standard queue
(ReceiveMessage answers ``OverLimit`` once 120,000 messages are in flight). It also counts what
the measure reports: the peak of messages in flight, and messages sent and received per instance.

It answers boto3 calls on its queues' URLs (wrapping ``BaseClient._make_api_call``, as
:mod:`bench.calls` does); any other call goes on to moto. An operation it does not model
(``ChangeMessageVisibility`` among them) raises, so a measure cannot silently rely on one.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

#: SQS's limits: the longest delay, and messages in flight in a standard queue.
MAX_DELAY_SECONDS = 900
IN_FLIGHT_LIMIT = 120_000


@dataclass
class Message:
    """One message: what was sent, and how often it was received."""

    id: str
    body: str
    attributes: dict[str, Any]
    sent_at: float
    receive_count: int = 0

    @property
    def instance_id(self) -> str:
        return str((self.attributes.get("instance_id") or {}).get("StringValue", ""))


@dataclass
class Queue:
    """A standard queue (best-effort order: first visible, first received)."""

    name: str
    visibility_timeout: int = 30
    max_receive_count: int | None = None
    dead_letter: Queue | None = None
    clock: Callable[[], float] = time.monotonic
    messages: dict[str, Message] = field(default_factory=dict)
    peak_in_flight: int = 0
    sent: Counter[str] = field(default_factory=Counter)  # by instance id
    received: Counter[str] = field(default_factory=Counter)
    _ready: deque[str] = field(default_factory=deque)
    _timers: list[tuple[float, int, str, str | None]] = field(default_factory=list)  # (when, seq, id, handle)
    _in_flight: dict[str, str] = field(default_factory=dict)  # receipt handle -> message id
    _delayed: int = 0
    _seq: Iterator[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, body: str, attributes: dict[str, Any] | None = None, delay: int = 0) -> Message:
        """SendMessage: the message is receivable after ``delay`` seconds."""
        if not 0 <= delay <= MAX_DELAY_SECONDS:
            raise _error(
                "InvalidParameterValue", f"DelaySeconds {delay} must be >= 0 and <= 900", "SendMessage"
            )
        with self._lock:
            message = Message(str(uuid.uuid4()), body, dict(attributes or {}), self.clock())
            self.messages[message.id] = message
            self.sent[message.instance_id] += 1
            if delay:
                self._delayed += 1
                heapq.heappush(self._timers, (message.sent_at + delay, next(self._seq), message.id, None))
            else:
                self._ready.append(message.id)
            return message

    def receive(self, count: int, visibility_timeout: int | None = None) -> list[tuple[Message, str]]:
        """ReceiveMessage: up to ``count`` visible messages and their receipt handles."""
        timeout = self.visibility_timeout if visibility_timeout is None else visibility_timeout
        with self._lock:
            now = self.clock()
            self._tick(now)
            if len(self._in_flight) >= IN_FLIGHT_LIMIT:
                raise _error("OverLimit", "too many messages in flight", "ReceiveMessage")
            out: list[tuple[Message, str]] = []
            while self._ready and len(out) < count:
                message = self.messages[self._ready.popleft()]
                message.receive_count += 1
                limit = self.max_receive_count
                if self.dead_letter is not None and limit is not None and message.receive_count > limit:
                    del self.messages[message.id]
                    self.dead_letter.send(message.body, message.attributes)
                    continue
                handle = f"{message.id}#{message.receive_count}"
                self._in_flight[handle] = message.id
                heapq.heappush(self._timers, (now + timeout, next(self._seq), message.id, handle))
                self.received[message.instance_id] += 1
                out.append((message, handle))
            self.peak_in_flight = max(self.peak_in_flight, len(self._in_flight))
            return out

    def delete(self, handle: str) -> None:
        """DeleteMessage (a handle no longer in flight is ignored, as SQS mostly does)."""
        with self._lock:
            message_id = self._in_flight.pop(handle, None)
            if message_id is not None:
                self.messages.pop(message_id, None)

    def counts(self) -> dict[str, int]:
        """Messages visible, in flight and delayed (exact, unlike SQS's approximations)."""
        with self._lock:
            self._tick(self.clock())
            return {"visible": len(self._ready), "in_flight": len(self._in_flight), "delayed": self._delayed}

    def inject(self, messages: list[tuple[str, dict[str, Any], float]]) -> None:
        """Messages as if sent earlier, each (body, attributes, seconds): a delay that ends so many
        seconds from now (the whole list at once, however long it took to build)."""
        with self._lock:
            now = self.clock()
            for body, attributes, visible_in in messages:
                message = Message(str(uuid.uuid4()), body, attributes, now)
                self.messages[message.id] = message
                self._timers.append((now + visible_in, next(self._seq), message.id, None))
            self._delayed += len(messages)
            heapq.heapify(self._timers)

    def _tick(self, now: float) -> None:
        while self._timers and self._timers[0][0] <= now:
            _, _, message_id, handle = heapq.heappop(self._timers)
            if handle is None:
                self._delayed -= 1
                self._ready.append(message_id)
            elif self._in_flight.get(handle) == message_id:  # its visibility timeout ended
                del self._in_flight[handle]
                self._ready.append(message_id)


class Sqs:
    """The queues the model answers for, by URL."""

    def __init__(self) -> None:
        self.queues: dict[str, Queue] = {}

    def add(self, url: str, queue: Queue) -> Queue:
        self.queues[url] = queue
        return queue

    def answer(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """The response boto3 would parse, for one call on one of the model's queues."""
        queue = self.queues[params["QueueUrl"]]
        if operation == "SendMessage":
            sent = queue.send(
                params["MessageBody"], params.get("MessageAttributes"), int(params.get("DelaySeconds", 0))
            )
            return {"MessageId": sent.id, "MD5OfMessageBody": _md5(sent.body)}
        if operation == "SendMessageBatch":
            entries = params["Entries"]
            done = [
                (
                    e["Id"],
                    queue.send(e["MessageBody"], e.get("MessageAttributes"), int(e.get("DelaySeconds", 0))),
                )
                for e in entries
            ]
            return {
                "Successful": [
                    {"Id": i, "MessageId": m.id, "MD5OfMessageBody": _md5(m.body)} for i, m in done
                ],
                "Failed": [],
            }
        if operation == "ReceiveMessage":
            received = queue.receive(
                int(params.get("MaxNumberOfMessages", 1)), params.get("VisibilityTimeout")
            )
            return {"Messages": [_received(m, handle) for m, handle in received]}
        if operation == "DeleteMessage":
            queue.delete(params["ReceiptHandle"])
            return {}
        if operation == "DeleteMessageBatch":
            for entry in params["Entries"]:
                queue.delete(entry["ReceiptHandle"])
            return {"Successful": [{"Id": e["Id"]} for e in params["Entries"]], "Failed": []}
        if operation == "GetQueueAttributes":
            counts = queue.counts()
            return {
                "Attributes": {
                    "ApproximateNumberOfMessages": str(counts["visible"]),
                    "ApproximateNumberOfMessagesNotVisible": str(counts["in_flight"]),
                    "ApproximateNumberOfMessagesDelayed": str(counts["delayed"]),
                }
            }
        raise NotImplementedError(f"the SQS model does not answer {operation}")


@contextmanager
def answering(sqs: Sqs) -> Iterator[Sqs]:
    """Answer boto3's SQS calls on the model's queues (other calls go on) until the block ends."""
    from botocore.client import BaseClient

    original = getattr(BaseClient, "_make_api_call")  # noqa: B009 - a private method, wrapped

    def routed(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        if self.meta.service_model.service_name == "sqs" and api_params.get("QueueUrl") in sqs.queues:
            return sqs.answer(operation_name, api_params)
        return original(self, operation_name, api_params)

    setattr(BaseClient, "_make_api_call", routed)  # noqa: B010
    try:
        yield sqs
    finally:
        setattr(BaseClient, "_make_api_call", original)  # noqa: B010


def _received(message: Message, handle: str) -> dict[str, Any]:
    return {
        "MessageId": message.id,
        "ReceiptHandle": handle,
        "Body": message.body,
        "MD5OfBody": _md5(message.body),
        "Attributes": {
            "ApproximateReceiveCount": str(message.receive_count),
            "SentTimestamp": str(int(time.time() * 1000)),
        },
        "MessageAttributes": message.attributes,
    }


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _error(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)
