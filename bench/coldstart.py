"""4. Cold start: import time of each handler module, as a ratio to ``import boto3`` alone.

Each sample is a fresh interpreter that imports one module and reports how long the import took
(the interpreter's own start is not included). Rounds interleave the modules, so a noisy moment
hits all of them alike; the figure is the median of the rounds. Bytecode caches are warm (one
unmeasured round first), as they are for the layer's packages in Lambda.

The interpreter should be a virtualenv with exactly the layer's pinned requirements
(``layers/core/requirements.txt``; ``make bench`` builds one): the dev lock has more packages, some
of which botocore imports when present (pyOpenSSL), which would be measured as ours. One
``-X importtime`` run per handler attributes its import time to top-level packages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from bench.common import lambda_environment, median, pythonpath

MODULES = ("boto3", "poll_handler", "deliver_handler", "api_handler")
ROUNDS = 9
TARGET = 1.5

_PROBE = (
    "import time, json; t = time.perf_counter(); import {module}; print(json.dumps(time.perf_counter() - t))"
)


def _environment() -> dict[str, str]:
    env = {**os.environ, **lambda_environment(), "PYTHONPATH": pythonpath()}
    env.pop("AWS_ENDPOINT_URL", None)
    return env


def _fresh(python: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter run with the functions' environment, its output captured."""
    return subprocess.run(  # noqa: S603 - a virtualenv's interpreter
        [python, *args],
        env=_environment(),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )


def import_seconds(module: str, python: str = sys.executable) -> float:
    """Seconds a fresh interpreter takes to import ``module``."""
    output = _fresh(python, "-c", _PROBE.format(module=module)).stdout
    return float(json.loads(output.strip().splitlines()[-1]))


def import_breakdown(module: str, python: str = sys.executable, top: int = 8) -> dict[str, float]:
    """Milliseconds of ``module``'s import spent in each top-level package (``-X importtime`` self times)."""
    stderr = _fresh(python, "-X", "importtime", "-c", f"import {module}").stderr
    totals: dict[str, float] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        package = name.split(".")[0]
        totals[package] = totals.get(package, 0.0) + int(self_us) / 1000
    ranked = sorted(totals.items(), key=lambda kv: kv[1], reverse=True)
    out = {name: round(ms, 1) for name, ms in ranked[:top]}
    out["(other)"] = round(sum(ms for _, ms in ranked[top:]), 1)
    return out


def run(
    *, rounds: int = ROUNDS, python: str = sys.executable, breakdown: bool = True, warm: bool = True
) -> dict[str, Any]:
    """Median import time per module, and each handler's ratio to boto3."""
    for module in MODULES if warm else ():
        import_seconds(module, python)  # warm the bytecode caches
    samples: dict[str, list[float]] = {m: [] for m in MODULES}
    for _ in range(rounds):
        for module in MODULES:
            samples[module].append(import_seconds(module, python))
    medians = {m: median(v) for m, v in samples.items()}
    boto3 = medians["boto3"]
    ratios = {m: round(medians[m] / boto3, 3) for m in MODULES if m != "boto3"}
    return {
        "rounds": rounds,
        "median_ms": {m: round(v * 1000, 1) for m, v in medians.items()},
        "ratio_to_boto3": ratios,
        "samples_ms": {m: [round(s * 1000, 1) for s in v] for m, v in samples.items()},
        "breakdown_ms": {m: import_breakdown(m, python) for m in MODULES} if breakdown else {},
        "target": TARGET,
        "met": all(r <= TARGET for r in ratios.values()),
    }
