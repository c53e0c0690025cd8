"""The poller against moto and the sandbox store: nothing lost, nothing invented, few requests."""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bcsandbox import SandboxServer
from devstack.resources import StackResources
from tests.support.api import ApiClient
from tests.support.bodies import OAUTH_SEED, api_account, legacy_filled
from tests.support.pipeline import drain, run_poll

CALLBACK = "http://127.0.0.1:9/callback"  # never called here: delivery is another function


def _legacy(api: ApiClient, sandbox: SandboxServer, **resources: Any) -> int:
    store = sandbox.store
    body = legacy_filled(f"{sandbox.url}/api/v2", store.username, store.password, CALLBACK)
    if resources:
        body["configuration"]["event.poller.configuration"] = resources
    response = api.post("/instances", body)
    assert response.status == 200, response.body
    return int(response.body["id"])


def _api_account(api: ApiClient, sandbox: SandboxServer, **config: Any) -> int:
    store = sandbox.store
    body = api_account(f"{sandbox.url}/stores/{store.store_hash}/v3/", store.access_token, CALLBACK, **config)
    response = api.post("/instances", body)
    assert response.status == 200, response.body
    return int(response.body["id"])


def _later(sandbox: SandboxServer, seconds: int = 10) -> datetime:
    """Freeze the store clock a little after the instance's creation (records made now share it)."""
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=seconds)
    sandbox.store.set_clock(when)
    return when


def _settle(sandbox: SandboxServer, seconds: int = 30) -> None:
    """Move the store clock on so everything made so far is older than the settle lag."""
    sandbox.store.advance(seconds)


def _list_requests(sandbox: SandboxServer) -> list[Any]:
    return [r for r in sandbox.store.requests if not r.path.endswith("/time")]


def _create(sandbox: SandboxServer, **counts: int) -> None:
    for resource, count in counts.items():
        getattr(sandbox.store, f"create_{resource}")(count)


# --- correctness -------------------------------------------------------------------------------
def test_600_orders_sharing_one_second_give_exactly_600_events(
    api: ApiClient, sandbox: SandboxServer, aws: StackResources
) -> None:
    instance = _legacy(api, sandbox)
    _later(sandbox)
    sandbox.store.create_orders(600)
    _settle(sandbox)

    run_poll(instance)

    ids = drain(aws).ids("orders")
    assert len(ids) == 600
    assert len(set(ids)) == 600


def test_created_updated_and_archived_orders_are_classified(
    api: ApiClient, sandbox: SandboxServer, aws: StackResources
) -> None:
    instance = _legacy(api, sandbox)
    _later(sandbox)
    store = sandbox.store
    first = store.create_order()["id"]
    run_poll(instance)  # the store clock has not moved: nothing is settled yet
    assert drain(aws).events == []
    _settle(sandbox)
    run_poll(instance)
    assert drain(aws).types("orders") == {"CREATED": 1}

    store.update_order(first, status_id=2)
    _settle(sandbox)
    run_poll(instance)
    store.archive_order(first)
    _settle(sandbox)
    run_poll(instance)

    events = drain(aws).events
    assert [(e["objectId"], e["eventType"]) for e in events] == [
        (str(first), "UPDATED"),
        (str(first), "DELETED"),
    ]


def test_a_record_updated_between_pages_is_never_lost(
    api: ApiClient, sandbox: SandboxServer, aws: StackResources
) -> None:
    """Given 600 orders a second apart, when orders of page one and page three change while page
    one is served, then every order is reported and each changed one at most once more."""
    instance = _legacy(
        api, sandbox, orders=OAUTH_SEED["configuration"]["event.poller.configuration"]["orders"]
    )
    start = _later(sandbox)
    store = sandbox.store
    ids = store.create_orders(600, start=start, step_seconds=1)
    store.set_clock(start + timedelta(seconds=700))
    changed = (ids[10], ids[520])

    def change_once(record: Any) -> None:
        if "/orders" in record.path and not hooks_done:
            hooks_done.append(True)
            store.advance(1)
            for order_id in changed:
                store.update_order(order_id, status_id=5)

    hooks_done: list[bool] = []
    unsubscribe = store.on_request(change_once)
    try:
        run_poll(instance)
    finally:
        unsubscribe()
    _settle(sandbox)
    run_poll(instance)  # the changes are newer than the first run's window: the next run has them

    events = drain(aws).ids("orders")
    assert set(events) == {str(i) for i in ids}
    assert len(events) - len(ids) <= len(changed)


