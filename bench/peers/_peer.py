"""What every peer script shares (standard library only: each runs in the peer's own virtualenv).

A peer script reads its arguments, extracts every order changed since ``--since`` from the
sandbox store, and prints one JSON line: records emitted, distinct order ids, the extraction's
wall-clock and CPU seconds (interpreter start and imports excluded) and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


def arguments() -> argparse.Namespace:
    """The store to read and how."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True, help="the sandbox store, e.g. http://127.0.0.1:8010")
    parser.add_argument("--store-hash", required=True)
    parser.add_argument("--access-token", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--since", required=True, help="ISO 8601 UTC: report orders modified after this")
    parser.add_argument("--workdir", required=True, help="a scratch folder for configs and output")
    return parser.parse_args()


def _peak_rss_mb() -> float:
    # VmHWM: the peak of this process image (ru_maxrss would include the parent's RSS at fork).
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def measure(extract: Callable[[], Iterable[Any]], **extra: Any) -> None:
    """Run ``extract`` (which yields one order id per record emitted) and print the figures."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    ids = list(extract())
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    result = {
        "records": len(ids),
        "unique_ids": len({str(i) for i in ids}),
        "extract_s": round(wall, 4),
        "cpu_s": round(cpu, 4),
        "peak_rss_mb": _peak_rss_mb(),
        "python": sys.version.split()[0],
        **extra,
    }
    print(json.dumps(result), file=sys.__stdout__, flush=True)


def version(distribution: str) -> str:
    """An installed distribution's version."""
    from importlib.metadata import version as installed

    return installed(distribution)


def records_in(path: Path, kind: str, stream: str = "orders") -> list[Any]:
    """The order ids in a Singer or Airbyte message file (one JSON message a line)."""
    ids: list[Any] = []
    with path.open() as handle:
        for line in handle:
            if not line.startswith("{"):
                continue
            message = json.loads(line)
            if kind == "singer" and message.get("type") == "RECORD" and message.get("stream") == stream:
                ids.append(message["record"].get("id"))
            elif kind == "airbyte" and message.get("type") == "RECORD":
                record = message["record"]
                if record.get("stream") == stream:
                    ids.append(record["data"].get("id"))
    return ids
