"""5. Memory: the peak RSS of a poll that drains a large backlog, against a small one.

The poll runs in a child process of its own (``python -m bench.memory --child``), with AWS as a
moto server in another process and the sandbox store in this one, so the child's peak RSS is the
poll function's alone. Pages are streamed (each is reported, enqueued and checkpointed before the
next is fetched), so the peak must not grow with the backlog: the figure compared is the peak for
a small and a large backlog. The large one is the drain benchmark's poll (the same child, under the
store's quota) when it ran in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import pythonpath
from bench.stack import Stack, resource

BACKLOGS = (5_000, 50_000)
#: Growth of the peak from the small to the large backlog that still counts as "does not grow".
TOLERANCE_MB = 10.0
#: The poll function's Timeout in template.yaml.
POLL_TIMEOUT_MS = 300_000


def _status_kb(field: str) -> int:
    """A ``/proc/self/status`` figure in KiB.

    ``VmHWM`` (the peak RSS of this process image) rather than ``ru_maxrss``: Linux carries
    ``ru_maxrss`` across ``execve`` from the forked parent, so the child would inherit the RSS of
    the parent (which holds the sandbox store and its whole backlog) as its own peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def child(instance_id: str) -> dict[str, Any]:
    """In the child: import the poll function, note the RSS, poll once, report the peak."""
    from bench.common import clear_caches
    from bench.invocation import LambdaContext, invoke, silence_logs

    clear_caches()
    import poll_handler

    silence_logs()
    baseline = _status_kb("VmRSS")
    context = LambdaContext(function_name="PollFunction", memory_limit_in_mb=512, timeout_ms=POLL_TIMEOUT_MS)
    cpu0 = time.process_time()
    invocation = invoke(poll_handler.lambda_handler, {"instanceId": instance_id}, context)
    peak = _status_kb("VmHWM")
    return {
        "baseline_mb": round(baseline / 1024, 1),
        "peak_mb": round(peak / 1024, 1),
        "growth_mb": round((peak - baseline) / 1024, 1),
        "events": sum(r["events"] for r in invocation.result["resources"]),
        "outcome": invocation.result["outcome"],
        "poll_s": round(invocation.wall, 3),
        "cpu_s": round(time.process_time() - cpu0, 3),
    }


def measure(stack: Stack, backlog: int, python: str = sys.executable) -> dict[str, Any]:
    """One child poll of ``backlog`` orders."""
    stack.fresh()
    instance = stack.create_instance({"orders": resource()})
    stack.backlog(backlog)
    return poll_in_child(stack, instance, backlog, python)


def poll_in_child(stack: Stack, instance: str, backlog: int, python: str = sys.executable) -> dict[str, Any]:
    """Poll ``instance`` once in a fresh process (AWS must be a server: ``Stack.running(aws_in_process=False)``)."""
    env = {**os.environ, **stack.environment(), "PYTHONPATH": pythonpath()}
    with stack.discarding_queue(interval=0.5):
        output = subprocess.run(  # noqa: S603 - our own interpreter
            [python, "-m", "bench.memory", "--child", instance],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=1800,
        ).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    result["backlog"] = backlog
    result["all_reported"] = result["events"] == backlog
    return result


def run(
    stack: Stack,
    *,
    backlogs: tuple[int, ...] = BACKLOGS,
    python: str = sys.executable,
    large: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Peak RSS for each backlog (``large``: the drain's child poll, if it ran), AWS as a server."""
    cases = [measure(stack, n, python) for n in backlogs if large is None or n != large["backlog"]]
    if large is not None:
        cases.append({**large, "source": "the drain benchmark's poll"})
    cases.sort(key=lambda c: c["backlog"])
    growth = cases[-1]["peak_mb"] - cases[0]["peak_mb"]
    return {
        "cases": cases,
        "peak_growth_small_to_large_mb": round(growth, 1),
        "tolerance_mb": TOLERANCE_MB,
        "met": growth <= TOLERANCE_MB and all(c["all_reported"] for c in cases),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="the child process of the memory benchmark")
    parser.add_argument("--child", required=True, metavar="INSTANCE_ID")
    print(json.dumps(child(parser.parse_args().child)))
