"""7. Cost model: a month of 1 000 instances x 3 resources polled every 5 minutes, 100 changes a day each.

Everything that varies with the code is measured (:mod:`bench.cost.probe`): per idle poll and per
change, the AWS requests the handlers make and the units they are billed (DynamoDB request units
from item sizes, SQS 64 KB chunks), the store requests, the handlers' CPU and wall time without
the emulator, and the bytes they log. :mod:`bench.cost.pricing` turns that into dollars with the
prices of :mod:`bench.cost.prices`, which also names what cannot be measured here as an
assumption; :mod:`bench.cost.levers` says what would bring the figure down.
"""

from __future__ import annotations

from typing import Any

from bench.cost.levers import levers
from bench.cost.prices import (
    NAIVE_ANCHOR_PER_INSTANCE,
    PRICES_READ,
    STORE_LATENCY_SENSITIVITY_MS,
    TARGET_PER_INSTANCE,
    reference_month,
)
from bench.cost.pricing import model, naive_model
from bench.cost.probe import PROBES, probe
from bench.cost.template import memory_sizes
from bench.stack import Stack


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
