"""The figures of a run, its checks, and ``backoff.md``."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.backoff import ON_TIME_S, Phase
from bench.common import write_json
from bench.sqs_model import IN_FLIGHT_LIMIT


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, round(share * (len(values) - 1)))]


def summary(phase: Phase) -> dict[str, Any]:
    """A phase's figures, ready for JSON (latency percentiles instead of every sample)."""
    out = {k: v for k, v in asdict(phase).items() if k not in ("b_latency_s", "samples")}
    latencies = phase.b_latency_s
    out["b_latency_p50_s"] = round(_percentile(latencies, 0.5), 3)
    out["b_latency_p99_s"] = round(_percentile(latencies, 0.99), 3)
    out["b_latency_max_s"] = round(max(latencies, default=0.0), 3)
    out["handler_busy_s"] = round(phase.handler_busy_s, 1)
    out["wall_s"] = round(phase.wall_s, 1)
    out["a_received_per_s"] = round(phase.a_received / phase.wall_s, 1) if phase.wall_s else 0.0
    return out


def checks(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each check: what it says, what was measured, whether it held."""
    base, scenario = result["baseline"], result["scenario"]
    return [
        {
            "check": "nothing waits in flight",
            "measured": f"peak {scenario['peak_in_flight']} in flight with {scenario['a_waiting']:,} waiting "
            f"(SQS's limit: {IN_FLIGHT_LIMIT:,}); {scenario['delayed_at_end']:,} delayed at the end",
            # One batch per environment in flight at most.
            "held": scenario["peak_in_flight"] <= 10 * result["plan"]["environments"],
        },
        {
            "check": f"B delivered on time (p99 within {ON_TIME_S:g} s)",
            "measured": f"p50 / p99 / max {scenario['b_latency_p50_s']} / {scenario['b_latency_p99_s']} / "
            f"{scenario['b_latency_max_s']} s; alone {base['b_latency_p50_s']} / {base['b_latency_p99_s']} / "
            f"{base['b_latency_max_s']} s",
            "held": scenario["b_latency_p99_s"] <= ON_TIME_S,
        },
        {
            "check": "B delivered, once each",
            "measured": f"{scenario['b_delivered']} of {scenario['b_enqueued']}, {scenario['b_duplicates']} duplicates",
            "held": scenario["b_delivered"] == scenario["b_enqueued"] > 0 and scenario["b_duplicates"] == 0,
        },
        {
            "check": "A's waiting messages are handled as they come",
            "measured": f"{scenario['a_received']:,} received ({scenario['a_received_per_s']}/s), "
            f"{scenario['a_attempts']:,} attempted, {scenario['a_sent_on']:,} sent on, "
            f"{scenario['dead_lettered']:,} dead-lettered; at most {scenario['peak_visible']:,} visible at once",
            "held": scenario["a_received"] > 0
            and scenario["a_attempts"] > 0
            and scenario["a_sent_on"] + scenario["dead_lettered"] == scenario["a_received"],
        },
    ]


def write(result: dict[str, Any], out: Path) -> None:
    """``backoff.json`` (every figure) and ``backoff.md`` (the checks) in ``out``."""
    write_json(out / "backoff.json", result)
    plan, scenario = result["plan"], result["scenario"]
    machine_ = result["machine"]
    lines = [
        "# A dead callback at scale",
        "",
        f"Measured {machine_['date']} on {machine_['cpu_model'] or 'an unnamed CPU'}, {machine_['cores']} cores "
        f"(Python {machine_['python']}), commit `{result['commit']}`, in {result['seconds']} s with "
        f"`.venv/bin/python -m bench.backoff` (`bench/backoff/__init__.py` says how). "
        "Instance A's callback refuses connections; "
        f"{plan['waiting']:,} of its notifications wait for retries, their delays ending over "
        f"{plan['spread_s']:g} s, {plan['due_share']:.1%} of them due then. Instance B's callback works: "
        f"{plan['per_second']:g} notifications a second for {plan['run_s']:g} s; "
        f"{plan['environments']} deliver environment{'s' if plan['environments'] != 1 else ''}. "
        f"Verdict: **{'every check held' if result['verdict'] else 'a check failed'}**.",
        "",
        "| check | measured | |",
        "|---|---|---|",
        *[
            f"| {c['check']} | {c['measured']} | **{'held' if c['held'] else 'failed'}** |"
            for c in result["checks"]
        ],
        "",
        f"The deliver environment was busy {scenario['handler_busy_s']} s of {scenario['wall_s']} s "
        f"({scenario['invocations']:,} invocations); a message back before it is due costs "
        f"{result['bounce_ms']} ms of it (measured apart), the rest is attempts and B's deliveries, "
        "each a handful of DynamoDB calls that moto answers in milliseconds. SQS is a model of a standard queue "
        "(`bench/sqs_model.py`: delays, visibility, receive counts, the 120,000 in-flight limit), "
        "DynamoDB is moto in the same process; B's latency has no batching window (Lambda's adds up to 1 s).",
        "",
        "Before this change a waiting notification was held in flight (its visibility set to its next "
        "attempt, up to 12 h): every one of these waiting notifications would have counted against "
        f"SQS's {IN_FLIGHT_LIMIT:,}, and past it ReceiveMessage answers `OverLimit` for every instance.",
        "",
        "The price: a waiting notification comes back every 15 minutes and is sent on, one "
        "SendMessage (and a tenth of a ReceiveMessage and a DeleteMessageBatch) each time. "
        f"{plan['waiting']:,} waiting notifications are {plan['waiting'] / 900:,.0f} such receipts a second, "
        f"about {plan['waiting'] / 900 * 1.2 * 86_400 / 1e6:,.1f} million SQS requests a day "
        f"(${plan['waiting'] / 900 * 1.2 * 86_400 / 1e6 * 0.40:,.2f} at $0.40 per million), where a visibility "
        "hold cost nothing until the cliff.",
        "",
    ]
    (out / "backoff.md").write_text("\n".join(lines))
