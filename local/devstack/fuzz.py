"""``python -m devstack.fuzz`` (``make fuzz``): schemathesis's own CLI against the local stack.

Starts the local stack on loopback (free ports, a throwaway state directory), gives its bootstrap
organization instances on the sandbox store and a notification in one instance's event log, then
runs ``st run`` on the served OpenAPI document with every check (``--checks all``) and every phase
(examples, coverage, fuzzing, stateful), authenticated as that organization. The exceptions to
the checks, each with its reason, are in ``devstack/schemathesis.toml``; this module appends
dictionaries of the ids it provisioned, so generated requests reach real instances as well as
missing ones. Exits with st's status: 0 only when no check failed. Arguments it does not know go
to ``st run`` (``--max-time 600``, ``--seed 7``...).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from devstack.config import LocalSettings, SettingError
from devstack.console import Console
from devstack.demo_story import legacy_body
from devstack.stack import Stack, StackError

SETTINGS = Path(__file__).with_name("schemathesis.toml")
PHASES = "examples,coverage,fuzzing,stateful"
#: Instances the fuzzer may change or delete; the first also has a notification in its log.
INSTANCES = 3
#: Every record of the sandbox's seed but the newest is a minute old or more: a backfill from
#: this date reports them on the first poll, without waiting for a change to settle.
BACKFILL_FROM = "2000-01-01T00:00:00Z"


@dataclass(frozen=True)
class Fixtures:
    """What the fuzzer is given to reach real resources: instance ids and a notification id."""

    instances: list[int]
    notification: str


@dataclass(frozen=True)
class Outcome:
    """How ``st run`` ended: its exit status and what it printed."""

    status: int
    output: str


def provision(api: str, sandbox: str, authorization: str, callback_url: str) -> Fixtures:
    """Create the instances (the demo's legacy body, orders backfilled) and wait for a notification."""
    http = requests.Session()
    http.headers["Authorization"] = authorization
    credentials = _ok(http.get(f"{sandbox}/__admin/credentials", timeout=10))
    instances = []
    for n in range(INSTANCES):
        body = legacy_body(
            credentials["legacy_api_path"], credentials["username"], credentials["password"], callback_url
        )
        body["name"] = f"fuzz-{n}"
        body["configuration"]["event.poller.configuration"]["orders"]["backfillFrom"] = BACKFILL_FROM
        instances.append(int(_ok(http.post(f"{api}/instances", json=body, timeout=30))["id"]))
    _ok(http.post(f"{api}/instances/{instances[0]}/events/poll", timeout=30))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        page = _ok(http.get(f"{api}/instances/{instances[0]}/events", timeout=30))
        if page["notifications"]:
            return Fixtures(instances, str(page["notifications"][0]["id"]))
        time.sleep(0.2)
    raise StackError("the first poll made no notification within 30 s (see the function logs)")


def configuration(fixtures: Fixtures, directory: Path) -> Path:
    """``schemathesis.toml`` with dictionaries of the provisioned ids; returns its path."""
    ids = ", ".join(str(i) for i in fixtures.instances)
    added = f"""
# Added by devstack.fuzz: real ids, used for most generated path parameters (the rest stay random).
[dictionaries]
instances = {{ values = [{ids}] }}
with_notification = {{ values = [{fixtures.instances[0]}] }}
notifications = {{ values = ["{fixtures.notification}"] }}

[parameters]
"path.instance_id" = {{ dictionary = "instances", probability = 0.8 }}
"path.notification_id" = {{ dictionary = "notifications", probability = 0.8 }}

[[operations]]
include-path-regex = "notification_id"
parameters = {{ "path.instance_id" = {{ dictionary = "with_notification", probability = 0.8 }} }}
"""
    path = directory / "schemathesis.toml"
    path.write_text(SETTINGS.read_text() + added)
    return path


def st_command(config: Path, schema_url: str, authorization: str, st_args: list[str]) -> list[str]:
    """``st run`` with every check and phase, authenticated, and the caller's arguments last."""
    st = Path(sys.executable).with_name("st")
    return [
        str(st) if st.exists() else "st",
        "--no-color",
        "--config-file",
        str(config),
        "run",
        schema_url,
        "--checks",
        "all",
        "--phases",
        PHASES,
        "--header",
        f"Authorization: {authorization}",
        "--generation-database",
        "none",
        *st_args,
    ]


def fuzz(settings: LocalSettings, st_args: list[str], *, echo: bool = False) -> Outcome:
    """Start the stack, provision it, run ``st run`` against it, stop it; st's status and output."""
    stack = Stack(settings, Console(None), snapshot_seconds=3600)
    try:
        stack.start()
        urls = stack.urls
        fixtures = provision(urls["api"], urls["sandbox"], stack.authorization, urls["callbacks"])
        config = configuration(fixtures, settings.state_dir)
        command = st_command(config, f"{urls['api']}/openapi.json", stack.authorization, st_args)
        run = subprocess.run(  # noqa: S603 - the venv's st, our arguments and the caller's
            command,
            cwd=settings.state_dir,
            stdout=None if echo else subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        return Outcome(run.returncode, run.stdout or "")
    finally:
        stack.stop(save=False)


def main(argv: list[str] | None = None) -> int:
    """Run the fuzzer; returns st's exit status (2 when the stack could not start)."""
    parser = argparse.ArgumentParser(prog="python -m devstack.fuzz", description=__doc__.split("\n")[0])
    parser.add_argument("--max-examples", type=int, default=400, help="test cases per operation and phase")
    parser.add_argument("--workers", default="2", help="st's concurrent workers (2 cores: 2)")
    options, st_args = parser.parse_known_args(argv)
    try:
        base = LocalSettings.from_env()
    except SettingError as exc:
        print(f"fuzz: {exc}", file=sys.stderr)
        return 2
    state_dir = Path(tempfile.mkdtemp(prefix="bcevents-fuzz-"))
    settings = base.on_free_ports(state_dir=state_dir)
    args = ["--max-examples", str(options.max_examples), "--workers", options.workers, *st_args]
    try:
        outcome = fuzz(settings, args, echo=True)
    except (StackError, requests.RequestException) as exc:
        print(f"fuzz: {exc} (function logs in {state_dir / 'logs'})", file=sys.stderr)
        return 2
    if outcome.status == 0:
        shutil.rmtree(state_dir, ignore_errors=True)
    else:
        print(
            f"fuzz: st run failed; function logs in {state_dir / 'logs' / 'functions.log'}", file=sys.stderr
        )
    return outcome.status


def _ok(response: requests.Response) -> Any:
    if not response.ok:
        raise StackError(
            f"{response.request.method} {response.url} → {response.status_code}: {response.text}"
        )
    return response.json()


if __name__ == "__main__":
    sys.exit(main())