def test_a_crash_after_a_page_repeats_at_most_one_page(
    api: ApiClient, sandbox: SandboxServer, aws: StackResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given a backlog of 1000 orders, when the run dies right after enqueuing its third page (before
    that checkpoint), then the next run delivers the rest, and at most one page is seen twice."""
    instance = _legacy(
        api, sandbox, orders=OAUTH_SEED["configuration"]["event.poller.configuration"]["orders"]
    )
    start = _later(sandbox)
    ids = sandbox.store.create_orders(1000, start=start, step_seconds=1)
    sandbox.store.set_clock(start + timedelta(seconds=1100))
    from bcevents.aws.tables import Storage

    real = Storage.put_watermark
    calls: list[int] = []

    class Killed(BaseException):
        """The Lambda runtime killing the process: nothing after it runs, not even finally-blocks' I/O."""

    def dying(self: Storage, *args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise Killed
        real(self, *args, **kwargs)

    monkeypatch.setattr(Storage, "put_watermark", dying)
    with pytest.raises(Killed):
        run_poll(instance)
    monkeypatch.setattr(Storage, "put_watermark", real)
    from bcevents.aws.tables import get_storage

    get_storage().instances.delete_item(Key={"pk": f"INSTANCE#{instance}", "sk": "LEASE"})  # it expires

    run_poll(instance)

    events = drain(aws).ids("orders")
    assert set(events) == {str(i) for i in ids}
    assert len(events) - len(ids) <= 250


def test_429s_are_waited_out_using_the_reset_header(
    api: ApiClient, sandbox: SandboxServer, aws: StackResources
) -> None:
    instance = _legacy(api, sandbox)
    _later(sandbox)
    sandbox.store.create_orders(3)
    _settle(sandbox)
    sandbox.store.inject_fault("/api/v2/orders", "rate_limit", count=2, reset_ms=300)

    run_poll(instance)

    assert len(drain(aws).ids("orders")) == 3
    orders = [r for r in sandbox.store.requests if r.path == "/api/v2/orders"]
    assert [r.status for r in orders[:3]] == [429, 429, 200]
    # The reset header's 0.3 s, not the 5 s a 429 without headers is given (client._FALLBACK_429_WAIT).
    assert 0.3 <= orders[1].at - orders[0].at < 2.5
    assert 0.3 <= orders[2].at - orders[1].at < 2.5


def test_an_exhausted_quota_is_paced_without_a_single_429(
    api: ApiClient, sandbox: SandboxServer, aws: StackResources
) -> None:
    """The client reads ``X-Rate-Limit-Requests-Left`` and ``-Time-Reset-Ms`` and waits for the
    window to reset before asking again. The window (2 s for 3 requests) is far longer than the
    poller takes for 3 requests on its own, so without those headers (or without reading them) it
    would be answered 429."""
    instance = _legacy(
        api,
        sandbox,
        orders={**OAUTH_SEED["configuration"]["event.poller.configuration"]["orders"], "pageSize": 50},
    )
    start = _later(sandbox)
    sandbox.store.create_orders(150, start=start, step_seconds=1)
    sandbox.store.set_clock(start + timedelta(seconds=200))
    sandbox.store.settings.update({"rate_limit_quota": 3, "rate_limit_window_ms": 2_000})
    sandbox.store.clear_requests()
    sandbox.store.rate_limiter.reset()  # the poll's first request opens the window

    run_poll(instance)

    assert len(set(drain(aws).ids("orders"))) == 150
    requests = sandbox.store.requests
    assert [r.status for r in requests if r.status == 429] == []
    assert len(requests) > 3  # /v2/time, then pages: the quota ran out at least once
    # The fourth request waited for the window the first one opened to end.
    assert requests[3].at - requests[0].at >= 2.0


# --- configurations ---------------------------------------------------------------------------
def test_the_legacy_seed_polls_v2_orders_products_and_customers(
    api: ApiClient, sandbox: SandboxServer, aws: StackResources
) -> None:
    instance = _legacy(api, sandbox)
    _later(sandbox)
    _create(sandbox, orders=3, products=2, customers=4)
    _settle(sandbox)

    run_poll(instance)

    drained = drain(aws)
    assert (len(drained.ids("orders")), len(drained.ids("products")), len(drained.ids("customers"))) == (
        3,
        2,
        4,
    )
    paths = {r.path for r in _list_requests(sandbox)}
    assert paths == {"/api/v2/orders", "/api/v2/products", "/api/v2/customers"}


def test_an_api_account_polls_v2_orders_v3_products_and_v3_customers(
    api: ApiClient, sandbox: SandboxServer, aws: StackResources
) -> None:
    instance = _api_account(api, sandbox)
    _later(sandbox)
    _create(sandbox, orders=3, products=2, customers=4)
    _settle(sandbox)

    run_poll(instance)

    drained = drain(aws)
    assert drained.types("orders") == {"CREATED": 3}
    assert drained.types("products") == {"CREATED": 2}
    assert drained.types("customers") == {"CREATED": 4}
    hash_ = sandbox.store.store_hash
    paths = {r.path for r in _list_requests(sandbox)}
    assert paths == {
        f"/stores/{hash_}/v2/orders",
        f"/stores/{hash_}/v3/catalog/products",
        f"/stores/{hash_}/v3/customers",
    }


def test_a_custom_resource_with_a_dotted_id_field_is_polled(
    api: ApiClient, sandbox: SandboxServer, aws: StackResources
) -> None:
    custom = {
        "url": "/v2/orders?min_date_modified=${gmtDate:EEE, dd MMM yyyy HH:mm:ss Z}&sort=date_modified:asc",
        "idField": "billing_address.email",
        "datesConfiguration": {"updatedDateField": "date_modified", "createdDateField": "date_created"},
    }
    instance = _legacy(api, sandbox, order_emails=custom)
    _later(sandbox)
    orders = [sandbox.store.create_order() for _ in range(3)]
    _settle(sandbox)

    run_poll(instance)

    assert sorted(drain(aws).ids("order_emails")) == sorted(o["billing_address"]["email"] for o in orders)


def test_the_first_poll_starts_at_the_instance_creation(
    api: ApiClient, sandbox: SandboxServer, aws: StackResources
) -> None:
    sandbox.store.set_clock(datetime.now(UTC) - timedelta(days=3))
    sandbox.store.create_orders(5)
    sandbox.store.set_clock(datetime.now(UTC))
    instance = _legacy(api, sandbox)
    _settle(sandbox)

    run_poll(instance)

    assert drain(aws).events == []


def test_backfill_from_reports_history(api: ApiClient, sandbox: SandboxServer, aws: StackResources) -> None:
    old = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    sandbox.store.set_clock(old)
    sandbox.store.create_orders(5)
    sandbox.store.set_clock(datetime.now(UTC))
    orders = dict(OAUTH_SEED["configuration"]["event.poller.configuration"]["orders"])
    orders["backfillFrom"] = (old - timedelta(days=1)).isoformat()
    instance = _legacy(api, sandbox, orders=orders)
    _settle(sandbox)

    run_poll(instance)

    assert len(drain(aws).ids("orders")) == 5


# --- concurrency and efficiency -----------------------------------------------------------------
def test_two_overlapping_invocations_run_once(
    api: ApiClient, sandbox: SandboxServer, aws: StackResources
) -> None:
    instance = _legacy(api, sandbox)
    _later(sandbox)
    sandbox.store.create_orders(3)
    _settle(sandbox)
    sandbox.store.inject_fault("/api/v2/time", "delay", count=1, seconds=0.5)
    results: list[dict[str, Any]] = []

    threads = [threading.Thread(target=lambda: results.append(run_poll(instance))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    outcomes = sorted(r["outcome"] for r in results)
    assert outcomes == ["polled", "skipped: another poll is running"]
    assert len(drain(aws).ids("orders")) == 3


def test_an_idle_poll_makes_one_request_per_resource_plus_the_store_time(
    api: ApiClient, sandbox: SandboxServer, aws: StackResources
) -> None:
    instance = _legacy(api, sandbox)
    _settle(sandbox)
    run_poll(instance)
    sandbox.store.clear_requests()
    _settle(sandbox)

    run_poll(instance)

    paths = [r.path for r in sandbox.store.requests]
    assert sorted(paths) == sorted(
        ["/api/v2/time", "/api/v2/orders", "/api/v2/products", "/api/v2/customers"]
    )


@pytest.mark.parametrize("changes", [1, 249, 250, 251, 1000])
def test_a_backlog_takes_within_2_percent_of_the_minimum_requests(
    api: ApiClient, sandbox: SandboxServer, aws: StackResources, changes: int
) -> None:
    orders = OAUTH_SEED["configuration"]["event.poller.configuration"]["orders"]
    instance = _legacy(api, sandbox, orders=orders)
    start = _later(sandbox)
    sandbox.store.create_orders(changes, start=start, step_seconds=1)
    sandbox.store.set_clock(start + timedelta(seconds=changes + 60))
    sandbox.store.clear_requests()

    run_poll(instance)

    requests = len(_list_requests(sandbox))
    minimum = math.ceil(changes / 250) + 1
    assert requests <= max(minimum, math.floor(minimum * 1.02))
    assert len(set(drain(aws).ids("orders"))) == changes


def test_the_poll_event_in_events_is_accepted(aws: StackResources) -> None:
    from tests.support.api import load_event

    assert run_poll(load_event("poll.json")["instanceId"])["outcome"] == "skipped: no such instance"


def test_an_idle_poll_writes_no_watermark(
    api: ApiClient, sandbox: SandboxServer, aws: StackResources
) -> None:
    """An idle poll costs one request per resource and no DynamoDB write (the cost model's main term)."""
    from bcevents.aws.tables import get_storage

    instance = _legacy(api, sandbox)
    _later(sandbox)
    _create(sandbox, orders=1)
    _settle(sandbox)
    run_poll(instance)
    before = get_storage().get_watermarks(str(instance))
    _settle(sandbox)

    run_poll(instance)

    assert get_storage().get_watermarks(str(instance)) == before
    assert set(before) == {"orders"}


def test_a_poll_that_outlived_its_lease_cannot_overwrite_a_newer_checkpoint(aws: StackResources) -> None:
    """Fencing: the poll that took over (a later lease token) wins; the stale one is told LeaseHeld."""
    from bcevents.aws.tables import get_storage
    from bcevents.errors import LeaseHeld

    storage = get_storage()
    newer = {"updated_at": "2026-01-02T00:00:00+00:00", "seen": {}}
    token = storage.acquire_lease("1", "the-run-that-took-over", 60)
    storage.put_watermark("1", "orders", newer, lease_token=token)

    with pytest.raises(LeaseHeld):
        storage.put_watermark(
            "1", "orders", {"updated_at": "2026-01-01T00:00:00+00:00", "seen": {}}, lease_token=token - 1_000
        )
    storage.put_watermark("1", "orders", newer, lease_token=token)  # the same lease checkpoints again

    assert storage.get_watermarks("1")["orders"]["updated_at"] == newer["updated_at"]


def test_lease_tokens_grow_with_each_lease(aws: StackResources) -> None:
    """Each lease gets a larger fencing token, so the run it replaced can no longer checkpoint."""
    import time

    from bcevents.aws.tables import get_storage
    from bcevents.errors import LeaseHeld

    storage = get_storage()
    first = storage.acquire_lease("1", "a", 10)
    storage.release_lease("1", "a")
    time.sleep(0.005)  # tokens are milliseconds; a real lease follows the last by minutes
    second = storage.acquire_lease("1", "b", 10)
    storage.put_watermark("1", "orders", {"updated_at": "2026-01-02T00:00:00+00:00", "seen": {}}, second)

    assert second > first
    with pytest.raises(LeaseHeld):
        storage.put_watermark("1", "orders", {"updated_at": "2026-01-01T00:00:00+00:00", "seen": {}}, first)
    assert storage.get_watermarks("1")["orders"]["updated_at"] == "2026-01-02T00:00:00+00:00"


def test_a_resource_added_to_an_existing_instance_starts_when_it_was_added(
    api: ApiClient, sandbox: SandboxServer, aws: StackResources
) -> None:
    """#14: a resource added later started from the instance's creation and reported months of
    old changes on its first poll. It now starts when it was added (or at its backfillFrom)."""
    orders = {"url": "/hubs/ecommerce/orders?where=date_modified>='${date:yyyy-MM-dd'T'HH:mm:ss'Z'}'"}
    products = {"url": "/hubs/ecommerce/products?where=date_modified>='${date:yyyy-MM-dd'T'HH:mm:ss'Z'}'"}
    instance = _api_account(api, sandbox, **{"event.poller.configuration": {"orders": orders}})
    _created_an_hour_ago(str(instance))
    store = sandbox.store
    store.set_clock(datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10))
    old = store.create_products(3)  # changed after the instance was created, before products were added
    store.set_clock(datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1))
    run_poll(instance)
    assert drain(aws).events == []

    added = api.patch(
        f"/instances/{instance}",
        {
            "configuration": {"event.poller.configuration": {"orders": orders, "products": products}},
            "validateCredentials": False,
        },
    )
    assert added.status == 200, added.body
    store.set_clock(datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5))
    new = store.create_product()["id"]
    store.advance(30)
    run_poll(instance)

    assert drain(aws).ids("products") == [str(new)], old


def _created_an_hour_ago(instance_id: str) -> None:
    """The instance (and its resources) as if created an hour ago."""
    from bcevents.aws.tables import get_storage

    storage = get_storage()
    item = storage.get_instance(instance_id)
    assert item is not None
    hour_ago = (
        (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )
    starts = dict.fromkeys(item["resource_starts"], hour_ago)
    storage.update_instance_fields(instance_id, created_date=hour_ago, resource_starts=starts)


def test_a_lease_shorter_than_a_run_refuses_to_poll(
    api: ApiClient, sandbox: SandboxServer, aws: StackResources, setenv: Any
) -> None:
    """#14: POLL_LEASE_SECONDS below the function's timeout let a run outlive its lease; the poll
    function now refuses to run (and says why) rather than race the run that takes over."""
    instance = _legacy(api, sandbox)
    setenv(POLL_LEASE_SECONDS="120")
    sandbox.store.clear_requests()

    result = run_poll(instance, remaining_ms=300_000)

    assert result["outcome"].startswith("failed: POLL_LEASE_SECONDS (120) must exceed")
    assert sandbox.store.requests == []


def test_the_template_gives_the_lease_longer_than_the_poll_function_runs() -> None:
    from bcevents.settings import Settings
    from devstack.resources import load_template

    template = load_template()
    timeout = template["Resources"]["PollFunction"]["Properties"]["Timeout"]
    environment = (
        template["Resources"]["PollFunction"]["Properties"].get("Environment", {}).get("Variables", {})
    )
    lease = int(environment.get("POLL_LEASE_SECONDS", Settings.model_fields["poll_lease_seconds"].default))

    assert lease > timeout


def test_a_stored_url_a_newer_rule_refuses_fails_its_resource_alone(
    api: ApiClient, sandbox: SandboxServer, aws: StackResources
) -> None:
    """An instance saved before raw URLs' own `limit=` was refused keeps polling its other
    resources; the refused one says why in the run and the status (it used to stop the whole run,
    holding the lease)."""
    from bcevents.aws.tables import get_storage

    instance = _legacy(api, sandbox)
    storage = get_storage()
    item = storage.get_instance(str(instance))
    assert item is not None
    raw = {"url": "/v2/orders?min_date_modified=${gmtDate:EEE, dd MMM yyyy HH:mm:ss Z}&limit=50"}
    configuration = {
        **item["configuration"],
        "event.poller.configuration": {
            "raw": raw,
            "products": {
                "url": "/hubs/ecommerce/products?where=min_date_modified='${date:EEE, dd MMM yyyy HH:mm:ss Z}'"
            },
        },
    }
    storage.update_instance_fields(str(instance), configuration=configuration)  # as stored long ago
    _later(sandbox)
    sandbox.store.create_products(2)
    _settle(sandbox)

    result = run_poll(instance)

    errors = {r["resource"]: r["error"] for r in result["resources"]}
    assert "'limit' set by the poller" in errors["raw"]
    assert errors["products"] is None
    assert len(drain(aws).ids("products")) == 2
    assert api.get(f"/instances/{instance}/status").body["lastError"]["resource"] == "raw"


def test_a_resource_pointed_at_another_endpoint_forgets_its_watermark(
    api: ApiClient, sandbox: SandboxServer, aws: StackResources
) -> None:
    """A resource whose url changed under the same name kept its watermark (and a pinned pass's
    after_id), so the new endpoint's records below that id were skipped."""
    from bcevents.aws.tables import get_storage

    orders = {"url": "/hubs/ecommerce/orders?where=date_modified>='${date:yyyy-MM-dd'T'HH:mm:ss'Z'}'"}
    instance = _api_account(api, sandbox, **{"event.poller.configuration": {"things": orders}})
    _later(sandbox)
    sandbox.store.create_orders(2)
    _settle(sandbox)
    run_poll(instance)
    assert "things" in get_storage().get_watermarks(str(instance))

    products = {"url": "/hubs/ecommerce/products?where=date_modified>='${date:yyyy-MM-dd'T'HH:mm:ss'Z'}'"}
    changed = api.patch(
        f"/instances/{instance}",
        {"configuration": {"event.poller.configuration": {"things": products}}, "validateCredentials": False},
    )

    assert changed.status == 200, changed.body
    assert "things" not in get_storage().get_watermarks(str(instance))
