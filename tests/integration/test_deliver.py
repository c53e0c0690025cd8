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


def test_a_failed_attempt_leaves_nothing_in_flight_and_one_message_delayed_to_its_next_attempt(
    deliveries: Deliveries, receiver: CallbackReceiver, make_instance: MakeInstance, notify: Notify
) -> None:
    """With the default schedule (4 s after the first failure, ±20 %), the message received is done
    with, and a new one, the same body, waits out the delay carrying the attempt count and the due
    time the log names: a waiting notification is never in flight."""
    receiver.script("/hook", Reply(500))
    item = make_instance(receiver.url())
    [n] = notify(item, 7)
    deliveries.enqueue(n)
    before = datetime.now(UTC)

    _, response = deliveries.run()

    assert response == {"batchItemFailures": []}
    assert deliveries.counts() == {"visible": 0, "in_flight": 0, "delayed": 1}
    assert _idempotency_records(deliveries.aws) == []  # a pending attempt is not remembered as done
    state = event_log.get_notification(n.instance_id, n.id)
    assert state is not None
    assert (state["status"], state["attempts"]) == ("RETRYING", 1)
    next_at = clock.parse_iso(state["next_attempt_at"])
    assert before + timedelta(seconds=3) <= next_at <= datetime.now(UTC) + timedelta(seconds=6)
    [waiting] = deliveries.delayed()
    assert waiting.body == n.body.decode()
    assert waiting.attributes == {
        "instance_id": n.instance_id,
        "notification_id": n.id,
        "object_type": "orders",
        "attempts": "1",
        "next_attempt_at": state["next_attempt_at"],
    }
    assert 2 <= waiting.delay <= 5


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
    assert first == {"batchItemFailures": []}
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
    assert deliveries.counts() == {"visible": 0, "in_flight": 0, "delayed": 0}


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
    [waiting] = deliveries.delayed()
    assert waiting.attributes["next_attempt_at"] == state["next_attempt_at"]
    assert waiting.delay >= 28


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


def test_a_wait_longer_than_sqs_delays_is_a_chain_of_messages_without_an_attempt(
    deliveries: Deliveries, receiver: CallbackReceiver, make_instance: MakeInstance, notify: Notify
) -> None:
    """SQS delays a message 15 minutes at most, so a longer wait (here a ``Retry-After`` of an
    hour, a floor) sees its message back early: it is sent again for the time left, without a POST,
    without counting an attempt and without anything left in flight."""
    receiver.script("/hook", Reply(503, headers={"Retry-After": "3600"}))
    item = make_instance(receiver.url())
    [n] = notify(item, 3)
    deliveries.enqueue(n)
    deliveries.run()
    [first] = deliveries.delayed()
    assert 895 <= first.delay <= 900
    deliveries.end_delays()  # 15 minutes later

    _, response = deliveries.run()

    assert response == {"batchItemFailures": []}
    assert len(receiver.requests) == 1
    assert _statuses(n) == ["RETRYING"]
    assert deliveries.counts() == {"visible": 0, "in_flight": 0, "delayed": 1}
    [again] = deliveries.delayed()
    assert (again.body, again.attributes) == (first.body, first.attributes)
    assert 895 <= again.delay <= 900  # still 45 minutes to go: another 15
    assert _idempotency_records(deliveries.aws) == []


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
def test_a_batch_with_three_failing_instances_delivers_the_others_and_delays_theirs(
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

    assert response == {"batchItemFailures": []}  # the failing ones wait in new messages
    assert sorted(r.body for r in receiver.requests_to("/ok")) == sorted(n.body for n in good)
    assert all(_status(n) == "DELIVERED" for n in good)
    assert all(_status(n) == "RETRYING" for n in bad)
    assert sorted(w.body for w in deliveries.delayed()) == sorted(n.body.decode() for n in bad)


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

    event, response = deliveries.run(LambdaContext(remaining_ms=3_000))

    assert response == {"batchItemFailures": []}
    assert receiver.requests == []
    assert _statuses(n) == []
    [again] = deliveries.receive()  # sent again, receivable at once
    assert again["MessageId"] != event["Records"][0]["messageId"]
    assert again["Body"] == n.body.decode()


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


# --- crashes between the next message and the end of this one -------------------------------------
def _visible_again(deliveries: Deliveries, event: dict[str, Any]) -> None:
    """The message of ``event``, never deleted, comes back (as after its visibility timeout)."""
    deliveries.sqs.change_message_visibility(
        QueueUrl=deliveries.aws.events_queue_url,
        ReceiptHandle=event["Records"][0]["receiptHandle"],
        VisibilityTimeout=0,
    )


@pytest.mark.usefixtures("fast_retries")
def test_a_copy_left_by_a_crash_before_the_delete_is_dropped_without_a_post(
    deliveries: Deliveries, receiver: CallbackReceiver, make_instance: MakeInstance, notify: Notify
) -> None:
    """Given an attempt that failed, was logged and sent on, but whose message was never deleted
    (the function or the event source died first), then when both messages arrive the notification
    is POSTed once more in all (its second attempt), and the copy is dropped."""
    receiver.script("/hook", Reply(503), Reply(200))
    item = make_instance(receiver.url())
    [n] = notify(item, 4)
    deliveries.enqueue(n)
    event = deliveries.event(deliveries.receive())
    assert deliveries.invoke(event) == {"batchItemFailures": []}
    _visible_again(deliveries, event)  # the crash: no delete

    deliveries.run_until_empty()

    assert len(receiver.requests) == 2
    assert _statuses(n) == ["RETRYING", "DELIVERED"]
    assert deliveries.counts() == {"visible": 0, "in_flight": 0, "delayed": 0}


def test_a_crash_between_the_next_message_and_the_log_posts_at_most_once_more(
    deliveries: Deliveries,
    receiver: CallbackReceiver,
    make_instance: MakeInstance,
    notify: Notify,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Given a callback that always fails and three attempts in all, when the first failure's next
    message is sent but the function dies before logging the attempt, then the notification is
    POSTed four times at most (the lost attempt once more), dead-lettered once, and nothing stays
    queued."""
    from bcevents.delivery import attempt

    set_retry_schedule(monkeypatch, 0, 0)
    receiver.script("/hook", Reply(503))
    item = make_instance(receiver.url())
    [n] = notify(item, 4)
    deliveries.enqueue(n)
    logged = attempt.record_attempt

    def dies_once(*args: Any, **kwargs: Any) -> None:
        monkeypatch.setattr(attempt, "record_attempt", logged)
        raise RuntimeError("the function died")

    monkeypatch.setattr(attempt, "record_attempt", dies_once)
    event, response = deliveries.run()
    assert len(response["batchItemFailures"]) == 1  # not deleted: it comes back
    _visible_again(deliveries, event)

    deliveries.run_until_empty()

    assert 3 <= len(receiver.requests) <= 4
    assert _status(n) == "FAILED"
    assert len(deliveries.dead_letters()) == 1
    assert deliveries.counts() == {"visible": 0, "in_flight": 0, "delayed": 0}
