"""The poll function's use case: take the lease, read the store's clock, poll every resource.

Each run that took the lease is kept in the instance's status (``status.record_poll``) and
measured: duration, store requests and 429s, errors, and per resource the records listed and the
events enqueued.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from bcevents import clock
from bcevents.aws.poll_items import PollState
from bcevents.aws.tables import Item, Storage, get_storage
from bcevents.bigcommerce import endpoints
from bcevents.bigcommerce.client import BigCommerceClient, store_auth
from bcevents.clock import parse_iso
from bcevents.compat.configuration import InstanceConfiguration
from bcevents.compat.envelope import InstanceInfo
from bcevents.errors import EgressRefused, LeaseHeld, ServiceError, StoreRejectedCredentials, StoreThrottled
from bcevents.observability import logger, metrics, tracer
from bcevents.polling import status
from bcevents.polling.pager import poll_resources
from bcevents.polling.queue_sink import QueueSink
from bcevents.polling.report import ResourceReport
from bcevents.polling.window import OutOfTime, Store
from bcevents.settings import get_settings


@dataclass
class PollOutcome:
    """What a run did: ``outcome`` is polled, skipped (and why), or stopped early (resumes next run)."""

    instance_id: str
    outcome: str
    resources: list[ResourceReport] = field(default_factory=list)
    requests: int = 0


@tracer.capture_method(capture_response=False)
def poll_instance(
    instance_id: str, *, lease_owner: str, remaining_seconds: Callable[[], float]
) -> PollOutcome:
    """Poll one instance, unless it is gone, disabled, or another run holds its lease."""
    started = clock.now()
    storage = get_storage()
    # One read for the instance, its lease, status and watermarks; the lease is then taken only if
    # it is still as read, so the watermarks read are those the run starts from (aws.poll_items).
    state = storage.read_poll_state(instance_id)
    item = state.instance
    if item is None:
        return PollOutcome(instance_id, "skipped: no such instance")
    if not item.get("events_enabled"):
        return PollOutcome(instance_id, "skipped: events disabled")
    settings = get_settings()
    taken = _take_lease(storage, state, instance_id, lease_owner, remaining_seconds)
    if isinstance(taken, PollOutcome):
        return taken
    lease_token = taken
    # Read without the planner: a stored URL it no longer accepts fails its own resource, not the run.
    config = InstanceConfiguration.model_validate(item["configuration"])
    created_at = parse_iso(item["created_date"])
    base = endpoints.store_base_urls(config.store_url or "")
    client = BigCommerceClient(store_auth(config), remaining_seconds=remaining_seconds)
    store = Store(client=client, base=base, now=clock.now(), remaining_seconds=remaining_seconds)
    # The token is the lease's acquisition time in milliseconds (aws.poll_items.acquire_lease).
    lease_expires = lease_token / 1000 + settings.poll_lease_seconds
    sink = QueueSink(storage, instance_info(item), lease_token, lease_expires)
    reports: list[ResourceReport] = []
    outcome = "failed: the run ended unexpectedly"
    try:
        store.now = client.store_time(base.v2_root)
        poll_resources(
            store,
            sink,
            config,
            state.watermarks,
            starts={name: parse_iso(at) for name, at in (item.get("resource_starts") or {}).items()},
            created_at=created_at,
            reports=reports,
        )
        outcome = "polled"
    except (OutOfTime, StoreThrottled) as exc:
        outcome = f"stopped early: {exc.__class__.__name__}"
        logger.warning("poll stopped early; the next run resumes", extra={"instance_id": instance_id})
    except StoreRejectedCredentials as exc:
        outcome = f"failed: {exc}"
        logger.error(
            "the store refused the credentials", extra={"instance_id": instance_id, "error": str(exc)}
        )
    except EgressRefused as exc:
        # The store's name now resolves inside (or its URL is no longer allowed): retrying this
        # invocation cannot help, and the status says why until the name or the instance changes.
        outcome = f"failed: {exc}"
        logger.error("the store's address is refused", extra={"instance_id": instance_id, "error": str(exc)})
    except ServiceError as exc:
        outcome = f"failed: {exc}"  # recorded below, then the invocation fails (and is retried)
        raise
    finally:
        client.close()
        storage.release_lease(instance_id, lease_owner)
        _measure(instance_id, store, reports, outcome, started, state.status)
    result = PollOutcome(instance_id, outcome, reports, client.requests_made)
    # An idle run is the common case, and its log line costs more than the run: DEBUG for those.
    idle = outcome == "polled" and not any(r.events or r.error for r in reports)
    (logger.debug if idle else logger.info)(
        "poll finished",
        extra={
            "instance_id": instance_id,
            "outcome": outcome,
            "requests": client.requests_made,
            "events": sum(r.events for r in reports),
        },
    )
    return result


def _take_lease(
    storage: Storage, state: PollState, instance_id: str, owner: str, remaining_seconds: Callable[[], float]
) -> int | PollOutcome:
    """The lease's fencing token, or why the run does not poll."""
    lease_seconds = get_settings().poll_lease_seconds
    if lease_seconds <= remaining_seconds():
        # A run that can outlive its lease could checkpoint after another run took over.
        outcome = (
            f"failed: POLL_LEASE_SECONDS ({lease_seconds}) must exceed the poll function's "
            f"timeout ({remaining_seconds():.0f} s left at the start of this run)"
        )
        logger.error("poll refused: the lease is shorter than a run", extra={"instance_id": instance_id})
        metrics.add_metric(name="PollErrors", unit=MetricUnit.Count, value=1)
        return PollOutcome(instance_id, outcome)
    try:
        if state.lease_live():  # held: no write needed to know it
            raise LeaseHeld(instance_id)
        return storage.acquire_lease(instance_id, owner, lease_seconds, read=state)
    except LeaseHeld:
        logger.info("another poll holds the lease", extra={"instance_id": instance_id})
        return PollOutcome(instance_id, "skipped: another poll is running")


def _measure(
    instance_id: str,
    store: Store,
    reports: list[ResourceReport],
    outcome: str,
    started: datetime,
    previous_status: Item | None,
) -> None:
    """Metrics of the run, and the instance's status (written only when it tells something new)."""
    client = store.client
    finished = clock.now()
    errors = int(outcome.startswith("failed")) + sum(1 for r in reports if r.error)
    metrics.add_metric(name="PollDuration", unit=MetricUnit.Milliseconds, value=(finished - started) / _MS)
    metrics.add_metric(name="StoreRequests", unit=MetricUnit.Count, value=client.requests_made)
    metrics.add_metric(name="StoreThrottles", unit=MetricUnit.Count, value=client.throttled)
    metrics.add_metric(name="PollErrors", unit=MetricUnit.Count, value=errors)
    for report in reports:
        for name, value in (("EventsPolled", report.records), ("EventsEnqueued", report.events)):
            # Per resource: a handful of names per deployment, never per instance (cost).
            with single_metric(name=name, unit=MetricUnit.Count, value=value) as metric:
                metric.add_dimension(name="resource", value=report.resource)
    status.record_poll(
        instance_id,
        outcome=outcome,
        reports=reports,
        started=started,
        finished=finished,
        store_now=store.now,
        requests=client.requests_made,
        throttled=client.throttled,
        previous=previous_status,
    )


_MS = timedelta(milliseconds=1)


def instance_info(item: Item) -> InstanceInfo:
    """What the envelope says about an instance."""
    return InstanceInfo(
        instance_id=item["id"],
        name=item["name"],
        tags=list(item.get("tags", [])),
        org_id=item["org_id"],
        user_id=item.get("user_id", ""),
    )
