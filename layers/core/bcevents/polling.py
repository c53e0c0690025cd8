"""The poll function's use case: take the lease, read the store's clock, poll every resource."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bcevents import hub
from bcevents.bigcommerce import BigCommerceClient
from bcevents.configuration import InstanceConfiguration
from bcevents.errors import LeaseHeld, StoreRejectedCredentials, StoreThrottled
from bcevents.instances import store_auth
from bcevents.observability import logger
from bcevents.poller import OutOfTime, PollContext, ResourceReport, instance_info, poll_resources
from bcevents.settings import get_settings
from bcevents.storage import get_storage


@dataclass
class PollOutcome:
    """What a run did: ``outcome`` is polled, skipped (and why), or stopped early (resumes next run)."""

    instance_id: str
    outcome: str
    resources: list[ResourceReport] = field(default_factory=list)
    requests: int = 0


def poll_instance(
    instance_id: str, *, lease_owner: str, remaining_seconds: Callable[[], float]
) -> PollOutcome:
    """Poll one instance, unless it is gone, disabled, or another run holds its lease."""
    storage = get_storage()
    item = storage.get_instance(instance_id)
    if item is None:
        return PollOutcome(instance_id, "skipped: no such instance")
    if not item.get("events_enabled"):
        return PollOutcome(instance_id, "skipped: events disabled")
    settings = get_settings()
    try:
        storage.acquire_lease(instance_id, lease_owner, settings.poll_lease_seconds)
    except LeaseHeld:
        logger.info("another poll holds the lease", extra={"instance_id": instance_id})
        return PollOutcome(instance_id, "skipped: another poll is running")
    config = InstanceConfiguration.model_validate(item["configuration"])
    base = hub.store_base_urls(config.store_url or "")
    client = BigCommerceClient(store_auth(config), remaining_seconds=remaining_seconds)
    ctx = PollContext(
        instance_id=instance_id,
        instance=instance_info(item),
        kind=base.kind,
        base=base,
        client=client,
        storage=storage,
        lease_owner=lease_owner,
        store_now=datetime.now(UTC),
        remaining_seconds=remaining_seconds,
        created_at=datetime.fromisoformat(item["created_date"].replace("Z", "+00:00")),
    )
    outcome = "polled"
    try:
        ctx.store_now = client.store_time(base.v2_root)
        poll_resources(ctx, config)
    except (OutOfTime, StoreThrottled) as exc:
        outcome = f"stopped early: {exc.__class__.__name__}"
        logger.warning("poll stopped early; the next run resumes", extra={"instance_id": instance_id})
    except StoreRejectedCredentials as exc:
        outcome = f"failed: {exc}"
        logger.error(
            "the store refused the credentials", extra={"instance_id": instance_id, "error": str(exc)}
        )
    finally:
        client.close()
        storage.release_lease(instance_id, lease_owner)
    result = PollOutcome(instance_id, outcome, ctx.reports, client.requests_made)
    logger.info(
        "poll finished",
        extra={
            "instance_id": instance_id,
            "outcome": outcome,
            "requests": client.requests_made,
            "events": sum(r.events for r in ctx.reports),
        },
    )
    return result
