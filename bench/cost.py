"""7. Cost model: a month of 1 000 instances x 3 resources polled every 5 minutes, 100 changes a day each.

Everything that varies with the code is measured (:func:`probe`): per idle poll and per change,
the AWS requests the handlers make and the units they are billed (DynamoDB request units from
item sizes, SQS 64 KB chunks), the store requests, the handlers' CPU and wall time without the
emulator, and the bytes they log. :func:`model` turns that into dollars with the prices below.

What cannot be measured here is named as an assumption: network latencies (the handlers run on
loopback), Lambda's CPU share at the configured memory, Lambda's own SQS polling, KMS calls that
DynamoDB makes on our behalf, X-Ray sampling. Free tiers are ignored.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from bench.common import CallStats, Invocation, Stack, _resource, median
from bench.eventsource import SqsEventSource

# --- prices, us-east-1 --------------------------------------------------------------------------
#: Read 2026-11-28 (shared/research/perf-anchors.md, which names the pages they come from).
PRICES_READ = "2026-11-28"
LAMBDA_GB_SECOND_ARM = 0.0000133334
LAMBDA_PER_REQUEST = 0.20 / 1e6
SQS_PER_REQUEST = 0.40 / 1e6
DYNAMODB_PER_WRU = 0.625 / 1e6
DYNAMODB_PER_RRU = 0.125 / 1e6
SCHEDULER_PER_INVOCATION = 1.00 / 1e6
KMS_PER_REQUEST = 0.03 / 1e4
KMS_PER_KEY_MONTH = 1.00
#: Not in perf-anchors: AWS's published list prices as generally quoted (not re-read on 2026-11-28).
CLOUDWATCH_LOGS_PER_GB = 0.50
XRAY_PER_TRACE = 5.00 / 1e6
DYNAMODB_STORAGE_PER_GB_MONTH = 0.25
DYNAMODB_PITR_PER_GB_MONTH = 0.20

# --- the reference month -----------------------------------------------------------------------
INSTANCES = 1_000
RESOURCES = 3
POLL_MINUTES = 5
CHANGES_PER_DAY = 100
DAYS = 30
TARGET_PER_INSTANCE = 0.05
NAIVE_ANCHOR_PER_INSTANCE = 147.74 / 1_000  # perf-anchors.md reference month, naive design

# --- assumptions (not measurable on loopback) ----------------------------------------------------
#: A full vCPU at 1 769 MB (Lambda's documented ratio): CPU time stretches by 1769/memory below it.
LAMBDA_FULL_VCPU_MB = 1_769
#: Round trips from Lambda in us-east-1, per request (assumed, typical in-region figures).
AWS_LATENCY_MS = {"dynamodb": 6.0, "sqs": 12.0, "scheduler": 20.0, "kms": 10.0}
#: One BigCommerce API request from us-east-1 (assumed; the sensitivity table varies it).
STORE_LATENCY_MS = 120.0
STORE_LATENCY_SENSITIVITY_MS = (0.0, 60.0, 120.0, 250.0)
#: One callback POST (assumed; a receiver in the same region).
CALLBACK_LATENCY_MS = 40.0
#: START/END/REPORT lines Lambda writes per invocation (bytes, approximately).
LAMBDA_PLATFORM_LOG_BYTES = 330
#: Lambda's SQS event source long-polls an idle queue: 5 pollers, one 20 s receive each (per deployment).
EVENT_SOURCE_IDLE_RECEIVES_PER_MONTH = 5 * 3 * 60 * 24 * DAYS
#: DynamoDB re-fetches a table's KMS data key about every 5 minutes per caller: 3 tables x 3 roles.
KMS_DECRYPTS_PER_MONTH = 3 * 3 * 12 * 24 * DAYS
#: X-Ray's default sampling rule (1 trace a second, then 5 % of the rest), used when the template
#: defines no sampling rule of its own (see :func:`xray_sampling`).
XRAY_RESERVOIR_PER_S = 1.0
XRAY_RATE = 0.05
#: How long notification and attempt items stay in the event log (EventRetentionDays default).
RETENTION_DAYS = 30
EVENT_LOG_ITEMS_PER_NOTIFICATION = 2

PROBES = 7
#: What an idle poll would log if it wrote one summary line.
QUIET_IDLE_LOG_BYTES = 300


def _poll_sample(stack: Stack, instance: str, stats: CallStats) -> tuple[Invocation, int]:
    before = stack.store.request_count
    invocation = stack.poll(instance, stats)
    return invocation, stack.store.request_count - before


def probe(stack: Stack, *, probes: int = PROBES) -> dict[str, Any]:
    """Measure an idle poll of three resources, and one change through poll and deliver."""
    import deliver_handler

    stack.fresh()
    deliver_handler.idempotent_delivery.cache_clear()
    instance = stack.create_instance({name: _resource(name) for name in ("orders", "products", "customers")})
    store = stack.store
    store.set_clock(store.now().replace(microsecond=0) + timedelta(seconds=10))
    # A warm container first (clients, sessions, lazy imports), as Lambda keeps one: not sampled.
    store.create_order()
    store.advance(30)
    stack.poll(instance)
    SqsEventSource(stack.resources.events_queue_url, CallStats()).drain()
    delivered_before = stack.receiver.notifications
    idle: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    deliver: list[dict[str, Any]] = []
    for _ in range(probes):
        store.advance(POLL_MINUTES * 60)
        stats = CallStats()
        invocation, requests = _poll_sample(stack, instance, stats)
        idle.append(_sample(invocation, stats, "poll", requests))
    for _ in range(probes):
        store.advance(POLL_MINUTES * 60)
        store.create_order()
        store.advance(30)
        stats = CallStats()
        invocation, requests = _poll_sample(stack, instance, stats)
        changed.append(_sample(invocation, stats, "poll", requests))
        source = SqsEventSource(stack.resources.events_queue_url, stats)
        run = source.drain()
        if (
            len(run.invocations) != 1
            or run.failures
            or stack.receiver.notifications < delivered_before + len(deliver) + 1
        ):
            raise RuntimeError(
                f"the cost probe expected one notification delivered per change; deliver ran "
                f"{len(run.invocations)} times and reported {run.failures} batch item failures"
            )
        sample = _sample(run.invocations[0], stats, "deliver", 0)
        sample["callbacks"] = 1
        sample["event_source"] = stats.by_operation("sqs-event-source")
        deliver.append(sample)
    return {
        "probes": probes,
        "idle_poll": _median_sample(idle),
        "changed_poll": _median_sample(changed),
        "deliver": _median_sample(deliver),
    }


def _sample(invocation: Invocation, stats: CallStats, actor: str, store_requests: int) -> dict[str, Any]:
    return {
        "wall_ms": invocation.wall * 1000,
        "cpu_ms": invocation.cpu * 1000,
        "log_bytes": invocation.log_bytes,
        "store_requests": store_requests,
        "aws": stats.by_operation(actor),
    }


def _median_sample(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Timings as medians; call counts must agree between samples (they are the code's, not noise)."""
    first = samples[0]
    return {
        "wall_ms": round(median([s["wall_ms"] for s in samples]), 2),
        "cpu_ms": round(median([s["cpu_ms"] for s in samples]), 2),
        "log_bytes": int(median([s["log_bytes"] for s in samples])),
        "store_requests": int(median([s["store_requests"] for s in samples])),
        "aws": first["aws"],
        **({"event_source": first["event_source"]} if "event_source" in first else {}),
        "counts_stable": all(s["aws"] == first["aws"] for s in samples),
    }


