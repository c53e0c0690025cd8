"""Delivery: POST one queued notification to its instance's callback and decide what happens next.

- 2xx: DELIVERED. 410: the instance's events are disabled (its schedule removed), DISABLED.
- Anything else (3xx included: redirects are never followed), a timeout, a TLS, DNS or connection
  error, or an address the egress guard refuses: the notification is tried again after the next
  step of ``DELIVERY_RETRY_SCHEDULE`` (with jitter, and no sooner than a ``Retry-After``). After
  the last step the notification goes to the dead-letter queue: FAILED.
- The instance was deleted, its events were turned off, or it has no callback URL any more: the
  notification is dropped as DISABLED, with the reason, and never POSTed.

The instance (URL, keys, secrets) is read at each attempt, so a changed URL or a rotated secret
applies to notifications already queued.

Waiting is done in new messages, never in visibility: see :mod:`bcevents.delivery.receipt`.

A redelivered notification's message carries its redelivery number (the ``redelivery`` message
attribute): it gets the whole retry schedule again, and a message of an earlier delivery of the
same notification, still queued, is dropped without a POST.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools.metrics import MetricUnit

from bcevents import clock
from bcevents.aws import event_bodies, lifecycle, queues
from bcevents.aws.event_log import Attempt, Status, get_notification, record_attempt, reopen, set_status
from bcevents.aws.tables import Item, get_storage
from bcevents.compat.envelope import Notification
from bcevents.compat.queued import with_body
from bcevents.delivery import callback_client, receipt, signing
from bcevents.delivery.receipt import DeliveryPending, Outcome, QueuedMessage
from bcevents.delivery.retry import next_delay, retry_after_seconds
from bcevents.observability import logger, metrics
from bcevents.settings import get_settings

#: An attempt is not started with less than its timeouts plus this left in the invocation.
_TIME_MARGIN_MS = 5_000
GONE_REASON = "callback answered 410 Gone"
BODY_GONE_REASON = "its body, too large for a message, is no longer in the event log"


def deliver(
    message: QueuedMessage,
    *,
    rand: Callable[[], float] = random.random,
    remaining_ms: int | None = None,
) -> Outcome:
    """Attempt one delivery of a queued notification, unless it is settled or not due yet.

    Returns the final outcome (DELIVERED, DISABLED or FAILED: the message can be deleted); raises
    DeliveryPending when a new message (or another copy) carries the notification on. ``rand``
    draws the jitter; ``remaining_ms`` is what the invocation has left (no attempt starts without
    enough).
    """
    n = message.notification
    state = get_notification(n.instance_id, n.id) or {}
    if message.redelivery > int(state.get("redeliveries", 0)):
        # A redelivery queued before its reopening reached the log (or the reopening failed).
        reopen(n, state, number=message.redelivery)
        state = get_notification(n.instance_id, n.id) or {}
    status = Status(state.get("status", Status.NEW))
    logged = int(state.get("attempts", 0))
    if message.redelivery < int(state.get("redeliveries", 0)):
        logger.info("message superseded by a redelivery", extra=_fields(n, redelivery=message.redelivery))
        return Outcome(status, logged, detail="superseded by a redelivery")
    if status.final:
        logger.info("notification already settled", extra=_fields(n, status=status.value))
        return Outcome(status, logged, detail="already settled")
    place = receipt.position(message, logged, state.get("next_attempt_at"))
    if place is None:
        logger.info("message superseded by a later copy", extra=_fields(n, attempts=message.attempts))
        raise DeliveryPending(Outcome(status, logged, detail="superseded by a later copy"))
    attempts, due = place
    now = clock.now()
    wait = receipt.seconds_until(due, now)
    if wait > receipt.DUE_TOLERANCE_SECONDS:
        # A message that carried no due time (the log had it), or one that came back early.
        receipt.requeue(message, attempts, due, now)
        raise DeliveryPending(Outcome(status, attempts, detail="not due yet", retry_in=wait))
    if remaining_ms is not None and remaining_ms < _time_needed_ms():
        receipt.requeue(message, attempts, due, now)
        raise DeliveryPending(Outcome(status, attempts, detail="no time left in this invocation", retry_in=0))
    instance = get_storage().get_instance(n.instance_id)
    reason = _why_undeliverable(instance)
    if instance is None or reason is not None:
        set_status(n, Status.DISABLED, reason=reason, now=clock.now())
        metrics.add_metric(name="NotificationsDropped", unit=MetricUnit.Count, value=1)
        logger.warning("notification dropped", extra=_fields(n, reason=reason))
        return Outcome(Status.DISABLED, attempts, detail=reason)
    if n.by_reference:
        body = event_bodies.load_body(n.instance_id, n.id)
        if body is None:
            set_status(n, Status.FAILED, reason=BODY_GONE_REASON, now=clock.now())
            logger.error("notification body not in the event log", extra=_fields(n))
            return Outcome(Status.FAILED, attempts, detail=BODY_GONE_REASON)
        n = with_body(n, body)
    attempt, retry_after = _post(instance, n, attempts + 1, message.redelivery)
    # A redelivery starts the retry schedule over: steps count from its first attempt.
    step = attempt.number - int(state.get("retry_base", 0))
    return _settle(message, attempt, step, retry_after, rand)


# --- one attempt -------------------------------------------------------------------------------
def _post(instance: Item, n: Notification, number: int, redelivery: int) -> tuple[Attempt, float | None]:
    """POST the body once, signed for this attempt; the attempt, and its Retry-After in seconds."""
    url = instance["configuration"]["event.notification.callback.url"]
    started_at = clock.now()
    headers = {
        "Content-Type": "application/json",
        **signing.signature_headers(instance, n.id, n.body, started_at),
    }
    answer = callback_client.post(url, n.body, headers, allow_private=get_settings().allow_private_networks)
    attempt = Attempt(
        number=number,
        at=started_at,
        latency_ms=answer.latency_ms,
        status_code=answer.status_code,
        error=answer.error,
        response_bytes=answer.response_bytes,
        redelivery=redelivery,
    )
    metrics.add_metric(name="CallbackAttempts", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="DeliveryLatency", unit=MetricUnit.Milliseconds, value=answer.latency_ms)
    if not (answer.status_code is not None and 200 <= answer.status_code < 300):
        metrics.add_metric(name="CallbackFailures", unit=MetricUnit.Count, value=1)
    logger.info(
        "callback attempted",
        extra=_fields(
            n,
            attempt=number,
            status_code=answer.status_code,
            error=answer.error,
            latency_ms=answer.latency_ms,
            callback_host=urlsplit(url).hostname,
        ),
    )
    return attempt, retry_after_seconds(answer.retry_after, clock.now())


# --- what happens next -------------------------------------------------------------------------
def _settle(
    message: QueuedMessage,
    attempt: Attempt,
    step: int,
    retry_after: float | None,
    rand: Callable[[], float],
) -> Outcome:
    n = message.notification
    code = attempt.status_code
    if code is not None and 200 <= code < 300:
        record_attempt(n, attempt, Status.DELIVERED)
        metrics.add_metric(name="NotificationsDelivered", unit=MetricUnit.Count, value=1)
        return Outcome(Status.DELIVERED, attempt.number)
    if code == 410:
        lifecycle.disable_events(n.instance_id, reason=GONE_REASON)
        record_attempt(n, attempt, Status.DISABLED, reason=GONE_REASON)
        metrics.add_metric(name="CallbacksGone", unit=MetricUnit.Count, value=1)
        logger.warning("callback gone: events disabled", extra=_fields(n))
        return Outcome(Status.DISABLED, attempt.number, detail=GONE_REASON)
    failure = attempt.error or f"HTTP {code}"
    delay = next_delay(step, get_settings().delivery_retry_schedule, retry_after=retry_after, rand=rand)
    if delay is None:
        # The copy goes first: if recording FAILED came first and we crashed, the copy would be lost.
        queues.dead_letter(n, attempts=attempt.number, last_error=failure, redelivery=message.redelivery)
        record_attempt(
            n, attempt, Status.FAILED, reason=f"gave up after {attempt.number} attempts: {failure}"
        )
        metrics.add_metric(name="NotificationsFailed", unit=MetricUnit.Count, value=1)
        logger.warning("notification dead-lettered", extra=_fields(n, attempts=attempt.number, error=failure))
        return Outcome(Status.FAILED, attempt.number, detail=failure)
    seconds = math.ceil(delay)
    now = clock.now()
    due = now + timedelta(seconds=seconds)
    # The next message goes first: the log then never counts an attempt whose successor is not
    # queued, which is how a copy left by a crash knows itself (receipt.position). A refused send leaves
    # the attempt unlogged and this message in the queue: it comes back and POSTs once more.
    queues.requeue(
        message.notification,
        attempts=attempt.number,
        next_attempt_at=due,
        redelivery=message.redelivery,
        now=now,
    )
    record_attempt(n, attempt, Status.RETRYING, next_attempt_at=due)
    metrics.add_metric(name="NotificationsRetrying", unit=MetricUnit.Count, value=1)
    raise DeliveryPending(Outcome(Status.RETRYING, attempt.number, detail=failure, retry_in=seconds))


def _why_undeliverable(instance: Item | None) -> str | None:
    if instance is None:
        return "the instance was deleted"
    if not instance.get("events_enabled"):
        return "events are disabled for the instance"
    if not instance["configuration"].get("event.notification.callback.url"):
        return "the instance has no callback URL"
    return None


def _time_needed_ms() -> int:
    settings = get_settings()
    timeouts = settings.delivery_connect_timeout_seconds + settings.delivery_timeout_seconds
    return int(timeouts * 1000) + _TIME_MARGIN_MS


def _fields(n: Notification, **extra: Any) -> dict[str, Any]:
    return {"instance_id": n.instance_id, "notification_id": n.id, "object_type": n.object_type, **extra}
