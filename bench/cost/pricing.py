"""The cost model: dollars per instance-month, by component, from a probe's measurements.

:func:`model` prices our design: the measured calls, units, durations and log bytes of an idle
poll, of a change and of a delivery, scaled to the reference month, durations stretched to
Lambda's CPU share and lengthened by the assumed round trips. :func:`naive_model` prices the naive
design (a schedule and a poll per resource) by the same model.
"""

from __future__ import annotations

from typing import Any

from bench.cost.prices import (
    AWS_LATENCY_MS,
    CALLBACK_LATENCY_MS,
    CLOUDWATCH_LOGS_PER_GB,
    DAYS,
    DYNAMODB_PER_RRU,
    DYNAMODB_PER_WRU,
    DYNAMODB_PITR_PER_GB_MONTH,
    DYNAMODB_STORAGE_PER_GB_MONTH,
    EVENT_LOG_ITEMS_PER_NOTIFICATION,
    EVENT_SOURCE_IDLE_RECEIVES_PER_MONTH,
    INSTANCES,
    KMS_DECRYPTS_PER_MONTH,
    KMS_PER_KEY_MONTH,
    KMS_PER_REQUEST,
    LAMBDA_FULL_VCPU_MB,
    LAMBDA_GB_SECOND_ARM,
    LAMBDA_PER_REQUEST,
    LAMBDA_PLATFORM_LOG_BYTES,
    RESOURCES,
    RETENTION_DAYS,
    SCHEDULER_PER_INVOCATION,
    SQS_PER_REQUEST,
    STORE_LATENCY_MS,
    XRAY_PER_TRACE,
    reference_month,
)
from bench.cost.template import xray_sampling


