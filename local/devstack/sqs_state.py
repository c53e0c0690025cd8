"""Every message of an emulated SQS queue, saved and put back exactly, invisible ones included.

SQS has no API that lists delayed or in-flight messages: a notification waiting for its next
delivery attempt (a message sent with ``DelaySeconds``) is invisible to ReceiveMessage. So this reads moto's in-process queue model, the one place the
local stack relies on moto's internals (the local stack runs moto in its own process for this).
Restored messages keep their id, receive count and the wall-clock time they become visible, so
a delay in progress resumes where it was and a redrive count keeps counting.
"""

from __future__ import annotations

import base64
from typing import Any

from moto.sqs.models import Message, sqs_backends


def _queue(account_id: str, region: str, name: str) -> Any:
    return sqs_backends[account_id][region].get_queue(name)


def _encode_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    encoded: dict[str, Any] = {}
    for name, original in attributes.items():
        value = dict(original)
        if isinstance(value.get("BinaryValue"), bytes):
            value["BinaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
            value["_binary"] = True
        encoded[name] = value
    return encoded


def _decode_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    decoded: dict[str, Any] = {}
    for name, original in attributes.items():
        value = dict(original)
        if value.pop("_binary", False):
            value["BinaryValue"] = base64.b64decode(value["BinaryValue"])
        decoded[name] = value
    return decoded


def export_queue(account_id: str, region: str, name: str) -> list[dict[str, Any]]:
    """Every message of a queue with what it takes to put it back as it was."""
    queue = _queue(account_id, region, name)
    return [
        {
            "id": message.id,
            "body": message.body,
            "message_attributes": _encode_attributes(message.message_attributes),
            "system_attributes": message.system_attributes,
            "sent_timestamp": message.sent_timestamp,
            "receive_count": message.approximate_receive_count,
            "first_receive_timestamp": message.approximate_first_receive_timestamp,
            "visible_at": message.visible_at,
            "delayed_until": message.delayed_until,
        }
        for message in list(queue._messages)
    ]


def import_queue(account_id: str, region: str, name: str, messages: list[dict[str, Any]]) -> int:
    """Put saved messages back into a (fresh) queue; returns how many."""
    queue = _queue(account_id, region, name)
    for saved in messages:
        message = Message(saved["id"], saved["body"], saved.get("system_attributes") or {})
        message.message_attributes = _decode_attributes(saved.get("message_attributes") or {})
        message.sent_timestamp = saved.get("sent_timestamp")
        message.approximate_receive_count = int(saved.get("receive_count") or 0)
        message.approximate_first_receive_timestamp = saved.get("first_receive_timestamp")
        message.visible_at = float(saved.get("visible_at") or 0)
        message.delayed_until = float(saved.get("delayed_until") or 0)
        queue.add_message(message)
    return len(messages)
