"""The dead-letter queue, one instance at a time: move its messages back, leave the others.

SQS's own redrive (StartMessageMoveTask) moves every message of a queue, whoever it belongs to.
Here the queue is scanned in receives of ten: a message of the instance is sent back to the
events queue and then deleted; any other message is kept hidden until the scan ends and then
made visible again at once. A scan is bounded (messages and seconds) and says whether it saw the
queue empty; the next one goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import boto3

from bcevents.queue import SQS_BATCH, send_entries
from bcevents.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

#: Messages received per scan at most (other instances' included), and its time budget.
MAX_MESSAGES = 1_000
MAX_SECONDS = 20.0
#: Received messages stay hidden this long unless the scan ends first (a crashed scan's too).
SCAN_VISIBILITY_SECONDS = 60


@dataclass(frozen=True)
class Decision:
    """What to do with a message of the instance: send ``entry`` back, drop it, or leave it."""

    entry: dict[str, Any] | None = None  # a SendMessageBatch entry for the events queue
    drop: bool = False  # delete it without sending (nothing is left to deliver)


@dataclass
class Scan:
    """What a scan did."""

    moved: list[str] = field(default_factory=list)  # entry ids (notification ids) sent back
    dropped: int = 0
    left: int = 0  # messages seen and left in the queue (other instances', undecidable ones)
    complete: bool = False  # a receive came back empty: every visible message was seen


def message_attribute(message: dict[str, Any], name: str) -> str | None:
    """A string attribute of a received message."""
    value = (message.get("MessageAttributes") or {}).get(name) or {}
    found = value.get("StringValue")
    return str(found) if found is not None else None


def redrive_instance(instance_id: str, decide: Callable[[dict[str, Any]], Decision]) -> Scan:
    """Move the instance's dead letters (``instance_id`` attribute) back to the events queue.

    ``decide`` sees each of the instance's messages (as ReceiveMessage returns it). A message is
    deleted only after its entry was sent, so a failure leaves it in the dead-letter queue.
    """
    settings = get_settings()
    sqs = _client()
    scan = Scan()
    hidden: list[str] = []
    deadline = time.monotonic() + MAX_SECONDS
    received = 0
    try:
        while received < MAX_MESSAGES and time.monotonic() < deadline:
            messages = sqs.receive_message(
                QueueUrl=settings.events_dlq_url,
                MaxNumberOfMessages=SQS_BATCH,
                VisibilityTimeout=SCAN_VISIBILITY_SECONDS,
                WaitTimeSeconds=settings.dlq_receive_wait_seconds,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                scan.complete = True
                break
            received += len(messages)
            entries: list[dict[str, Any]] = []
            done: list[str] = []
            for message in messages:
                handle = message["ReceiptHandle"]
                decision = (
                    decide(dict(message))
                    if message_attribute(dict(message), "instance_id") == instance_id
                    else Decision()
                )
                if decision.entry is not None:
                    entries.append(decision.entry)
                    done.append(handle)
                elif decision.drop:
                    scan.dropped += 1
                    done.append(handle)
                else:
                    scan.left += 1
                    hidden.append(handle)
            send_entries(entries)
            scan.moved += [entry["Id"] for entry in entries]
            _delete(sqs, settings.events_dlq_url, done)
    finally:
        _release(sqs, settings.events_dlq_url, hidden)
    return scan


def _delete(sqs: SQSClient, url: str, handles: list[str]) -> None:
    for start in range(0, len(handles), SQS_BATCH):
        chunk = handles[start : start + SQS_BATCH]
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(chunk)]
        )


def _release(sqs: SQSClient, url: str, handles: list[str]) -> None:
    """Make messages the scan left visible again now (not after SCAN_VISIBILITY_SECONDS)."""
    for start in range(0, len(handles), SQS_BATCH):
        chunk = handles[start : start + SQS_BATCH]
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0} for i, h in enumerate(chunk)],
        )


@lru_cache(maxsize=1)
def _client() -> SQSClient:
    return boto3.session.Session().client("sqs")
