"""Emulated AWS for the benchmarks: moto in this process, or moto's server in a child process.

In this process (``mock_aws``) it is fast, and the time moto itself spends answering is measured
so that it can be taken out of a handler's CPU and duration (in Lambda, DynamoDB and SQS run
elsewhere). Where moto's memory must not count (peak RSS), it is a moto server in its own process
instead.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from typing import Any

_emulator = threading.local()
_patched: set[str] = set()


def _time_the_emulator() -> None:
    """Measure the time moto spends answering in this process, so it can be taken out of a handler's."""
    if "stubber" in _patched:
        return
    from moto.core.botocore_stubber import BotocoreStubber

    original = BotocoreStubber.process_request

    def timed(self: Any, request: Any) -> Any:
        wall0, cpu0 = time.perf_counter(), time.thread_time()
        try:
            return original(self, request)
        finally:
            _emulator.wall = getattr(_emulator, "wall", 0.0) + time.perf_counter() - wall0
            _emulator.cpu = getattr(_emulator, "cpu", 0.0) + time.thread_time() - cpu0

    BotocoreStubber.process_request = timed  # type: ignore[method-assign]
    _patched.add("stubber")


def emulator_time() -> tuple[float, float]:
    """(wall, CPU) seconds this thread has spent inside the in-process emulator so far."""
    return getattr(_emulator, "wall", 0.0), getattr(_emulator, "cpu", 0.0)


#: The bench purges the events queue often (see ``Stack.discarding_queue``); SQS allows one purge a minute.
MOTO_SETTINGS = {"MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR": "false"}


class InProcessAws:
    """moto in this process (fast; its time is measured and taken out of the handlers')."""

    url: str | None = None

    def __init__(self) -> None:
        os.environ.update(MOTO_SETTINGS)
        from moto import mock_aws

        _time_the_emulator()
        self._mock = mock_aws()
        self._mock.start()

    def reset(self) -> None:
        """Empty every emulated service."""
        self._mock.reset()

    def stop(self) -> None:
        """Stop emulating."""
        self._mock.stop()


def free_port() -> int:
    """A free loopback port (for a server in another process that must be told its port)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MotoProcess:
    """moto's server in a child process (for measures where moto's memory must not count)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url: str | None = f"http://127.0.0.1:{self.port}"
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **MOTO_SETTINGS},
        )
        self._wait()

    def _wait(self) -> None:
        import requests

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError("the moto server exited at start")
            with contextlib.suppress(requests.RequestException):
                requests.get(f"{self.url}/moto-api/", timeout=2)
                return
            time.sleep(0.1)
        raise RuntimeError("the moto server did not start in 60 s")

    def reset(self) -> None:
        """Empty every emulated service."""
        import requests

        requests.post(f"{self.url}/moto-api/reset", timeout=60)

    def stop(self) -> None:
        """Stop the server."""
        self._process.terminate()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
