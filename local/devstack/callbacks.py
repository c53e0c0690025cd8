"""A callback receiver for trying the service out: records each notification and checks its signatures.

The local stack runs one (``LOCAL_CALLBACK_PORT``) so a walkthrough has somewhere to send events;
the demo and the e2e tests run their own. ``POST`` any path: the notification is recorded and
answered 200 (or, when told to, with a failure, to watch retries). ``GET`` lists what arrived.
Both signatures the service sends are verified when the secrets are known: Standard Webhooks
(``webhook-signature``, with the instance's ``webhookSigningSecret``) and Cloud Elements'
``Elements-Webhook-Signature: sha256=<base64 HMAC-SHA256 of the body>`` (with the instance's
``event.notification.signature.key``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from devstack.httpserver import HttpRequest, HttpResponse


@dataclass(frozen=True)
class WebhookSecrets:
    """An instance's signing secrets (either may be unset)."""

    webhook_secret: str | None = None
    signature_key: str | None = None


@dataclass(frozen=True)
class Event:
    """One event of a notification, as a receiver reads it."""

    event_type: str
    object_type: str
    object_id: str


@dataclass(frozen=True)
class Delivery:
    """One POST the receiver got: what it carried, how it was answered, whether it was signed right."""

    number: int
    received_at: float
    path: str
    status: int
    instance_id: str | None
    webhook_id: str | None
    events: list[Event]
    #: True: verified; False: wrong or missing; None: no secret to check it with.
    standard_signature: bool | None
    elements_signature: bool | None
    headers: dict[str, str] = field(repr=False)
    body: str = field(repr=False)

    @property
    def acknowledged(self) -> bool:
        """Whether the receiver answered 2xx (the service counts it delivered)."""
        return 200 <= self.status < 300

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def notification_events(payload: Any) -> tuple[str | None, list[Event]]:
    """The instance id and events of a Cloud Elements notification body."""
    if not isinstance(payload, dict):
        return None, []
    inner = payload.get("message")
    message: dict[str, Any] = inner if isinstance(inner, dict) else payload
    instance = message.get("instanceId") or message.get("instance_id") or payload.get("instanceId")
    events = [
        Event(str(e.get("eventType", "?")), str(e.get("objectType", "?")), str(e.get("objectId", "?")))
        for e in message.get("events") or []
        if isinstance(e, dict)
    ]
    return (str(instance) if instance is not None else None), events


def verify_standard(secret: str | None, body: bytes, headers: dict[str, str]) -> bool | None:
    """Whether the Standard Webhooks signature is right (None without a secret)."""
    if not secret:
        return None
    try:
        Webhook(secret).verify(body, headers, json_parse=False)
    except WebhookVerificationError:
        return False
    return True


def verify_elements(key: str | None, body: bytes, headers: dict[str, str]) -> bool | None:
    """Whether ``Elements-Webhook-Signature`` is ``sha256=`` + base64 HMAC-SHA256 of the body (None without a key)."""
    if not key:
        return None
    sent = {k.lower(): v for k, v in headers.items()}.get("elements-webhook-signature", "")
    expected = "sha256=" + base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(sent.encode(), expected.encode())


def describe(delivery: Delivery) -> str:
    """One line for a person: the events, the instance, the signatures."""
    events = (
        ", ".join(f"{e.object_type} {e.event_type.lower()} #{e.object_id}" for e in delivery.events)
        or "no events"
    )
    marks = {True: "✓", False: "✗ WRONG", None: "-"}
    signatures = f"standard-webhooks {marks[delivery.standard_signature]}  elements {marks[delivery.elements_signature]}"
    answer = "" if delivery.acknowledged else f"  (answered {delivery.status})"
    return f"{events}  [instance {delivery.instance_id}]  {signatures}{answer}"


class CallbackReceiver:
    """A LoopbackServer handler that records notifications."""

    def __init__(
        self,
        secrets: Callable[[str], WebhookSecrets | None] | None = None,
        on_delivery: Callable[[Delivery], None] | None = None,
    ) -> None:
        self._secrets = secrets
        self._on_delivery = on_delivery
        self._deliveries: list[Delivery] = []
        self._failures: list[tuple[int, str | None]] = []
        self._condition = threading.Condition()

    def fail_next(self, count: int, status: int = 503, object_type: str | None = None) -> None:
        """Answer the next ``count`` notifications (of ``object_type`` only, if given) with ``status``."""
        with self._condition:
            self._failures += [(status, object_type)] * count

    def stop_failing(self) -> None:
        """Forget failures still to come: answer 200 again."""
        with self._condition:
            self._failures.clear()

    def deliveries(self) -> list[Delivery]:
        """Everything received so far, oldest first."""
        with self._condition:
            return list(self._deliveries)

    def wait_for(self, predicate: Callable[[list[Delivery]], bool], timeout: float) -> bool:
        """Wait until ``predicate(deliveries)`` holds; returns whether it did in time."""
        with self._condition:
            return self._condition.wait_for(lambda: predicate(self._deliveries), timeout)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Record a POST; list deliveries on GET (``?since=N`` skips the first N)."""
        if request.method == "GET":
            since = int(dict(request.query_pairs()).get("since", "0") or 0)
            listed = [d.as_dict() for d in self.deliveries()[since:]]
            body = json.dumps({"count": len(self.deliveries()), "deliveries": listed}).encode()
            return HttpResponse(200, [("Content-Type", "application/json")], body)
        if request.method != "POST":
            return HttpResponse(405, [("Allow", "GET, POST")])
        delivery = self._record(request)
        if self._on_delivery is not None:
            self._on_delivery(delivery)
        return HttpResponse(delivery.status, [("Content-Type", "application/json")], b'{"received": true}')

    def _answer(self, events: list[Event]) -> int:
        """The status for a notification of these events: a planned failure, else 200 (lock held)."""
        types = {e.object_type for e in events}
        for index, (status, object_type) in enumerate(self._failures):
            if object_type is None or object_type in types:
                del self._failures[index]
                return status
        return 200

    def _record(self, request: HttpRequest) -> Delivery:
        headers = dict(request.headers)
        try:
            payload = json.loads(request.body)
        except ValueError:
            payload = None
        instance_id, events = notification_events(payload)
        secrets = self._secrets(instance_id) if self._secrets and instance_id else None
        secrets = secrets or WebhookSecrets()
        lowered = {k.lower(): v for k, v in headers.items()}
        with self._condition:
            status = self._answer(events)
            delivery = Delivery(
                number=len(self._deliveries) + 1,
                received_at=time.time(),
                path=request.path,
                status=status,
                instance_id=instance_id,
                webhook_id=lowered.get("webhook-id") or lowered.get("elements-webhook-id"),
                events=events,
                standard_signature=verify_standard(secrets.webhook_secret, request.body, headers),
                elements_signature=verify_elements(secrets.signature_key, request.body, headers),
                headers=headers,
                body=request.body.decode("utf-8", "replace"),
            )
            self._deliveries.append(delivery)
            self._condition.notify_all()
        return delivery
