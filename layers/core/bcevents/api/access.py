"""Who may call the API: organizations, users and their secrets, checked Cloud Elements' way.

Secrets are generated here, stored only as hashes, and presented in the ``Authorization`` header
(``User <secret>, Organization <secret>``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from bcevents.aws.tables import get_storage
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


@dataclass(frozen=True)
class Principal:
    """The caller of a request, once authenticated."""

    org_id: str
    user_id: str


@dataclass(frozen=True)
class NewOrganization:
    """The secrets of a new organization: shown once, stored only as hashes."""

    org_id: str
    user_id: str
    user_secret: str
    organization_secret: str


def create_organization(
    name: str, *, user_secret: str | None = None, org_secret: str | None = None
) -> NewOrganization:
    """Create an organization with one user; secrets are random unless given (local stack)."""
    org = NewOrganization(
        org_id=secrets.token_hex(8),
        user_id=secrets.token_hex(8),
        user_secret=user_secret or new_secret(),
        organization_secret=org_secret or new_secret(),
    )
    get_storage().put_organization(
        org.org_id,
        name,
        org.user_id,
        hash_secret(org.user_secret),
        hash_secret(org.organization_secret),
    )
    return org


def authenticate(header: str | None) -> Principal:
    """The principal behind an ``Authorization: User ..., Organization ...`` header."""
    credentials = parse_authorization(header)
    user = get_storage().get_user(hash_secret(credentials.user_secret))
    if user is None or not secret_matches(credentials.organization_secret, user["org_hash"]):
        raise Unauthorized("unknown User or Organization secret")
    return Principal(org_id=user["org_id"], user_id=user["user_id"])
