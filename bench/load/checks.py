"""The load run's verdict: no missed schedule, every change delivered, memory flat.

Each check reads the :class:`~bench.load.record.Run` (and for deliveries what the receiver
noted) and returns its figures with ``ok``; :func:`results` puts them together with the plan, the
machine, the commit and the stalls, and says whether every check held.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from dataclasses import asdict
from typing import Any

from bench.common import machine, measured_commit
from bench.load.record import Poll, Run
from bench.load.tally import Tally

#: A function's environments may end the run this much above their size after its first quarter.
RSS_SLACK_RATIO = 0.10
RSS_SLACK_MB = 4.0


def flatness(values: list[float | None]) -> dict[str, Any]:
    """The largest size in the second quarter of the steady window against the largest in its last."""
    known = [v for v in values if v is not None]
    if len(known) < 4:
        return {"after_first_quarter_mb": None, "end_mb": None, "growth_mb": None, "flat": False}
    quarter = max(1, len(known) // 4)
    early = max(known[quarter : 2 * quarter])
    late = max(known[-quarter:])
    growth = late - early
    return {
        "after_first_quarter_mb": round(early, 1),
        "end_mb": round(late, 1),
        "growth_mb": round(growth, 1),
        "flat": growth <= max(RSS_SLACK_MB, early * RSS_SLACK_RATIO),
    }


def schedule_check(record: Run) -> dict[str, Any]:
    """Per instance, every period due in the judged window fired once, on time, and polled."""
    period = record.plan.period
    start, end = record.window
    by_instance: dict[str, list[Poll]] = defaultdict(list)
    ramp = Counter(not p.ran for p in record.polls if p.due < start)
    judged = [p for p in record.polls if start <= p.due < end]
    for poll in judged:
        by_instance[poll.instance].append(poll)
    gaps = 0
    short: list[str] = []
    for instance in record.instances:
        polls = sorted(by_instance.get(instance, []), key=lambda p: p.due)
        gaps += sum(1 for a, b in itertools.pairwise(polls) if b.due - a.due > 1.5 * period)
        # A rate schedule is due once a period: a window of n periods holds n or n - 1 due times.
        due = math.floor((end - start) / period)
        if len(polls) < due - 1:
            short.append(f"{instance}: {len(polls)} of {due}")
    ran = [p for p in judged if p.ran]
    skipped = [p for p in judged if not p.ran]
    failed = [p for p in ran if p.result != "polled"]
    lateness = [p.fired - p.due for p in ran]
    durations = [p.seconds for p in ran if p.seconds is not None]
    waits = [p.waited for p in ran]
    return {
        "judged_minutes": round((end - start) / period, 1),
        "polls": len(ran),
        "skipped_periods": len(skipped),
        "skipped_at_minutes": sorted({round((p.due - start) / period) for p in skipped})[:20],
        "gaps_over_a_period": gaps,
        "failed_polls": len(failed),
        "failed_sample": sorted({p.result for p in failed})[:10],
        "instances_short_of_firings": short[:10],
        "ramp_polls": ramp[False],
        "ramp_skipped_periods": ramp[True],
        "lateness_seconds_p50": round(_percentile(lateness, 50), 3),
        "lateness_seconds_p99": round(_percentile(lateness, 99), 3),
        "lateness_seconds_max": round(max(lateness, default=0.0), 3),
        "queued_seconds_p50": round(_percentile(waits, 50), 3),
        "queued_seconds_p99": round(_percentile(waits, 99), 3),
        "queued_seconds_max": round(max(waits, default=0.0), 3),
        "poll_seconds_p50": round(_percentile(durations, 50), 3),
        "poll_seconds_p99": round(_percentile(durations, 99), 3),
        # How close to the edge the run was: the share of the poll environments' time spent
        # polling (near 100 %, fired polls queue and periods are skipped).
        "environments_busy_share": round(
            sum(durations) / (record.plan.concurrency * max(end - start, 1e-9)), 3
        ),
        "ok": bool(ran) and not skipped and gaps == 0 and not failed and not short,
    }


def delivery_check(record: Run, tally: Tally) -> dict[str, Any]:
    """Every change at every instance, acknowledged and signed; none invented."""
    expected = record.expected_events()
    arrived = tally.arrived()
    missing = expected - arrived.keys()
    invented = arrived.keys() - expected
    when = {(c.object_type, c.event_type, c.object_id): c.at for c in record.changes}
    latency = [at - when[key[1:]] for key, at in arrived.items() if key[1:] in when]
    duplicates = sum(n - 1 for n in tally.acknowledged_ids.values() if n > 1)
    return {
        "changes": len(record.changes),
        "expected_events": len(expected),
        "delivered_events": len(expected & arrived.keys()),
        "missing_events": len(missing),
        "missing_sample": sorted(missing)[:10],
        "unexpected_events": len(invented),
        "unexpected_sample": sorted(invented)[:10],
        "notifications_acknowledged": sum(tally.acknowledged_ids.values()),
        "notifications_refused_on_purpose": tally.refused,
        "duplicate_notifications": duplicates,
        "bad_signatures": tally.bad_signatures,
        "change_errors": record.errors[:10],
        "latency_seconds_p50": round(_percentile(latency, 50), 2),
        "latency_seconds_p99": round(_percentile(latency, 99), 2),
        "latency_seconds_max": round(max(latency, default=0.0), 2),
        "ok": bool(expected)
        and not missing
        and not invented
        and tally.bad_signatures == 0
        and not record.errors,
    }


def memory_check(record: Run) -> dict[str, Any]:
    """Each function's environments flat; the stack's own process reported."""
    steady = record.steady - record.started
    first = next((i for i, t in enumerate(record.memory.times) if t >= steady), len(record.memory.times))
    functions = {name: flatness(values[first:]) for name, values in sorted(record.memory.functions.items())}
    stack = record.memory.stack
    return {
        "samples": len(record.memory.times),
        "functions": functions,
        "stack_process_mb": {
            "start": round(stack[0], 1) if stack else None,
            "end": round(stack[-1], 1) if stack else None,
        },
        "series": {
            "seconds": [round(t, 1) for t in record.memory.times],
            "stack_mb": [round(v, 1) for v in stack],
            **{
                name: [None if v is None else round(v, 1) for v in values]
                for name, values in record.memory.functions.items()
            },
        },
        "ok": bool(functions) and all(f["flat"] for f in functions.values()),
    }


def results(record: Run, tally: Tally) -> dict[str, Any]:
    """The figures and the verdict of a run."""
    checks = {
        "schedules": schedule_check(record),
        "deliveries": delivery_check(record, tally),
        "memory": memory_check(record),
    }
    return {
        "plan": {**asdict(record.plan), "simulated_hours": round(record.plan.minutes / 60, 2)},
        "machine": machine(),
        "commit": record.commit or measured_commit(),
        "real_seconds": round(record.ended - record.started, 1),
        "instances": len(record.instances),
        **checks,
        "stalls": record.stalls.summary(*record.window, record.plan.period, record.snapshot_holds),
        "verdict": all(check["ok"] for check in checks.values()),
    }


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1)]
