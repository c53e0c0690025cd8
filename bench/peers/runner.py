"""6. Peers side by side, in one run, on one sandbox store.

Each peer extracts the same kind of backlog (orders of the sandbox store, one every two seconds,
all changed after ``since``) in a process of its own, in its own virtualenv under
``bench/.venvs/`` (created here with uv, from PyPI, on the Python it needs). The store counts the
HTTP requests; the peer reports records emitted, distinct ids, extraction time, CPU and peak RSS.
Slow peers get smaller inputs (records per second is the comparable figure); runs alternate
between peers and the medians are reported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import ROOT, add_code_paths, median, pythonpath

HERE = Path(__file__).resolve().parent
VENVS = ROOT / "bench" / ".venvs"
STEP_SECONDS = 2
TARGET = 0.5  # (b) at least half of (a)'s records per second
RUNS = 3


@dataclass(frozen=True)
class Peer:
    """A client to compare, how to install it, and how many orders it reads."""

    key: str
    name: str
    script: str
    orders: int
    venv: str | None = None  # None: the bench's own interpreter
    python: str | None = None  # pyenv version for the venv
    packages: tuple[str, ...] = ()


PEERS = (
    Peer("a", "requests + json paging loop (client-side ceiling)", "bare.py", 10_000),
    Peer("b", "our poller's extraction (store → events, before SQS)", "ours.py", 10_000),
    Peer(
        "c",
        "bigcommerce, the official client",
        "official.py",
        2_000,
        "bigcommerce",
        "3.13.0",
        ("bigcommerce==0.23.4",),
    ),
    Peer(
        "d",
        "tap-bigcommerce (Singer)",
        "tap.py",
        1_000,
        "tap-bigcommerce",
        "3.11.7",
        ("tap-bigcommerce==1.1.3",),
    ),
    Peer(
        "e",
        "Airbyte source-bigcommerce",
        "airbyte.py",
        2_000,
        "airbyte",
        "3.10.13",
        ("airbyte-source-bigcommerce==0.2.22", "airbyte-cdk==1.0.0"),
    ),
)


def find_uv() -> str | None:
    """uv: the project's (``.venv/bin/uv``), this interpreter's, or on PATH."""
    for candidate in (ROOT / ".venv" / "bin" / "uv", Path(sys.executable).parent / "uv"):
        if candidate.exists():
            return str(candidate)
    return shutil.which("uv")


def interpreter(version: str) -> str | None:
    """A Python of ``version``: pyenv's, else ``pythonX.Y`` on PATH."""
    with_pyenv = (
        subprocess.run(
            ["pyenv", "which", "python"],  # noqa: S607 - pyenv from PATH, as the Makefile uses it
            env={**os.environ, "PYENV_VERSION": version},
            capture_output=True,
            text=True,
            check=False,
        )
        if shutil.which("pyenv")
        else None
    )
    if with_pyenv is not None and with_pyenv.returncode == 0:
        return with_pyenv.stdout.strip()
    return shutil.which("python" + ".".join(version.split(".")[:2]))


def ensure_venv(peer: Peer) -> tuple[str | None, str]:
    """The peer's interpreter, installing its virtualenv if needed; else None and why not."""
    if peer.venv is None:
        return sys.executable, "the bench's interpreter"
    venv = VENVS / peer.venv
    python = venv / "bin" / "python"
    spec = json.dumps({"python": peer.python, "packages": peer.packages})
    marker = venv / ".bench-spec"
    if python.exists() and marker.exists() and marker.read_text() == spec:
        return str(python), "installed"
    uv = find_uv()
    base = interpreter(peer.python or "")
    if uv is None or base is None:
        return None, f"not run: {'uv' if uv is None else 'Python ' + str(peer.python)} not found"
    steps = [
        [uv, "venv", "-q", "--clear", "--python", base, str(venv)],
        [uv, "pip", "install", "-q", "--python", str(python), *peer.packages],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False, timeout=900)  # noqa: S603
        if done.returncode != 0:
            return None, "did not install: " + (done.stderr.strip().splitlines() or ["?"])[-1][:300]
    marker.write_text(spec)
    return str(python), "installed"


