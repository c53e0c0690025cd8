"""The report's section 7, the cost model: the month by component against the naive design, what was
measured per invocation, the assumptions, and where the target is missed, the levers that would meet it."""

# ruff: noqa: RUF001 - the multiplication sign is meant

from __future__ import annotations

from typing import Any

from bench.report.cells import money, table


def cost(co: dict[str, Any]) -> list[str]:
    e, naive = co["estimate"], co["naive"]
    inputs = e["inputs"]
    rows = [
        [name, money(v), money(naive["components"].get(name, 0.0))] for name, v in e["components"].items()
    ]
    rows.append(
        [
            "**total per instance-month**",
            f"**{money(e['per_instance_month'])}**",
            f"**{money(naive['per_instance_month'])}**",
        ]
    )
    out = table(["component", "ours", "naive (same model)"], rows)
    m = co["measured"]
    out += [
        "",
        "![cost per instance-month by component](cost.png)",
        "",
        f"Reference month: 1 000 instances × 3 resources, a poll every 5 minutes ({inputs['polls']:,.0f} polls "
        f"per instance), 100 changes a day → {inputs['notifications']:,.0f} notifications per instance "
        "(a notification per poll and resource that saw a change). Prices: us-east-1, read "
        f"{co['prices_read']} (constants in `bench/cost/prices.py`); free tiers ignored.",
        "",
        "Measured per invocation (medians; call counts identical across samples):",
        "",
    ]
    for name, sample in (
        ("idle poll (3 resources)", m["idle_poll"]),
        ("poll with one change", m["changed_poll"]),
        ("deliver (1 notification)", m["deliver"]),
    ):
        calls = ", ".join(f"{op} × {int(v['calls'])} ({v['units']:g} u)" for op, v in sample["aws"].items())
        out.append(
            f"- {name}: {sample['store_requests']} store requests; {calls}; "
            f"{sample['cpu_ms']:.1f} ms CPU, {sample['wall_ms']:.1f} ms wall on loopback; {sample['log_bytes']} log bytes"
        )
    if "event_source" in m["deliver"]:
        out.append(
            "- Lambda's event source per notification: "
            + ", ".join(f"{op} × {int(v['calls'])}" for op, v in m["deliver"]["event_source"].items())
        )
    out += [
        "",
        f"Durations on Lambda are estimated from the measured wall time stretched to the memory size's CPU "
        f"share (poll {inputs['memory_mb']['poll']} MB, deliver {inputs['memory_mb']['deliver']} MB, a full vCPU at 1 769 MB) "
        f"plus assumed round trips (BigCommerce {inputs['store_latency_ms']:g} ms, DynamoDB 6 ms, SQS 12 ms, "
        f"callback 40 ms): poll {inputs['poll_duration_ms']:.0f} ms, deliver {inputs['deliver_duration_ms']:.0f} ms. "
        f"As measured on loopback (no latency, no stretch) the month costs "
        f"{money(co['as_measured_on_loopback']['per_instance_month'])} per instance.",
        "",
        "BigCommerce latency sensitivity (per instance-month): "
        + ", ".join(f"{k}: {money(v)}" for k, v in co["store_latency_sensitivity"].items())
        + ".",
        "",
        f"Naive anchor (perf-anchors.md, its own model): {money(co['naive_anchor_per_instance'])} per instance-month.",
    ]
    if not co["met"]:
        top = list(e["components"].items())[:3]
        total = e["per_instance_month"]
        out += [
            "",
            "**Why missed:** the largest components are "
            + ", ".join(f"{name} ({value / total:.0%})" for name, value in top)
            + f". The poll function ({inputs['memory_mb']['poll']} MB) is estimated at {inputs['poll_duration_ms']:.0f} ms, "
            f"{inputs['poll_waiting_ms']:.0f} ms of it waiting on the network; X-Ray's default sampling "
            "records about a trace a second per traced function. Writes measured (WRU): an idle poll "
            + _writes(m["idle_poll"]["aws"])
            + "; a poll with one change "
            + _writes(m["changed_poll"]["aws"])
            + "; a delivery "
            + _writes(m["deliver"]["aws"])
            + ". **What would fix it** (each step on top of the previous, by the same model):",
            "",
        ]
        out += table(
            ["change", "per instance-month"],
            [[step["change"], money(step["per_instance_month"])] for step in co["levers"]],
        )
    return out


def _writes(aws: dict[str, dict[str, float]]) -> str:
    writes = [
        f"{name.removeprefix('dynamodb.')} {v['units']:g}"
        for name, v in aws.items()
        if name.startswith("dynamodb.")
        and not name.split(".", 1)[1].startswith(("Get", "Query", "Scan", "BatchGet"))
    ]
    return ", ".join(writes) or "none"
