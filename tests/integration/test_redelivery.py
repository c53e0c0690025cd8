"""Redelivery against moto and a real receiver: one, a range, and one instance's dead letters."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from bcevents.aws import event_bodies, event_log
from callbacks import CallbackReceiver, Reply
from devstack.resources import StackResources
from tests.integration.conftest import Deliveries, set_retry_schedule
from tests.support.api import ApiClient

MakeInstance = Callable[..., dict[str, Any]]
Notify = Callable[..., list[Any]]


@pytest.fixture(autouse=True)
def _short_scans(setenv: Any) -> None:
    """The dead-letter scan's last (empty) receive returns at once on moto."""
    setenv(DLQ_RECEIVE_WAIT_SECONDS="0")


def _state(n: Any) -> dict[str, Any]:
    item = event_log.get_notification(n.instance_id, n.id)
    assert item is not None
    return item


def _attributes(message: dict[str, Any]) -> dict[str, str]:
    return {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}


def _fail_to_dead_letters(
    deliveries: Deliveries, receiver: CallbackReceiver, monkeypatch: pytest.MonkeyPatch, *notifications: Any
) -> None:
    """Deliver against callbacks answering 503: two attempts each, then FAILED in the dead-letter queue."""
    set_retry_schedule(monkeypatch, 0)
    deliveries.enqueue(*notifications)
    deliveries.run_until_empty()
    assert all(_state(n)["status"] == "FAILED" for n in notifications)
    assert all(_state(n)["status_reason"] == "gave up after 2 attempts: HTTP 503" for n in notifications)


# --- one notification --------------------------------------------------------------------------
def test_a_delivered_notification_is_posted_again_with_the_same_id(
    api: ApiClient,
    deliveries: Deliveries,
    receiver: CallbackReceiver,
    make_instance: MakeInstance,
    notify: Notify,
) -> None:
    item = make_instance(receiver.url())
    [n] = notify(item, 123)
    deliveries.enqueue(n)
    deliveries.run()

    response = api.post(f"/instances/{item['id']}/events/{n.id}/redeliver")
    assert response.status == 202, response.body
    assert response.body == {"id": n.id, "redelivery": 1, "status": "NEW"}
    deliveries.run()

    first, again = receiver.requests_to("/hook")
    assert again.body == first.body == n.body
    assert again.header("webhook-id") == again.header("Elements-Webhook-Id") == n.id
    assert first.header("webhook-id") == n.id
    state = _state(n)
    assert (state["status"], state["attempts"], state["redeliveries"]) == ("DELIVERED", 2, 1)
    detail = api.get(f"/instances/{item['id']}/events/{n.id}").body
    assert [a["redelivery"] for a in detail["deliveryAttempts"]] == [0, 1]
    assert deliveries.receive_count() == 0


def test_the_same_redelivery_message_handled_twice_posts_once(
    api: ApiClient,
    deliveries: Deliveries,
    receiver: CallbackReceiver,
    make_instance: MakeInstance,
    notify: Notify,
) -> None:
    """Idempotency is keyed on the notification id and the redelivery number."""
    item = make_instance(receiver.url())
    [n] = notify(item, 9)
    deliveries.enqueue(n)
    deliveries.run()
    api.post(f"/instances/{item['id']}/events/{n.id}/redeliver")
    messages = deliveries.receive()
    assert _attributes(messages[0])["redelivery"] == "1"
    event = deliveries.event(messages)

    assert deliveries.invoke(event) == deliveries.invoke(event) == {"batchItemFailures": []}

    assert len(receiver.requests) == 2  # the first delivery and the redelivery, nothing more


