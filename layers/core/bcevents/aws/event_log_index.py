"""The event log's index: an instance's notifications by creation date, newest first.

Notification items carry ``created_key`` (``<created date>#<notification id>``), the sort key of
the sparse ``ByCreatedDate`` index of EventsTable (attempts and bodies are not in it). Pages are
read within one instance's partition only: the partition comes from the caller, never from a
cursor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase, Key

from bcevents.aws.event_log import BY_CREATED_DATE, notification_sk
from bcevents.aws.items import Item, instance_key, to_plain, without_keys
from bcevents.aws.tables import get_storage


def page(
    instance_id: str,
    *,
    lower: str | None = None,
    upper: str | None = None,
    after: str | None = None,
    equals: Mapping[str, str] | None = None,
    contains: Mapping[str, str] | None = None,
    limit: int = 100,
    attributes: Sequence[str] | None = None,
) -> tuple[list[Item], str | None]:
    """One index page of an instance's notifications, newest first.

    ``lower``/``upper`` bound the created keys (inclusive); ``after`` is the created key to
    continue below (exclusive). ``equals`` and ``contains`` filter on attributes; a filter applies
    after the read, so a page may hold fewer than ``limit`` items (even none) and still not be the
    last. Returns the items (each with its ``created_key``) and the created key to continue
    after, or None when the index has no more.
    """
    pk = instance_key(instance_id)
    condition: ConditionBase = Key("pk").eq(pk)
    if lower is not None and upper is not None:
        condition &= Key("created_key").between(lower, upper)
    elif lower is not None:
        condition &= Key("created_key").gte(lower)
    elif upper is not None:
        condition &= Key("created_key").lte(upper)
    kwargs: dict[str, Any] = {
        "IndexName": BY_CREATED_DATE,
        "KeyConditionExpression": condition,
        "ScanIndexForward": False,
        "Limit": limit,
    }
    filters: list[ConditionBase] = [Attr(name).eq(value) for name, value in (equals or {}).items()]
    filters += [Attr(name).contains(value) for name, value in (contains or {}).items()]
    if filters:
        expression = filters[0]
        for more in filters[1:]:
            expression &= more
        kwargs["FilterExpression"] = expression
    if attributes:
        names = ["created_key", *attributes]
        kwargs["ProjectionExpression"] = ", ".join(f"#p{i}" for i in range(len(names)))
        kwargs["ExpressionAttributeNames"] = {f"#p{i}": name for i, name in enumerate(names)}
    if after is not None:
        kwargs["ExclusiveStartKey"] = {
            "pk": pk,
            "sk": notification_sk(after.rsplit("#", 1)[-1]),
            "created_key": after,
        }
    response = get_storage().events.query(**kwargs)
    last = response.get("LastEvaluatedKey")
    items = [without_keys(to_plain(item)) for item in response["Items"]]
    return items, str(last["created_key"]) if last else None
