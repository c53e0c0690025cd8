"""The reliability suite's harness: the poll function against moto and the sandbox store.

Faults are injected at the edges the service does not own: the sandbox store's fault queue
(HTTP), botocore's event hooks (DynamoDB and SQS answer an error instead of moto), the Lambda
context's remaining time, and a process that dies between two statements.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from bcsandbox import SandboxServer
from devstack.resources import StackResources
from tests.conftest import REGION
from tests.support.api import ApiClient, LambdaContext, load_event
from tests.support.bodies import RFC2822, api_account, legacy_filled

CALLBACK = "http://127.0.0.1:9/callback"  # never called: delivery is another function
ISO_Z = "yyyy-MM-dd'T'HH:mm:ss'Z'"


def hub_resource(name: str, page_size: int = 250, **extra: Any) -> dict[str, Any]:
    """A resource of the ecommerce hub as Cloud Elements users configure it (RFC 2822 window)."""
    return {
        "url": f"/hubs/ecommerce/{name}?where=min_date_modified='${{date:{RFC2822}}}'",
        "idField": "id",
        "pageSize": page_size,
        "datesConfiguration": {"updatedDateField": "date_modified", "createdDateField": "date_created"},
        **extra,
    }


class Killed(BaseException):
    """The Lambda runtime ending the process: nothing after it runs, finally-blocks' I/O included."""


class Deadline(LambdaContext):
    """A Lambda context whose clock is the store's request count: each request spends ``cost_ms``.

    ``pages`` list requests fit before the poller's safety margin (15 s) is reached.
    """

    def __init__(self, sandbox: SandboxServer, *, pages: int, cost_ms: int = 1_000) -> None:
        super().__init__(function_name="PollFunction", aws_request_id=str(uuid.uuid4()))
        self._store = sandbox.store
        self._start = sandbox.store.request_count
        self._cost = cost_ms
        # /v2/time is one request, then ``pages`` pages; the next fetch finds less than 15 s left.
        self._budget = 15_000 + (pages + 1) * cost_ms - cost_ms // 2

    def get_remaining_time_in_millis(self) -> int:
        spent = (self._store.request_count - self._start) * self._cost
        return self._budget - spent


@dataclass
class Event:
    """One event as a callback would receive it, with the record it carried."""

    notification_id: str
    object_type: str
    object_id: str
    event_type: str
    date: str
    record: dict[str, Any]

    @property
    def version(self) -> tuple[str, str]:
        return (self.object_id, self.date)


@dataclass
class Received:
    """Everything taken off the events queue, in the order it was received."""

    events: list[Event] = field(default_factory=list)

    def extend(self, notifications: list[dict[str, Any]]) -> None:
        for n in notifications:
            message = n["message"]
            object_type = message["raw"]["objectType"]
            records = message["raw"][object_type]
            for event, record in zip(message["events"], records, strict=True):
                self.events.append(
                    Event(n["id"], object_type, event["objectId"], event["eventType"], event["date"], record)
                )

    def ids(self, object_type: str | None = None) -> list[str]:
        return [e.object_id for e in self.events if object_type in (None, e.object_type)]

    def duplicates(self) -> int:
        """Events that repeat a version (object id and date) already received."""
        counts = Counter(e.version for e in self.events)
        return sum(n - 1 for n in counts.values())


