"""The Cloud Elements Authorization header and secret handling."""

from __future__ import annotations

import pytest

from bcevents.api.access import hash_secret, parse_authorization, secret_matches
from bcevents.delivery.signing import new_webhook_secret
from bcevents.errors import Unauthorized


def test_parses_user_and_organization() -> None:
    creds = parse_authorization("User abc, Organization def")
    assert (creds.user_secret, creds.organization_secret) == ("abc", "def")


def test_an_element_token_may_follow() -> None:
    assert parse_authorization("User a,Organization b, Element c").organization_secret == "b"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer x",
        "User a",
        "Organization b, User a",
        "User a, Organization",
        "User a b, Organization c",
    ],
)
def test_malformed_headers_are_unauthorized(header: str | None) -> None:
    with pytest.raises(Unauthorized):
        parse_authorization(header)


def test_secrets_are_compared_by_hash() -> None:
    stored = hash_secret("s3cret")
    assert "s3cret" not in stored
    assert secret_matches("s3cret", stored)
    assert not secret_matches("s3cret!", stored)


def test_webhook_secrets_follow_standard_webhooks() -> None:
    import base64

    secret = new_webhook_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
