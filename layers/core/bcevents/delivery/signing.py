"""Callback signatures: Cloud Elements' ``Elements-Webhook-Signature`` and Standard Webhooks.

Both are computed over the exact bytes POSTed. Cloud Elements' scheme (when the instance has
``event.notification.signature.key``) signs the body alone; Standard Webhooks signs
``id.timestamp.body`` with the instance's ``whsec_`` secret, and its ``webhook-signature`` header
lists one signature per secret still valid, so receivers keep verifying during a rotation.

An instance item holds ``webhook_secret`` (current) and ``previous_webhook_secrets``: a list of
``{"secret": "whsec_...", "expires_date": "<ISO UTC>"}`` still used for signing until they expire.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from standardwebhooks.webhooks import Webhook

from bcevents.clock import iso_seconds

SIGNATURE_KEY = "event.notification.signature.key"
#: How long a rotated-out secret still signs: receivers have this long to switch to the new one.
ROTATION_GRACE = timedelta(hours=24)
#: At most this many previous secrets are kept, however often the secret is rotated.
MAX_PREVIOUS_SECRETS = 5


def cloud_elements_signature(key: str, body: bytes) -> str:
    """``sha256=`` + base64 HMAC-SHA256(key, body): Cloud Elements' recipe, verbatim."""
    digest = hmac.new(key.encode("utf-8"), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode("ascii")


def standard_webhooks_signature(secrets: Sequence[str], msg_id: str, timestamp: datetime, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,<base64>`` per secret, space separated."""
    moment = timestamp.astimezone(UTC)
    text = body.decode("utf-8")
    return " ".join(Webhook(secret).sign(msg_id, moment, text) for secret in secrets)


def signing_secrets(item: Mapping[str, Any], now: datetime) -> list[str]:
    """The instance's current secret, then every rotated-out secret whose grace has not ended."""
    current = item.get("webhook_secret")
    secrets = [current] if current else []
    secrets += [p["secret"] for p in item.get("previous_webhook_secrets") or [] if _still_valid(p, now)]
    return secrets


def signature_headers(
    item: Mapping[str, Any], notification_id: str, body: bytes, now: datetime
) -> dict[str, str]:
    """Every id and signature header of one delivery attempt of ``body`` to the instance ``item``.

    The ids are the notification id, so a redelivery carries the same ones; the timestamp is the
    attempt's (Standard Webhooks receivers reject stale timestamps).
    """
    headers = {
        "Elements-Webhook-Id": notification_id,
        "webhook-id": notification_id,
        "webhook-timestamp": str(int(now.timestamp())),
    }
    key = (item.get("configuration") or {}).get(SIGNATURE_KEY)
    if key:
        headers["Elements-Webhook-Signature"] = cloud_elements_signature(str(key), body)
    secrets = signing_secrets(item, now)
    if secrets:
        headers["webhook-signature"] = standard_webhooks_signature(secrets, notification_id, now, body)
    return headers


def rotated(
    item: Mapping[str, Any], now: datetime, *, grace: timedelta = ROTATION_GRACE
) -> tuple[str, dict[str, Any]]:
    """A new Standard Webhooks secret and the instance fields to store for it.

    The current secret keeps signing for ``grace`` (alongside the new one); expired previous
    secrets are dropped. Store the fields with ``Storage.update_instance_fields``.
    """
    new_secret = new_webhook_secret()
    previous = [p for p in item.get("previous_webhook_secrets") or [] if _still_valid(p, now)]
    current = item.get("webhook_secret")
    if current:
        previous.insert(0, {"secret": current, "expires_date": iso_seconds(now + grace)})
    fields = {"webhook_secret": new_secret, "previous_webhook_secrets": previous[:MAX_PREVIOUS_SECRETS]}
    return new_secret, fields


def _still_valid(previous: Mapping[str, Any], now: datetime) -> bool:
    until = datetime.fromisoformat(str(previous["expires_date"]).replace("Z", "+00:00"))
    return bool(previous.get("secret")) and until > now


def new_webhook_secret() -> str:
    """A Standard Webhooks signing secret (``whsec_`` + base64 of 24 random bytes)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
