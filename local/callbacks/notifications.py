"""A notification as a receiver reads it: its instance, its events, whether its signatures are right.

Both signatures the service sends are checked when the secrets are known: Standard Webhooks
(``webhook-signature``, with the instance's ``webhookSigningSecret``) and Cloud Elements'
``Elements-Webhook-Signature: sha256=<base64 HMAC-SHA256 of the body>`` (with the instance's
``event.notification.signature.key``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import asdict, dataclass, field
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


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
