"""Signatures, verified with the standardwebhooks package and Cloud Elements' recipe, and rotation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from bcevents.delivery.signing import (
    MAX_PREVIOUS_SECRETS,
    ROTATION_GRACE,
    cloud_elements_signature,
    new_webhook_secret,
    rotated,
    signature_headers,
    signing_secrets,
)

BODY = b'{"id":"n-1","message":{"events":[]}}'


def _item(**fields: Any) -> dict[str, Any]:
    return {"id": "123456789012", "configuration": {}, "webhook_secret": new_webhook_secret(), **fields}


def test_the_cloud_elements_signature_matches_an_independent_hmac() -> None:
    # printf '%s' '{"a":1}' | openssl dgst -sha256 -hmac 'ce-key' -binary | base64
    assert (
        cloud_elements_signature("ce-key", b'{"a":1}')
        == "sha256=dVJzIu1MGh9NcwC2LrRCXYkbZryD6t9GZtQ8pjIa5AM="
    )


def test_the_headers_verify_with_standard_webhooks() -> None:
    item = _item()
    now = datetime.now(UTC)

    headers = signature_headers(item, "n-1", BODY, now)

    assert Webhook(item["webhook_secret"]).verify(BODY, headers) == {"id": "n-1", "message": {"events": []}}
    assert headers["webhook-id"] == headers["Elements-Webhook-Id"] == "n-1"
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))


def test_a_changed_body_does_not_verify() -> None:
    item = _item()
    headers = signature_headers(item, "n-1", BODY, datetime.now(UTC))

    with pytest.raises(WebhookVerificationError):
        Webhook(item["webhook_secret"]).verify(BODY.replace(b"n-1", b"n-2"), headers)


def test_the_cloud_elements_header_is_sent_only_with_a_signature_key() -> None:
    now = datetime.now(UTC)

    without = signature_headers(_item(), "n-1", BODY, now)
    with_key = signature_headers(
        _item(configuration={"event.notification.signature.key": "k"}), "n-1", BODY, now
    )

    assert "Elements-Webhook-Signature" not in without
    assert with_key["Elements-Webhook-Signature"] == cloud_elements_signature("k", BODY)


def test_an_instance_without_a_webhook_secret_sends_no_standard_webhooks_signature() -> None:
    headers = signature_headers({"configuration": {}}, "n-1", BODY, datetime.now(UTC))

    assert "webhook-signature" not in headers
    assert headers["webhook-id"] == "n-1"


# --- rotation -----------------------------------------------------------------------------------
def test_rotation_signs_with_the_new_and_the_previous_secret_during_the_grace() -> None:
    item = _item()
    now = datetime.now(UTC)

    new_secret, fields = rotated(item, now)
    headers = signature_headers({**item, **fields}, "n-1", BODY, now)

    assert new_secret.startswith("whsec_")
    assert new_secret != item["webhook_secret"]
    assert fields["webhook_secret"] == new_secret
    assert fields["previous_webhook_secrets"] == [
        {
            "secret": item["webhook_secret"],
            "expires_date": (now + ROTATION_GRACE).isoformat(timespec="seconds").replace("+00:00", "Z"),
        }
    ]
    assert headers["webhook-signature"].count("v1,") == 2
    Webhook(new_secret).verify(BODY, headers)
    Webhook(item["webhook_secret"]).verify(BODY, headers)


def test_a_previous_secret_stops_signing_when_its_grace_ends() -> None:
    item = _item()
    rotated_at = datetime.now(UTC) - ROTATION_GRACE - timedelta(seconds=1)
    new_secret, fields = rotated(item, rotated_at)

    secrets = signing_secrets({**item, **fields}, datetime.now(UTC))

    assert secrets == [new_secret]


def test_rotating_again_drops_expired_secrets_and_keeps_a_bounded_list() -> None:
    item = _item()
    now = datetime.now(UTC)
    for hours in range(MAX_PREVIOUS_SECRETS + 3):
        _, fields = rotated(item, now + timedelta(hours=hours))
        item = {**item, **fields}
    expired_item = {**item}

    _, later = rotated(expired_item, now + ROTATION_GRACE * 3)

    assert len(item["previous_webhook_secrets"]) == MAX_PREVIOUS_SECRETS
    assert [p["secret"] for p in later["previous_webhook_secrets"]] == [item["webhook_secret"]]
