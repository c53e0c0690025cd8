"""What the benchmarks share: emulated AWS, the sandbox store, a callback receiver, Lambda-style calls.

- AWS is moto, in this process (``mock_aws``); the time moto itself spends answering is measured
  and taken out of a handler's CPU and duration (in Lambda, DynamoDB and SQS run elsewhere). Where
  moto's memory must not count (peak RSS), it is a moto server in its own process instead.
- The sandbox BigCommerce store and the callback receiver serve from threads of this process.
- Handlers are called in-process with a Lambda-like context; their CPU is the calling thread's.
- Every AWS call a handler makes is counted (``BaseClient._make_api_call``), with the request
  units it would be billed: these counts, not a list of what the code is meant to do, feed the
  cost model.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: Where the product's modules live (the Lambda layer and the three functions) and the local stack.
CODE_PATHS = ("layers/core", "functions/api", "functions/poll", "functions/deliver", "local")
REGION = "us-east-1"
RFC2822 = "EEE, dd MMM yyyy HH:mm:ss Z"
PAGE_LIMIT = 250


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


def free_port() -> int:
    """A free loopback port (for a server in another process that must be told its port)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- AWS calls, counted -----------------------------------------------------------------------
_DYNAMO_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
_DYNAMO_READS = {"GetItem", "Query", "Scan"}


def _size(value: Any) -> int:
    """A request's or an item's size in bytes (JSON, an upper estimate of DynamoDB's item size)."""
    return len(json.dumps(value, default=str, separators=(",", ":")).encode())


@dataclass
class CallStats:
    """AWS calls by (actor, service, operation), with the billed units each would cost."""

    calls: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    units: dict[tuple[str, str, str], float] = field(default_factory=dict)
    messages_sent: int = 0

    def add(self, actor: str, service: str, operation: str, units: float) -> None:
        """Record one call."""
        key = (actor, service, operation)
        self.calls[key] += 1
        self.units[key] = self.units.get(key, 0.0) + units

    def by_operation(self, actor: str | None = None) -> dict[str, dict[str, float]]:
        """``{"dynamodb.PutItem": {"calls": n, "units": u}, ...}`` for one actor (or all)."""
        out: dict[str, dict[str, float]] = {}
        for key, count in sorted(self.calls.items()):
            if actor is not None and key[0] != actor:
                continue
            name = f"{key[1]}.{key[2]}"
            entry = out.setdefault(name, {"calls": 0.0, "units": 0.0})
            entry["calls"] += count
            entry["units"] += round(self.units.get(key, 0.0), 3)
        return out

    def total(self, actor: str, service: str, *, units: bool = False) -> float:
        """Calls (or billed units) of one actor on one service."""
        source = self.units if units else self.calls
        return float(sum(v for k, v in source.items() if k[0] == actor and k[1] == service))


def billed_units(service: str, operation: str, params: dict[str, Any], response: Any) -> float:
    """What one call is billed as: DynamoDB request units (on-demand), SQS 64 KB request chunks.

    DynamoDB: a write is 1 WRU per KB of the item, a read 1 RRU per 4 KB (half for an eventually
    consistent read); sizes are estimated from the request or the items returned. SQS: every
    64 KB chunk of a payload is billed as one request.
    """
    if service == "dynamodb":
        if operation in _DYNAMO_WRITES:
            item = params.get("Item") or {
                k: params.get(k) for k in ("Key", "ExpressionAttributeValues", "ExpressionAttributeNames")
            }
            return float(max(1, math.ceil(_size(item) / 1024)))
        if operation in _DYNAMO_READS:
            items = response.get("Items") if isinstance(response, dict) else None
            if items is None:
                items = [response.get("Item")] if isinstance(response, dict) and response.get("Item") else []
            size = sum(_size(i) for i in items)
            factor = 1.0 if params.get("ConsistentRead") else 0.5
            return max(1, math.ceil(size / 4096)) * factor
        if operation == "TransactWriteItems":
            return 2.0 * sum(max(1, math.ceil(_size(i) / 1024)) for i in params.get("TransactItems", []))
        return 1.0
    if service == "sqs":
        if operation in ("SendMessage", "SendMessageBatch"):
            payload = _size(params.get("Entries") or params.get("MessageBody") or "")
        elif operation == "ReceiveMessage":
            payload = _size(response.get("Messages", []) if isinstance(response, dict) else [])
        else:
            payload = 0
        return float(max(1, math.ceil(payload / 65536)))
    return 1.0


