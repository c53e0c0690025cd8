"""The events queue and its dead-letter queue: every SQS call the service makes.

- Notifications go to the events queue in batches of ten (:func:`send_entries`).
- Backoff lives in new messages, not in visibility: a notification waiting for its next attempt
  is sent again with ``DelaySeconds`` (at most SQS's 15 minutes), carrying how many attempts it
  has had and when the next is due (:func:`requeue`); the message received is then deleted. So a
  waiting notification is never in flight (SQS refuses receives past ~120,000 messages in flight,
  for every instance at once), and a wait longer than 15 minutes is a chain of such messages. A
  notification whose attempts are exhausted is copied to the dead-letter queue by delivery
  itself, with its attempt count, and the original is then deleted (:func:`dead_letter`).
- SQS's own redrive (StartMessageMoveTask) moves every message of a queue, whoever it belongs
  to, so :func:`redrive_instance` scans the dead-letter queue in receives of ten: a message of the
  instance is sent back to the events queue and then deleted; any other message is kept hidden
  until the scan ends and then made visible again at once. A scan is bounded (messages and
  seconds) and says whether it saw the queue empty; the next one goes on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from bcevents.aws import clients
from bcevents.aws.items import error_code
from bcevents.batching import runs
from bcevents.clock import iso_seconds
from bcevents.compat.envelope import Notification
from bcevents.compat.queued import to_sqs_entry
from bcevents.errors import EnqueueFailed
from bcevents.observability import logger
from bcevents.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

SQS_BATCH = 10
#: SQS's limits: one message, and one batch's messages added up (both 1 MiB).
MAX_MESSAGE_BYTES = 1_048_576
MAX_BATCH_BYTES = 1_048_576
_ATTEMPTS = 3


def send_entries(entries: Sequence[dict[str, Any]], queue_url: str | None = None) -> None:
    """Send SQS entries (``Id``, ``MessageBody``, ``MessageAttributes``) in batches of at most ten
    entries and :data:`MAX_BATCH_BYTES`.

    SendMessageBatch can succeed for some entries and fail for others; the failed ones are sent
    again (twice more), and if any still fail the caller is told, so it does not checkpoint.
    """
    url = queue_url or get_settings().events_queue_url
    runs = batches(entries)
    for index, batch in enumerate(runs):
        pending = list(batch)
        later = [entry["Id"] for run in runs[index + 1 :] for entry in run]
        for _ in range(_ATTEMPTS):
            try:
                response = clients.sqs().send_message_batch(QueueUrl=url, Entries=pending)  # type: ignore[arg-type]
            except ClientError as exc:
                unsent = [entry["Id"] for entry in pending] + later
                raise EnqueueFailed(f"SQS refused the batch: {error_code(exc)}", unsent) from exc
            failed = {failure["Id"] for failure in response.get("Failed", [])}
            if not failed:
                break
            logger.warning("some notifications were not enqueued", extra={"failed": len(failed)})
            pending = [entry for entry in pending if entry["Id"] in failed]
        else:
            unsent = [entry["Id"] for entry in pending] + later
            raise EnqueueFailed(f"{len(pending)} notifications could not be enqueued", unsent)


def batches(entries: Sequence[dict[str, Any]]) -> list[Sequence[dict[str, Any]]]:
    """Consecutive runs of at most ten entries whose sizes add up to at most MAX_BATCH_BYTES."""

    def size(entry: dict[str, Any]) -> int:
        if (length := entry_bytes(entry)) > MAX_MESSAGE_BYTES:
            raise EnqueueFailed(
                f"notification {entry['Id']} is {length:,} bytes, over SQS's message limit", [entry["Id"]]
            )
        return length

    return runs(entries, size=size, max_count=SQS_BATCH, max_size=MAX_BATCH_BYTES)


def entry_bytes(entry: dict[str, Any]) -> int:
    """What SQS counts of an entry: its body, and each attribute's name, type and value."""
    size = len(str(entry["MessageBody"]).encode("utf-8"))
    for name, value in (entry.get("MessageAttributes") or {}).items():
        size += len(name.encode()) + len(str(value.get("DataType", "")).encode())
        size += len(str(value.get("StringValue", "")).encode())
    return size


#: The message attribute naming a redelivery's number (absent on a first delivery).
REDELIVERY_ATTRIBUTE = "redelivery"
#: SQS delays a message at most this long; a longer wait is re-sent when the delay ends.
MAX_DELAY_SECONDS = 900
#: The attributes a waiting notification's message carries: attempts made, when the next is due.
ATTEMPTS_ATTRIBUTE = "attempts"
NEXT_ATTEMPT_ATTRIBUTE = "next_attempt_at"


def requeue(
    notification: Notification,
    *,
    attempts: int,
    next_attempt_at: datetime | None,
    redelivery: int = 0,
    now: datetime,
) -> int:
    """Send the notification's message again, delayed until its next attempt or 15 minutes, whichever
    is sooner; returns the delay in seconds.

    ``notification`` is as it was received (a reference stays a reference): the body is unchanged.
    The message carries ``attempts`` and ``next_attempt_at`` (ISO seconds, as the event log writes
    it), and the redelivery it belongs to. Raises on a refusal: the caller's message then stays.
    """
    entry = to_sqs_entry(notification)
    attributes: dict[str, Any] = {
        **entry["MessageAttributes"],
        ATTEMPTS_ATTRIBUTE: {"DataType": "Number", "StringValue": str(attempts)},
    }
    if next_attempt_at is not None:
        attributes[NEXT_ATTEMPT_ATTRIBUTE] = {
            "DataType": "String",
            "StringValue": iso_seconds(next_attempt_at),
        }
    if redelivery:
        attributes[REDELIVERY_ATTRIBUTE] = {"DataType": "Number", "StringValue": str(redelivery)}
    wait = math.ceil((next_attempt_at - now).total_seconds()) if next_attempt_at is not None else 0
    delay = max(0, min(wait, MAX_DELAY_SECONDS))
    clients.sqs().send_message(
        QueueUrl=get_settings().events_queue_url,
        MessageBody=entry["MessageBody"],
        MessageAttributes=attributes,
        DelaySeconds=delay,
    )
    return delay


def dead_letter(notification: Notification, *, attempts: int, last_error: str, redelivery: int = 0) -> None:
    """Send a copy of the notification to the dead-letter queue, with why and after how many attempts."""
    entry = to_sqs_entry(notification)
    attributes: dict[str, Any] = {
        **entry.get("MessageAttributes", {}),
        ATTEMPTS_ATTRIBUTE: {"DataType": "Number", "StringValue": str(attempts)},
        "last_error": {"DataType": "String", "StringValue": last_error},
    }
    if redelivery:
        attributes[REDELIVERY_ATTRIBUTE] = {"DataType": "Number", "StringValue": str(redelivery)}
    clients.sqs().send_message(
        QueueUrl=get_settings().events_dlq_url, MessageBody=entry["MessageBody"], MessageAttributes=attributes
    )


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
    sqs = clients.sqs()
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
