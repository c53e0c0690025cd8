"""The functions' runtime: a pool of execution environments per function, sync and async invocations.

Every trigger of the local stack (the API bridge, the Lambda endpoint, the scheduler, the SQS
event source) invokes through here, so there is one place that knows how a function runs.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from devstack.console import Console
from devstack.functions import FunctionSpec
from devstack.workers import Environment, Outcome, new_drain_deadline


def summary(outcome: Outcome) -> str:
    """A few words on how an invocation went (a poll says what it found)."""
    if not outcome.ok:
        return f"failed ({outcome.error})"
    result = outcome.payload
    if isinstance(result, dict) and "outcome" in result:
        events = sum(r.get("events", 0) for r in result.get("resources", []) if isinstance(r, dict))
        return f"{result['outcome']}, {events} event{'' if events == 1 else 's'}"
    return "ok"


class Gate:
    """Lets work run, or holds new work back while a snapshot of the state is taken.

    Each unit of work (an API request, a poll, an SQS batch from receive to delete) enters the
    gate; a snapshot closes it and waits until nothing is inside, so what it saves is consistent.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._active = 0
        self._closed = False

    def enter(self) -> Callable[[], None]:
        """Wait until the gate is open, count the caller in; returns the function that counts it out."""
        with self._condition:
            self._condition.wait_for(lambda: not self._closed)
            self._active += 1

        def leave() -> None:
            with self._condition:
                self._active -= 1
                self._condition.notify_all()

        return leave

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """``enter`` as a context manager."""
        leave = self.enter()
        try:
            yield
        finally:
            leave()

    @contextlib.contextmanager
    def closed(self, timeout: float) -> Iterator[bool]:
        """Hold new work back and wait up to ``timeout`` for running work; yields whether all finished."""
        with self._condition:
            self._closed = True
            quiet = self._condition.wait_for(lambda: self._active == 0, timeout)
        try:
            yield quiet
        finally:
            with self._condition:
                self._closed = False
                self._condition.notify_all()

    @property
    def idle(self) -> bool:
        """Whether nothing is running right now."""
        with self._condition:
            return self._active == 0


class FunctionPool:
    """Up to ``size`` execution environments of one function; an invocation borrows an idle one."""

    def __init__(self, spec: FunctionSpec, size: int, log_path: Path, drain: Any) -> None:
        self.spec = spec
        self._size = size
        self._log_path = log_path
        self._drain = drain
        self._idle: list[Environment] = []
        self._busy: set[Environment] = set()
        self._count = 0
        self._condition = threading.Condition()
        self._waiting: deque[object] = deque()  # one ticket per thread waiting for an environment
        self._closed = False

    def warm(self) -> None:
        """Start one environment ahead of the first invocation and wait for its cold start."""
        with self._condition:
            if self._count:
                return
            env = Environment(self.spec, self._log_path, self._drain)
            self._idle.append(env)
            self._count += 1
        with contextlib.suppress(
            RuntimeError, EOFError, OSError
        ):  # a broken start shows at the first invocation
            env.wait_ready()

    def _acquire(self) -> Environment:
        # First come, first served: a thread woken by a release would otherwise race every thread
        # arriving meanwhile, lose, and wait again at the back; under a backlog one invocation
        # could wait many turns while later ones ran, and a poll outwait its schedule's period.
        with self._condition:
            ticket = object()
            self._waiting.append(ticket)
            try:
                while not self._closed and not (
                    self._waiting[0] is ticket and (self._idle or self._count < self._size)
                ):
                    self._condition.wait()
            finally:
                self._waiting.remove(ticket)
                self._condition.notify_all()  # the next in line may go now
            if self._closed:
                raise RuntimeError(f"{self.spec.logical_id} is shut down")
            if self._idle:
                env = self._idle.pop()
            else:
                self._count += 1
                try:
                    env = Environment(self.spec, self._log_path, self._drain)
                except BaseException:
                    self._count -= 1  # the slot is free again for whoever is next
                    self._condition.notify_all()
                    raise
            self._busy.add(env)
            return env

    def _release(self, env: Environment) -> None:
        with self._condition:
            self._busy.discard(env)
            if env.alive and not self._closed:
                self._idle.append(env)
            else:
                self._count -= 1
                env.close()
            self._condition.notify_all()  # the first in line takes it

    def pids(self) -> list[int]:
        """The process ids of this function's live environments, idle or busy."""
        with self._condition:
            environments = [*self._idle, *self._busy]
        return [pid for pid in (env.pid for env in environments) if pid is not None]

    def invoke(self, event: Any) -> Outcome:
        """One invocation in an environment of this function."""
        env = self._acquire()
        try:
            return env.invoke(event, str(uuid.uuid4()))
        finally:
            self._release(env)

    def task(self, target: str, args: list[Any]) -> Outcome:
        """Run a stack chore in an environment of this function."""
        env = self._acquire()
        try:
            return env.task(target, args)
        finally:
            self._release(env)

    def close(self, *, kill_busy: bool = False) -> None:
        """Stop idle environments now; busy ones when their invocation returns, or at once if told."""
        with self._condition:
            self._closed = True
            idle, self._idle = self._idle, []
            busy = list(self._busy) if kill_busy else []
            self._condition.notify_all()
        for env in idle:
            env.close()
        for env in busy:
            env.close(force=True)


