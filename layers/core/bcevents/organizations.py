"""Organizations and users: who may call the API, authenticated Cloud Elements' way."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from bcevents import auth
from bcevents.errors import Unauthorized
from bcevents.storage import get_storage


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
        user_secret=user_secret or auth.new_secret(),
        organization_secret=org_secret or auth.new_secret(),
    )
    get_storage().put_organization(
        org.org_id,
        name,
        org.user_id,
        auth.hash_secret(org.user_secret),
        auth.hash_secret(org.organization_secret),
    )
    return org


def authenticate(header: str | None) -> Principal:
    """The principal behind an ``Authorization: User ..., Organization ...`` header."""
    credentials = auth.parse_authorization(header)
    user = get_storage().get_user(auth.hash_secret(credentials.user_secret))
    if user is None or not auth.secret_matches(credentials.organization_secret, user["org_hash"]):
        raise Unauthorized("unknown User or Organization secret")
    return Principal(org_id=user["org_id"], user_id=user["user_id"])
