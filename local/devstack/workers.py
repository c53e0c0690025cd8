"""Lambda execution environments: one worker process each, one invocation at a time, like Lambda.

A process per environment keeps what Lambda keeps apart apart: each handler's module-level state
(the API resolver, a batch processor, cached clients), its environment variables and its logs.
The parent talks to a worker over a pipe; a worker that overruns its function's timeout is
killed and replaced, as Lambda would. Workers ignore Ctrl-C: the stack decides when they stop.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

from devstack.functions import FunctionSpec

# Spawned, not forked: the parent runs threads (moto, HTTP servers) that a fork would copy mid-step.
_CONTEXT = multiprocessing.get_context("spawn")
#: Variables that could send a worker to a real AWS account; the local stack has none.
_REAL_AWS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN")


@dataclass(frozen=True)
class Outcome:
    """How one invocation ended: the handler's JSON result, or Lambda's error payload."""

    ok: bool
    payload: Any
    seconds: float

    @property
    def error(self) -> str:
        """``ErrorType: message`` of a failed invocation (empty when it succeeded)."""
        if self.ok or not isinstance(self.payload, dict):
            return ""
        return f"{self.payload.get('errorType', 'Error')}: {self.payload.get('errorMessage', '')}"


def new_drain_deadline() -> Synchronized[float]:
    """A deadline every worker sees: once set, every invocation's remaining time counts down to it."""
    return _CONTEXT.Value("d", 0.0)


class LambdaContext:
    """The context object a Lambda handler receives (what Powertools and the handlers read)."""

    def __init__(
        self, spec: dict[str, Any], request_id: str, deadline: float, drain: Synchronized[float]
    ) -> None:
        self.function_name: str = spec["name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn: str = spec["arn"]
        self.memory_limit_in_mb: int = spec["memory"]
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{spec['name']}"
        self.log_stream_name = f"local/{os.getpid()}"
        self.identity = None
        self.client_context = None
        self._deadline = deadline
        self._drain = drain

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left: the function's timeout, or less once the stack is stopping."""
        deadline = self._deadline
        drain = self._drain.value
        if drain:
            deadline = min(deadline, drain)
        return max(0, int((deadline - time.time()) * 1000))


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorType": error_type or type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(exc),
    }


def _serve(conn: Connection, spec: dict[str, Any], log_path: str, drain: Synchronized[float]) -> None:
    """The worker process: load the handler (Lambda's init phase), then answer invocations until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    log = open(log_path, "a", buffering=1)  # noqa: SIM115 - the worker's stdout for its whole life
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    for name in _REAL_AWS:
        os.environ.pop(name, None)
    os.environ.update(spec["environment"])
    # What Lambda puts on the path: the function's code (/var/task), then its layers (/opt/python).
    sys.path[:0] = [spec["code_dir"], *spec["layer_dirs"]]
    handler: Any = None
    init_error: dict[str, Any] | None = None
    try:
        handler = getattr(importlib.import_module(spec["module"]), spec["attribute"])
    except Exception as exc:  # as in Lambda, a broken init fails every invocation, with its error
        init_error = _error(exc, "Runtime.ImportModuleError")
    conn.send(("ready", init_error))
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the stack is gone
            message = ("stop",)
        if message[0] == "stop":
            # Lambda never tears an environment down politely either; skipping the interpreter's
            # teardown makes stopping the stack quick.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        conn.send(_run(message, handler, init_error, spec, drain))


def _run(
    message: tuple[Any, ...],
    handler: Any,
    init_error: dict[str, Any] | None,
    spec: dict[str, Any],
    drain: Synchronized[float],
) -> tuple[str, bool, str]:
    kind = message[0]
    try:
        if kind == "invoke":
            _, request_id, event_text, deadline = message
            if init_error is not None:
                return ("result", False, json.dumps(init_error))
            context = LambdaContext(spec, request_id, deadline, drain)
            result = handler(json.loads(event_text), context)
        else:  # a stack task run with this function's environment (see devstack.tasks)
            _, target, args = message
            module, _, name = target.partition(":")
            result = getattr(importlib.import_module(module), name)(*json.loads(args))
        # Lambda serializes the result to JSON; a result that cannot be is an error there too.
        return ("result", True, json.dumps(result))
    except Exception as exc:  # an unhandled error is the invocation's outcome, reported to the caller
        return ("result", False, json.dumps(_error(exc)))


class Environment:
    """One execution environment: a worker process with the function's handler loaded."""

    def __init__(self, spec: FunctionSpec, log_path: Path, drain: Synchronized[float]) -> None:
        self.spec = spec
        self._conn, child = _CONTEXT.Pipe()
        boot = {
            "name": spec.name,
            "arn": spec.arn,
            "memory": spec.memory,
            "module": spec.module,
            "attribute": spec.attribute,
            "code_dir": str(spec.code_dir),
            "layer_dirs": [str(p) for p in spec.layer_dirs],
            "environment": dict(spec.environment),
        }
        self._process = _CONTEXT.Process(
            target=_serve,
            args=(child, boot, str(log_path), drain),
            name=f"lambda:{spec.logical_id}",
            daemon=True,
        )
        # The child reads the shared deadline while starting: it must outlive the start.
        self._drain = drain
        self._process.start()
        child.close()
        self._ready = False
        self._ready_lock = threading.Lock()
        self.alive = True

    @property
    def pid(self) -> int | None:
        """The worker process's id (None once it is gone)."""
        return self._process.pid if self.alive else None

    def wait_ready(self) -> None:
        """Wait for the end of the cold start (the handler imported); raise RuntimeError if it never ends."""
        with self._ready_lock:
            if self._ready:
                return
            # Imports of a cold start take a second or two; much longer means the worker is stuck.
            if not self._conn.poll(60):
                raise RuntimeError(f"{self.spec.logical_id} did not start within 60 s")
            self._conn.recv()
            self._ready = True

    def invoke(self, event: Any, request_id: str | None = None) -> Outcome:
        """Run the handler once with the function's timeout."""
        started = time.monotonic()
        deadline = time.time() + self.spec.timeout
        message = ("invoke", request_id or str(uuid.uuid4()), json.dumps(event), deadline)
        return self._exchange(message, self.spec.timeout, started)

    def task(self, target: str, args: list[Any], timeout: float = 30) -> Outcome:
        """Run ``module:function(*args)`` inside this environment (for stack chores needing the core)."""
        return self._exchange(("task", target, json.dumps(args)), timeout, time.monotonic())

    def _exchange(self, message: tuple[Any, ...], timeout: float, started: float) -> Outcome:
        try:
            self.wait_ready()
            self._conn.send(message)
            # One second of grace beyond the timeout: the handler saw the deadline and may be returning.
            if not self._conn.poll(timeout + 1):
                self.close(force=True)
                error = {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"Task timed out after {timeout:.0f} seconds",
                }
                return Outcome(False, error, time.monotonic() - started)
            _, ok, text = self._conn.recv()
        except (EOFError, OSError, RuntimeError) as exc:
            self.close(force=True)
            return Outcome(False, _error(exc, "Runtime.ExitError"), time.monotonic() - started)
        return Outcome(bool(ok), json.loads(text), time.monotonic() - started)

    def close(self, *, force: bool = False) -> None:
        """Stop the worker: politely, or at once (a timed-out or broken one)."""
        if not self.alive:
            return
        self.alive = False
        if not force and self._ready:  # one still importing would read "stop" only when done
            with contextlib.suppress(OSError):
                self._conn.send(("stop",))
            self._process.join(2)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(2)
        self._conn.close()