def _backlog(store: Any, orders: int) -> str:
    """A fresh store holding ``orders`` orders, two seconds apart, ending a minute ago; ``since``."""
    store.reset()
    store.settings.update({"rate_limit_quota": 1_000_000, "rate_limit_window_ms": 30_000})
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=orders * STEP_SECONDS + 60)
    store.create_orders(orders, start=start, step_seconds=STEP_SECONDS)
    store.clear_requests()
    return (start - timedelta(seconds=1)).isoformat()


def run_peer(peer: Peer, python: str, server: Any, workdir: Path) -> dict[str, Any]:
    """One extraction by one peer."""
    store = server.store
    since = _backlog(store, peer.orders)
    command = [
        python,
        str(HERE / peer.script),
        "--base-url", server.url,
        "--store-hash", store.store_hash,
        "--access-token", store.access_token,
        "--username", store.username,
        "--password", store.password,
        "--since", since,
        "--workdir", str(workdir),
    ]  # fmt: skip
    env = {
        **os.environ,
        "PYTHONPATH": f"{HERE}{os.pathsep}{pythonpath()}" if peer.venv is None else str(HERE),
    }
    env.pop("AWS_ENDPOINT_URL", None)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=1200)  # noqa: S603
    process_s = time.perf_counter() - started
    requests = store.request_count
    if done.returncode != 0 or not done.stdout.strip():
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1][:300]
        return {"error": f"exit {done.returncode}: {tail}", "requests": requests}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result.update(
        orders=peer.orders,
        requests=requests,
        requests_per_record=round(requests / max(1, result["records"]), 3),
        status_429=sum(1 for r in store.requests if r.status == 429),
        process_s=round(process_s, 3),
        records_per_s=round(result["records"] / result["extract_s"], 1) if result["extract_s"] else 0.0,
        cpu_s_per_10k=round(result["cpu_s"] * 10_000 / max(1, result["records"]), 2),
        emitted_every_record=result["unique_ids"] == peer.orders and result["records"] >= peer.orders,
    )
    return result


def run(*, quick: bool = False, runs: int = RUNS, peers: tuple[Peer, ...] = PEERS) -> dict[str, Any]:
    """Every peer that installs, ``runs`` times, alternating; medians and (b)/(a)."""
    add_code_paths()
    from bcsandbox import SandboxServer, SandboxStore
    from bench.peers import subresources

    subresources.install()
    if quick:
        peers = tuple(
            Peer(p.key, p.name, p.script, 300, p.venv, p.python, p.packages) for p in peers if p.venv is None
        )
        runs = 1
    pythons = {p.key: ensure_venv(p) for p in peers}
    samples: dict[str, list[dict[str, Any]]] = {p.key: [] for p in peers}
    with (
        tempfile.TemporaryDirectory(prefix="bench-peers-") as scratch,
        SandboxServer(SandboxStore()) as server,
    ):
        for _ in range(runs):
            for peer in peers:
                python, _note = pythons[peer.key]
                if python is not None:
                    samples[peer.key].append(run_peer(peer, python, server, Path(scratch)))
    table = [_summary(peer, pythons[peer.key][1], samples[peer.key]) for peer in peers]
    by_key = {row["key"]: row for row in table}
    a, b = by_key.get("a", {}), by_key.get("b", {})
    ratio = None
    if a.get("records_per_s") and b.get("records_per_s"):
        ratio = round(b["records_per_s"] / a["records_per_s"], 3)
    return {
        "runs": runs,
        "peers": table,
        "ours_to_ceiling": ratio,
        "target": TARGET,
        "met": ratio is not None and ratio >= TARGET,
        "samples": samples,
    }


def _summary(peer: Peer, note: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    row: dict[str, Any] = {"key": peer.key, "name": peer.name, "orders": peer.orders, "install": note}
    good = [r for r in runs if "error" not in r]
    errors = [r["error"] for r in runs if "error" in r]
    if errors:
        row["error"] = errors[0]
    if not good:
        row["ran"] = False
        return row
    row["ran"] = True
    for key in (
        "records_per_s",
        "cpu_s_per_10k",
        "peak_rss_mb",
        "requests",
        "requests_per_record",
        "extract_s",
    ):
        row[key] = median([float(r[key]) for r in good])
    row.update(
        client=good[0]["client"],
        python=good[0]["python"],
        records=good[0]["records"],
        unique_ids=good[0]["unique_ids"],
        emitted_every_record=all(r["emitted_every_record"] for r in good),
        status_429=max(r["status_429"] for r in good),
    )
    return row
