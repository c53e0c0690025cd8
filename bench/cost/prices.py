"""The cost model's inputs that are not measured: AWS prices, the reference month, and the assumptions.

Prices are us-east-1's, with the date they were read; the reference month is 1 000 instances x 3
resources polled every 5 minutes with 100 changes a day each; the assumptions name what cannot be
measured on loopback (network latencies, Lambda's CPU share at a memory size, Lambda's own SQS
polling, the KMS calls DynamoDB makes on our behalf, X-Ray sampling). Free tiers are ignored.
"""

from __future__ import annotations

import math

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


def reference_month() -> dict[str, float]:
    """Polls, notifications and invocations of one instance in the reference month."""
    polls = 24 * 60 / POLL_MINUTES * DAYS
    per_slot = CHANGES_PER_DAY / (24 * 60 / POLL_MINUTES * RESOURCES)
    # A notification per (poll, resource) that saw at least one change (ten or more at once: rare).
    notifications = polls * RESOURCES * (1 - math.exp(-per_slot))
    return {"polls": polls, "changes": CHANGES_PER_DAY * DAYS, "notifications": notifications}