class Runtime:
    """Invokes the template's functions by name or ARN, synchronously or as Lambda's async ``Event``."""

    def __init__(
        self,
        functions: Mapping[str, FunctionSpec],
        resolve: Callable[[str], FunctionSpec | None],
        *,
        log_path: Path,
        console: Console,
        concurrency: int = 2,
    ) -> None:
        self.gate = Gate()
        self.console = console
        self._resolve = resolve
        self._drain = new_drain_deadline()
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._pools = {
            name: FunctionPool(spec, concurrency, log_path, self._drain) for name, spec in functions.items()
        }
        self._async = ThreadPoolExecutor(max_workers=4 * concurrency, thread_name_prefix="lambda-async")
        self._running: set[Future[Outcome]] = set()
        self._running_lock = threading.Lock()

    def warm(self, first: str) -> None:
        """Start one environment per function: ``first`` now, the others one by one in the background.

        A cold start is a second or two of imports; one at a time, the one needed first
        (to bootstrap the organization) is not slowed down by the others.
        """
        self._pools[first].warm()
        others = [pool for name, pool in self._pools.items() if name != first]

        def warm_others() -> None:
            for pool in others:
                pool.warm()

        threading.Thread(target=warm_others, name="warm", daemon=True).start()

    def processes(self) -> dict[str, list[int]]:
        """Each function's live execution environments, as process ids (to watch their memory)."""
        return {name: pool.pids() for name, pool in self._pools.items()}

    def resolve(self, name: str) -> FunctionSpec | None:
        """The function a ``FunctionName`` (ARN, name or logical id) designates."""
        return self._resolve(name)

    def invoke(self, spec: FunctionSpec, event: Any) -> Outcome:
        """Run the function now and return its outcome (the caller holds the gate)."""
        return self._pools[spec.logical_id].invoke(event)

    def invoke_async(
        self, spec: FunctionSpec, event: Any, done: Callable[[Outcome], None] | None = None
    ) -> Future[Outcome]:
        """Queue an ``Event`` invocation: it runs in the background, inside the gate."""

        def run() -> Outcome:
            with self.gate.entered():
                outcome = self.invoke(spec, event)
            if done is not None:
                done(outcome)
            return outcome

        future = self._async.submit(run)
        with self._running_lock:
            self._running.add(future)
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: Future[Outcome]) -> None:
        with self._running_lock:
            self._running.discard(future)

    def task(self, function: str, target: str, *args: Any) -> Any:
        """Run ``module:function`` with a function's environment; raise RuntimeError if it fails."""
        outcome = self._pools[function].task(target, list(args))
        if not outcome.ok:
            raise RuntimeError(f"{target} failed: {outcome.error}")
        return outcome.payload

    def drain(self, seconds: float) -> bool:
        """Stop taking async invocations and tell running ones their time ends in ``seconds``.

        A handler that watches its remaining time (the poller does) checkpoints and returns;
        returns whether every async invocation finished within ``seconds`` plus a little grace.
        Invocations accepted but not started yet are dropped: the next schedule polls anyway.
        """
        self._drain.value = time.time() + seconds
        self._async.shutdown(wait=False, cancel_futures=True)
        with self._running_lock:
            running = list(self._running)
        _, pending = wait(running, timeout=seconds + 3)
        return not pending

    def close(self) -> None:
        """Stop every environment, killing any still busy after the drain."""
        self._async.shutdown(wait=False, cancel_futures=True)
        # In parallel: each worker takes a moment to exit (its interpreter tears down boto3 & co.).
        with ThreadPoolExecutor(max_workers=len(self._pools) or 1) as closing:
            for pool in self._pools.values():
                closing.submit(pool.close, kill_busy=True)
