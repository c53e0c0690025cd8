"""The local stack's state survives a restart of the emulator: saved, then rebuilt exactly."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from bcsandbox import SandboxStore
from devstack import dynamodb_state, state
from devstack.emulator import MotoServer
from devstack.resources import StackResources, create_resources

ACCOUNT, REGION = "123456789012", "us-east-1"


class Emulated:
    """A fresh moto server with the template's resources, and what ``state`` needs to reach them."""

    def __init__(self) -> None:
        self.server = MotoServer("127.0.0.1", 0).start()
        self.session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        self.resources: StackResources = create_resources(self.session, endpoint_url=self.server.url)
        refs = self.resources.refs()
        self.emulator = state.Emulator(
            dynamodb=self.client("dynamodb"),
            scheduler=self.client("scheduler"),
            tables={k: v for k, v in refs.items() if k.endswith("Table")},
            queues={k: v for k, v in refs.items() if k.endswith("Queue")},
            schedule_group=self.resources.schedule_group,
            account_id=ACCOUNT,
            region=REGION,
        )

    def client(self, name: str) -> Any:
        return self.session.client(name, endpoint_url=self.server.url)  # type: ignore[call-overload]


@pytest.fixture
def emulated() -> Iterator[list[Emulated]]:
    """Emulators started by a test (each start resets moto); all stopped at the end."""
    started: list[Emulated] = []
    yield started
    for item in reversed(started):
        item.server.stop()


def _fill(env: Emulated, store: SandboxStore) -> None:
    dynamodb = env.client("dynamodb")
    dynamodb.put_item(
        TableName=env.resources.instances_table,
        Item={
            "pk": {"S": "INSTANCE#1"},
            "sk": {"S": "INSTANCE"},
            "n": {"N": "1.5"},
            "raw": {"B": b"\x00\xff"},
            "nested": {"M": {"list": {"L": [{"BS": [b"a", b"b"]}, {"BOOL": True}, {"NULL": True}]}}},
        },
    )
    env.client("scheduler").create_schedule(
        Name="instance-1",
        GroupName=env.resources.schedule_group,
        ScheduleExpression="rate(15 minutes)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": "arn:aws:lambda:us-east-1:123456789012:function:f",
            "RoleArn": "arn:aws:iam::1:role/r",
            "Input": "{}",
        },
    )
    sqs = env.client("sqs")
    url = env.resources.events_queue_url
    attributes = {
        "instance_id": {"DataType": "String", "StringValue": "1"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x01"},
    }
    sqs.send_message(QueueUrl=url, MessageBody="waiting out a backoff", MessageAttributes=attributes)
    received = sqs.receive_message(QueueUrl=url)["Messages"][0]
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=received["ReceiptHandle"], VisibilityTimeout=600
    )
    sqs.send_message(QueueUrl=url, MessageBody="ready")
    store.seed(orders=2, products=1, customers=1)
    store.update_order(2, status_id=2)


def test_everything_saved_is_back_after_a_restart(emulated: list[Emulated], tmp_path: Path) -> None:
    """Given items (binary ones too), a schedule, a visible and an invisible message and store records,
    when the state is saved, the emulator restarted and the state restored,
    then all of it is back as it was: the invisible message still invisible, with its receive count."""
    before = Emulated()
    emulated.append(before)
    store = SandboxStore()
    _fill(before, store)
    file = state.StateFile(tmp_path)
    file.save(state.capture(before.emulator, {"instance-1": 123.0}, store))
    items_before = before.client("dynamodb").scan(TableName=before.resources.instances_table)["Items"]
    before.server.stop()
    emulated.remove(before)

    after = Emulated()
    emulated.append(after)
    restored_store = SandboxStore()
    saved = file.load()
    assert saved is not None
    counts = state.restore(after.emulator, saved, restored_store)

    assert counts == {"items": 1, "schedules": 1, "messages": 2}
    assert after.client("dynamodb").scan(TableName=after.resources.instances_table)["Items"] == items_before
    schedule = after.client("scheduler").get_schedule(
        Name="instance-1", GroupName=after.resources.schedule_group
    )
    assert schedule["ScheduleExpression"] == "rate(15 minutes)"
    assert saved["scheduler_anchors"] == {"instance-1": 123.0}
    visible = after.client("sqs").receive_message(
        QueueUrl=after.resources.events_queue_url, MaxNumberOfMessages=10
    )
    assert [m["Body"] for m in visible["Messages"]] == ["ready"]
    waiting = state.sqs_state.export_queue(ACCOUNT, REGION, "bcevents-EventsQueue")
    backoff = next(m for m in waiting if m["body"] == "waiting out a backoff")
    assert backoff["receive_count"] == 1
    assert backoff["visible_at"] > (time.time() + 500) * 1000
    assert backoff["message_attributes"]["blob"]["_binary"] is True
    assert restored_store.ids("orders") == [1, 2]
    assert restored_store.get("orders", 2) == store.get("orders", 2)
    assert restored_store.get("customers", 1) == store.get("customers", 1)


def test_a_state_file_of_another_format_is_refused(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text(json.dumps({"format": 0}))

    with pytest.raises(ValueError, match="start afresh"):
        state.StateFile(tmp_path).load()


def test_no_state_file_means_a_first_start(tmp_path: Path) -> None:
    assert state.StateFile(tmp_path / "nothing-yet").load() is None


def test_tables_are_read_from_the_emulator_exactly_as_a_scan_returns_them(emulated: list[Emulated]) -> None:
    """Given an item of every attribute type (binary, nested, sets), then the in-process read that
    snapshots use equals a Scan through the API, binary values as base64 text in both."""
    env = Emulated()
    emulated.append(env)
    dynamodb, table = env.client("dynamodb"), env.resources.events_table
    every_type = {
        "pk": {"S": "INSTANCE#1"},
        "sk": {"S": "EVENT#1"},
        "n": {"N": "1.5"},
        "body": {"B": b"\x00\xffzlib"},
        "attempts": {"M": {"list": {"L": [{"S": "x"}, {"N": "2"}, {"B": b"\x01"}]}, "ok": {"BOOL": True}}},
        "none": {"NULL": True},
        "ss": {"SS": ["p", "q"]},
        "ns": {"NS": ["1", "2"]},
        "bs": {"BS": [b"\x02", b"\x03"]},
    }
    dynamodb.put_item(TableName=table, Item=every_type)
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "INSTANCE#2"}, "sk": {"S": "EVENT#0"}})

    scanned = dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
    read = dynamodb_state.export_table(ACCOUNT, REGION, table)

    assert _sets_sorted(read) == _sets_sorted([_base64(item) for item in scanned])
    assert read[0]["body"] == {"B": base64.b64encode(b"\x00\xffzlib").decode()}


def _base64(value: Any) -> Any:
    """What the low-level client returns, with bytes as base64 text (as state.json keeps them)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {key: _base64(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_base64(inner) for inner in value]
    return value


def _sets_sorted(items: list[dict[str, Any]]) -> str:
    """Items as comparable text (set members come back in any order)."""

    def typed(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: sorted(v) if k in ("SS", "NS", "BS") else typed(v) for k, v in value.items()}
        if isinstance(value, list):
            return [typed(v) for v in value]
        return value

    return json.dumps([typed(item) for item in items], sort_keys=True)