class Harness:
    """Instances created through the API, polled through the poll function, read off the queues."""

    def __init__(self, api: ApiClient, sandbox: SandboxServer, aws: StackResources) -> None:
        self.api = api
        self.sandbox = sandbox
        self.aws = aws
        self.received = Received()
        self.messages: list[str] = []  # every message taken off the queue: body and attributes

    @property
    def store(self) -> Any:
        return self.sandbox.store

    @cached_property
    def sqs(self) -> Any:
        return boto3.session.Session(region_name=REGION).client("sqs")

    # --- instances -----------------------------------------------------------------------------
    def legacy(self, resources: dict[str, Any] | None = None, **configuration: Any) -> str:
        """A legacy (Basic auth, v2) instance of the sandbox store; credentials checked at creation."""
        store = self.store
        body = legacy_filled(f"{self.sandbox.url}/api/v2", store.username, store.password, CALLBACK)
        if resources is not None:
            body["configuration"]["event.poller.configuration"] = resources
        body["configuration"].update(configuration)
        return self._create(body)

    def api_account(self, resources: dict[str, Any] | None = None, **configuration: Any) -> str:
        """An API-account (X-Auth-Token: v2 orders, v3 products and customers) instance."""
        store = self.store
        url = f"{self.sandbox.url}/stores/{store.store_hash}/v3/"
        if resources is not None:
            configuration["event.poller.configuration"] = resources
        return self._create(api_account(url, store.access_token, CALLBACK, **configuration))

    def _create(self, body: dict[str, Any]) -> str:
        response = self.api.post("/instances", body)
        assert response.status == 200, response.body
        return str(response.body["id"])

    # --- the store clock -----------------------------------------------------------------------
    def start_clock(self, seconds: int = 10) -> datetime:
        """Freeze the store clock a little after now (so after the instance's creation)."""
        when = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=seconds)
        self.store.set_clock(when)
        return when

    def settle(self, seconds: int = 30) -> None:
        """Move the store clock on so everything made so far is older than the settle lag."""
        self.store.advance(seconds)

    # --- polling -------------------------------------------------------------------------------
    def poll(self, instance: str, context: LambdaContext | None = None) -> dict[str, Any]:
        """Invoke the poll function as the schedule does, then take what it enqueued off the queues."""
        from poll_handler import lambda_handler

        event = load_event("poll.json")
        event["instanceId"] = instance
        context = context or LambdaContext(function_name="PollFunction", aws_request_id=str(uuid.uuid4()))
        try:
            result: dict[str, Any] = lambda_handler(event, context)
        finally:
            self.drain()
        return result

    def drain(self) -> list[dict[str, Any]]:
        """Receive and delete everything on the events queue (kept shallow: moto slows as it grows)."""
        taken: list[dict[str, Any]] = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.aws.events_queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                self.received.extend(taken)
                return taken
            for message in messages:
                taken.append(json.loads(message["Body"]))
                self.messages.append(message["Body"] + json.dumps(message.get("MessageAttributes", {})))
            self.sqs.delete_message_batch(
                QueueUrl=self.aws.events_queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )

    # --- the instance's items ------------------------------------------------------------------
    def lease(self, instance: str) -> dict[str, Any] | None:
        """The instance's lease while a run holds it; None once given back (or expired)."""
        import time

        from bcevents.aws.tables import get_storage

        item: dict[str, Any] | None = (
            get_storage()
            .instances.get_item(Key={"pk": f"INSTANCE#{instance}", "sk": "LEASE"}, ConsistentRead=True)
            .get("Item")
        )
        return item if item is not None and int(item["expires_at"]) >= int(time.time()) else None

    def expire_lease(self, instance: str) -> None:
        """What time does to the lease of a run that died: it expires and the next run takes it."""
        from bcevents.aws.tables import get_storage

        get_storage().instances.delete_item(Key={"pk": f"INSTANCE#{instance}", "sk": "LEASE"})

    def hold_lease(self, instance: str, owner: str = "another-run", seconds: int = 600) -> None:
        """Another invocation holds (or has taken over) the lease."""
        import time

        from bcevents.aws.tables import get_storage

        get_storage().instances.put_item(
            Item={
                "pk": f"INSTANCE#{instance}",
                "sk": "LEASE",
                "owner": owner,
                "expires_at": int(time.time()) + seconds,
            }
        )

    def take_over(
        self,
        instance: str,
        owner: str = "the-run-that-took-over",
        *,
        starts: dict[str, datetime] | None = None,
    ) -> None:
        """Another invocation takes the expired lease over and checkpoints first (what it read):
        from then on the stale run's checkpoints must be refused. ``starts``: where the new holder
        starts a resource that has no watermark yet (so that it, too, has a checkpoint to fence)."""
        from bcevents.aws.tables import get_storage
        from bcevents.polling.watermark import Watermark

        storage = get_storage()
        self.expire_lease(instance)
        token = storage.acquire_lease(instance, owner, 600)
        stored = storage.get_watermarks(instance)
        for resource, start in (starts or {}).items():
            stored.setdefault(resource, Watermark(updated_at=start).to_item())
        for resource, item in stored.items():
            watermark = {k: v for k, v in item.items() if k not in ("lease_token", "lease_owner")}
            storage.put_watermark(instance, resource, watermark, token)

    def watermarks(self, instance: str) -> dict[str, Any]:
        from bcevents.aws.tables import get_storage

        return get_storage().get_watermarks(instance)


