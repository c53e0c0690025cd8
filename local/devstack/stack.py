"""The local stack: the emulator, the sandbox store, the functions and everything that triggers them.

Start order: bind every port (so a busy one fails fast), create the template's resources in the
emulator, restore the saved state (or seed the sandbox), make sure the bootstrap organization
exists, then start triggering. Stop order is the reverse of triggering: nothing new is accepted,
work in progress finishes (polls are told their time is up), the state is saved, then servers stop.
"""

from __future__ import annotations

import gc
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from bcsandbox import SandboxServer, SandboxStore
from callbacks import CallbackReceiver, WebhookSecrets, describe
from devstack import provision, state
from devstack.apigw import ApiBridge
from devstack.config import HOST, LocalSettings
from devstack.console import Console
from devstack.emulator import MotoServer
from devstack.functions import ACCOUNT_ID, REGION
from devstack.httpserver import HttpRequest, HttpResponse, LoopbackServer
from devstack.lambda_endpoint import LambdaEndpoint
from devstack.resources import create_resources
from devstack.runtime import Runtime
from devstack.scheduler import Firing, LocalScheduler
from devstack.sqs_source import SqsEventSource

_Server = TypeVar("_Server", MotoServer, LoopbackServer, SandboxServer, CallbackReceiver)

#: Seconds a running poll gets to checkpoint and return when the stack stops.
DRAIN_SECONDS = 5.0
#: Snapshots (and attempts at one) hold work back for at most 1/50 of the time.
SNAPSHOT_SHARE_INVERSE = 50


class StackError(RuntimeError):
    """The local stack cannot start as configured (the message says what to change)."""


