"""Every item of an emulated DynamoDB table, read from moto's in-process model.

A snapshot pauses all work while it reads the state, so reading must be quick. Through the API it
is not: moto sorts the whole table for every page of a scan, which made a snapshot of a stack that
had delivered 40 000 notifications pause work for many seconds. The items come out exactly as a
``Scan`` by the low-level client returns them (binary values as base64 text, as ``state`` saves
them), so the saved file is the same either way.
"""

from __future__ import annotations

import base64
from typing import Any

from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType


def export_table(account_id: str, region: str, table: str) -> list[dict[str, Any]]:
    """The table's items, typed (``{"pk": {"S": ...}}``), in the order a scan returns them."""
    model = dynamodb_backends[account_id][region].get_table(table)
    return [{name: _typed(value) for name, value in item.attrs.items()} for item in model.all_items()]


def _typed(value: DynamoType) -> dict[str, Any]:
    kind, inner = value.type, value.value
    if kind == "M":
        return {"M": {key: _typed(nested) for key, nested in inner.items()}}
    if kind == "L":
        return {"L": [_typed(nested) for nested in inner]}
    if kind == "B":
        return {"B": _base64(inner)}
    if kind == "BS":
        return {"BS": [_base64(one) for one in inner]}
    if kind in ("SS", "NS"):
        return {kind: list(inner)}
    return {kind: inner}


def _base64(value: str | bytes) -> str:
    """moto keeps binary values as the base64 text they arrived as (bytes when set in-process)."""
    return value if isinstance(value, str) else base64.b64encode(value).decode()
