"""``POST /instances`` made safe to retry: the ``Idempotency-Key`` header.

A retry of the same request (same key and body, within a day) answers with the instance the first
one created, and a fresh token (the first answer's may never have reached the client; only its hash
was kept), instead of creating a second instance that polls the same store. The key is recorded
against the instance the moment the instance exists, so a request that fails after that (its
schedule, its time) still leaves its retry the instance, and the retry puts the schedule right.
"""

from __future__ import annotations

import hashlib
import json

from bcevents.api import access, instances
from bcevents.api.access import Principal
from bcevents.api.models import CreatedInstanceView, InstanceBody
from bcevents.aws import creation_keys, lifecycle
from bcevents.aws.tables import get_storage
from bcevents.errors import CreationInProgress, IdempotencyKeyReused
from bcevents.observability import logger


def create_instance(
    principal: Principal, body: InstanceBody, *, idempotency_key: str | None = None
) -> CreatedInstanceView:
    """Create an instance, once per ``idempotency_key`` (when given) and organization."""
    if idempotency_key is None:
        return instances.create_instance(principal, body)
    found = creation_keys.claim(principal.org_id, idempotency_key, body_hash(body))
    if not found.claimed:
        return _replay(principal, found)
    created: list[str] = []

    def record(instance_id: str) -> None:
        created.append(instance_id)
        creation_keys.complete(principal.org_id, idempotency_key, instance_id)

    try:
        return instances.create_instance(principal, body, on_stored=record)
    except Exception:
        if not created:
            creation_keys.release(principal.org_id, idempotency_key)  # nothing exists: a retry may try
        raise


def body_hash(body: InstanceBody) -> str:
    """The body's fingerprint: its parsed form, keys sorted (the same JSON in another order matches)."""
    canonical = json.dumps(body.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _replay(principal: Principal, found: creation_keys.Claim) -> CreatedInstanceView:
    if not found.same_body:
        raise IdempotencyKeyReused("this Idempotency-Key was sent with another body")
    if found.instance_id is None:
        raise CreationInProgress("a request with this Idempotency-Key is still creating its instance")
    item = instances.get_instance(principal, found.instance_id)
    lifecycle.sync_schedule(item)  # the first request may have ended before its schedule
    token = access.new_secret()
    get_storage().update_instance_fields(item["id"], token_hash=access.hash_secret(token))
    logger.info("instance creation replayed", extra={"instance_id": item["id"]})
    return CreatedInstanceView(
        **instances.to_view(item).model_dump(), token=token, webhook_secret=item["webhook_secret"]
    )