class Stack:
    """Everything of the local stack in one object: ``start()``, then ``stop()``."""

    def __init__(
        self,
        settings: LocalSettings,
        console: Console | None = None,
        snapshot_seconds: float = 30,
        on_firing: Callable[[Firing], None] | None = None,
        *,
        freeze_gc: bool = False,
    ) -> None:
        self.settings = settings
        #: Freeze what is alive out of garbage collection after each periodic snapshot: for a
        #: process that is the stack (``python -m devstack``, the load run), not for one that
        #: only hosts it for a while (tests).
        self.freeze_gc = freeze_gc
        self._froze = False
        self._on_firing = on_firing
        self.console = console or Console()
        self.snapshot_seconds = snapshot_seconds
        self.authorization = ""
        self.urls: dict[str, str] = {}
        self.store: SandboxStore | None = None
        self._servers: list[Any] = []
        self._runtime: Runtime | None = None
        self._scheduler: LocalScheduler | None = None
        self._sources: list[SqsEventSource] = []
        self._emulator: state.Emulator | None = None
        self._state = state.StateFile(settings.state_dir)
        self._stopped = threading.Event()
        self._snapshotter: threading.Thread | None = None
        self._api_bridge: ApiBridge | None = None
        self._lambda_endpoint: LambdaEndpoint | None = None
        self._secrets_cache: dict[str, tuple[float, WebhookSecrets | None]] = {}
        self._task_function = ""
        #: The last snapshots: (when, seconds work was held back while the state was read).
        self.snapshot_holds: deque[tuple[float, float]] = deque(maxlen=1000)

    # --- start ------------------------------------------------------------------------------
    def start(self) -> Stack:
        """Bring everything up; raise StackError (having stopped what started) if it cannot."""
        try:
            self._start()
        except BaseException:
            self.stop(save=False)
            raise
        return self

    def _start(self) -> None:
        s = self.settings
        s.state_dir.mkdir(parents=True, exist_ok=True)
        moto = self._serve("LOCAL_AWS_PORT", s.aws_port, lambda: MotoServer(HOST, s.aws_port))
        api = self._serve(
            "LOCAL_API_PORT", s.api_port, lambda: LoopbackServer("api", self._answer_api, HOST, s.api_port)
        )
        invoke = self._serve(
            "LOCAL_LAMBDA_PORT",
            s.lambda_port,
            lambda: LoopbackServer("lambda", self._answer_invoke, HOST, s.lambda_port),
        )
        callbacks = self._serve(
            "LOCAL_CALLBACK_PORT",
            s.callback_port,
            lambda: CallbackReceiver(
                self._instance_secrets, self._print_delivery, host=HOST, port=s.callback_port
            ),
        )
        self.urls = {
            "api": api.url,
            "lambda": invoke.url,
            "aws": moto.url,
            "callbacks": callbacks.url("/callbacks"),
        }
        if s.sandbox:
            self.store = SandboxStore()
            store = self.store
            sandbox = self._serve(
                "LOCAL_SANDBOX_PORT", s.sandbox_port, lambda: SandboxServer(store, HOST, s.sandbox_port)
            )
            self.urls["sandbox"] = sandbox.url
        moto.start()

        session = provision.session()
        resources = create_resources(session, endpoint_url=moto.url)
        sqs = session.client("sqs", endpoint_url=moto.url)
        arns = provision.queue_arns(sqs, resources)
        provision.create_keys(session.client("kms", endpoint_url=moto.url))
        model = provision.local_model(resources, arns, self.urls, s.overrides)
        # Chores needing the core run in the api function's environment (it has every variable).
        self._task_function = model.routes[0].function
        runtime = Runtime(
            model.functions,
            model.function_for,
            log_path=s.state_dir / "logs" / "functions.log",
            console=self.console,
            concurrency=s.concurrency,
        )
        self._runtime = runtime
        runtime.warm(first=self._task_function)
        self._api_bridge = ApiBridge(runtime, model)
        self._lambda_endpoint = LambdaEndpoint(runtime)
        scheduler_client = session.client("scheduler", endpoint_url=moto.url)
        emulator = self._emulator = state.Emulator(
            dynamodb=session.client("dynamodb", endpoint_url=moto.url),
            scheduler=scheduler_client,
            tables={k: v for k, v in resources.refs().items() if k.endswith("Table")},
            queues={k: v for k, v in resources.refs().items() if k in arns},
            schedule_group=resources.schedule_group,
            account_id=ACCOUNT_ID,
            region=REGION,
        )
        saved = self._restore(emulator)
        self._bootstrap_organization(runtime)
        self._scheduler = LocalScheduler(
            runtime,
            scheduler_client,
            resources.schedule_group,
            s.minute_seconds,
            (saved or {}).get("scheduler_anchors"),
            on_firing=self._on_firing,
        )
        for trigger in model.triggers:
            url = resources.refs()[trigger.queue]
            self._sources.append(
                SqsEventSource(
                    runtime,
                    model.functions[trigger.function],
                    trigger,
                    sqs,
                    url,
                    arns[trigger.queue],
                    REGION,
                )
            )
        for server in self._servers:
            server.start()
        self._scheduler.start()
        for source in self._sources:
            source.start()
        self._snapshotter = threading.Thread(target=self._snapshot_loop, name="snapshots", daemon=True)
        self._snapshotter.start()

    def _serve(self, setting: str, port: int, bind: Callable[[], _Server]) -> _Server:
        """Bind a server now (it starts answering later); a port in use is a StackError naming its setting."""
        try:
            server = bind()
        except OSError as exc:
            raise StackError(
                f"cannot listen on 127.0.0.1:{port} ({exc.strerror}): is another local stack running? "
                f"Stop it, or set {setting} to another port"
            ) from exc
        self._servers.append(server)
        return server

    def _restore(self, emulator: state.Emulator) -> dict[str, Any] | None:
        saved = self._state.load()
        if saved is None:
            if self.store is not None:
                provision.seed(self.store)
                self.console.say("  sandbox store seeded with 5 orders, 5 products and 5 customers")
            return None
        counts = state.restore(emulator, saved, self.store)
        self.console.say(
            f"  restored {_count(counts['items'], 'item')}, {_count(counts['schedules'], 'schedule')} and "
            f"{_count(counts['messages'], 'queued message')} from {self._state.path}"
        )
        return saved

    def _bootstrap_organization(self, runtime: Runtime) -> None:
        user, org, origin = provision.organization_secrets(self.settings)
        result = runtime.task(
            self._task_function, "devstack.tasks:bootstrap_organization", "local", user, org
        )
        if result == "conflict":
            raise StackError(
                "LOCAL_USER_SECRET belongs to an organization with another secret; fix LOCAL_ORG_SECRET "
                f"or delete {self.settings.state_dir} to start afresh"
            )
        self.authorization = f"User {user}, Organization {org}"
        self.console.say(f"  Authorization: {self.authorization}   ({origin})")

    # --- requests ---------------------------------------------------------------------------
    # The servers are bound before the functions exist (their URLs go into the functions'
    # environment); they start answering only once everything is up.
    def _answer_api(self, request: HttpRequest) -> HttpResponse:
        return self._api_bridge(request) if self._api_bridge else HttpResponse(503)

    def _answer_invoke(self, request: HttpRequest) -> HttpResponse:
        return self._lambda_endpoint(request) if self._lambda_endpoint else HttpResponse(503)

    def _instance_secrets(self, instance_id: str) -> WebhookSecrets | None:
        cached = self._secrets_cache.get(instance_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        if self._runtime is None or not instance_id.isdigit():
            return None
        found = self._runtime.task(self._task_function, "devstack.tasks:instance_secrets", instance_id)
        secrets_ = WebhookSecrets(found.get("webhook_secret"), found.get("signature_key")) if found else None
        self._secrets_cache[instance_id] = (time.monotonic() + 30, secrets_)
        return secrets_

    def _print_delivery(self, delivery: Any) -> None:
        self.console.activity("callback", describe(delivery))

    def processes(self) -> dict[str, list[int]]:
        """The process ids of each function's execution environments (the stack itself is this process)."""
        return self._runtime.processes() if self._runtime is not None else {}

    # --- state ------------------------------------------------------------------------------
    def snapshot(self, timeout: float = 1.5) -> bool:
        """Save the state now if work pauses within ``timeout``; returns whether it was saved."""
        if self._runtime is None or self._emulator is None or self._scheduler is None:
            return False
        began = time.monotonic()
        with self._runtime.gate.closed(timeout) as quiet:
            captured = state.capture(self._emulator, self._scheduler.anchors(), self.store) if quiet else None
        self.snapshot_holds.append((time.time(), time.monotonic() - began))
        if captured is not None:  # written with work running again: the picture is already taken
            self._state.save(captured)
        return quiet

    def _snapshot_loop(self) -> None:
        """Save every ``snapshot_seconds``, holding work back for at most a small share of the time.

        A snapshot pauses all work while it reads the state, and the state grows with the events
        kept; asking a busy stack to pause holds new work back too, even when it does not pause in
        time. So the next attempt waits at least SNAPSHOT_SHARE_INVERSE times as long as this one
        held work back. With ``freeze_gc``, what is alive is then frozen out of garbage collection.
        """
        due = time.monotonic() + self.snapshot_seconds
        while not self._stopped.wait(1):
            if time.monotonic() < due:
                continue
            began = time.monotonic()
            self.snapshot()
            due = time.monotonic() + next_snapshot_in(self.snapshot_seconds, time.monotonic() - began)
            if self.freeze_gc:
                # What is alive now is mostly the emulated state, which lives as long as the stack.
                # Left to the collector, every full collection walks all of it, and over the
                # hundreds of MB a long run keeps that stalls every thread for seconds (a load run
                # measured 3.4 s). Frozen, collections walk only what came since. The young
                # generations are collected first, so little garbage is frozen with it.
                gc.collect(1)
                gc.freeze()
                self._froze = True

    # --- stop -------------------------------------------------------------------------------
    def stop(self, *, save: bool = True) -> None:
        """Stop triggering, let work finish, save the state, stop everything. Safe to call twice."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self._snapshotter is not None:
            self._snapshotter.join()
        if self._scheduler is not None:
            self._scheduler.stop()
        for source in self._sources:
            source.stop()
        for server in self._servers:
            if isinstance(server, LoopbackServer) and server.name in ("api", "lambda"):
                server.stop()
        if self._runtime is not None:
            if not self._runtime.drain(DRAIN_SECONDS):
                self.console.say("  a function was still running after the drain; it was stopped")
            self._runtime.close()
        if self._froze:  # the frozen objects go back to the collector (and the stack's are garbage now)
            gc.unfreeze()
        if save and self._emulator is not None and self._scheduler is not None:
            self._state.save(state.capture(self._emulator, self._scheduler.anchors(), self.store))
            self.console.say(f"  state saved to {self._state.path}")
        for server in reversed(self._servers):
            if not (isinstance(server, LoopbackServer) and server.name in ("api", "lambda")):
                server.stop()


def next_snapshot_in(interval: float, took: float) -> float:
    """Seconds until the next snapshot, after an attempt that held work back for ``took`` seconds."""
    return max(interval, took * SNAPSHOT_SHARE_INVERSE)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def ready_line(urls: dict[str, str]) -> str:
    """The line tools wait for: ``Local stack ready`` and every URL, ``name=url``."""
    return "Local stack ready  " + "  ".join(f"{name}={url}" for name, url in urls.items())


def state_dir_note(path: Path) -> str:
    """Where the state lives and how to forget it."""
    return f"  state: {path} (delete it to start afresh); function logs: {path / 'logs' / 'functions.log'}"
