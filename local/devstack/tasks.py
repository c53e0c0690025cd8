"""Chores the local stack runs inside a function's environment (a worker), where the core package lives.

Only workers import this module. The stack's own process never imports the core: the core reads
its settings from the environment once per process, and only workers have a deployment's
environment. These are operator actions a deployment does with ``make organization``.
"""

from __future__ import annotations

from typing import Any

from bcevents.api import access
from bcevents.api.access import create_organization
from bcevents.aws.tables import get_storage


def bootstrap_organization(name: str, user_secret: str, org_secret: str) -> str:
    """Make sure an organization answers to these secrets: ``created``, ``exists``, or ``conflict``."""
    user = get_storage().get_user(access.hash_secret(user_secret))
    if user is not None:
        return "exists" if access.secret_matches(org_secret, user["org_hash"]) else "conflict"
    create_organization(name, user_secret=user_secret, org_secret=org_secret)
    return "created"


def instance_secrets(instance_id: str) -> dict[str, Any] | None:
    """An instance's signing secrets, so the built-in callback receiver can check signatures."""
    item = get_storage().get_instance(instance_id)
    if item is None:
        return None
    return {
        "webhook_secret": item.get("webhook_secret"),
        "signature_key": item.get("configuration", {}).get("event.notification.signature.key"),
    }
