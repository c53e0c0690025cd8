"""AWS misbehaving under the poll function: SQS, DynamoDB and the Lambda runtime.

Errors are injected at the botocore edge (the service answers an error instead of moto), never
inside our code. The process dying between enqueueing a page and checkpointing it is
tests/integration/test_poller.py::test_a_crash_after_a_page_repeats_at_most_one_page.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.reliability.conftest import (
    WRITES,
    AwsEdge,
    Deadline,
    Harness,
    dynamodb_client,
    events_queue_client,
    hub_resource,
    writes_lease,
    writes_watermark,
)

PAGE = 50
#: Distinct records in the first two pages of a backlog one second apart: the second page starts
#: a second before the first one's last (the bound is sent wide until it proves inclusive), so it
#: repeats two records, which `seen` skips.
TWO_PAGES = 2 * PAGE - 2
BACKLOG = 200


def _backlog(harness: Harness, count: int = BACKLOG) -> tuple[str, list[int]]:
    instance = harness.legacy({"orders": hub_resource("orders", PAGE)})
    start = harness.start_clock()
    ids = harness.store.create_orders(count, start=start, step_seconds=1)
    harness.store.set_clock(start + timedelta(seconds=count + 60))
    return instance, ids


def _ints(ids: list[str]) -> list[int]:
    return [int(i) for i in ids]


# --- SQS -----------------------------------------------------------------------------------------
def test_entries_sqs_refuses_once_are_sent_again_and_the_run_completes(
    harness: Harness, aws_edge: AwsEdge
) -> None:
    """Invariant: SendMessageBatch partial failures are retried entry by entry; nothing is lost
    and nothing is sent twice."""
    instance, ids = _backlog(harness)
    refused: list[str] = []

    def half_of_the_first_try(call: int, entries: list[dict[str, Any]]) -> set[str]:
        """Every page's batch loses every other entry on its first try (its retry goes through)."""
        if call % 2 == 1:
            refused.extend(e["Id"] for e in entries[::2])
            return {e["Id"] for e in entries[::2]}
        return set()

    aws_edge.partial_batch(events_queue_client(), failing=half_of_the_first_try)

    result = harness.poll(instance)

    assert result["outcome"] == "polled"
    assert refused  # the edge did refuse entries
    assert sorted(_ints(harness.received.ids())) == ids  # retried entries arrive after the others
    assert harness.received.duplicates() == 0


def test_a_batch_sqs_keeps_refusing_fails_the_resource_before_its_checkpoint(
    harness: Harness, aws_edge: AwsEdge
) -> None:
    """Invariant: when entries still fail after the retries, the page is not checkpointed and the
    resource reports why (the run goes on with the other resources); the next run sends it again,
    so nothing is lost and at most a page repeats."""
    instance, ids = _backlog(harness)
    aws_edge.partial_batch(
        events_queue_client(),
        # page 2's batch (the enqueuer batches ten notifications of ten events): its last two
        # entries are refused on the first try and both retries
        failing=lambda call, entries: {e["Id"] for e in entries[-2:]} if 2 <= call <= 4 else set(),
    )

    result = harness.poll(instance)
    (orders,) = [r for r in result["resources"] if r["resource"] == "orders"]
    assert "could not be enqueued" in orders["error"]
    assert not orders["complete"]
    first = _ints(harness.received.ids())
    assert first == ids[: len(first)]  # page 1, and page 2 but for its two refused notifications
    assert PAGE <= len(first) < TWO_PAGES
    assert harness.lease(instance) is None
    assert len(harness.watermarks(instance)["orders"]["seen"]) == 1  # checkpointed after page 1 only

    aws_edge.close()
    harness.poll(instance)

    assert sorted(set(_ints(harness.received.ids()))) == ids
    assert harness.received.duplicates() <= PAGE


# --- DynamoDB ------------------------------------------------------------------------------------
def test_a_throttled_checkpoint_fails_the_run_and_the_next_run_repeats_at_most_that_page(
    harness: Harness, aws_edge: AwsEdge
) -> None:
    """Invariant: ProvisionedThroughputExceededException on a checkpoint (after botocore's own
    retries) fails the invocation loudly, the lease is released, and the next run delivers the
    rest, repeating at most the page whose checkpoint failed."""
    instance, ids = _backlog(harness)
    aws_edge.fail(
        dynamodb_client(),
        WRITES,
        "ProvisionedThroughputExceededException",
        on=lambda n: n == 2,
        where=writes_watermark,
    )

    with pytest.raises(ClientError, match="ProvisionedThroughputExceededException"):
        harness.poll(instance)
    assert harness.lease(instance) is None
    assert _ints(harness.received.ids()) == ids[:TWO_PAGES]

    harness.poll(instance)

    assert sorted(set(_ints(harness.received.ids()))) == ids
    assert harness.received.duplicates() <= PAGE