def test_a_message_of_an_earlier_delivery_still_queued_is_dropped(
    api: ApiClient,
    deliveries: Deliveries,
    receiver: CallbackReceiver,
    make_instance: MakeInstance,
    notify: Notify,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Redelivering a notification whose first message is still queued: that message is deleted
    without a POST; only the redelivery's message is attempted (and waits for its retry)."""
    set_retry_schedule(monkeypatch, 3600)
    receiver.script("/hook", Reply(503))
    item = make_instance(receiver.url())
    [n] = notify(item, 5)
    deliveries.enqueue(n)
    assert api.post(f"/instances/{item['id']}/events/{n.id}/redeliver").status == 202
    messages = deliveries.receive()
    assert sorted(_attributes(m).get("redelivery", "0") for m in messages) == ["0", "1"]

    response = deliveries.invoke(deliveries.event(messages))

    assert response == {"batchItemFailures": []}
    assert len(receiver.requests) == 1
    assert (_state(n)["status"], _state(n)["attempts"]) == ("RETRYING", 1)
    [waiting] = deliveries.delayed()  # only the redelivery goes on, waiting for its retry
    assert (waiting.attributes["redelivery"], waiting.attributes["attempts"]) == ("1", "1")


def test_a_redelivery_gets_the_whole_retry_schedule_again(
    api: ApiClient,
    deliveries: Deliveries,
    receiver: CallbackReceiver,
    make_instance: MakeInstance,
    notify: Notify,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver.script("/hook", Reply(503))
    item = make_instance(receiver.url())
    [n] = notify(item, 5)
    _fail_to_dead_letters(deliveries, receiver, monkeypatch, n)
    set_retry_schedule(monkeypatch, 3600)

    api.post(f"/instances/{item['id']}/events/{n.id}/redeliver")
    _, response = deliveries.run()

    assert response == {"batchItemFailures": []}
    assert len(deliveries.delayed()) == 1  # waiting for its retry, not dead-lettered again
    state = _state(n)
    assert (state["status"], state["attempts"], state["retry_base"]) == ("RETRYING", 3, 2)


def test_a_notification_whose_body_was_too_large_to_keep_cannot_be_redelivered(
    api: ApiClient, make_instance: MakeInstance, notify: Notify, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_bodies, "MAX_STORED_BODY_BYTES", 100)
    item = make_instance("http://127.0.0.1:9/hook")
    [n] = notify(item, 5)
    event_log.record_enqueued([n])

    response = api.post(f"/instances/{item['id']}/events/{n.id}/redeliver")

    assert response.status == 409
    assert "body was not kept" in response.body["message"]
    [listed] = api.get(f"/instances/{item['id']}/events").body["notifications"]
    assert listed["redeliverable"] is False
    assert event_bodies.load_body(item["id"], n.id) is None
    bulk = api.post(f"/instances/{item['id']}/events/redeliver", {"status": "NEW"})
    assert (bulk.status, bulk.body["redelivered"], bulk.body["notRedeliverable"]) == (202, 0, [n.id])
    assert "redeliveries" not in _state(n)


@pytest.mark.parametrize(
    ("path", "body"),
    [("/events/{nid}/redeliver", None), ("/events/redeliver", {}), ("/events/dead-letters/redrive", None)],
)
def test_nothing_is_redelivered_while_the_instance_events_are_off(
    api: ApiClient, deliveries: Deliveries, make_instance: MakeInstance, notify: Notify, path: str, body: Any
) -> None:
    item = make_instance("http://127.0.0.1:9/hook")
    [n] = notify(item, 5)
    event_log.record_enqueued([n])
    assert api.delete(f"/instances/{item['id']}/events/enabled").status == 200

    response = api.post(f"/instances/{item['id']}{path.format(nid=n.id)}", body)

    assert response.status == 409
    assert "disabled by the user" in response.body["message"]
    assert deliveries.receive_count() == 0


def test_redelivering_an_unknown_notification_is_404(api: ApiClient, make_instance: MakeInstance) -> None:
    item = make_instance("http://127.0.0.1:9/hook")

    response = api.post(f"/instances/{item['id']}/events/00000000-0000-5000-8000-000000000000/redeliver")

    assert response.status == 404


# --- a range of the log ------------------------------------------------------------------------
def test_recovering_failed_notifications_of_a_range_resends_exactly_those(
    api: ApiClient,
    deliveries: Deliveries,
    receiver: CallbackReceiver,
    make_instance: MakeInstance,
    notify: Notify,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Given yesterday's two failures, an older failure and a delivered notification, when the
    receiver works again and yesterday's FAILED are recovered, then exactly those two are POSTed."""
    receiver.script("/hook", Reply(503))
    item = make_instance(receiver.url())
    yesterday = datetime.now(UTC) - timedelta(days=1)
    old, first, second = (notify(item, order_id)[0] for order_id in (1, 2, 3))
    for n, at in ((old, yesterday - timedelta(days=2)), (first, yesterday), (second, yesterday)):
        event_log.record_enqueued([n], now=at)
    _fail_to_dead_letters(deliveries, receiver, monkeypatch, old, first, second)
    receiver.script("/hook", Reply(200))
    [fine] = notify(item, 4)
    deliveries.enqueue(fine)
    deliveries.run()
    receiver.requests.clear()

    day = yesterday.date().isoformat()
    response = api.post(
        f"/instances/{item['id']}/events/redeliver",
        {"status": "FAILED", "from": f"{day}T00:00:00Z", "to": f"{day}T23:59:59Z"},
    )
    assert response.status == 202, response.body
    assert response.body["redelivered"] == 2
    assert set(response.body["notificationIds"]) == {first.id, second.id}
    assert response.body["nextCursor"] is None
    deliveries.run_until_empty()

    assert sorted(r.body for r in receiver.requests) == sorted([first.body, second.body])
    statuses = [_state(n)["status"] for n in (old, first, second, fine)]
    assert statuses == ["FAILED", "DELIVERED", "DELIVERED", "DELIVERED"]


def test_a_bulk_redelivery_continues_with_its_cursor(
    api: ApiClient, deliveries: Deliveries, make_instance: MakeInstance, notify: Notify
) -> None:
    item = make_instance("http://127.0.0.1:9/hook")
    notifications = [notify(item, order_id)[0] for order_id in range(1, 4)]
    for i, n in enumerate(notifications):
        event_log.record_enqueued([n], now=datetime(2025, 3, 4, 10, i, tzinfo=UTC))

    first = api.post(f"/instances/{item['id']}/events/redeliver", {"status": "NEW", "limit": 2})
    second = api.post(
        f"/instances/{item['id']}/events/redeliver",
        {"status": "NEW", "limit": 2, "cursor": first.body["nextCursor"]},
    )

    assert first.body["notificationIds"] == [notifications[2].id, notifications[1].id]
    assert second.body["notificationIds"] == [notifications[0].id]
    assert second.body["nextCursor"] is None
    assert len(deliveries.receive()) == 3


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"status": "GONE"}, "status"),
        ({"from": "last week"}, "from"),
        ({"from": 0}, "from"),  # #14: a number was read as Unix time (1970)
        ({"to": "1741089600"}, "to"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"cursor": "bm90IGEgY3Vyc29y"}, "cursor"),
        ({"from": "2025-03-05T00:00:00Z", "to": "2025-03-04T00:00:00Z"}, "from"),
        ({"state": "FAILED"}, "state"),
    ],
)
def test_a_bad_bulk_redelivery_is_a_400_naming_the_key(
    api: ApiClient, make_instance: MakeInstance, body: dict[str, Any], key: str
) -> None:
    item = make_instance("http://127.0.0.1:9/hook")

    response = api.post(f"/instances/{item['id']}/events/redeliver", body)

    assert response.status == 400, response.body
    assert [p["key"] for p in response.body["errors"]] == [key]


