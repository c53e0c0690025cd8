"""Redelivery: send notifications again, with the same id: one, a range of the log, or dead letters.

Each redelivery queues the notification's exact body again and reopens it in the event log (status NEW, ``redeliveries`` + 1, the
retry schedule starting over; earlier attempts stay); the message carries the redelivery's
number as an attribute. The deliver function is idempotent on the id *and*
that number, so it POSTs again, with the same ``webhook-id``/``Elements-Webhook-Id``; a message of
an earlier delivery still queued is dropped. The message is sent before the log is reopened: if
the queue refuses it, nothing changed (the delivery under way, a retry still queued, stands) and
the caller is told (503); if the message arrives before the log says so, delivery catches the log
up itself.

Nothing is redelivered while the instance's events are off: delivery would drop it at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from bcevents.api import events, instances
from bcevents.api.access import Principal
from bcevents.api.models import DeadLetterRedrive, RedeliverBody, RedeliveryBatch, RedeliveryView
from bcevents.aws import event_bodies, event_log, queues
from bcevents.aws.event_log import Status
from bcevents.aws.queues import REDELIVERY_ATTRIBUTE, send_entries
from bcevents.aws.tables import Item
from bcevents.compat.envelope import MalformedNotification, Notification
from bcevents.compat.queued import from_sqs_record, to_sqs_entry
from bcevents.errors import EnqueueFailed, EventsDisabled, NotRedeliverable
from bcevents.observability import logger, metrics


def redeliver(principal: Principal, instance_id: int, notification_id: str) -> RedeliveryView:
    """Send one notification again, whatever its status."""
    item = _delivering_instance(principal, instance_id)
    state = events.find(item["id"], notification_id)
    body = event_bodies.load_body(item["id"], notification_id)
    if body is None:
        raise NotRedeliverable(notification_id)
    notification = _notification(body)
    number = int(state.get("redeliveries", 0)) + 1
    send_entries([redelivery_entry(notification, number)])  # refused: nothing changed (a 503)
    event_log.reopen(notification, state, number=number)
    metrics.add_metric(name="NotificationsRedelivered", unit=MetricUnit.Count, value=1)
    logger.info(
        "notification redelivered",
        extra={"instance_id": item["id"], "notification_id": notification.id, "redelivery": number},
    )
    return RedeliveryView(id=notification.id, redelivery=number, status=Status.NEW)


def redeliver_many(principal: Principal, instance_id: int, request: RedeliverBody) -> RedeliveryBatch:
    """Send again up to ``limit`` notifications of a status created in a range, newest first."""
    item = _delivering_instance(principal, instance_id)
    filters = events.LogFilter(status=request.status, since=request.from_date, until=request.to_date)
    found, next_cursor = events.query_log(
        item["id"], filters, limit=request.limit, cursor=request.cursor, where=""
    )
    entries: list[dict[str, Any]] = []
    queued: dict[str, tuple[Notification, Mapping[str, Any], int]] = {}
    skipped: list[str] = []
    for listed in found:
        # The index holds a projection, possibly stale: the redelivery starts from the item itself.
        state = event_log.get_notification(item["id"], listed["notification_id"]) or listed
        body = event_bodies.load_body(item["id"], state["notification_id"])
        if body is None:
            skipped.append(state["notification_id"])
            continue
        notification = _notification(body)
        number = int(state.get("redeliveries", 0)) + 1
        queued[notification.id] = (notification, state, number)
        entries.append(redelivery_entry(notification, number))
    try:
        send_entries(entries)
    except EnqueueFailed as exc:
        _reopen(queued, exclude=set(exc.unsent))  # the ones SQS took are redeliveries under way
        raise
    _reopen(queued)
    metrics.add_metric(name="NotificationsRedelivered", unit=MetricUnit.Count, value=len(entries))
    logger.info(
        "notifications redelivered",
        extra={
            "instance_id": item["id"],
            "status": request.status.value,
            "redelivered": len(entries),
            "not_redeliverable": len(skipped),
        },
    )
    return RedeliveryBatch(
        redelivered=len(entries),
        notification_ids=[entry["Id"] for entry in entries],
        not_redeliverable=skipped,
        next_cursor=next_cursor,
    )


def redrive_dead_letters(principal: Principal, instance_id: int) -> DeadLetterRedrive:
    """Move the instance's messages from the dead-letter queue back to the events queue.

    Other instances' messages stay. A dead letter whose notification was delivered since (a
    redelivery from the log) is dropped instead of sent twice.
    """
    item = _delivering_instance(principal, instance_id)
    scan = queues.redrive_instance(item["id"], partial(_dead_letter_decision, item["id"]))
    metrics.add_metric(name="DeadLettersRedriven", unit=MetricUnit.Count, value=len(scan.moved))
    logger.info(
        "dead letters redriven",
        extra={
            "instance_id": item["id"],
            "moved": len(scan.moved),
            "dropped": scan.dropped,
            "left": scan.left,
            "complete": scan.complete,
            "notification_ids": scan.moved,
        },
    )
    return DeadLetterRedrive(
        moved=len(scan.moved),
        notification_ids=scan.moved,
        already_delivered=scan.dropped,
        left=scan.left,
        complete=scan.complete,
    )


def _reopen(
    queued: Mapping[str, tuple[Notification, Mapping[str, Any], int]], exclude: set[str] | None = None
) -> None:
    for notification_id, (notification, state, number) in queued.items():
        if notification_id not in (exclude or set()):
            event_log.reopen(notification, state, number=number)


def redelivery_entry(notification: Notification, number: int) -> dict[str, Any]:
    """The events-queue entry of a redelivery: the notification's entry and its number."""
    entry = to_sqs_entry(notification)
    entry["MessageAttributes"][REDELIVERY_ATTRIBUTE] = {"DataType": "Number", "StringValue": str(number)}
    return entry


# ------------------------------------------------------------------------------------------
def _dead_letter_decision(instance_id: str, message: dict[str, Any]) -> queues.Decision:
    try:
        notification = _notification(str(message.get("Body", "")).encode("utf-8"))
    except MalformedNotification:
        return queues.Decision()  # not a notification: leave it for a person to look at
    if notification.instance_id != instance_id:
        return queues.Decision()
    state = event_log.get_notification(instance_id, notification.id) or {}
    if state.get("status") == Status.DELIVERED:
        return queues.Decision(drop=True)
    return queues.Decision(entry=redelivery_entry(notification, event_log.reopen(notification, state)))


def _delivering_instance(principal: Principal, instance_id: int) -> Item:
    item = instances.get_instance(principal, instance_id)
    if not item.get("events_enabled"):
        reason = item.get("events_disabled_reason") or "events are disabled"
        raise EventsDisabled(reason)
    return item


def _notification(body: bytes) -> Notification:
    return from_sqs_record({"body": body.decode("utf-8")})