def test_a_throttled_lease_write_polls_nothing(harness: Harness, aws_edge: AwsEdge) -> None:
    """Invariant: no lease, no poll: a throttled lease write fails the invocation before any
    store request, and the next run starts from scratch."""
    instance, ids = _backlog(harness, count=10)
    aws_edge.fail(dynamodb_client(), WRITES, "ThrottlingException", on=lambda n: n == 1, where=writes_lease)
    harness.store.clear_requests()

    with pytest.raises(ClientError, match="ThrottlingException"):
        harness.poll(instance)
    assert harness.store.requests == []

    harness.poll(instance)
    assert _ints(harness.received.ids()) == ids


def test_a_lease_taken_over_mid_run_refuses_the_stale_checkpoint(harness: Harness) -> None:
    """Invariant: once another invocation has taken the lease over and checkpointed, the stale
    run's next checkpoint fails its conditional check (it never moves the watermark again) and
    the stale run stops; the next run delivers the rest."""
    from bcevents.errors import LeaseHeld

    instance, ids = _backlog(harness)
    requests: list[str] = []

    def take_over(record: Any) -> None:
        if record.path == "/api/v2/orders":
            requests.append(record.query)
            if len(requests) == 2:
                harness.take_over(instance)

    harness.store.on_request(take_over)

    with pytest.raises(LeaseHeld):
        harness.poll(instance)

    assert len(requests) == 2  # stopped at the first refused checkpoint
    assert harness.lease(instance)["owner"] == "the-run-that-took-over"  # type: ignore[index]
    assert len(harness.watermarks(instance)["orders"]["seen"]) == 1  # page 1's checkpoint only
    harness.store.log.clear_hooks()
    harness.expire_lease(instance)
    harness.poll(instance)
    assert sorted(set(_ints(harness.received.ids()))) == ids
    assert harness.received.duplicates() <= PAGE


# --- the Lambda runtime ----------------------------------------------------------------------------
def test_a_run_about_to_time_out_stops_after_its_last_checkpoint_and_the_next_resumes(
    harness: Harness,
) -> None:
    """Invariant: as the invocation's remaining time runs low the run stops before its next page
    (never mid-page), having checkpointed what it enqueued: the next run resumes with no gap and
    no repeat."""
    instance, ids = _backlog(harness)

    first = harness.poll(instance, Deadline(harness.sandbox, pages=2))

    assert first["outcome"] == "stopped early: OutOfTime"
    assert harness.lease(instance) is None
    delivered = _ints(harness.received.ids())
    assert delivered == ids[:TWO_PAGES]

    second = harness.poll(instance, Deadline(harness.sandbox, pages=1))
    assert second["outcome"] == "stopped early: OutOfTime"
    harness.poll(instance)

    assert _ints(harness.received.ids()) == ids
    assert harness.received.duplicates() == 0


# --- redelivery: the queue refusing the new message -----------------------------------------------
def test_a_redelivery_the_queue_refuses_leaves_the_queued_retry_to_deliver_it(
    api: Any,
    deliveries: Any,
    receiver: Any,
    make_instance: Any,
    notify: Any,
    aws_edge: AwsEdge,
    monkeypatch: Any,
) -> None:
    """#14: redelivery reopened the notification before sending; when the send failed, the retry
    already queued was dropped as superseded and nothing was left to deliver it."""
    from bcevents.aws.event_log import get_notification
    from callbacks import Reply

    item, n = _refused_by_its_callback(receiver, make_instance, notify, deliveries, monkeypatch)
    deliveries.run()  # 503: RETRYING, its message back in the queue for the next attempt (due at once)
    _queue_refuses(aws_edge)

    response = api.post(f"/instances/{item['id']}/events/{n.id}/redeliver")

    assert response.status == 503, response.body
    assert (get_notification(item["id"], n.id) or {}).get("redeliveries", 0) == 0
    aws_edge.close()
    receiver.script("/hook", Reply(200))
    deliveries.run_until_empty()
    assert (get_notification(item["id"], n.id) or {})["status"] == "DELIVERED"
    assert receiver.requests[-1].body == n.body


