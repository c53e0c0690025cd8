"""``Idempotency-Key`` of ``POST /instances``: one instance per key and organization, for a day.

A client that retries a creation (API Gateway answers 504 after 29 s while the function goes on)
sends the same key; the first request claims it with a conditional write in InstancesTable
(``CREATION#<org id>#<sha256 of the key>``), records the instance it created, and a retry finds
that instance instead of creating a second one polling the same store. The item holds no secret:
the key is hashed, and the request body only as a hash (a reused key with another body is refused).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from bcevents.aws.items import conditional_failed
from bcevents.aws.tables import get_storage

#: How long a key holds once its instance exists (DynamoDB's TTL removes the claim afterwards).
KEY_SECONDS = 86_400
#: How long a claim holds while its request runs: longer than the api function's timeout, so a
#: request killed mid-creation frees its key for a retry soon.
IN_PROGRESS_SECONDS = 60


@dataclass(frozen=True)
class Claim:
    """What a key says: ``claimed`` by this request, or the earlier request's body and instance."""

    claimed: bool
    same_body: bool = True
    instance_id: str | None = None  # None while the earlier request is still creating it


def claim(org_id: str, key: str, body_hash: str) -> Claim:
    """Claim ``key`` for this request, or read what the request that claimed it did."""
    table = get_storage().instances
    item_key = _key(org_id, key)
    now = int(time.time())
    try:
        table.put_item(
            Item={**item_key, "body_hash": body_hash, "expires_at": now + IN_PROGRESS_SECONDS},
            ConditionExpression=Attr("pk").not_exists() | Attr("expires_at").lt(now),
        )
    except ClientError as exc:
        if not conditional_failed(exc):
            raise
    else:
        return Claim(claimed=True)
    found = table.get_item(Key=item_key, ConsistentRead=True).get("Item") or {}
    instance_id = found.get("instance_id")
    return Claim(
        claimed=False,
        same_body=found.get("body_hash") == body_hash,
        instance_id=str(instance_id) if instance_id is not None else None,
    )


def complete(org_id: str, key: str, instance_id: str) -> None:
    """Record the instance the claiming request created."""
    get_storage().instances.update_item(
        Key=_key(org_id, key),
        UpdateExpression="SET instance_id = :id, expires_at = :until",
        ExpressionAttributeValues={":id": instance_id, ":until": int(time.time()) + KEY_SECONDS},
    )


def release(org_id: str, key: str) -> None:
    """Forget a claim whose request created nothing (it failed): a retry may try again."""
    get_storage().instances.delete_item(Key=_key(org_id, key))


def _key(org_id: str, key: str) -> dict[str, str]:
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return {"pk": f"CREATION#{org_id}#{digest}", "sk": "CREATION"}
