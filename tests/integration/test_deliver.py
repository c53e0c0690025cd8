"""The deliver function against moto SQS/DynamoDB and a real callback receiver: outcomes and retries."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from bcevents import clock
from bcevents.aws import event_log
from bcevents.aws.tables import get_storage
from bcevents.compat.queued import from_sqs_record
from callbacks import CallbackReceiver, Reply
from devstack.resources import StackResources
from tests.integration.conftest import Deliveries, set_retry_schedule
from tests.support.api import ApiClient, LambdaContext, load_event

MakeInstance = Callable[..., dict[str, Any]]
Notify = Callable[..., list[Any]]


def _statuses(n: Any) -> list[str]:
    return [a["status"] for a in event_log.list_attempts(n.instance_id, n.id)]


def _idempotency_records(aws: StackResources) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = boto3.resource("dynamodb").Table(aws.idempotency_table).scan()["Items"]
    return items


def _status(n: Any) -> str:
    item = event_log.get_notification(n.instance_id, n.id)
    assert item is not None
    return str(item["status"])


# --- delivered ----------------------------------------------------------------------------------
def test_a_2xx_delivers_the_exact_body_and_deletes_the_message(
    deliveries: Deliveries, receiver: CallbackReceiver, make_instance: MakeInstance, notify: Notify
) -> None:
    item = make_instance(receiver.url())
    [n] = notify(item, 101, 102)
    deliveries.enqueue(n)

    _, response = deliveries.run()

    assert response == {"batchItemFailures": []}
    [request] = receiver.requests_to("/hook")
    assert request.body == n.body
    assert request.header("Content-Type") == "application/json"
    assert request.header(
        "User-Agent",
    ).startswith("BigCommerce-Events-Webhooks/")  # type: ignore[union-attr]
    assert request.header("Elements-Webhook-Id") == request.header("webhook-id") == n.id
    assert _status(n) == "DELIVERED"
    [attempt] = event_log.list_attempts(n.instance_id, n.id)
    assert attempt["status_code"] == 200
    assert attempt["attempt"] == 1
    assert attempt["latency_ms"] >= 0
    assert attempt["expires_at"] > time.time() + 29 * 86400
    assert deliveries.receive_count() == 0


def test_the_sample_event_is_delivered_to_its_instance(
    deliveries: Deliveries, receiver: CallbackReceiver
) -> None:
    """Given events/deliver.json (what ``sam local invoke`` sends) and its instance,
    when the function handles it, then the receiver gets the record's body byte for byte."""
    event = load_event("deliver.json")
    [record] = event["Records"]
    n = from_sqs_record(record)
    get_storage().put_new_instance(
        {
            "id": n.instance_id,
            "org_id": "5f2a9c31d0b84e67",
            "user_id": "a81c0e9f3b5d2476",
            "name": "My BigCommerce store",
            "tags": ["production"],
            "created_date": "2025-03-01T00:00:00Z",
            "updated_date": "2025-03-01T00:00:00Z",
            "configuration": {
                "event.notification.callback.url": receiver.url(),
                "event.notification.enabled": True,
            },
            "events_enabled": True,
            "token_hash": "0" * 64,
            "webhook_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        }
    )

    response = deliveries.invoke(event)

    assert response == {"batchItemFailures": []}
    [request] = receiver.requests
    assert request.body == record["body"].encode()
    assert json.loads(request.body)["message"]["raw"]["objectType"] == "orders"


# --- retries ------------------------------------------------------------------------------------
@pytest.mark.usefixtures("fast_retries")
def test_500_500_then_200_posts_one_id_three_times(
    deliveries: Deliveries, receiver: CallbackReceiver, make_instance: MakeInstance, notify: Notify
) -> None:
    receiver.script("/hook", Reply(500), Reply(500), Reply(200))
    item = make_instance(receiver.url())
    [n] = notify(item, 7)
    deliveries.enqueue(n)

    runs = deliveries.run_until_empty()

    assert runs == 3
    requests = receiver.requests_to("/hook")
    assert [r.body for r in requests] == [n.body] * 3
    assert (
        {r.header("webhook-id") for r in requests}
        == {r.header("Elements-Webhook-Id") for r in requests}
        == {n.id}
    )
    assert _statuses(n) == ["RETRYING", "RETRYING", "DELIVERED"]
    assert [a["status_code"] for a in event_log.list_attempts(n.instance_id, n.id)] == [500, 500, 200]
    assert _status(n) == "DELIVERED"


def test_a_failed_attempt_hides_the_message_until_its_scheduled_retry(
    deliveries: Deliveries, receiver: CallbackReceiver, make_instance: MakeInstance, notify: Notify
) -> None:
    """With the default schedule (4 s after the first failure, ±20 %), the message is not
    receivable right after the failure and the log names the next attempt."""
    receiver.script("/hook", Reply(500))
    item = make_instance(receiver.url())
    [n] = notify(item, 7)
    deliveries.enqueue(n)
    before = datetime.now(UTC)

    _, response = deliveries.run()

    assert len(response["batchItemFailures"]) == 1
    assert deliveries.receive() == []
    assert _idempotency_records(deliveries.aws) == []  # a pending attempt is not remembered as done
    state = event_log.get_notification(n.instance_id, n.id)
    assert state is not None
    assert state["status"] == "RETRYING"
    assert state["attempts"] == 1
    next_at = clock.parse_iso(state["next_attempt_at"])
    assert before + timedelta(seconds=3) <= next_at <= datetime.now(UTC) + timedelta(seconds=6)


@pytest.mark.usefixtures("fast_retries")
def test_a_callback_that_never_succeeds_ends_in_the_dead_letter_queue_without_blocking_others(
    deliveries: Deliveries, receiver: CallbackReceiver, make_instance: MakeInstance, notify: Notify
) -> None:
    """Given a schedule of three immediate retries, a callback answering 503 forever and another
    that works, then the failing notification is POSTed four times and moved to the dead-letter
    queue (FAILED), and the other was delivered in the very first batch."""
    receiver.script("/down", Reply(503))
    failing = make_instance(receiver.url("/down"))
    healthy = make_instance(receiver.url("/up"))
    [bad] = notify(failing, 1)
    [good] = notify(healthy, 2)
    deliveries.enqueue(bad, good)

    _, first = deliveries.run()
    assert len(first["batchItemFailures"]) == 1
    assert _status(good) == "DELIVERED"
    deliveries.run_until_empty()

    assert len(receiver.requests_to("/up")) == 1
    assert len(receiver.requests_to("/down")) == 4
    assert _statuses(bad) == ["RETRYING", "RETRYING", "RETRYING", "FAILED"]
    assert _status(bad) == "FAILED"
    [dead] = deliveries.dead_letters()
    assert dead["Body"] == bad.body.decode()
    attributes = {k: v["StringValue"] for k, v in dead["MessageAttributes"].items()}
    assert attributes == {
        "instance_id": bad.instance_id,
        "notification_id": bad.id,
        "object_type": "orders",
        "attempts": "4",
        "last_error": "HTTP 503",
    }


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(
    status: int,
    deliveries: Deliveries,
    receiver: CallbackReceiver,
    make_instance: MakeInstance,
    notify: Notify,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_retry_schedule(monkeypatch, 0)
    receiver.script("/hook", Reply(status, headers={"Retry-After": "30"}))
    item = make_instance(receiver.url())
    [n] = notify(item, 3)
    deliveries.enqueue(n)

    deliveries.run()

    [request] = receiver.requests
    assert deliveries.receive(wait=1) == []  # a 0-second schedule alone would have shown it again
    state = event_log.get_notification(n.instance_id, n.id)
    assert state is not None
    assert clock.parse_iso(state["next_attempt_at"]).timestamp() >= int(request.at) + 30


def test_retry_after_makes_the_message_wait_that_long(
    deliveries: Deliveries,
    receiver: CallbackReceiver,
    make_instance: MakeInstance,
    notify: Notify,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Observed on the queue: with a 0-second schedule, ``Retry-After: 2`` keeps the message away
    for two seconds, and then it is attempted again."""
    set_retry_schedule(monkeypatch, 0)
    receiver.script("/hook", Reply(429, headers={"Retry-After": "2"}), Reply(200))
    item = make_instance(receiver.url())
    [n] = notify(item, 3)
    deliveries.enqueue(n)

    deliveries.run()
    assert deliveries.receive(wait=1) == []
    time.sleep(1.2)
    deliveries.run()

    first, second = receiver.requests
    assert second.at - first.at >= 2
    assert _status(n) == "DELIVERED"


def test_a_message_back_before_its_next_attempt_is_hidden_again_without_an_attempt(
    deliveries: Deliveries, receiver: CallbackReceiver, make_instance: MakeInstance, notify: Notify
) -> None:
    """SQS hides a message 12 hours at most, so a longer wait sees it back early: it is hidden
    again for the time left, without a POST and without counting an attempt."""
    receiver.script("/hook", Reply(503, headers={"Retry-After": "3600"}))
    item = make_instance(receiver.url())
    [n] = notify(item, 3)
    deliveries.enqueue(n)
    event, _ = deliveries.run()
    # Back early (as after 12 hours of a longer wait): make it visible now.
    deliveries.sqs.change_message_visibility(
        QueueUrl=deliveries.aws.events_queue_url,
        ReceiptHandle=event["Records"][0]["receiptHandle"],
        VisibilityTimeout=0,
    )

    _, response = deliveries.run()

    assert len(response["batchItemFailures"]) == 1
    assert len(receiver.requests) == 1
    assert _statuses(n) == ["RETRYING"]
    assert deliveries.receive(wait=1) == []


# --- 410 and instances that are gone ---------------------------------------------------------------
def test_410_disables_the_instance_events_and_removes_its_schedule(
    deliveries: Deliveries,
    receiver: CallbackReceiver,
    make_instance: MakeInstance,
    notify: Notify,
    api: ApiClient,
    aws: StackResources,
) -> None:
    receiver.script("/hook", Reply(410))
    item = make_instance(receiver.url())
    scheduler = boto3.client("scheduler")
    assert scheduler.get_schedule(Name=f"instance-{item['id']}", GroupName=aws.schedule_group)
    [n, later] = notify(item, *range(1, 12))
    deliveries.enqueue(n)

    _, response = deliveries.run()

    assert response == {"batchItemFailures": []}
    assert _status(n) == "DISABLED"
    assert _statuses(n) == ["DISABLED"]
    view = api.get(f"/instances/{item['id']}").body
    assert view["eventsEnabled"] is False
    assert view["eventsDisabledReason"] == "callback answered 410 Gone"
    with pytest.raises(scheduler.exceptions.ResourceNotFoundException):
        scheduler.get_schedule(Name=f"instance-{item['id']}", GroupName=aws.schedule_group)
    # What was still queued for the instance is dropped, not POSTed.
    deliveries.enqueue(later)
    deliveries.run()
    assert len(receiver.requests) == 1
    assert _status(later) == "DISABLED"


def test_a_message_for_a_deleted_instance_is_dropped_and_recorded(
    deliveries: Deliveries,
    receiver: CallbackReceiver,
    make_instance: MakeInstance,
    notify: Notify,
    api: ApiClient,
) -> None:
    item = make_instance(receiver.url())
    [n] = notify(item, 5)
    deliveries.enqueue(n)
    assert api.delete(f"/instances/{item['id']}").status == 200

    _, response = deliveries.run()

    assert response == {"batchItemFailures": []}
    assert receiver.requests == []
    state = event_log.get_notification(n.instance_id, n.id)
    assert state is not None
    assert (state["status"], state["status_reason"]) == ("DISABLED", "the instance was deleted")
    assert deliveries.receive_count() == 0


def test_a_message_for_an_instance_whose_events_were_turned_off_is_dropped(
    deliveries: Deliveries,
    receiver: CallbackReceiver,
    make_instance: MakeInstance,
    notify: Notify,
    api: ApiClient,
) -> None:
    item = make_instance(receiver.url())
    [n] = notify(item, 5)
    deliveries.enqueue(n)
    assert api.delete(f"/instances/{item['id']}/events/enabled").status == 200

    deliveries.run()

    assert receiver.requests == []
    state = event_log.get_notification(n.instance_id, n.id)
    assert state is not None
    assert (state["status"], state["status_reason"]) == ("DISABLED", "events are disabled for the instance")


def test_a_changed_callback_url_applies_to_notifications_already_queued(
    deliveries: Deliveries,
    receiver: CallbackReceiver,
    make_instance: MakeInstance,
    notify: Notify,
    api: ApiClient,
) -> None:
    item = make_instance(receiver.url("/old"))
    [n] = notify(item, 5)
    deliveries.enqueue(n)
    patch = {
        "configuration": {"event.notification.callback.url": receiver.url("/new")},
        "validateCredentials": False,
    }
    assert api.patch(f"/instances/{item['id']}", patch).status == 200

    deliveries.run()

    assert receiver.requests_to("/old") == []
    assert len(receiver.requests_to("/new")) == 1


# --- batches and idempotency --------------------------------------------------------------------
def test_a_batch_reports_exactly_the_messages_of_its_three_failing_instances(
    deliveries: Deliveries, receiver: CallbackReceiver, make_instance: MakeInstance, notify: Notify
) -> None:
    healthy = make_instance(receiver.url("/ok"))
    failing = []
    for i, answer in enumerate((Reply(500), Reply(404), Reply(302, headers={"Location": "/ok"}))):
        receiver.script(f"/bad{i}", answer)
        failing.append(make_instance(receiver.url(f"/bad{i}")))
    good = [notify(healthy, order_id)[0] for order_id in range(1, 8)]
    bad = [notify(item, 100)[0] for item in failing]
    deliveries.enqueue(*good, *bad)
    messages = deliveries.receive()
    assert len(messages) == 10
    # Failing instances first, in the middle and last: order must not matter.
    by_instance = {m["MessageAttributes"]["instance_id"]["StringValue"]: m for m in messages}
    bad_messages = [by_instance[item["id"]] for item in failing]
    good_messages = [m for m in messages if m not in bad_messages]
    ordered = [bad_messages[0], *good_messages[:3], bad_messages[1], *good_messages[3:], bad_messages[2]]

    response = deliveries.invoke(deliveries.event(ordered))

    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    assert failed == {m["MessageId"] for m in bad_messages}
    assert sorted(r.body for r in receiver.requests_to("/ok")) == sorted(n.body for n in good)
    assert all(_status(n) == "DELIVERED" for n in good)
    assert all(_status(n) == "RETRYING" for n in bad)


def test_the_same_event_handled_twice_after_success_posts_once(
    deliveries: Deliveries, receiver: CallbackReceiver, make_instance: MakeInstance, notify: Notify
) -> None:
    """Lambda delivers at least once: a second invocation with the same messages is a no-op."""
    item = make_instance(receiver.url())
    [n] = notify(item, 9)
    deliveries.enqueue(n)
    event = deliveries.event(deliveries.receive())

    first = deliveries.invoke(event)
    second = deliveries.invoke(event)

    assert first == second == {"batchItemFailures": []}
    assert len(receiver.requests) == 1
    [record] = _idempotency_records(deliveries.aws)
    assert record["status"] == "COMPLETED"
    assert json.loads(record["data"]) == {"status": "DELIVERED", "attempts": 1, "detail": None}


def test_a_page_the_poller_enqueues_again_after_a_crash_is_posted_once(
    deliveries: Deliveries,
    receiver: CallbackReceiver,
    make_instance: MakeInstance,
    notify: Notify,
    aws: StackResources,
) -> None:
    """Given a notification delivered long ago (its idempotency record expired), when the poller
    builds the same page again and enqueues it, then it keeps its id, stays DELIVERED in the log
    and is not POSTed again."""
    item = make_instance(receiver.url())
    [n] = notify(item, 9)
    deliveries.enqueue(n)
    deliveries.run()
    table = boto3.resource("dynamodb").Table(aws.idempotency_table)
    for record in _idempotency_records(aws):
        table.delete_item(Key={"id": record["id"]})

    [again] = notify(item, 9)
    deliveries.enqueue(again)
    assert _status(again) == "DELIVERED"  # enqueuing it again did not reset it to NEW
    _, response = deliveries.run()

    assert again.id == n.id
    assert response == {"batchItemFailures": []}
    assert len(receiver.requests) == 1
    assert _status(n) == "DELIVERED"
    assert deliveries.receive_count() == 0


def test_no_attempt_starts_without_time_for_its_timeouts(
    deliveries: Deliveries, receiver: CallbackReceiver, make_instance: MakeInstance, notify: Notify
) -> None:
    """An invocation about to time out hands its messages back at once instead of starting POSTs."""
    item = make_instance(receiver.url())
    [n] = notify(item, 9)
    deliveries.enqueue(n)

    _, response = deliveries.run(LambdaContext(remaining_ms=3_000))

    assert len(response["batchItemFailures"]) == 1
    assert receiver.requests == []
    assert _statuses(n) == []
    assert len(deliveries.receive()) == 1  # visible again immediately


def test_a_message_that_is_not_a_notification_is_reported_failed_and_the_batch_goes_on(
    deliveries: Deliveries, receiver: CallbackReceiver, make_instance: MakeInstance, notify: Notify
) -> None:
    """A poison message fails alone (the queue's redrive policy dead-letters it after repeated
    receipts); the notification next to it is delivered."""
    item = make_instance(receiver.url())
    [n] = notify(item, 1)
    deliveries.enqueue(n)
    deliveries.sqs.send_message(QueueUrl=deliveries.aws.events_queue_url, MessageBody="not a notification")
    messages = deliveries.receive()

    response = deliveries.invoke(deliveries.event(messages))

    [poison] = [m for m in messages if m["Body"] == "not a notification"]
    assert response == {"batchItemFailures": [{"itemIdentifier": poison["MessageId"]}]}
    assert len(receiver.requests) == 1


def test_a_stale_receipt_handle_does_not_hide_the_failure(
    deliveries: Deliveries, receiver: CallbackReceiver, make_instance: MakeInstance, notify: Notify
) -> None:
    """When the message was received again meanwhile, its visibility cannot be changed: the
    attempt is still recorded and the message still reported as failed."""
    receiver.script("/hook", Reply(500))
    item = make_instance(receiver.url())
    [n] = notify(item, 1)
    deliveries.enqueue(n)
    event = deliveries.event(deliveries.receive())
    event["Records"][0]["receiptHandle"] = "stale-receipt-handle"

    response = deliveries.invoke(event)

    assert len(response["batchItemFailures"]) == 1
    assert _statuses(n) == ["RETRYING"]