def table_label(params: dict[str, Any]) -> str:
    """Which of the template's tables a DynamoDB call is about (``Instances``, ``Events``...)."""
    name = params.get("TableName")
    if name is None:
        items = params.get("TransactItems") or []
        for item in items:
            for body in item.values():
                name = name or body.get("TableName")
        name = name or next(iter(params.get("RequestItems") or {}), None)
    return str(name or "?").split("-", 1)[-1].removesuffix("Table")


_local = threading.local()
_patched: set[str] = set()


def install_call_counter() -> None:
    """Count every botocore API call made while a thread is inside :func:`counting`."""
    if "counter" in _patched:
        return
    from botocore.client import BaseClient

    original = getattr(BaseClient, "_make_api_call")  # noqa: B009 - a private method, wrapped

    def counted(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        target: tuple[CallStats, str] | None = getattr(_local, "target", None)
        response = original(self, operation_name, api_params)
        if target is not None:
            service = self.meta.service_model.service_name
            stats, actor = target
            units = billed_units(service, operation_name, api_params, response)
            label = (
                f"{operation_name}[{table_label(api_params)}]" if service == "dynamodb" else operation_name
            )
            stats.add(actor, service, label, units)
            if service == "sqs" and operation_name in ("SendMessage", "SendMessageBatch"):
                stats.messages_sent += len(api_params.get("Entries", [None]))
        return response

    setattr(BaseClient, "_make_api_call", counted)  # noqa: B010
    _patched.add("counter")


@contextlib.contextmanager
def counting(stats: CallStats, actor: str) -> Iterator[None]:
    """Attribute this thread's AWS calls to ``actor`` in ``stats``."""
    install_call_counter()
    previous = getattr(_local, "target", None)
    _local.target = (stats, actor)
    try:
        yield
    finally:
        _local.target = previous


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


# --- emulated AWS ------------------------------------------------------------------------------
_emulator = threading.local()


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


# --- the stack --------------------------------------------------------------------------------
def orders_resource() -> dict[str, Any]:
    """The orders resource of Cloud Elements' polling example (hub URL, RFC 2822 dates)."""
    return {
        "url": f"/hubs/ecommerce/orders?where=min_date_modified='${{date:{RFC2822}}}'",
        "idField": "id",
        "datesConfiguration": {
            "updatedDateField": "date_modified",
            "updatedDateFormat": RFC2822,
            "createdDateField": "date_created",
            "createdDateFormat": RFC2822,
        },
    }


def _resource(name: str) -> dict[str, Any]:
    resource = orders_resource()
    resource["url"] = resource["url"].replace("/orders?", f"/{name}?")
    return resource


@dataclass
class Stack:
    """Emulated AWS + sandbox store + callback receiver, and one organization to create instances in."""

    aws: InProcessAws | MotoProcess
    sandbox: Any  # bcsandbox.SandboxServer
    receiver: Any  # bench.receiver.Receiver
    resources: Any = None  # devstack.resources.StackResources
    authorization: str = ""

    @classmethod
    @contextlib.contextmanager
    def running(cls, *, aws_in_process: bool = True) -> Iterator[Stack]:
        """Start everything; stop it all at the end."""
        from bcsandbox import SandboxServer, SandboxStore
        from bench.receiver import Receiver

        add_code_paths()
        aws: InProcessAws | MotoProcess = InProcessAws() if aws_in_process else MotoProcess()
        sandbox = SandboxServer(SandboxStore()).start()
        receiver = Receiver().start()
        try:
            stack = cls(aws, sandbox, receiver)
            stack.fresh()
            yield stack
        finally:
            receiver.stop()
            sandbox.stop()
            aws.stop()

    @property
    def store(self) -> Any:
        """The sandbox store (records, clock, quota, request log)."""
        return self.sandbox.store

    def environment(self) -> dict[str, str]:
        """The functions' environment, tables and queues included."""
        return {**lambda_environment(self.aws.url), **self.resources.environment()}

    def fresh(self) -> None:
        """Empty AWS, the store and the receiver; create the template's resources and an organization."""
        import boto3

        from devstack.resources import create_resources

        self.aws.reset()
        self.store.reset()
        self.receiver.reset()
        apply_environment(lambda_environment(self.aws.url))
        self.resources = create_resources(boto3.session.Session(region_name=REGION))
        apply_environment(self.environment())
        silence_logs()
        from bcevents.organizations import create_organization

        org = create_organization("bench")
        self.authorization = f"User {org.user_secret}, Organization {org.organization_secret}"

    def create_instance(self, resources: dict[str, Any] | None = None) -> str:
        """An instance on the sandbox store (legacy account) that calls the receiver; its id."""
        from api_handler import lambda_handler

        store = self.store
        body = {
            "element": {"key": "bigcommerce"},
            "name": "bench",
            "tags": ["bench"],
            "configuration": {
                "username": store.username,
                "password": store.password,
                "store.url": f"{self.sandbox.url}/api/v2",
                "event.notification.enabled": True,
                "event.notification.callback.url": self.receiver.url,
                "event.poller.refresh_interval": "5",
                "event.poller.configuration": resources or {"orders": orders_resource()},
            },
        }
        event = json.loads((ROOT / "events" / "api_create_instance.json").read_text())
        event = copy.deepcopy(event)
        event.update(
            httpMethod="POST",
            path="/instances",
            resource="/instances",
            pathParameters=None,
            queryStringParameters=None,
            body=json.dumps(body),
        )
        event["headers"] = {"Content-Type": "application/json", "Authorization": self.authorization}
        with quiet_stdout():
            response = lambda_handler(event, LambdaContext(function_name="ApiFunction"))
        if response["statusCode"] != 200:
            raise RuntimeError(f"creating the bench instance failed: {response.get('body')}")
        instance_id = str(json.loads(response["body"])["id"])
        store.clear_requests()
        return instance_id

    def backlog(self, count: int, *, shared_second: bool = False) -> datetime:
        """``count`` orders changed after the instance was created (and after anything made before),
        all settled; returns their start.

        Distinct timestamps one second apart, or all in one second (``shared_second``).
        """
        store = self.store
        store_now: datetime = store.now()
        start = max(datetime.now(UTC), store_now).replace(microsecond=0) + timedelta(seconds=10)
        store.set_clock(start)
        if count:
            store.create_orders(count, start=start, step_seconds=0 if shared_second else 1)
        span = 0 if shared_second else count
        store.set_clock(start + timedelta(seconds=span + 60))
        store.clear_requests()
        return start

    def poll(self, instance_id: str, stats: CallStats | None = None, timeout_ms: int = 300_000) -> Invocation:
        """Invoke the poll function as its schedule does."""
        from poll_handler import lambda_handler

        context = LambdaContext(function_name="PollFunction", memory_limit_in_mb=512, timeout_ms=timeout_ms)
        with counting(stats or CallStats(), "poll"):
            return invoke(lambda_handler, {"instanceId": instance_id}, context)

    @contextlib.contextmanager
    def discarding_queue(self, interval: float = 0.2) -> Iterator[None]:
        """Purge the events queue every ``interval`` seconds, from another thread.

        For measures that end at the queue: moto's SendMessage costs grow with the queue's depth
        (SQS's do not), so an emulated queue left to fill up would be measured instead of the poller.
        What was sent is counted by :class:`CallStats` (``messages``).
        """
        import boto3

        sqs = boto3.session.Session(region_name=REGION).client("sqs")
        url = self.resources.events_queue_url
        stop = threading.Event()

        def purge() -> None:
            while not stop.wait(interval):
                sqs.purge_queue(QueueUrl=url)

        thread = threading.Thread(target=purge, name="bench-purge", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            sqs.purge_queue(QueueUrl=url)

    def queue_depth(self, url: str | None = None) -> int:
        """Messages on the events queue (visible and in flight)."""
        import boto3

        sqs = boto3.session.Session(region_name=REGION).client("sqs")
        attributes = sqs.get_queue_attributes(
            QueueUrl=url or self.resources.events_queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )


def list_requests(store: Any) -> list[Any]:
    """The store's API requests other than ``/v2/time``."""
    return [r for r in store.requests if not r.path.endswith("/time")]


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
