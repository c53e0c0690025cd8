"""What every benchmark shares: where the code is, the machine and commit measured, the functions' environment.

The product's modules (the Lambda layer, the three functions) and the local stack are made
importable from here; a function's environment is set in this process as Lambda would set it, with
the core's cached settings and clients dropped each time. The pieces of a measure live beside
this: :mod:`bench.emulator` (emulated AWS), :mod:`bench.calls` (AWS calls counted and billed),
:mod:`bench.invocation` (a handler called and timed) and :mod:`bench.stack` (all of it with the
sandbox store and a callback receiver).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: Where the product's modules live (the Lambda layer and the three functions) and the local stack.
CODE_PATHS = ("layers/core", "functions/api", "functions/poll", "functions/deliver", "local")
REGION = "us-east-1"


def add_code_paths() -> None:
    """Make the product's modules importable (``make bench`` also sets PYTHONPATH)."""
    for relative in (*reversed(CODE_PATHS), "."):
        path = str(ROOT / relative)
        if path not in sys.path:
            sys.path.insert(0, path)


def pythonpath() -> str:
    """PYTHONPATH for a child process that imports the product and the bench."""
    return os.pathsep.join([str(ROOT / p) for p in CODE_PATHS] + [str(ROOT)])


def median(values: list[float]) -> float:
    """The median (0 for no values)."""
    return float(statistics.median(values)) if values else 0.0


def machine() -> dict[str, Any]:
    """The machine a result was measured on (no paths, no host names)."""
    model = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.machine()}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }


def _git(*args: str) -> str:
    done = subprocess.run(  # noqa: S603 - fixed read-only git commands
        ["git", *args],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip()


def measured_commit() -> str:
    """The commit measured, marked when the product's code differs from it (others edit the tree)."""
    commit = _git("rev-parse", "--short", "HEAD") or "?"
    changed = _git("status", "--porcelain", "--", "layers", "functions", "local", "template.yaml")
    return f"{commit} + uncommitted changes to the product" if changed else commit


# --- the environment ---------------------------------------------------------------------------
def lambda_environment(endpoint: str | None = None) -> dict[str, str]:
    """The variables every function gets (the tables and queues are added once they exist)."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        **({"AWS_ENDPOINT_URL": endpoint} if endpoint else {}),
        "POWERTOOLS_SERVICE_NAME": "bigcommerce-events",
        "POWERTOOLS_METRICS_NAMESPACE": "BigCommerceEvents",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "ALLOW_PRIVATE_NETWORKS": "true",
        "POLL_FUNCTION_ARN": f"arn:aws:lambda:{REGION}:123456789012:function:bcevents-PollFunction",
        "SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/bcevents-SchedulerRole",
    }


def apply_environment(values: dict[str, str]) -> None:
    """Set the variables in this process and drop every cached setting and client of the core."""
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA"):
        os.environ.pop(key, None)
    os.environ.update(values)
    clear_caches()


def clear_caches() -> None:
    """Forget the core's per-process caches (settings, boto3 clients), as a new Lambda would."""
    for name, module in list(sys.modules.items()):
        if name.startswith("bcevents") or name in ("deliver_handler", "poll_handler", "api_handler"):
            for value in vars(module).values():
                if callable(getattr(value, "cache_clear", None)) and hasattr(value, "cache_info"):
                    value.cache_clear()


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
