"""Cloud Elements notifications: the envelope, its chunks, its stable id and its SQS form."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from bcevents.compat.envelope import (
    MAX_EVENTS,
    ChangeEvent,
    InstanceInfo,
    MalformedNotification,
    build_notifications,
    java_date,
)
from bcevents.compat.queued import from_sqs_record, to_sqs_entry

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = Draft202012Validator(json.loads((ROOT / "schemas" / "notification.schema.json").read_text()))
INSTANCE = InstanceInfo(
    instance_id="123456789012", name="Main store", tags=["prod", "eu"], org_id="org-1", user_id="user-1"
)
POLL = datetime(2018, 8, 20, 15, 29, 34, 827000, tzinfo=UTC)
NOW = datetime(2018, 8, 20, 15, 30, 7, tzinfo=UTC)

#: The Cloud Elements capture (research, Part 1a), less its vendor record.
CAPTURED = {
    "severity": "medium",
    "createdDate": "Mon Aug 20 15:30:07 UTC 2018",
    "topic": "instance-7950647-netsuiteerpv2-events",
    "action": "create",
    "id": "1496771",
    "message": {
        "elementKey": "netsuiteerpv2",
        "accountId": 874,
        "eventId": "AWVX9OTIhdQRdI1F7Q7v",
        "companyId": 291,
        "instanceId": 7950647,
        "instance_id": 7950647,
        "instanceName": "Local netsuite",
        "instanceTags": ["Local netsuite"],
        "raw": {"invoices": [{}], "pollDate": 1534778974827, "objectType": "invoices"},
        "userId": 2749,
        "events": [
            {
                "date": "2018-08-20T15:29:06Z",
                "elementKey": "netsuiteerpv2",
                "pollDate": "2018-08-20T15:29:34Z",
                "eventType": "CREATED",
                "hubKey": "erp",
                "objectId": "14682",
                "objectType": "invoices",
            }
        ],
    },
    "user": "notifications@cloud-elements.com",
}


def _change(order_id: int, *, seconds: int = 6, event_type: str = "CREATED", **record: Any) -> ChangeEvent:
    date = datetime(2018, 8, 20, 15, 29, seconds, tzinfo=UTC)
    return ChangeEvent(event_type, str(order_id), date, {"id": order_id, "status": "Pending", **record})


def _body(n: Any) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(n.body)
    return parsed


def _keys(value: Any) -> Any:
    """The shape of a JSON value: its keys, recursively (records and their contents aside)."""
    if isinstance(value, dict):
        return {k: _keys(v) for k, v in value.items() if k not in ("invoices", "orders")}
    if isinstance(value, list):
        return [_keys(v) for v in value[:1]]
    return type(value).__name__


def test_the_envelope_has_the_captured_cloud_elements_shape() -> None:
    [n] = build_notifications(INSTANCE, "orders", [_change(14682)], POLL, now=NOW)

    body = _body(n)

    assert set(body) == set(CAPTURED)
    assert set(body["message"]) == set(CAPTURED["message"])  # type: ignore[arg-type]
    assert set(body["message"]["raw"]) == {"orders", "pollDate", "objectType"}
    assert set(body["message"]["events"][0]) == set(CAPTURED["message"]["events"][0])  # type: ignore[index]
    SCHEMA.validate(body)


def test_the_envelope_values_follow_the_capture() -> None:
    [n] = build_notifications(INSTANCE, "orders", [_change(14682)], POLL, now=NOW)

    body = _body(n)

    assert body["severity"] == "medium"
    assert body["action"] == "create"
    assert body["createdDate"] == "Mon Aug 20 15:30:07 UTC 2018"
    assert body["topic"] == "instance-123456789012-bigcommerce-events"
    assert body["user"]
    assert "cloud-elements" not in body["user"]
    message = body["message"]
    assert message["instanceId"] == message["instance_id"] == 123456789012
    assert (message["instanceName"], message["instanceTags"]) == ("Main store", ["prod", "eu"])
    assert (message["accountId"], message["companyId"], message["userId"]) == ("org-1", "org-1", "user-1")
    assert message["raw"] == {
        "orders": [{"id": 14682, "status": "Pending"}],
        "pollDate": 1534778974827,
        "objectType": "orders",
    }
    assert message["events"] == [
        {
            "date": "2018-08-20T15:29:06Z",
            "elementKey": "bigcommerce",
            "pollDate": "2018-08-20T15:29:34Z",
            "eventType": "CREATED",
            "hubKey": "ecommerce",
            "objectId": "14682",
            "objectType": "orders",
        }
    ]


def test_one_id_names_the_notification_everywhere() -> None:
    [n] = build_notifications(INSTANCE, "orders", [_change(1)], POLL)

    body = _body(n)

    assert body["id"] == body["message"]["eventId"] == n.id


def test_changes_are_cut_into_notifications_of_at_most_ten_events_each_with_its_own_records() -> None:
    changes = [_change(i) for i in range(1, 24)]

    notifications = build_notifications(INSTANCE, "orders", changes, POLL)

    assert [len(n.object_ids) for n in notifications] == [10, 10, 3]
    assert MAX_EVENTS == 10
    for number, n in enumerate(notifications):
        expected = [str(i) for i in range(1 + 10 * number, min(24, 11 + 10 * number))]
        message = _body(n)["message"]
        assert [e["objectId"] for e in message["events"]] == expected == list(n.object_ids)
        assert [str(r["id"]) for r in message["raw"]["orders"]] == expected
        SCHEMA.validate(_body(n))
    assert len({n.id for n in notifications}) == 3


def test_no_changes_make_no_notification() -> None:
    assert build_notifications(INSTANCE, "orders", [], POLL) == []


def test_the_metadata_lists_event_types_and_object_ids() -> None:
    changes = [
        _change(1, event_type="CREATED"),
        _change(2, event_type="UPDATED"),
        _change(3, event_type="DELETED"),
    ]

    [n] = build_notifications(INSTANCE, "products", changes, POLL)

    assert (n.instance_id, n.object_type) == ("123456789012", "products")
    assert n.event_types == ("CREATED", "UPDATED", "DELETED")
    assert n.object_ids == ("1", "2", "3")


# --- the id is stable ---------------------------------------------------------------------------
def test_the_same_page_polled_again_gets_the_same_id() -> None:
    """A poll repeated after a crash has another poll date and creation time, same changes."""
    changes = [_change(1), _change(2)]

    [first] = build_notifications(INSTANCE, "orders", changes, POLL, now=NOW)
    [again] = build_notifications(
        INSTANCE, "orders", changes, POLL + timedelta(minutes=15), now=NOW + timedelta(hours=1)
    )

    assert first.id == again.id
    assert first.body != again.body


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(
            lambda: build_notifications(INSTANCE, "orders", [_change(1, seconds=7)], POLL), id="later-update"
        ),
        pytest.param(
            lambda: build_notifications(INSTANCE, "products", [_change(1)], POLL), id="other-resource"
        ),
        pytest.param(
            lambda: build_notifications(
                InstanceInfo("999999999999", "x", [], "o", "u"), "orders", [_change(1)], POLL
            ),
            id="other-instance",
        ),
        pytest.param(lambda: build_notifications(INSTANCE, "orders", [_change(2)], POLL), id="other-object"),
    ],
)
def test_a_different_change_gets_a_different_id(other: Any) -> None:
    [n] = build_notifications(INSTANCE, "orders", [_change(1)], POLL)

    assert other()[0].id != n.id


def test_a_record_without_a_readable_date_is_identified_by_its_content() -> None:
    def undated(status: str) -> ChangeEvent:
        return ChangeEvent("UNKNOWN", "5", None, {"id": 5, "status": status})

    [first] = build_notifications(INSTANCE, "orders", [undated("Pending")], POLL)
    [same] = build_notifications(INSTANCE, "orders", [undated("Pending")], POLL)
    [changed] = build_notifications(INSTANCE, "orders", [undated("Shipped")], POLL)

    assert first.id == same.id != changed.id
    assert _body(first)["message"]["events"][0]["date"] == "2018-08-20T15:29:34Z"  # the poll date
    SCHEMA.validate(_body(first))


def test_dates_in_other_zones_are_written_in_utc() -> None:
    paris = timezone(timedelta(hours=2))
    change = ChangeEvent("UPDATED", "1", datetime(2018, 8, 20, 17, 29, 6, tzinfo=paris), {"id": 1})

    [n] = build_notifications(INSTANCE, "orders", [change], POLL.astimezone(paris), now=NOW.astimezone(paris))

    body = _body(n)
    assert body["createdDate"] == "Mon Aug 20 15:30:07 UTC 2018"
    assert body["message"]["events"][0]["date"] == "2018-08-20T15:29:06Z"
    assert body["message"]["events"][0]["pollDate"] == "2018-08-20T15:29:34Z"
    assert body["message"]["raw"]["pollDate"] == 1534778974827
    [utc] = build_notifications(INSTANCE, "orders", [_change(1)], POLL)
    assert n.id == utc.id


def test_java_dates_pad_the_day_and_do_not_depend_on_the_locale() -> None:
    assert java_date(datetime(2025, 3, 4, 9, 5, 1, tzinfo=UTC)) == "Tue Mar 04 09:05:01 UTC 2025"


def test_the_body_is_compact_ascii_json_serialized_once() -> None:
    [n] = build_notifications(INSTANCE, "orders", [_change(1, name="Café ☕")], POLL)

    assert n.body.isascii()
    assert n.body == json.dumps(_body(n), separators=(",", ":")).encode()
    assert _body(n)["message"]["raw"]["orders"][0]["name"] == "Café ☕"


# --- the SQS form -------------------------------------------------------------------------------
def _lambda_record(entry: Any) -> dict[str, Any]:
    return {
        "messageId": "m-1",
        "receiptHandle": "rh-1",
        "body": entry["MessageBody"],
        "messageAttributes": {
            k: {"stringValue": v["StringValue"], "dataType": v["DataType"]}
            for k, v in entry["MessageAttributes"].items()
        },
    }


def test_the_sqs_message_is_the_body_with_three_string_attributes() -> None:
    [n] = build_notifications(INSTANCE, "orders", [_change(1), _change(2)], POLL)

    entry = to_sqs_entry(n)

    assert entry["Id"] == n.id
    assert entry["MessageBody"].encode() == n.body
    assert entry["MessageAttributes"] == {
        "instance_id": {"DataType": "String", "StringValue": "123456789012"},
        "notification_id": {"DataType": "String", "StringValue": n.id},
        "object_type": {"DataType": "String", "StringValue": "orders"},
    }


def test_a_received_record_gives_back_the_same_notification() -> None:
    [n] = build_notifications(INSTANCE, "orders", [_change(1, event_type="UPDATED"), _change(2)], POLL)

    assert from_sqs_record(_lambda_record(to_sqs_entry(n))) == n


def test_a_record_without_attributes_is_read_from_its_body() -> None:
    [n] = build_notifications(INSTANCE, "orders", [_change(1)], POLL)
    record = _lambda_record(to_sqs_entry(n))
    record["messageAttributes"] = {}

    assert from_sqs_record(record) == n


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda r: r.update(body="not json"), id="not-json"),
        pytest.param(lambda r: r.update(body='{"id": "x"}'), id="not-an-envelope"),
        pytest.param(lambda r: r.pop("body"), id="no-body"),
        pytest.param(
            lambda r: r["messageAttributes"]["instance_id"].update(stringValue="111111111111"),
            id="other-instance",
        ),
    ],
)
def test_a_record_that_is_not_one_of_our_notifications_is_refused(spoil: Any) -> None:
    [n] = build_notifications(INSTANCE, "orders", [_change(1)], POLL)
    record = _lambda_record(to_sqs_entry(n))
    spoil(record)

    with pytest.raises(MalformedNotification):
        from_sqs_record(record)


def test_the_sample_deliver_event_holds_a_valid_notification() -> None:
    event = json.loads((ROOT / "events" / "deliver.json").read_text())

    [record] = event["Records"]
    n = from_sqs_record(record)

    SCHEMA.validate(json.loads(n.body))
    assert record["messageAttributes"]["notification_id"]["stringValue"] == n.id