def test_a_bulk_redelivery_the_queue_refuses_changes_nothing_in_the_log(
    api: Any,
    deliveries: Any,
    receiver: Any,
    make_instance: Any,
    notify: Any,
    aws_edge: AwsEdge,
    monkeypatch: Any,
) -> None:
    """The index's projection lacks retry_base: a refused bulk redelivery used to undo from it and
    cut the notification's remaining retries. Now the message goes first and nothing is touched."""
    from bcevents.aws.event_log import get_notification

    item, n = _refused_by_its_callback(receiver, make_instance, notify, deliveries, monkeypatch)
    deliveries.run_until_empty()  # FAILED after its attempts, in the dead-letter queue
    before = get_notification(item["id"], n.id)
    _queue_refuses(aws_edge)

    response = api.post(f"/instances/{item['id']}/events/redeliver", {"status": "FAILED"})

    assert response.status == 503, response.body
    assert get_notification(item["id"], n.id) == before


def _refused_by_its_callback(
    receiver: Any, make_instance: Any, notify: Any, deliveries: Any, monkeypatch: Any
) -> tuple[Any, Any]:
    """A notification enqueued for a callback that answers 503, with two immediate retries."""
    from callbacks import Reply
    from tests.integration.conftest import set_retry_schedule

    set_retry_schedule(monkeypatch, 0, 0)
    receiver.script("/hook", Reply(503))
    item = make_instance(receiver.url())
    [n] = notify(item, 1)
    deliveries.enqueue(n)
    return item, n


def _queue_refuses(aws_edge: AwsEdge) -> None:
    """The events queue refuses every batch from now on."""
    aws_edge.fail(events_queue_client(), ("SendMessageBatch",), "ServiceUnavailable", on=lambda call: True)


# --- delivery: the queue refusing a retry's next message --------------------------------------------
def test_a_retry_the_queue_refuses_to_send_on_stays_in_its_message_and_is_not_logged(
    deliveries: Any, receiver: Any, make_instance: Any, notify: Any, aws_edge: AwsEdge, monkeypatch: Any
) -> None:
    """A failed attempt's next message is sent before the attempt is logged. When SQS refuses it,
    the message received is reported failed (it comes back) and the log does not count the attempt,
    so the copy is not mistaken for a stale one: it POSTs again, and the notification is delivered."""
    from bcevents.aws.event_log import get_notification
    from callbacks import Reply

    item, n = _refused_by_its_callback(receiver, make_instance, notify, deliveries, monkeypatch)
    aws_edge.fail(events_queue_client(), ("SendMessage",), "ServiceUnavailable", on=lambda call: call == 1)
    event, response = deliveries.run()
    assert len(response["batchItemFailures"]) == 1
    assert (get_notification(item["id"], n.id) or {})["attempts"] == 0
    deliveries.sqs.change_message_visibility(  # its visibility timeout, over
        QueueUrl=deliveries.aws.events_queue_url,
        ReceiptHandle=event["Records"][0]["receiptHandle"],
        VisibilityTimeout=0,
    )
    receiver.script("/hook", Reply(200))

    deliveries.run_until_empty()

    assert (get_notification(item["id"], n.id) or {})["status"] == "DELIVERED"
    assert len(receiver.requests) == 2
    assert deliveries.counts() == {"visible": 0, "in_flight": 0, "delayed": 0}


def test_a_redelivery_that_reaches_delivery_before_the_log_catches_the_log_up(
    deliveries: Any, receiver: Any, make_instance: Any, notify: Any
) -> None:
    """The message is sent before the log is reopened: delivery reopens it itself, and POSTs."""
    from bcevents.api.redelivery import redelivery_entry
    from bcevents.aws.event_log import get_notification

    item = make_instance(receiver.url())
    [n] = notify(item, 1)
    deliveries.enqueue(n)
    deliveries.run()  # DELIVERED
    deliveries.sqs.send_message_batch(
        QueueUrl=deliveries.aws.events_queue_url, Entries=[redelivery_entry(n, 1)]
    )

    deliveries.run()

    state = get_notification(item["id"], n.id) or {}
    assert (state["status"], state["redeliveries"]) == ("DELIVERED", 1)
    assert [r.body for r in receiver.requests] == [n.body, n.body]