def _service_totals(aws: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Calls and units by service; DynamoDB units split into reads and writes."""
    out: dict[str, dict[str, float]] = {}
    for name, figures in aws.items():
        service, operation = name.split(".", 1)
        operation = operation.split("[", 1)[0]
        entry = out.setdefault(service, {"calls": 0.0, "units": 0.0, "rru": 0.0, "wru": 0.0})
        entry["calls"] += figures["calls"]
        entry["units"] += figures["units"]
        if service == "dynamodb":
            key = "rru" if operation in ("GetItem", "Query", "Scan", "BatchGetItem") else "wru"
            entry[key] += figures["units"]
    return out


def _minus(a: dict[str, dict[str, float]], b: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for service in set(a) | set(b):
        keys = set(a.get(service, {})) | set(b.get(service, {}))
        out[service] = {k: a.get(service, {}).get(k, 0.0) - b.get(service, {}).get(k, 0.0) for k in keys}
    return out


def _duration_ms(
    sample: dict[str, Any], memory_mb: int, store_latency_ms: float, *, lambda_like: bool
) -> float:
    """A handler's billed duration: measured time (stretched to the memory's CPU share) plus latencies."""
    if not lambda_like:
        return float(sample["wall_ms"])
    stretch = max(1.0, LAMBDA_FULL_VCPU_MB / memory_mb)
    waits = sum(
        figures["calls"] * AWS_LATENCY_MS.get(name.split(".", 1)[0], 10.0)
        for name, figures in sample["aws"].items()
    )
    waits += sample["store_requests"] * store_latency_ms + sample.get("callbacks", 0) * CALLBACK_LATENCY_MS
    return float(sample["wall_ms"]) * stretch + float(waits)


def model(
    measured: dict[str, Any],
    memory_mb: dict[str, int],
    *,
    store_latency_ms: float = STORE_LATENCY_MS,
    lambda_like: bool = True,
    schedules_per_instance: int = 1,
    tracing: bool = True,
) -> dict[str, Any]:
    """Dollars per instance-month, by component, from the probe's measurements.

    ``schedules_per_instance`` is 1 for our design (one schedule and one poll per instance) and
    3 for a design that schedules and polls each resource on its own (``idle_poll`` is then one
    resource's poll).
    """
    month = reference_month()
    polls = month["polls"] * schedules_per_instance
    notifications = month["notifications"]
    idle, changed, deliver = measured["idle_poll"], measured["changed_poll"], measured["deliver"]
    idle_aws = _service_totals(idle["aws"])
    change_aws = _minus(
        _service_totals(changed["aws"]), _service_totals(measured.get("changed_base", idle)["aws"])
    )
    deliver_aws = _service_totals(deliver["aws"])
    source_aws = _service_totals(deliver["event_source"])

    poll_ms = _duration_ms(idle, memory_mb["poll"], store_latency_ms, lambda_like=lambda_like)
    base_ms = _duration_ms(
        measured.get("changed_base", idle), memory_mb["poll"], store_latency_ms, lambda_like=lambda_like
    )
    change_ms = max(
        0.0, _duration_ms(changed, memory_mb["poll"], store_latency_ms, lambda_like=lambda_like) - base_ms
    )
    deliver_ms = _duration_ms(deliver, memory_mb["deliver"], store_latency_ms, lambda_like=lambda_like)
    gb_seconds = (polls * poll_ms + notifications * change_ms) / 1000 * memory_mb[
        "poll"
    ] / 1024 + notifications * deliver_ms / 1000 * memory_mb["deliver"] / 1024
    invocations = polls + notifications

    def per_month(service: str, key: str) -> float:
        return (
            polls * idle_aws.get(service, {}).get(key, 0.0)
            + notifications * change_aws.get(service, {}).get(key, 0.0)
            + notifications * deliver_aws.get(service, {}).get(key, 0.0)
        )

    sqs_requests = (
        per_month("sqs", "units")
        + notifications * source_aws.get("sqs", {}).get("units", 0.0)
        + EVENT_SOURCE_IDLE_RECEIVES_PER_MONTH / INSTANCES
    )
    kms_requests = KMS_DECRYPTS_PER_MONTH / INSTANCES + per_month("kms", "calls")
    log_bytes = (
        polls * (idle["log_bytes"] + LAMBDA_PLATFORM_LOG_BYTES)
        + notifications * max(0, changed["log_bytes"] - idle["log_bytes"])
        + notifications * (deliver["log_bytes"] + LAMBDA_PLATFORM_LOG_BYTES)
    )
    seconds = DAYS * 86_400
    reservoir, fixed_rate = xray_sampling()
    sampled = sum(
        min(rate, reservoir) + fixed_rate * max(0.0, rate - reservoir)
        for rate in (polls * INSTANCES / seconds, notifications * INSTANCES / seconds)
    )
    traces = sampled * seconds / INSTANCES if tracing else 0.0
    # The event log keeps a notification item and an attempt item (each ≤ 1 KB: one WRU) per
    # notification for RETENTION_DAYS; watermarks and leases are overwritten, idempotency records expire.
    stored_gb = notifications * EVENT_LOG_ITEMS_PER_NOTIFICATION * 1024 / 1e9 * RETENTION_DAYS / DAYS
    components = {
        "Lambda compute (GB-s)": gb_seconds * LAMBDA_GB_SECOND_ARM,
        "Lambda requests": invocations * LAMBDA_PER_REQUEST,
        "EventBridge Scheduler": polls * SCHEDULER_PER_INVOCATION,
        "DynamoDB writes (WRU)": per_month("dynamodb", "wru") * DYNAMODB_PER_WRU,
        "DynamoDB reads (RRU)": per_month("dynamodb", "rru") * DYNAMODB_PER_RRU,
        "DynamoDB storage + PITR": stored_gb * (DYNAMODB_STORAGE_PER_GB_MONTH + DYNAMODB_PITR_PER_GB_MONTH),
        "SQS requests": sqs_requests * SQS_PER_REQUEST,
        "KMS": kms_requests * KMS_PER_REQUEST + KMS_PER_KEY_MONTH / INSTANCES,
        "CloudWatch Logs": log_bytes / 1e9 * CLOUDWATCH_LOGS_PER_GB,
        "X-Ray traces": traces * XRAY_PER_TRACE,
    }
    total = sum(components.values())
    dominant = max(components, key=lambda k: components[k])
    return {
        "per_instance_month": round(total, 5),
        "fleet_month": round(total * INSTANCES, 2),
        "components": {k: round(v, 6) for k, v in sorted(components.items(), key=lambda kv: -kv[1])},
        "dominant": dominant,
        "dominant_share": round(components[dominant] / total, 3) if total else 0.0,
        "inputs": {
            "polls": polls,
            "notifications": round(notifications, 1),
            "poll_duration_ms": round(poll_ms, 1),
            "poll_waiting_ms": round(
                poll_ms
                - _duration_ms(
                    {**idle, "aws": {}, "store_requests": 0}, memory_mb["poll"], 0.0, lambda_like=lambda_like
                ),
                1,
            ),
            "change_adds_ms": round(change_ms, 1),
            "deliver_duration_ms": round(deliver_ms, 1),
            "gb_seconds": round(gb_seconds, 2),
            "dynamodb_wru": round(per_month("dynamodb", "wru"), 1),
            "dynamodb_rru": round(per_month("dynamodb", "rru"), 1),
            "sqs_requests": round(sqs_requests, 1),
            "kms_requests": round(kms_requests, 1),
            "log_mb": round(log_bytes / 1e6, 2),
            "xray_traces": round(traces, 1),
            "store_latency_ms": store_latency_ms if lambda_like else 0.0,
            "lambda_like": lambda_like,
            "memory_mb": dict(memory_mb),
        },
    }


def naive_model(measured: dict[str, Any], memory_mb: dict[str, int]) -> dict[str, Any]:
    """The naive design by the same model: a schedule and a poll per resource, each poll reading the
    instance and its watermark, decrypting the store secret with KMS and writing the watermark back
    (one store request, no lease, no ``/v2/time``); the same per-change and delivery work as ours."""
    idle = measured["idle_poll"]
    one_resource = {
        "wall_ms": idle["wall_ms"] / RESOURCES,
        "cpu_ms": idle["cpu_ms"] / RESOURCES,
        "log_bytes": idle["log_bytes"],
        "store_requests": 1,
        "aws": {
            "dynamodb.GetItem[Instances]": {"calls": 2, "units": 2.0},
            "dynamodb.PutItem[Instances]": {"calls": 1, "units": 1.0},
            "kms.Decrypt": {"calls": 1, "units": 1.0},
        },
    }
    naive = {**measured, "idle_poll": one_resource, "changed_base": idle}
    return model(naive, memory_mb, schedules_per_instance=RESOURCES)
