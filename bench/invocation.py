"""Calling a handler as Lambda would, and timing it: a Lambda-like context, the logs it writes metered.

Handlers are called in this process; their CPU is the calling thread's (the store and receiver
threads are not counted), less what the in-process AWS emulator spent answering them. Their
structured logs and EMF metrics are not printed but counted in bytes, what CloudWatch Logs would
ingest.
"""

from __future__ import annotations

import contextlib
import io
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bench.emulator import emulator_time


class LogMeter(io.TextIOBase):
    """A stream that counts the bytes written to it (what CloudWatch Logs would ingest) and drops them."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, text: str) -> int:
        self.bytes += len(text.encode())
        return len(text)


LOGS = LogMeter()


def silence_logs() -> None:
    """Send the handlers' structured logs (their cost is part of the measure) to :data:`LOGS`."""
    from bcevents.observability import logger

    handler = logger.registered_handler
    if hasattr(handler, "setStream"):
        handler.setStream(LOGS)


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Metrics are printed (EMF) at the end of each invocation: count them as logs too."""
    with contextlib.redirect_stdout(LOGS):
        yield


@dataclass
class LambdaContext:
    """The parts of a Lambda context the handlers and Powertools read; time left counts down."""

    function_name: str = "bcevents-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:bcevents-function"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    timeout_ms: int = 300_000
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return int(self.timeout_ms - (time.monotonic() - self.started) * 1000)


@dataclass
class Invocation:
    """One handler call: its result, and its wall-clock and CPU seconds without the emulator's."""

    result: Any
    wall: float
    cpu: float
    emulator_wall: float = 0.0
    log_bytes: int = 0


def invoke(handler: Callable[[Any, Any], Any], event: Any, context: LambdaContext) -> Invocation:
    """Call a handler as Lambda would. CPU is this thread's (the store and receiver threads are not
    counted), less what the in-process AWS emulator spent answering it."""
    moto_wall0, moto_cpu0 = emulator_time()
    logged = LOGS.bytes
    wall0, cpu0 = time.perf_counter(), time.thread_time()
    with quiet_stdout():
        result = handler(event, context)
    wall, cpu = time.perf_counter() - wall0, time.thread_time() - cpu0
    moto_wall, moto_cpu = emulator_time()
    moto_wall -= moto_wall0
    return Invocation(result, wall - moto_wall, cpu - (moto_cpu - moto_cpu0), moto_wall, LOGS.bytes - logged)
