"""The local stack's state across restarts: saved to ``<state dir>/state.json``, rebuilt on start.

moto keeps everything in memory, so the stack rebuilds it: on stop (and periodically, with all
work paused while the picture is taken) it writes every DynamoDB item (read in-process, see
``dynamodb_state``), every schedule and when it last fired, every SQS message (in flight ones
too, see ``sqs_state``) and the sandbox store's records; on start it creates the resources from
the template and puts all that back.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bcsandbox import RecordNotFound, SandboxStore
from devstack import dynamodb_state, sqs_state

FORMAT = 1
_SANDBOX_RESOURCES = ("orders", "products", "customers")


@dataclass(frozen=True)
class Emulator:
    """Where the emulated resources are: clients, and names by logical id."""

    dynamodb: Any
    scheduler: Any
    tables: Mapping[str, str]
    queues: Mapping[str, str]
    schedule_group: str
    account_id: str
    region: str


class StateFile:
    """``state.json`` in the state directory, written atomically."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "state.json"

    def load(self) -> dict[str, Any] | None:
        """The saved state, or None when there is none (first start)."""
        if not self.path.exists():
            return None
        data: dict[str, Any] = json.loads(self.path.read_text())
        if data.get("format") != FORMAT:
            raise ValueError(
                f"{self.path} was written by another version of the local stack; delete it to start afresh"
            )
        return data

    def save(self, data: dict[str, Any]) -> None:
        """Replace the saved state (never leaves a half-written file behind)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"format": FORMAT, "saved_at": time.time(), **data}))
        os.replace(temporary, self.path)


def capture(emulator: Emulator, anchors: Mapping[str, float], store: SandboxStore | None) -> dict[str, Any]:
    """Everything to save, read now (the caller makes sure nothing runs meanwhile)."""
    return {
        "dynamodb": {
            logical: dynamodb_state.export_table(emulator.account_id, emulator.region, table)
            for logical, table in emulator.tables.items()
        },
        "schedules": _schedules(emulator.scheduler, emulator.schedule_group),
        "scheduler_anchors": dict(anchors),
        "sqs": {
            logical: sqs_state.export_queue(
                emulator.account_id, emulator.region, url.rstrip("/").rsplit("/", 1)[-1]
            )
            for logical, url in emulator.queues.items()
        },
        "sandbox": export_store(store) if store is not None else None,
    }


def restore(emulator: Emulator, data: Mapping[str, Any], store: SandboxStore | None) -> dict[str, int]:
    """Put saved state back into freshly created resources; returns counts for the console."""
    counts = {"items": 0, "schedules": 0, "messages": 0}
    for logical, items in data.get("dynamodb", {}).items():
        if logical in emulator.tables:
            counts["items"] += _put_items(emulator.dynamodb, emulator.tables[logical], items)
    for schedule in data.get("schedules", []):
        emulator.scheduler.create_schedule(**{**schedule, "GroupName": emulator.schedule_group})
        counts["schedules"] += 1
    for logical, messages in data.get("sqs", {}).items():
        if logical in emulator.queues:
            name = emulator.queues[logical].rstrip("/").rsplit("/", 1)[-1]
            counts["messages"] += sqs_state.import_queue(emulator.account_id, emulator.region, name, messages)
    if store is not None and data.get("sandbox"):
        import_store(store, data["sandbox"])
    return counts


# --- DynamoDB: typed items as DynamoDB JSON (binary values base64) ------------------------------
def _put_items(client: Any, table: str, items: list[dict[str, Any]]) -> int:
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": _bytes(item)}} for item in items[start : start + 25]]
        pending: dict[str, Any] = {table: requests}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    return len(items)


def _bytes(value: Any) -> Any:
    """The saved items' base64 text (JSON has no bytes) back to bytes, anywhere in a typed item."""
    if isinstance(value, dict):
        converted: dict[str, Any] = {}
        for key, inner in value.items():
            if key == "B":
                converted[key] = base64.b64decode(inner)
            elif key == "BS":
                converted[key] = [base64.b64decode(v) for v in inner]
            else:
                converted[key] = _bytes(inner)
        return converted
    if isinstance(value, list):
        return [_bytes(inner) for inner in value]
    return value


# --- schedules: what create_schedule needs to make each again ----------------------------------
_SCHEDULE_FIELDS = (
    "Name",
    "ScheduleExpression",
    "ScheduleExpressionTimezone",
    "FlexibleTimeWindow",
    "Target",
    "State",
    "Description",
)


def _schedules(client: Any, group: str) -> list[dict[str, Any]]:
    names: list[str] = []
    kwargs: dict[str, Any] = {"GroupName": group}
    while True:
        page = client.list_schedules(**kwargs)
        names += [summary["Name"] for summary in page.get("Schedules", [])]
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    saved = []
    for name in names:
        detail = client.get_schedule(Name=name, GroupName=group)
        saved.append({key: detail[key] for key in _SCHEDULE_FIELDS if detail.get(key) is not None})
    return saved


# --- the sandbox store: its records, through its public methods -----------------------------------
def export_store(store: SandboxStore) -> dict[str, Any]:
    """Every order, product and customer with its id, dates and fields."""
    exported: dict[str, Any] = {}
    for resource in _SANDBOX_RESOURCES:
        records = []
        for record_id in store.ids(resource):
            try:
                records.append(store.get(resource, record_id))
            except RecordNotFound:  # deleted through the admin API while we were reading
                continue
        exported[resource] = [
            {"id": r.id, "created": r.created, "modified": r.modified, "data": r.data} for r in records
        ]
    return exported


def import_store(store: SandboxStore, data: Mapping[str, Any]) -> None:
    """Make an empty store hold exactly the exported records (ids and dates kept)."""
    store.reset()
    for resource in _SANDBOX_RESOURCES:
        create = getattr(store, f"create_{resource[:-1]}")
        for record in data.get(resource, []):
            create(
                **record["data"],
                id=record["id"],
                date_created=record["created"],
                date_modified=record["modified"],
            )
