"""Notification bodies in the event log: compressed, in parts when one item cannot hold them.

A body is exactly what is POSTed. It is kept for redelivery, and for a notification that travels
by reference (``compat.queued``) it is the only copy: delivery reads it here. DynamoDB items stop
at 400 KB, so a compressed body is cut into parts of :data:`PART_BYTES`: ``BODY#<id>`` holds the
first part and how many there are, ``BODY#<id>#<nnn>`` the others. Parts are written before the
message is sent and expire with the rest of the notification's log.
"""

from __future__ import annotations

import zlib
from typing import Any

from bcevents.aws.items import Item, instance_key
from bcevents.aws.tables import get_storage
from bcevents.compat.envelope import Notification
from bcevents.errors import ServiceError

#: A part's compressed bytes (DynamoDB items stop at 400 KB, keys and attributes included).
PART_BYTES = 350_000
#: The largest compressed body kept (32 parts, ~11 MB): a larger one is not redeliverable, and
#: cannot travel by reference.
MAX_STORED_BODY_BYTES = 32 * PART_BYTES


class BodyTooLarge(ServiceError):
    """A notification too large for a message is also too large to keep: it cannot be delivered."""


def body_sk(notification_id: str, part: int = 0) -> str:
    """The sort key of a body's part (the first part's is the body's own)."""
    return f"BODY#{notification_id}" if part == 0 else f"BODY#{notification_id}#{part:03d}"


def body_items(n: Notification, expires_at: int) -> list[Item]:
    """The items that keep ``n``'s body, or none when it is larger than the log keeps."""
    compressed = zlib.compress(n.body)
    if len(compressed) > MAX_STORED_BODY_BYTES:
        return []
    chunks = [compressed[i : i + PART_BYTES] for i in range(0, len(compressed), PART_BYTES)] or [b""]
    items: list[Item] = []
    for part, chunk in enumerate(chunks):
        item: Item = {
            "pk": instance_key(n.instance_id),
            "sk": body_sk(n.id, part),
            "body": chunk,
            "encoding": "zlib",
            "expires_at": expires_at,
        }
        if part == 0:
            item["parts"] = len(chunks)
        items.append(item)
    return items


def put(items: list[Item]) -> None:
    """Write body items (a repeat overwrites them with the same bytes)."""
    if items:
        with get_storage().events.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
            for item in items:
                batch.put_item(Item=item)


def load_body(instance_id: str, notification_id: str) -> bytes | None:
    """A notification's exact body as it was enqueued, or None if it was not kept (or expired)."""
    events = get_storage().events
    key = {"pk": instance_key(instance_id), "sk": body_sk(notification_id)}
    first = events.get_item(Key=key, ConsistentRead=True).get("Item")
    if not first:
        return None
    chunks = [_bytes(first["body"])]
    parts: Any = first.get("parts", 1)
    for part in range(1, int(parts)):
        key["sk"] = body_sk(notification_id, part)
        item = events.get_item(Key=key, ConsistentRead=True).get("Item")
        if not item:
            return None  # a part expired or was never written: the body is not whole
        chunks.append(_bytes(item["body"]))
    return zlib.decompress(b"".join(chunks))


def _bytes(stored: Any) -> bytes:
    # boto3 hands binary attributes back as a Binary (its bytes in .value)
    return bytes(getattr(stored, "value", stored))
