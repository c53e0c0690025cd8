"""The local stack as a user runs it: started on free ports, driven over HTTP, stopped.

``local_stack`` runs the stack in this process (one per module: starting costs a few seconds);
``cli_stack`` runs ``python -m devstack`` as ``make local`` does, for stop-and-restart tests.
Both use free ports (never the defaults, so a running ``make local`` is left alone), a small
``LOCAL_MINUTE_SECONDS`` and a short delivery retry schedule.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from callbacks import CallbackReceiver, Delivery, WebhookSecrets
from devstack.config import HOST, LocalSettings
from devstack.console import Console
from devstack.stack import Stack
from tests.support.bodies import legacy_filled

REPO = Path(__file__).resolve().parents[2]
USER_SECRET = "e2e-user-secret"
ORG_SECRET = "e2e-org-secret"
AUTHORIZATION = f"User {USER_SECRET}, Organization {ORG_SECRET}"
#: Real seconds per scheduled minute: an instance polled every minute is polled every half second.
MINUTE_SECONDS = 0.5
RETRY_SCHEDULE = "1,1,2,4"
#: The poller reads the store up to two seconds ago, in whole seconds of the store's clock:
#: three seconds after a change, a poll always sees it.
SETTLE_SECONDS = 3.0


def stack_environment(state_dir: Path) -> dict[str, str]:
    """The LOCAL_* settings of a test stack (free ports, fast schedules, fixed secrets)."""
    return {
        "LOCAL_API_PORT": "0",
        "LOCAL_LAMBDA_PORT": "0",
        "LOCAL_AWS_PORT": "0",
        "LOCAL_SANDBOX_PORT": "0",
        "LOCAL_CALLBACK_PORT": "0",
        "LOCAL_USER_SECRET": USER_SECRET,
        "LOCAL_ORG_SECRET": ORG_SECRET,
        "LOCAL_MINUTE_SECONDS": str(MINUTE_SECONDS),
        "LOCAL_STATE_DIR": str(state_dir),
        "DELIVERY_RETRY_SCHEDULE": RETRY_SCHEDULE,
    }


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A running local stack in this process, shared by a module's tests."""
    state_dir = tmp_path_factory.mktemp("local-stack")
    settings = LocalSettings.from_env({**os.environ, **stack_environment(state_dir)})
    stack = Stack(settings, Console(None)).start()
    try:
        yield stack
    finally:
        stack.stop()


@dataclass
class Receiver:
    """A callback receiver on a free port, and the secrets its instances sign with."""

    handler: CallbackReceiver
    url: str
    secrets: dict[str, WebhookSecrets] = field(default_factory=dict)

    def acknowledged(self) -> list[Delivery]:
        """Deliveries the receiver answered 2xx."""
        return [d for d in self.handler.deliveries() if d.acknowledged]

    def wait_for_events(
        self, expected: set[tuple[str, str, str]], timeout: float = 20
    ) -> set[tuple[str, str, str]]:
        """Wait until every (object type, event type, object id) arrived acknowledged; returns those seen."""

        def arrived(_: list[Delivery]) -> bool:
            return expected <= events_of(self.acknowledged())

        self.handler.wait_for(arrived, timeout)
        return events_of(self.acknowledged())


def events_of(deliveries: list[Delivery]) -> set[tuple[str, str, str]]:
    """The (object type, event type, object id) triples carried by deliveries."""
    return {(e.object_type, e.event_type, e.object_id) for d in deliveries for e in d.events}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A callback receiver in this process (the tests tell it when to fail)."""
    secrets: dict[str, WebhookSecrets] = {}
    handler = CallbackReceiver(secrets.get, host=HOST, name="test-callbacks").start()
    try:
        yield Receiver(handler, handler.url("/callbacks"), secrets)
    finally:
        handler.stop()


class Client:
    """What a user's curl does: the instances API with the bootstrap organization's secrets."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.urls = urls
        self.http = requests.Session()
        self.http.headers["Authorization"] = AUTHORIZATION

    def create_instance(self, callback_url: str, *, minutes: str = "1", **config: Any) -> dict[str, Any]:
        """The seed's legacy body against the sandbox store; returns the created instance."""
        credentials = requests.get(f"{self.urls['sandbox']}/__admin/credentials", timeout=10).json()
        body = legacy_filled(
            credentials["legacy_api_path"], credentials["username"], credentials["password"], callback_url
        )
        body["configuration"].update({"event.poller.refresh_interval": minutes, **config})
        response = self.http.post(f"{self.urls['api']}/instances", json=body, timeout=30)
        assert response.status_code == 200, response.text
        created: dict[str, Any] = response.json()
        return created

    def delete_instance(self, instance_id: int) -> None:
        self.http.delete(f"{self.urls['api']}/instances/{instance_id}", timeout=30)

    def store(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """A sandbox admin call, e.g. ``store("PUT", "/orders/1", {"status_id": 2})``."""
        response = requests.request(
            method, f"{self.urls['sandbox']}/__admin{path}", json=body or {}, timeout=10
        )
        assert response.ok, response.text
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture
def client(local_stack: Stack) -> Client:
    return Client(local_stack.urls)


@pytest.fixture
def instance_cleanup(client: Client) -> Iterator[list[int]]:
    """Instances a test created, deleted afterwards so they stop polling the shared stack."""
    created: list[int] = []
    yield created
    for instance_id in created:
        client.delete_instance(instance_id)


def free_port() -> int:
    """A port nothing listens on right now (for a setting that must stay the same across restarts)."""
    with socket.create_server((HOST, 0)) as sock:
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


class CliStack:
    """``python -m devstack`` in a child process, as ``make local`` starts it."""

    def __init__(self, state_dir: Path, extra: dict[str, str] | None = None) -> None:
        env = {**os.environ, **stack_environment(state_dir), **(extra or {})}
        env["PYTHONPATH"] = os.pathsep.join([str(REPO / "local"), env.get("PYTHONPATH", "")])
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devstack"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(60):
            self.process.kill()
            raise AssertionError("the local stack did not get ready:\n" + "".join(self.output))
        ready = next(line for line in self.output if line.startswith("Local stack ready"))
        self.urls = dict(re.findall(r"(\w+)=(\S+)", ready))

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if line.startswith("Local stack ready"):
                self._ready.set()

    def interrupt(self) -> int:
        """Ctrl-C; returns the exit status once it stopped."""
        self.process.send_signal(signal.SIGINT)
        status = self.process.wait(60)
        self._reader.join(5)
        return status
