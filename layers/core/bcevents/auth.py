"""Secrets: generation, hashing and the Cloud Elements ``Authorization`` header."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from bcevents.errors import Unauthorized

_HEADER = re.compile(
    r"^\s*User\s+(?P<user>[^\s,]+)\s*,\s*Organization\s+(?P<org>[^\s,]+)\s*(?:,\s*Element\s+\S+\s*)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Credentials:
    """The two secrets of a Cloud Elements ``Authorization`` header."""

    user_secret: str
    organization_secret: str


def parse_authorization(header: str | None) -> Credentials:
    """Read ``User <secret>, Organization <secret>`` (an ``Element`` token may follow and is ignored)."""
    if not header:
        raise Unauthorized("missing Authorization header: expected 'User <secret>, Organization <secret>'")
    match = _HEADER.match(header)
    if not match:
        raise Unauthorized("malformed Authorization header: expected 'User <secret>, Organization <secret>'")
    return Credentials(match["user"], match["org"])


def new_secret(nbytes: int = 32) -> str:
    """A random URL-safe secret."""
    return secrets.token_urlsafe(nbytes)


def hash_secret(secret: str) -> str:
    """The stored form of a secret.

    Secrets are 256-bit random values, so one SHA-256 is enough: there is no password to guess,
    and a slow hash would only slow every request down.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented secret with a stored hash."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def new_webhook_secret() -> str:
    """A Standard Webhooks signing secret (``whsec_`` + base64 of 24 random bytes)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