# --- one instance's dead letters ---------------------------------------------------------------
def test_the_dead_letter_redrive_moves_one_instance_messages_and_leaves_the_others(
    api: ApiClient,
    aws: StackResources,
    deliveries: Deliveries,
    receiver: CallbackReceiver,
    make_instance: MakeInstance,
    notify: Notify,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver.script("/mine", Reply(503))
    receiver.script("/theirs", Reply(503))
    mine = make_instance(receiver.url("/mine"))
    theirs = make_instance(receiver.url("/theirs"))
    [a1, a2] = notify(mine, *range(1, 12))
    [b] = notify(theirs, 50)
    _fail_to_dead_letters(deliveries, receiver, monkeypatch, a1, a2, b)
    deliveries.sqs.send_message(QueueUrl=aws.events_dlq_url, MessageBody="not a notification")
    receiver.script("/mine", Reply(200))
    receiver.requests.clear()

    response = api.post(f"/instances/{mine['id']}/events/dead-letters/redrive")

    assert response.status == 200, response.body
    assert response.body["moved"] == 2
    assert set(response.body["notificationIds"]) == {a1.id, a2.id}
    assert response.body["left"] == 2  # the other instance's and the unreadable message
    assert (response.body["alreadyDelivered"], response.body["complete"]) == (0, True)
    # The others are in the dead-letter queue, visible again at once, unchanged.
    left = deliveries.dead_letters()
    assert sorted(m["Body"] for m in left) == sorted([b.body.decode(), "not a notification"])
    [theirs_left] = [m for m in left if m["Body"] == b.body.decode()]
    assert _attributes(theirs_left)["instance_id"] == theirs["id"]
    moved = deliveries.receive()
    assert {_attributes(m)["redelivery"] for m in moved} == {"1"}
    assert {m["Body"] for m in moved} == {a1.body.decode(), a2.body.decode()}
    for m in moved:
        deliveries.sqs.change_message_visibility(
            QueueUrl=aws.events_queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
        )
    deliveries.run_until_empty()
    assert sorted(r.body for r in receiver.requests_to("/mine")) == sorted([a1.body, a2.body])
    assert receiver.requests_to("/theirs") == []
    assert [(_state(n)["status"], _state(n)["redeliveries"]) for n in (a1, a2)] == [("DELIVERED", 1)] * 2
    assert _state(b)["status"] == "FAILED"


def test_a_dead_letter_the_redrive_cannot_read_is_left_in_place(
    api: ApiClient, aws: StackResources, deliveries: Deliveries, make_instance: MakeInstance, notify: Notify
) -> None:
    """A message claiming the instance whose body is not one of its notifications is not moved."""
    mine = make_instance("http://127.0.0.1:9/hook")
    theirs = make_instance("http://127.0.0.1:9/hook")
    [foreign] = notify(theirs, 1)
    claim = {"instance_id": {"DataType": "String", "StringValue": mine["id"]}}
    for body in ("not a notification", foreign.body.decode()):
        deliveries.sqs.send_message(QueueUrl=aws.events_dlq_url, MessageBody=body, MessageAttributes=claim)

    response = api.post(f"/instances/{mine['id']}/events/dead-letters/redrive")

    assert (response.body["moved"], response.body["left"]) == (0, 2)
    assert len(deliveries.dead_letters()) == 2
    assert deliveries.receive_count() == 0


def test_a_dead_letter_delivered_since_is_dropped_not_sent_twice(
    api: ApiClient,
    deliveries: Deliveries,
    receiver: CallbackReceiver,
    make_instance: MakeInstance,
    notify: Notify,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver.script("/hook", Reply(503))
    item = make_instance(receiver.url())
    [n] = notify(item, 5)
    _fail_to_dead_letters(deliveries, receiver, monkeypatch, n)
    receiver.script("/hook", Reply(200))
    api.post(f"/instances/{item['id']}/events/redeliver", {"status": "FAILED"})
    deliveries.run_until_empty()
    posts = len(receiver.requests)

    response = api.post(f"/instances/{item['id']}/events/dead-letters/redrive")

    assert (response.body["moved"], response.body["alreadyDelivered"]) == (0, 1)
    assert deliveries.dead_letters() == []
    assert deliveries.receive_count() == 0
    assert len(receiver.requests) == posts


def test_the_dead_letter_scan_stops_at_its_budget_and_releases_what_it_saw(
    api: ApiClient,
    aws: StackResources,
    make_instance: MakeInstance,
    notify: Notify,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bcevents.aws import queues

    item = make_instance("http://127.0.0.1:9/hook")
    other = make_instance("http://127.0.0.1:9/hook")
    sqs = boto3.session.Session().client("sqs")
    for order_id in range(1, 16):
        [n] = notify(other, order_id)
        sqs.send_message(
            QueueUrl=aws.events_dlq_url,
            MessageBody=n.body.decode(),
            MessageAttributes={"instance_id": {"DataType": "String", "StringValue": other["id"]}},
        )
    monkeypatch.setattr(queues, "MAX_MESSAGES", 10)

    response = api.post(f"/instances/{item['id']}/events/dead-letters/redrive")

    assert (response.body["moved"], response.body["left"], response.body["complete"]) == (0, 10, False)
    visible = sqs.get_queue_attributes(
        QueueUrl=aws.events_dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert visible["Attributes"]["ApproximateNumberOfMessages"] == "15"


def test_redelivery_entries_carry_the_notification_attributes(
    make_instance: MakeInstance, notify: Notify
) -> None:
    from bcevents.api.redelivery import redelivery_entry

    item = make_instance("http://127.0.0.1:9/hook")
    [n] = notify(item, 1)

    entry = redelivery_entry(n, 3)

    assert json.loads(entry["MessageBody"])["id"] == n.id
    assert {k: v["StringValue"] for k, v in entry["MessageAttributes"].items()} == {
        "instance_id": item["id"],
        "notification_id": n.id,
        "object_type": "orders",
        "redelivery": "3",
    }
