"""``load.md`` and ``load.json``: the load run's verdict and the figures behind it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.common import write_json
from bench.load.checks import RSS_SLACK_MB, RSS_SLACK_RATIO


def _mark(ok: bool) -> str:
    return "**held**" if ok else "**FAILED**"


def markdown(result: dict[str, Any]) -> str:
    """``load.md``: the verdict and the figures behind it."""
    plan, m = result["plan"], result["machine"]
    schedules, deliveries, memory = result["schedules"], result["deliveries"], result["memory"]
    stalls = result["stalls"]
    lines = [
        "# Load on the local stack",
        "",
        f"Measured {m['date']} on {m['cpu_model']}, {m['cores']} cores ({m['system']}, Python {m['python']}), "
        f"commit `{result['commit']}`, with `make verify` (`python -m bench.load`). "
        f"{result['instances']} instances on one-minute schedules for {plan['minutes']} simulated minutes "
        f"({plan['simulated_hours']:g} h; a minute lasted {plan['minute_seconds']:g} s, "
        f"the run {result['real_seconds'] / 60:.1f} min), the store changed "
        f"{plan['changes_per_minute']:g} time(s) a simulated minute, every {plan['fail_every']}th "
        "notification answered 503. Verdict: "
        + ("**every check held**." if result["verdict"] else "**a check failed**."),
        "",
        "| check | measured | |",
        "|---|---|---|",
        f"| no missed schedule | {schedules['polls']:,} polls; {schedules['skipped_periods']} skipped periods, "
        f"{schedules['gaps_over_a_period']} gaps over a period, {schedules['failed_polls']} failed polls, "
        f"{len(schedules['instances_short_of_firings'])} instances short of firings | {_mark(schedules['ok'])} |",
        f"| every change delivered | {deliveries['delivered_events']:,} of {deliveries['expected_events']:,} "
        f"events ({deliveries['changes']} changes x {result['instances']} instances), "
        f"{deliveries['unexpected_events']} unexpected, {deliveries['bad_signatures']} bad signatures | "
        f"{_mark(deliveries['ok'])} |",
        "| memory flat (function environments) | "
        + "; ".join(
            f"{name} {f['after_first_quarter_mb']} → {f['end_mb']} MB"
            for name, f in memory["functions"].items()
        )
        + f" | {_mark(memory['ok'])} |",
        "",
        "## Schedules",
        "",
        "| firing lateness p50 / p99 / max (s) | queued for an environment p50 / p99 / max (s) | "
        "poll duration p50 / p99 (s) |",
        "|---|---|---|",
        f"| {schedules['lateness_seconds_p50']} / {schedules['lateness_seconds_p99']} / "
        f"{schedules['lateness_seconds_max']} | {schedules['queued_seconds_p50']} / "
        f"{schedules['queued_seconds_p99']} / {schedules['queued_seconds_max']} | "
        f"{schedules['poll_seconds_p50']} / {schedules['poll_seconds_p99']} |",
        "",
        "Lateness is from when a period was due to when the local scheduler fired it (it looks "
        f"every {min(1.0, max(0.05, plan['minute_seconds'] / 4)):g} s); a fired poll then queues "
        f"until one of the {plan['concurrency']} environments is free. A period that comes while "
        "the instance's previous poll is still queued or running is skipped, and counts as missed"
        + (
            f" (skipped at simulated minutes {', '.join(map(str, schedules['skipped_at_minutes']))})."
            if schedules["skipped_at_minutes"]
            else "."
        ),
        "",
        f"The {plan['concurrency']} poll environments were busy "
        f"{schedules.get('environments_busy_share', 0) * 100:.0f} % of the judged window (the polls' "
        "durations summed): the rest is the headroom this machine left. The nearer to 100 %, the "
        "longer a fired poll queues for an environment and the sooner a period is skipped.",
        "",
        f"The stack's own process (the emulated AWS, the store, this receiver) stalled "
        f"{stalls['stalls_over_half_a_second']} times for half a second or more (longest "
        f"{stalls['stall_seconds_max']} s, {stalls['stall_seconds_total']} s in all) and ran "
        f"{stalls['full_collections']} full garbage collections (longest "
        f"{stalls['full_collection_seconds_max']} s) in the judged window; its {stalls['snapshots']} "
        f"snapshots of the local state held work back for up to {stalls['snapshot_hold_seconds_max']} s.",
        "",
        "## Deliveries",
        "",
        "| notifications acknowledged | refused on purpose (retried) | duplicates | "
        "change → acknowledged p50 / p99 / max (s) |",
        "|---|---|---|---|",
        f"| {deliveries['notifications_acknowledged']:,} | {deliveries['notifications_refused_on_purpose']:,} | "
        f"{deliveries['duplicate_notifications']} | {deliveries['latency_seconds_p50']} / "
        f"{deliveries['latency_seconds_p99']} / {deliveries['latency_seconds_max']} |",
        "",
        "A duplicate is a notification id acknowledged more than once. Latency includes the poller "
        "reading the store up to two seconds ago, the wait for the next poll and the retries of "
        "refused notifications.",
        "",
        "## Memory",
        "",
        "| process | after the first quarter (MB) | at the end (MB) | growth (MB) | flat |",
        "|---|---|---|---|---|",
        *(
            f"| {name} (largest environment) | {f['after_first_quarter_mb']} | {f['end_mb']} | "
            f"{f['growth_mb']} | {f['flat']} |"
            for name, f in memory["functions"].items()
        ),
        f"| the stack's own process | {memory['stack_process_mb']['start']} (start) | "
        f"{memory['stack_process_mb']['end']} | | reported |",
        "",
        f"{memory['samples']} samples of VmRSS. Flat means the end is at most "
        f"{RSS_SLACK_RATIO:.0%} (or {RSS_SLACK_MB:g} MB) above the largest size of the run's second "
        "quarter, once every environment has warmed up. The stack's own process holds the AWS "
        "emulator, whose tables keep every event and attempt written (TTL is not applied by the "
        "emulator), the sandbox store and this receiver: it grows with the events by design.",
        "",
    ]
    return "\n".join(lines)


def write(result: dict[str, Any], out: Path) -> None:
    """``load.json`` and ``load.md`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "load.json", result)
    (out / "load.md").write_text(markdown(result), encoding="utf-8")