# --- the model --------------------------------------------------------------------------------
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


def reference_month() -> dict[str, float]:
    """Polls, notifications and invocations of one instance in the reference month."""
    polls = 24 * 60 / POLL_MINUTES * DAYS
    per_slot = CHANGES_PER_DAY / (24 * 60 / POLL_MINUTES * RESOURCES)
    # A notification per (poll, resource) that saw at least one change (ten or more at once: rare).
    notifications = polls * RESOURCES * (1 - math.exp(-per_slot))
    return {"polls": polls, "changes": CHANGES_PER_DAY * DAYS, "notifications": notifications}


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


def xray_sampling() -> tuple[float, float]:
    """(reservoir per second, fixed rate) of the template's X-Ray sampling rule, else X-Ray's default."""
    from devstack.resources import load_template

    for spec in load_template()["Resources"].values():
        if spec["Type"] == "AWS::XRay::SamplingRule":
            rule = spec["Properties"]["SamplingRule"]
            return float(rule["ReservoirSize"]), float(rule["FixedRate"])
    return XRAY_RESERVOIR_PER_S, XRAY_RATE


def memory_sizes() -> dict[str, int]:
    """The configured MemorySize of the poll and deliver functions (template.yaml)."""
    from devstack.resources import load_template

    template = load_template()
    default = int(template.get("Globals", {}).get("Function", {}).get("MemorySize", 128))
    functions = template["Resources"]

    def size(name: str) -> int:
        return int(functions[name]["Properties"].get("MemorySize", default))

    return {"poll": size("PollFunction"), "deliver": size("DeliverFunction")}


def run(stack: Stack, *, probes: int = PROBES) -> dict[str, Any]:
    """Probe, then price the reference month."""
    return price(probe(stack, probes=probes), memory_sizes())


def price(measured: dict[str, Any], sizes: dict[str, int]) -> dict[str, Any]:
    """The reference month priced from a probe's measurements: Lambda-like and as measured on
    loopback, a latency sensitivity, the naive design and the levers (pure: no measuring)."""
    estimate = model(measured, sizes)
    return {
        "prices_read": PRICES_READ,
        "memory_mb": sizes,
        "measured": measured,
        "reference_month": reference_month(),
        "estimate": estimate,
        "as_measured_on_loopback": model(measured, sizes, lambda_like=False),
        "store_latency_sensitivity": {
            f"{ms:g} ms": model(measured, sizes, store_latency_ms=ms)["per_instance_month"]
            for ms in STORE_LATENCY_SENSITIVITY_MS
        },
        "naive": naive_model(measured, sizes),
        "levers": levers(measured, sizes),
        "naive_anchor_per_instance": round(NAIVE_ANCHOR_PER_INSTANCE, 4),
        "target": TARGET_PER_INSTANCE,
        "met": estimate["per_instance_month"] <= TARGET_PER_INSTANCE,
    }
