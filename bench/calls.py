"""Every AWS call a handler makes, counted with the units it would be billed.

botocore's ``BaseClient._make_api_call`` is wrapped once; a thread inside :func:`counting` has
its calls attributed to an actor (``poll``, ``deliver``...) in a :class:`CallStats`, each with
its DynamoDB request units (estimated from item sizes) or SQS 64 KB chunks. These counts, not a
list of what the code is meant to do, feed the cost model.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

_DYNAMO_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
_DYNAMO_READS = {"GetItem", "Query", "Scan"}


def _size(value: Any) -> int:
    """A request's or an item's size in bytes (JSON, an upper estimate of DynamoDB's item size)."""
    return len(json.dumps(value, default=str, separators=(",", ":")).encode())


@dataclass
class CallStats:
    """AWS calls by (actor, service, operation), with the billed units each would cost."""

    calls: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    units: dict[tuple[str, str, str], float] = field(default_factory=dict)
    messages_sent: int = 0

    def add(self, actor: str, service: str, operation: str, units: float) -> None:
        """Record one call."""
        key = (actor, service, operation)
        self.calls[key] += 1
        self.units[key] = self.units.get(key, 0.0) + units

    def by_operation(self, actor: str | None = None) -> dict[str, dict[str, float]]:
        """``{"dynamodb.PutItem": {"calls": n, "units": u}, ...}`` for one actor (or all)."""
        out: dict[str, dict[str, float]] = {}
        for key, count in sorted(self.calls.items()):
            if actor is not None and key[0] != actor:
                continue
            name = f"{key[1]}.{key[2]}"
            entry = out.setdefault(name, {"calls": 0.0, "units": 0.0})
            entry["calls"] += count
            entry["units"] += round(self.units.get(key, 0.0), 3)
        return out

    def total(self, actor: str, service: str, *, units: bool = False) -> float:
        """Calls (or billed units) of one actor on one service."""
        source = self.units if units else self.calls
        return float(sum(v for k, v in source.items() if k[0] == actor and k[1] == service))


def billed_units(service: str, operation: str, params: dict[str, Any], response: Any) -> float:
    """What one call is billed as: DynamoDB request units (on-demand), SQS 64 KB request chunks.

    DynamoDB: a write is 1 WRU per KB of the item, a read 1 RRU per 4 KB (half for an eventually
    consistent read); sizes are estimated from the request or the items returned. SQS: every
    64 KB chunk of a payload is billed as one request.
    """
    if service == "dynamodb":
        if operation in _DYNAMO_WRITES:
            item = params.get("Item") or {
                k: params.get(k) for k in ("Key", "ExpressionAttributeValues", "ExpressionAttributeNames")
            }
            return float(max(1, math.ceil(_size(item) / 1024)))
        if operation in _DYNAMO_READS:
            items = response.get("Items") if isinstance(response, dict) else None
            if items is None:
                items = [response.get("Item")] if isinstance(response, dict) and response.get("Item") else []
            size = sum(_size(i) for i in items)
            factor = 1.0 if params.get("ConsistentRead") else 0.5
            return max(1, math.ceil(size / 4096)) * factor
        if operation == "TransactWriteItems":
            return 2.0 * sum(max(1, math.ceil(_size(i) / 1024)) for i in params.get("TransactItems", []))
        return 1.0
    if service == "sqs":
        if operation in ("SendMessage", "SendMessageBatch"):
            payload = _size(params.get("Entries") or params.get("MessageBody") or "")
        elif operation == "ReceiveMessage":
            payload = _size(response.get("Messages", []) if isinstance(response, dict) else [])
        else:
            payload = 0
        return float(max(1, math.ceil(payload / 65536)))
    return 1.0


def table_label(params: dict[str, Any]) -> str:
    """Which of the template's tables a DynamoDB call is about (``Instances``, ``Events``...)."""
    name = params.get("TableName")
    if name is None:
        items = params.get("TransactItems") or []
        for item in items:
            for body in item.values():
                name = name or body.get("TableName")
        name = name or next(iter(params.get("RequestItems") or {}), None)
    return str(name or "?").split("-", 1)[-1].removesuffix("Table")


_local = threading.local()
_patched: set[str] = set()


def install_call_counter() -> None:
    """Count every botocore API call made while a thread is inside :func:`counting`."""
    if "counter" in _patched:
        return
    from botocore.client import BaseClient

    original = getattr(BaseClient, "_make_api_call")  # noqa: B009 - a private method, wrapped

    def counted(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        target: tuple[CallStats, str] | None = getattr(_local, "target", None)
        response = original(self, operation_name, api_params)
        if target is not None:
            service = self.meta.service_model.service_name
            stats, actor = target
            units = billed_units(service, operation_name, api_params, response)
            label = (
                f"{operation_name}[{table_label(api_params)}]" if service == "dynamodb" else operation_name
            )
            stats.add(actor, service, label, units)
            if service == "sqs" and operation_name in ("SendMessage", "SendMessageBatch"):
                stats.messages_sent += len(api_params.get("Entries", [None]))
        return response

    setattr(BaseClient, "_make_api_call", counted)  # noqa: B010
    _patched.add("counter")


@contextlib.contextmanager
def counting(stats: CallStats, actor: str) -> Iterator[None]:
    """Attribute this thread's AWS calls to ``actor`` in ``stats``."""
    install_call_counter()
    previous = getattr(_local, "target", None)
    _local.target = (stats, actor)
    try:
        yield
    finally:
        _local.target = previous
