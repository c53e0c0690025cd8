"""The stack the benchmarks measure: emulated AWS, the sandbox store, a callback receiver, one organization.

The sandbox BigCommerce store (``local/bcsandbox``, with its quota, clock and request log) and the
callback receiver serve from threads of this process; AWS is :mod:`bench.emulator`'s. A
:class:`Stack` creates the template's tables and queues, instances over the api function, store
backlogs, and calls the poll function as its schedule does.
"""

from __future__ import annotations

import contextlib
import copy
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.calls import CallStats, counting
from bench.common import REGION, ROOT, add_code_paths, apply_environment, lambda_environment
from bench.emulator import InProcessAws, MotoProcess
from bench.invocation import Invocation, LambdaContext, invoke, quiet_stdout, silence_logs

PAGE_LIMIT = 250


def resource(name: str = "orders") -> dict[str, Any]:
    """A resource as the bigcommerce element's defaults configure it (hub URL, RFC 2822 dates)."""
    add_code_paths()
    from bcevents.compat.configuration import DEFAULT_POLLER_CONFIGURATION

    return copy.deepcopy(DEFAULT_POLLER_CONFIGURATION[name])


@dataclass
class Stack:
    """Emulated AWS + sandbox store + callback receiver, and one organization to create instances in."""

    aws: InProcessAws | MotoProcess
    sandbox: Any  # bcsandbox.SandboxServer
    receiver: Any  # callbacks.CallbackReceiver
    resources: Any = None  # devstack.resources.StackResources
    authorization: str = ""

    @classmethod
    @contextlib.contextmanager
    def running(cls, *, aws_in_process: bool = True) -> Iterator[Stack]:
        """Start everything; stop it all at the end."""
        from bcsandbox import SandboxServer, SandboxStore
        from callbacks import CallbackReceiver

        add_code_paths()
        aws: InProcessAws | MotoProcess = InProcessAws() if aws_in_process else MotoProcess()
        sandbox = SandboxServer(SandboxStore()).start()
        receiver = CallbackReceiver(name="bench-callbacks")
        receiver.start()
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
        from bcevents.api.access import create_organization

        org = create_organization("bench")
        self.authorization = f"User {org.user_secret}, Organization {org.organization_secret}"

    def create_instance(
        self, resources: dict[str, Any] | None = None, *, callback_url: str | None = None
    ) -> str:
        """An instance on the sandbox store (legacy account) that calls the receiver (or
        ``callback_url``); its id."""
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
                "event.notification.callback.url": callback_url or self.receiver.url(),
                "event.poller.refresh_interval": "5",
                "event.poller.configuration": resources or {"orders": resource()},
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
