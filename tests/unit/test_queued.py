"""Notifications cut by bytes, their SQS form inline or by reference, and batches within SQS's limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bcevents.aws.queues import MAX_BATCH_BYTES, SQS_BATCH, batches, entry_bytes
from bcevents.compat.envelope import (
    MAX_BODY_BYTES,
    MAX_EVENTS,
    ChangeEvent,
    InstanceInfo,
    build_notifications,
)
from bcevents.compat.queued import (
    BY_REFERENCE,
    from_sqs_record,
    to_sqs_entry,
    travels_by_reference,
    with_body,
)
from bcevents.errors import EnqueueFailed

INSTANCE = InstanceInfo(instance_id="123456789012", name="shop", tags=[], org_id="org", user_id="user")
T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


def _changes(*sizes: int) -> list[ChangeEvent]:
    return [
        ChangeEvent("UPDATED", str(i), T0, {"id": i, "description": "x" * size})
        for i, size in enumerate(sizes)
    ]


def _lambda_record(entry: dict) -> dict:
    attributes = {k: {"stringValue": v["StringValue"]} for k, v in entry["MessageAttributes"].items()}
    return {"body": entry["MessageBody"], "messageAttributes": attributes}


def test_small_records_go_ten_to_a_notification() -> None:
    notifications = build_notifications(INSTANCE, "products", _changes(*[100] * 25), T0)

    assert [len(n.object_ids) for n in notifications] == [MAX_EVENTS, MAX_EVENTS, 5]


def test_large_records_are_cut_so_every_body_stays_within_the_limit() -> None:
    notifications = build_notifications(INSTANCE, "products", _changes(*[60_000] * 30), T0)

    assert all(len(n.body) <= MAX_BODY_BYTES for n in notifications)
    assert [oid for n in notifications for oid in n.object_ids] == [str(i) for i in range(30)]
    assert max(len(n.object_ids) for n in notifications) == 4


def test_an_estimate_that_falls_short_is_halved_until_each_fits() -> None:
    # Quotes and backslashes double when the envelope escapes them: the estimate sees them once.
    quoted = [ChangeEvent("UPDATED", str(i), T0, {"id": i, "d": '"' * 40_000}) for i in range(8)]

    notifications = build_notifications(INSTANCE, "products", quoted, T0)

    assert all(len(n.body) <= MAX_BODY_BYTES for n in notifications)
    assert sum(len(n.object_ids) for n in notifications) == 8


def test_a_record_larger_than_a_message_travels_alone_by_reference() -> None:
    small, huge, after = build_notifications(INSTANCE, "products", _changes(10, 2_000_000, 10), T0)

    assert (small.object_ids, huge.object_ids, after.object_ids) == (("0",), ("1",), ("2",))
    assert travels_by_reference(huge)
    assert not travels_by_reference(small)
    entry = to_sqs_entry(huge)
    assert entry_bytes(entry) < 2_000
    reference = json.loads(entry["MessageBody"])
    assert reference[BY_REFERENCE] is True
    assert reference["id"] == huge.id


def test_a_reference_reads_back_as_the_same_notification_and_takes_its_body() -> None:
    [huge] = build_notifications(INSTANCE, "products", _changes(2_000_000), T0)

    queued = from_sqs_record(_lambda_record(to_sqs_entry(huge)))

    assert queued.by_reference
    assert (queued.id, queued.instance_id, queued.object_type) == (
        huge.id,
        huge.instance_id,
        huge.object_type,
    )
    assert (queued.event_types, queued.object_ids) == (huge.event_types, huge.object_ids)
    assert with_body(queued, huge.body) == huge
    assert to_sqs_entry(queued)["MessageBody"] == to_sqs_entry(huge)["MessageBody"]  # dead letters, redrives


def test_batches_hold_at_most_ten_entries_and_one_mebibyte() -> None:
    notifications = build_notifications(INSTANCE, "products", _changes(*[60_000] * 30 + [10] * 25), T0)
    entries = [to_sqs_entry(n) for n in notifications]

    runs = batches(entries)

    assert [e["Id"] for run in runs for e in run] == [e["Id"] for e in entries]
    assert all(len(run) <= SQS_BATCH for run in runs)
    assert all(sum(entry_bytes(e) for e in run) <= MAX_BATCH_BYTES for run in runs)
    assert len(runs[0]) < SQS_BATCH  # cut by bytes, not by count


def test_an_entry_over_the_message_limit_is_refused_before_sending() -> None:
    entry = {"Id": "big", "MessageBody": "x" * (MAX_BATCH_BYTES + 1), "MessageAttributes": {}}

    with pytest.raises(EnqueueFailed, match="over SQS's message limit"):
        batches([entry])
