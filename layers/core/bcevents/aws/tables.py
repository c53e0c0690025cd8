"""DynamoDB access: the only module that talks to the tables.

InstancesTable (``pk``/``sk``) holds per instance ``INSTANCE#<id>``: the instance (``INSTANCE``),
one watermark per resource (``WATERMARK#<resource>``), the poll lease (``LEASE``) and the last
polls' status (``STATUS``); the ``ByOrganization`` index lists an organization's instances.
Organizations (``ORG#<id>``) and users (``USER#<secret hash>``) live there too. EventsTable holds
notifications, delivery attempts and notification bodies, partitioned by instance, expired by
TTL; its ``ByCreatedDate`` index lists an instance's notifications by creation date.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from bcevents.aws import clients
from bcevents.aws.items import Item as Item  # noqa: PLC0414 - re-exported: the type of every item
from bcevents.aws.items import conditional_failed, instance_key, to_dynamo, to_plain, without_keys
from bcevents.aws.poll_items import PollItems
from bcevents.errors import InstanceChanged, InstanceNotFound
from bcevents.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class Storage(PollItems):
    """The two tables, with the reads and writes the service needs (the poll run's own items:
    :class:`~bcevents.aws.poll_items.PollItems`).

    Transactions go through ``table.meta.client``, which (being a resource's client) takes plain
    Python values and serializes them itself.
    """

    def __init__(self, instances: Table, events: Table) -> None:
        self.instances = instances
        self.events = events

    # organizations and users ---------------------------------------------------------------
    def put_organization(self, org_id: str, name: str, user_id: str, user_hash: str, org_hash: str) -> None:
        """Create an organization and its first user in one transaction."""
        client = self.instances.meta.client
        client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self.instances.name,
                        "Item": to_dynamo({"pk": f"ORG#{org_id}", "sk": "ORG", "name": name}),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": self.instances.name,
                        "Item": to_dynamo(
                            {
                                "pk": f"USER#{user_hash}",
                                "sk": "USER",
                                "user_id": user_id,
                                "org_id": org_id,
                                "org_hash": org_hash,
                            }
                        ),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )

    def get_user(self, user_hash: str) -> Item | None:
        """The user whose secret hashes to ``user_hash``."""
        item = self.instances.get_item(Key={"pk": f"USER#{user_hash}", "sk": "USER"}).get("Item")
        return to_plain(item) if item else None

    # instances -----------------------------------------------------------------------------
    def put_new_instance(self, item: Item) -> bool:
        """Write a new instance (version 1); False if its id is already taken."""
        item["version"] = 1
        try:
            self.instances.put_item(
                Item=to_dynamo({"pk": instance_key(item["id"]), "sk": "INSTANCE", **item}),
                ConditionExpression=Attr("pk").not_exists(),
            )
        except ClientError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def get_instance(self, instance_id: str) -> Item | None:
        """An instance by id, whatever its organization (callers check ownership)."""
        item = self.instances.get_item(
            Key={"pk": instance_key(instance_id), "sk": "INSTANCE"}, ConsistentRead=True
        ).get("Item")
        return without_keys(to_plain(item)) if item else None

    def replace_instance(self, item: Item) -> None:
        """Overwrite an instance as it was read: InstanceChanged if another write came between
        (its version moved on), InstanceNotFound if it was deleted. Bumps ``item``'s version."""
        read = item.get("version")
        unchanged = Attr("version").eq(read) if read is not None else Attr("version").not_exists()
        try:
            self.instances.put_item(
                Item=to_dynamo(
                    {"pk": instance_key(item["id"]), "sk": "INSTANCE", **item, "version": int(read or 0) + 1}
                ),
                ConditionExpression=Attr("pk").exists() & unchanged,
            )
        except ClientError as exc:
            if not conditional_failed(exc):
                raise
            if self.get_instance(item["id"]) is None:
                raise InstanceNotFound(item["id"]) from None
            raise InstanceChanged(item["id"]) from None
        item["version"] = int(read or 0) + 1

    def update_instance_fields(self, instance_id: str, **fields: Any) -> None:
        """Set a few top-level attributes of an existing instance (and move its version on)."""
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        values = {f":v{i}": to_dynamo(value) for i, value in enumerate(fields.values())}
        names["#version"], values[":one"], values[":zero"] = "version", 1, 0
        sets = [f"#f{i} = :v{i}" for i in range(len(fields))] + [
            "#version = if_not_exists(#version, :zero) + :one"
        ]
        try:
            self.instances.update_item(
                Key={"pk": instance_key(instance_id), "sk": "INSTANCE"},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=Attr("pk").exists(),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if conditional_failed(exc):
                raise InstanceNotFound(instance_id) from None
            raise

    def list_instances(self, org_id: str) -> list[Item]:
        """Every instance of one organization, oldest first (one partition of the index)."""
        items: list[Item] = []
        kwargs: dict[str, Any] = {
            "IndexName": "ByOrganization",
            "KeyConditionExpression": Key("org_id").eq(org_id),
        }
        while True:
            page = self.instances.query(**kwargs)
            items += [without_keys(to_plain(i)) for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def delete_instance(self, instance_id: str) -> None:
        """Remove an instance with its watermarks and lease (its event log expires by TTL)."""
        with self.instances.batch_writer() as batch:
            for item in self._partition(self.instances, instance_key(instance_id)):
                batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})

    # helpers -------------------------------------------------------------------------------
    @staticmethod
    def _partition(table: Table, pk: str) -> Iterator[Item]:
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(pk),
            "ProjectionExpression": "pk, sk",
        }
        while True:
            page = table.query(**kwargs)
            yield from page["Items"]
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@lru_cache(maxsize=1)
def get_storage() -> Storage:
    """The tables of this deployment (one boto3 resource per process, reused across invocations)."""
    settings = get_settings()
    dynamodb = clients.dynamodb()
    return Storage(dynamodb.Table(settings.instances_table), dynamodb.Table(settings.events_table))
