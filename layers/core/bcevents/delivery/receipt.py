"""A message of the events queue as received: what it carries, where it stands, how it waits.

Waiting is done in new messages, never in visibility (``queues.requeue``): a failed attempt sends
the notification again, delayed (15 minutes at most), carrying its attempt count and when the next
attempt is due, and only then is the message received done with. A message that arrives before
its due time is sent again the same way without reading the event log (:func:`requeue_if_early`).
Either way :class:`DeliveryPending` is raised, so that the idempotency record is not kept and the
deliver function reports the message as processed (it is deleted).

The new message is sent *before* the attempt is logged, so the log's attempt count never runs
ahead of the messages: a message carrying fewer attempts than the log (or as many but another due
time) is a copy left by a crash between the send and the delete, and is dropped without a POST;
one carrying more than the log (a crash between the send and the log write) is trusted. A message
that carries nothing (the poller's, a redelivery's) takes its place from the log
(:func:`position`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bcevents import clock
from bcevents.aws import queues
from bcevents.aws.event_log import Status
from bcevents.clock import iso_seconds, parse_iso
from bcevents.compat.envelope import Notification
from bcevents.compat.queued import from_sqs_record
from bcevents.errors import ServiceError

#: A message that comes back less than this before its next attempt is attempted anyway.
DUE_TOLERANCE_SECONDS = 1


@dataclass(frozen=True)
class QueuedMessage:
    """A notification as received from the events queue."""

    notification: Notification
    receipt_handle: str
    message_id: str
    redelivery: int = 0  # which (re)delivery of the notification the message belongs to
    attempts: int | None = None  # attempts made, when the message carries them (a retry's)
    next_attempt_at: str | None = None  # when the next attempt is due (ISO seconds), likewise


@dataclass(frozen=True)
class Outcome:
    """Where a notification stands after a receipt of its message."""

    status: Status
    attempts: int
    detail: str | None = None
    retry_in: int | None = None  # seconds until the message is due again (unsettled only)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form (the idempotency record stores it)."""
        return {"status": self.status.value, "attempts": self.attempts, "detail": self.detail}


class DeliveryPending(ServiceError):
    """The notification is not settled, and the message received is done with: a new message
    carries the notification on (``outcome.retry_in`` seconds from now), or another copy does."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.detail or outcome.status.value)
        self.outcome = outcome


def queued_message(record: Mapping[str, Any]) -> QueuedMessage:
    """Read a Lambda SQS event record (raises MalformedNotification)."""
    attributes = record.get("messageAttributes") or {}

    def attribute(name: str) -> str | None:
        value = (attributes.get(name) or {}).get("stringValue")
        return str(value) if value is not None else None

    redelivery = attribute(queues.REDELIVERY_ATTRIBUTE)
    attempts = attribute(queues.ATTEMPTS_ATTRIBUTE)
    return QueuedMessage(
        notification=from_sqs_record(record),
        receipt_handle=str(record.get("receiptHandle", "")),
        message_id=str(record.get("messageId", "")),
        redelivery=int(redelivery) if redelivery and redelivery.isdigit() else 0,
        attempts=int(attempts) if attempts and attempts.isdigit() else None,
        next_attempt_at=_readable_date(attribute(queues.NEXT_ATTEMPT_ATTRIBUTE)),
    )


def requeue_if_early(message: QueuedMessage, *, now: datetime | None = None) -> Outcome | None:
    """Send a message that arrived before its due time again (the wait left, 15 minutes at most).

    Returns None when the message is due, or carries no due time; reads nothing but the message,
    so a notification waiting for days costs SQS requests only.
    """
    moment = now or clock.now()
    wait = seconds_until(message.next_attempt_at, moment)
    if message.attempts is None or wait <= DUE_TOLERANCE_SECONDS:
        return None
    requeue(message, message.attempts, message.next_attempt_at, moment)
    return Outcome(Status.RETRYING, message.attempts, detail="not due yet", retry_in=wait)


def position(message: QueuedMessage, logged: int, logged_due: str | None) -> tuple[int, str | None] | None:
    """The attempts made and the next due time a message stands for, given the log's; None for a
    stale copy.

    The log counts an attempt only after the message for the next one was sent, so a message
    behind the log, or level with it but due at another time, has a newer copy in the queue. A
    message ahead of the log (its attempt was sent on but not logged) is trusted; one that carries
    nothing takes the log's place.
    """
    if message.attempts is None:
        return logged, logged_due
    if message.attempts < logged or (message.attempts == logged and message.next_attempt_at != logged_due):
        return None
    return message.attempts, message.next_attempt_at


def requeue(message: QueuedMessage, attempts: int, due: str | None, now: datetime) -> int:
    """Send the message's notification on, standing for ``attempts`` made and due at ``due``."""
    return queues.requeue(
        message.notification,
        attempts=attempts,
        next_attempt_at=parse_iso(due) if due else None,
        redelivery=message.redelivery,
        now=now,
    )


def seconds_until(value: str | None, now: datetime) -> int:
    """Whole seconds from ``now`` to a due time the log or a message gives (0 if none or past)."""
    if not value:
        return 0
    return max(0, math.ceil((parse_iso(value) - now).total_seconds()))


def _readable_date(value: str | None) -> str | None:
    """A carried due time, as the log writes it (ISO seconds); None if absent or unreadable."""
    if not value:
        return None
    try:
        return iso_seconds(parse_iso(value))
    except ValueError:
        return None