@pytest.fixture
def harness(api: ApiClient, sandbox: SandboxServer, aws: StackResources) -> Harness:
    return Harness(api, sandbox, aws)


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib3 retries 5xx and resets without its backoff sleeps (the retries themselves still
    happen; their timing is test_bigcommerce_client's business)."""
    from urllib3.util.retry import Retry

    monkeypatch.setattr(Retry, "get_backoff_time", lambda self: 0.0)


# --- the AWS edge ---------------------------------------------------------------------------------
def aws_error(code: str, message: str = "injected at the botocore edge", status: int = 400) -> Any:
    """What botocore's ``before-call`` hook returns to answer for the service: an error response."""
    return (
        AWSResponse("https://injected.invalid/", status, {}, None),
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
    )


class AwsEdge:
    """Make AWS answer differently from moto for chosen calls, through botocore's event hooks.

    ``fail`` answers calls number ``on`` (1-based, per operation) with an error; ``partial_batch``
    makes SendMessageBatch accept some entries (really sent to moto) and report the others Failed.
    """

    def __init__(self) -> None:
        self._unregister: list[Callable[[], None]] = []
        self.calls: Counter[str] = Counter()

    def fail(
        self,
        client: Any,
        operations: tuple[str, ...],
        code: str,
        *,
        on: Callable[[int], bool],
        where: Callable[[dict[str, Any]], bool] = lambda params: True,
        label: str = "failing",
    ) -> None:
        """Answer ``code`` to the calls (of any of ``operations``) that match ``where``, when their
        count (1-based, kept under ``label``) satisfies ``on``."""
        service = client.meta.service_model.service_id.hyphenize()

        def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            context["reliability_params"] = dict(params)

        def answer(context: dict[str, Any], **_: Any) -> Any:
            if not where(context.get("reliability_params", {})):
                return None
            self.calls[label] += 1
            return aws_error(code) if on(self.calls[label]) else None

        for operation in operations:
            self._register(client, f"before-parameter-build.{service}.{operation}", remember)
            self._register(client, f"before-call.{service}.{operation}", answer)

    def partial_batch(self, client: Any, *, failing: Callable[[int, list[dict[str, Any]]], set[str]]) -> None:
        """``failing(call number, entries)`` names the entry Ids of each SendMessageBatch that fail."""
        real = boto3.session.Session(region_name=REGION).client("sqs")

        def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            context["reliability_params"] = dict(params)

        def answer(context: dict[str, Any], **_: Any) -> Any:
            self.calls["SendMessageBatch"] += 1
            call = self.calls["SendMessageBatch"]
            params = context["reliability_params"]
            entries = params["Entries"]
            refused = failing(call, entries)
            failed = [e for e in entries if e["Id"] in refused]
            sent = [e for e in entries if e not in failed]
            successful = []
            if sent:
                response = real.send_message_batch(QueueUrl=params["QueueUrl"], Entries=sent)
                successful = response.get("Successful", [])
            body = {
                "Successful": successful,
                "Failed": [
                    {"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "injected"}
                    for e in failed
                ],
            }
            return AWSResponse("https://injected.invalid/", 200, {}, None), body

        self._register(client, "before-parameter-build.sqs.SendMessageBatch", remember)
        self._register(client, "before-call.sqs.SendMessageBatch", answer)

    def _register(self, client: Any, name: str, handler: Callable[..., Any]) -> None:
        client.meta.events.register(name, handler)
        self._unregister.append(lambda: client.meta.events.unregister(name, handler))

    def close(self) -> None:
        for undo in reversed(self._unregister):
            undo()


@pytest.fixture
def aws_edge() -> Iterator[AwsEdge]:
    edge = AwsEdge()
    yield edge
    edge.close()


#: DynamoDB writes a checkpoint may use (a conditional put, or a transaction with the lease).
WRITES = ("PutItem", "UpdateItem", "TransactWriteItems")


def writes_watermark(params: dict[str, Any]) -> bool:
    """Whether a DynamoDB write's parameters are a watermark checkpoint."""
    return "WATERMARK#" in repr(params)


def writes_lease(params: dict[str, Any]) -> bool:
    return "'LEASE'" in repr(params) and not writes_watermark(params)


def dynamodb_client() -> Any:
    """The client the storage module writes watermarks and the lease with."""
    from bcevents.aws.tables import get_storage

    return get_storage().instances.meta.client


def events_queue_client() -> Any:
    """The client the poller enqueues notifications with."""
    from bcevents.aws import clients

    return clients.sqs()


# The delivery harness of the integration tests (receiver, instances, the events queue driven
# like Lambda), shared rather than copied.
from tests.integration.conftest import (  # noqa: E402, F401
    deliveries,
    fast_retries,
    make_instance,
    notification_schema,
    notify,
    receiver,
)
