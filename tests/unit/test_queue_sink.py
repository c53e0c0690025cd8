"""The production sink (moto, in-process): a page's events logged then enqueued, watermarks fenced."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bcevents.aws import clients, event_log
from bcevents.aws.tables import get_storage
from bcevents.compat.envelope import ChangeEvent, InstanceInfo
from bcevents.errors import LeaseHeld
from bcevents.polling.queue_sink import QueueSink
from bcevents.polling.watermark import Watermark
from devstack.resources import StackResources

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
INSTANCE = InstanceInfo(instance_id="100000000001", name="shop", tags=[], org_id="org", user_id="user")


def _changes(count: int) -> list[ChangeEvent]:
    return [
        ChangeEvent("UPDATED", str(i), T0, {"id": i, "date_modified": T0.isoformat()}) for i in range(count)
    ]


def _queued(aws: StackResources) -> list[dict]:
    messages = clients.sqs().receive_message(QueueUrl=aws.events_queue_url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def test_a_page_becomes_notifications_of_at_most_ten_events_logged_and_queued(aws: StackResources) -> None:
    sink = QueueSink(get_storage(), INSTANCE, lease_token=1)

    sink.publish("orders", _changes(12))

    bodies = _queued(aws)
    assert sorted(len(b["message"]["events"]) for b in bodies) == [2, 10]
    for body in bodies:
        logged = event_log.get_notification(INSTANCE.instance_id, body["id"])
        assert logged is not None
        assert logged["status"] == "NEW"


def test_a_checkpoint_is_refused_once_a_later_lease_wrote(aws: StackResources) -> None:
    token = get_storage().acquire_lease(INSTANCE.instance_id, "the-later-run", 60)
    later = QueueSink(get_storage(), INSTANCE, lease_token=token)
    stale = QueueSink(get_storage(), INSTANCE, lease_token=token - 10)
    later.checkpoint("orders", Watermark(T0))

    with pytest.raises(LeaseHeld):
        stale.checkpoint("orders", Watermark(datetime(2020, 1, 1, tzinfo=UTC)))

    stored = get_storage().get_watermarks(INSTANCE.instance_id)["orders"]
    assert Watermark.from_item(stored).updated_at == T0
