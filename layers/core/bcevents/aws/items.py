"""Items as the tables store them: key helpers and the plain-Python <-> DynamoDB value conversions.

Shared by the modules of this package that read and write the tables; nothing outside ``aws/``
imports it (the tables' own methods are the interface).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

Item = dict[str, Any]


def instance_key(instance_id: str) -> str:
    """The partition key of everything an instance owns."""
    return f"INSTANCE#{instance_id}"


def to_plain(value: Any) -> Any:
    """DynamoDB returns numbers as Decimal; hand the rest of the code plain ints and floats."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    return value


def to_dynamo(value: Any) -> Any:
    """Floats as Decimal (what DynamoDB takes), through dicts and lists."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_dynamo(v) for v in value]
    return value


def error_code(exc: ClientError) -> str:
    """The error code AWS answered (``ThrottlingException``, ``BatchRequestTooLong``...)."""
    return str(exc.response.get("Error", {}).get("Code", "unknown"))


def conditional_failed(exc: ClientError) -> bool:
    """Whether a write failed only on its condition (or a transaction was cancelled by one)."""
    code = exc.response.get("Error", {}).get("Code")
    return code in ("ConditionalCheckFailedException", "TransactionCanceledException")


def without_keys(item: Item) -> Item:
    """An item without its table keys (what the rest of the code sees)."""
    return {k: v for k, v in item.items() if k not in ("pk", "sk")}
