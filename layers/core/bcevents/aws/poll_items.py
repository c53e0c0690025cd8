"""The poll run's items of an instance's partition: its lease, watermarks and status.

A run reads the whole partition in one strongly consistent query (:meth:`PollItems.read_poll_state`:
the instance, lease, status and every watermark), then takes the lease on the condition that it
is still as read. An idle run thus costs one read and two writes (take and give back the lease);
the status is written only when it tells something new.

The lease item is never deleted by a run: giving it back marks it expired and keeps its fencing
token, so a run that read the partition before another run took and gave back the lease sees the
token changed and skips, instead of polling from watermarks that have moved on since its read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, ConditionBase, Key
from botocore.exceptions import ClientError

from bcevents.aws.items import Item, conditional_failed, instance_key, to_dynamo, to_plain, without_keys
from bcevents.errors import LeaseHeld

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


@dataclass(frozen=True)
class PollState:
    """An instance's partition as one query read it."""

    instance: Item | None
    lease: Item | None = None
    status: Item | None = None
    watermarks: dict[str, Item] = field(default_factory=dict)

    def lease_live(self, now: float | None = None) -> bool:
        """Whether the lease read was held and not yet expired."""
        if self.lease is None:
            return False
        return int(self.lease.get("expires_at", 0)) >= int(time.time() if now is None else now)


class PollItems:
    """The lease, watermark and status reads and writes (a part of :class:`~bcevents.aws.tables.Storage`)."""

    instances: Table

    def read_poll_state(self, instance_id: str) -> PollState:
        """The instance, its lease, status and watermarks: one strongly consistent query."""
        items: dict[str, Item] = {}
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(instance_key(instance_id)),
            "ConsistentRead": True,
        }
        while True:
            page = self.instances.query(**kwargs)
            items.update({str(i["sk"]): without_keys(to_plain(i)) for i in page["Items"]})
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return PollState(
            instance=items.get("INSTANCE"),
            lease=items.get("LEASE"),
            status=items.get("STATUS"),
            watermarks={
                sk.removeprefix("WATERMARK#"): v for sk, v in items.items() if sk.startswith("WATERMARK#")
            },
        )

    def get_watermarks(self, instance_id: str) -> dict[str, Item]:
        """Every resource watermark of an instance, by resource name."""
        response = self.instances.query(
            KeyConditionExpression=Key("pk").eq(instance_key(instance_id))
            & Key("sk").begins_with("WATERMARK#"),
            ConsistentRead=True,
        )
        return {
            str(item["sk"]).removeprefix("WATERMARK#"): without_keys(to_plain(item))
            for item in response["Items"]
        }

    def put_watermark(
        self,
        instance_id: str,
        resource: str,
        watermark: Item,
        lease_token: int,
        *,
        lease_expires: float | None = None,
    ) -> None:
        """Checkpoint a watermark while this run's lease is live, never over a later lease's.

        ``lease_expires`` (epoch seconds): a run whose lease has expired writes nothing (a lease
        is taken over only once it has expired, so until then it is this run's). The write is
        conditional on no later lease (a larger fencing token) having written the watermark. One
        conditional write, not a transaction with the lease item: a transaction costs four times
        the write units on every checkpoint, and moto (the local stack's DynamoDB) copies the
        whole table for each one (the load run that had it ran out of memory).
        """
        if lease_expires is not None and time.time() >= lease_expires:
            raise LeaseHeld(instance_id)
        try:
            self.instances.put_item(
                Item=to_dynamo(
                    {
                        "pk": instance_key(instance_id),
                        "sk": f"WATERMARK#{resource}",
                        **watermark,
                        "lease_token": lease_token,
                    }
                ),
                ConditionExpression=Attr("lease_token").not_exists() | Attr("lease_token").lte(lease_token),
            )
        except ClientError as exc:
            if conditional_failed(exc):
                raise LeaseHeld(instance_id) from None
            raise

    def delete_watermark(self, instance_id: str, resource: str) -> None:
        """Forget a resource's progress (it was removed, or now names another endpoint)."""
        self.instances.delete_item(Key={"pk": instance_key(instance_id), "sk": f"WATERMARK#{resource}"})

    def acquire_lease(
        self, instance_id: str, owner: str, seconds: int, *, read: PollState | None = None
    ) -> int:
        """Take the instance's poll lease, or raise LeaseHeld if another live poll has it.

        Returns the lease's fencing token: the time of acquisition in milliseconds. A lease is
        taken only after the previous one expired or was given back (minutes later, or by that
        run's end), so tokens only grow, even when an expired lease item has been removed by TTL.

        With ``read`` (the partition read before this call), the lease is taken only if it is
        still as read: no lease then means none now, and an expired or given-back lease must still
        carry the token read. Otherwise another run took the lease in between (and may have moved
        the watermarks read): LeaseHeld.
        """
        now_ms = time.time_ns() // 1_000_000
        now = now_ms // 1000
        free: ConditionBase = Attr("pk").not_exists() | Attr("expires_at").lt(now)
        if read is not None:
            token = (read.lease or {}).get("token")
            if read.lease is None:
                free = Attr("pk").not_exists()
            elif token is None:
                free = Attr("token").not_exists() & Attr("expires_at").lt(now)
            else:
                free = Attr("token").eq(token) & Attr("expires_at").lt(now)
        try:
            self.instances.put_item(
                Item={
                    "pk": instance_key(instance_id),
                    "sk": "LEASE",
                    "owner": owner,
                    "token": now_ms,
                    "expires_at": now + seconds,
                },
                ConditionExpression=free,
            )
        except ClientError as exc:
            if conditional_failed(exc):
                raise LeaseHeld(instance_id) from None
            raise
        return now_ms

    def release_lease(self, instance_id: str, owner: str) -> None:
        """Give the lease back: mark it expired, keeping its token (a no-op if it was taken over)."""
        try:
            self.instances.update_item(
                Key={"pk": instance_key(instance_id), "sk": "LEASE"},
                UpdateExpression="SET expires_at = :past",
                ConditionExpression=Attr("owner").eq(owner),
                ExpressionAttributeValues={":past": int(time.time()) - 1},
            )
        except ClientError as exc:
            if not conditional_failed(exc):
                raise

    def get_status(self, instance_id: str) -> Item | None:
        """The instance's poll status item (an eventually consistent read: half the price)."""
        item = self.instances.get_item(Key={"pk": instance_key(instance_id), "sk": "STATUS"}).get("Item")
        return without_keys(to_plain(item)) if item else None

    def put_status(self, instance_id: str, status: Item) -> None:
        """Write the instance's poll status item whole."""
        self.instances.put_item(Item=to_dynamo({"pk": instance_key(instance_id), "sk": "STATUS", **status}))
