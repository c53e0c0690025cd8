"""What would bring the cost down: the model re-run with one change to the measurements at a time.

Each lever is applied on top of the previous ones (a smaller poll function, no active tracing,
a lease left to expire, a plain conditional checkpoint, no separate idempotency records, a quiet
idle poll, no ``/v2/time`` request), and kept when it lowers the month's figure.
"""

from __future__ import annotations

from typing import Any

from bench.cost.pricing import model

#: What an idle poll would log if it wrote one summary line.
QUIET_IDLE_LOG_BYTES = 300


def _without(sample: dict[str, Any], *operations: str) -> dict[str, Any]:
    """The sample without the calls named (``dynamodb.DeleteItem[Instances]``; ``[Idempotency]`` for a table)."""

    def dropped(name: str) -> bool:
        return any(name == op or (op.startswith("[") and name.endswith(op)) for op in operations)

    return {**sample, "aws": {k: v for k, v in sample["aws"].items() if not dropped(k)}}


def _retarget(sample: dict[str, Any], operation: str, units_each: float) -> dict[str, Any]:
    aws = dict(sample["aws"])
    if operation in aws:
        aws[operation] = {"calls": aws[operation]["calls"], "units": aws[operation]["calls"] * units_each}
    return {**sample, "aws": aws}


def levers(measured: dict[str, Any], memory_mb: dict[str, int]) -> list[dict[str, Any]]:
    """The model's answer to "what would bring it down", each step applied on top of the previous."""
    steps: list[dict[str, Any]] = []
    current = dict(measured)
    sizes = dict(memory_mb)
    tracing = True

    def record(change: str) -> None:
        figure = model(current, sizes, tracing=tracing)["per_instance_month"]
        if not steps or figure < steps[-1]["per_instance_month"]:
            steps.append({"change": change, "per_instance_month": figure})

    record("as built (the estimate above)")
    if sizes["poll"] > 128:
        configured = sizes["poll"]
        sizes["poll"] = 128
        record(f"PollFunction MemorySize {configured} → 128 MB (it mostly waits on the network)")
    tracing = False
    record("no X-Ray active tracing on the poll and deliver functions (or a low sampling rule)")
    lease = "dynamodb.DeleteItem[Instances]"
    current = {
        **current,
        "idle_poll": _without(current["idle_poll"], lease),
        "changed_poll": _without(current["changed_poll"], lease),
    }
    record("let the poll lease expire instead of deleting it (one write less per poll)")
    current = {
        **current,
        "changed_poll": _retarget(current["changed_poll"], "dynamodb.TransactWriteItems[Instances]", 1.0),
    }
    record("checkpoint with one conditional write instead of a transaction (2 WRU per item)")
    current = {**current, "deliver": _without(current["deliver"], "[Idempotency]")}
    record("deliver: the event log's status as the only idempotency record (no Powertools records)")
    quiet = min(current["idle_poll"]["log_bytes"], QUIET_IDLE_LOG_BYTES)
    current = {
        **current,
        "idle_poll": {**current["idle_poll"], "log_bytes": quiet},
        "changed_poll": {
            **current["changed_poll"],
            "log_bytes": current["changed_poll"]["log_bytes"] - measured["idle_poll"]["log_bytes"] + quiet,
        },
    }
    record(f"an idle poll logs one short line (≤ {QUIET_IDLE_LOG_BYTES} bytes; details at DEBUG)")
    current = {
        **current,
        "idle_poll": {**current["idle_poll"], "store_requests": current["idle_poll"]["store_requests"] - 1},
        "changed_poll": {
            **current["changed_poll"],
            "store_requests": current["changed_poll"]["store_requests"] - 1,
        },
    }
    record("read the store's clock from the first list answer's Date header (no /v2/time request)")
    return steps
