"""GET /instances/{id}/status against moto and the sandbox store: polls, watermarks, lag, delivery."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bcevents import clock
from bcevents.aws import event_log
from bcevents.aws.event_log import Attempt, Status
from bcevents.aws.tables import Storage, get_storage
from bcsandbox import SandboxServer
from callbacks import CallbackReceiver, Reply
from devstack.resources import StackResources
from tests.integration.conftest import Deliveries
from tests.support.api import ApiClient
from tests.support.bodies import legacy_filled
from tests.support.pipeline import drain, run_poll

MakeInstance = Callable[..., dict[str, Any]]
Notify = Callable[..., list[Any]]
CALLBACK = "http://127.0.0.1:9/callback"  # never called here


def _legacy(api: ApiClient, sandbox: SandboxServer, *, password: str | None = None) -> int:
    store = sandbox.store
    body = legacy_filled(f"{sandbox.url}/api/v2", store.username, password or store.password, CALLBACK)
    body["validateCredentials"] = password is None
    response = api.post("/instances", body)
    assert response.status == 200, response.body
    return int(response.body["id"])


def _status(api: ApiClient, instance: int | str) -> dict[str, Any]:
    response = api.get(f"/instances/{instance}/status")
    assert response.status == 200, response.body
    body: dict[str, Any] = response.body
    return body


def _settled_orders(sandbox: SandboxServer, count: int) -> None:
    """Orders made a little after the instance, then the store clock moved past the settle lag."""
    sandbox.store.set_clock(datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=10))
    sandbox.store.create_orders(count)
    sandbox.store.advance(30)


@pytest.fixture
def status_writes(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every status item the poll function writes."""
    writes: list[dict[str, Any]] = []
    real = Storage.put_status

    def spy(self: Storage, instance_id: str, status: dict[str, Any]) -> None:
        writes.append(status)
        real(self, instance_id, status)

    monkeypatch.setattr(Storage, "put_status", spy)
    return writes


# --- polling -------------------------------------------------------------------------------------
def test_a_new_instance_has_not_been_polled_yet(api: ApiClient, sandbox: SandboxServer) -> None:
    instance = _legacy(api, sandbox)

    status = _status(api, instance)

    assert status["instanceId"] == instance
    assert status["delivery"] == {"state": "ENABLED", "reason": None}
    assert status["polling"] == {"state": "NOT_POLLED_YET", "refreshIntervalMinutes": 15, "lastPoll": None}
    assert status["resources"] == []
    assert status["lastError"] is None
    counters = status["last24Hours"]
    assert (counters["notifications"], counters["enqueued"], counters["complete"]) == (0, 0, True)


def test_after_a_poll_each_resource_shows_its_pass_watermark_and_lag(
    api: ApiClient, sandbox: SandboxServer, aws: StackResources
) -> None:
    instance = _legacy(api, sandbox)
    _settled_orders(sandbox, 3)

    run_poll(instance)
    status = _status(api, instance)

    assert status["polling"]["state"] == "OK"
    last = status["polling"]["lastPoll"]
    assert (last["outcome"], last["events"], last["throttled"]) == ("polled", 3, 0)
    assert last["requests"] == 4  # the store's time, then one list request per resource
    assert last["durationMs"] >= 0
    resources = {r["resource"]: r for r in status["resources"]}
    assert set(resources) == {"orders", "products", "customers"}
    orders = resources["orders"]
    assert (orders["outcome"], orders["records"], orders["events"]) == ("complete", 3, 3)
    assert orders["requests"] == 1
    assert last["startedDate"] <= orders["startedDate"] <= orders["finishedDate"] <= last["finishedDate"]
    assert orders["watermark"] == orders["polledThrough"]  # checkpointed: it had events
    assert resources["products"]["watermark"] is None  # idle: no checkpoint written...
    assert resources["products"]["polledThrough"] == orders["polledThrough"]  # ...but polled as far
    # The store's clock at the poll minus the settle lag, plus the seconds since: a few seconds.
    assert all(0 <= r["lagSeconds"] < 30 for r in resources.values())
    assert status["last24Hours"]["enqueued"] == 3
    assert status["last24Hours"]["pending"] == 3
    assert len(drain(aws).ids("orders")) == 3


def test_credentials_the_store_refuses_show_as_failing_with_the_error(
    api: ApiClient, sandbox: SandboxServer
) -> None:
    instance = _legacy(api, sandbox, password="a-revoked-token")

    run_poll(instance)
    status = _status(api, instance)

    assert status["polling"]["state"] == "FAILING"
    assert status["polling"]["lastPoll"]["outcome"].startswith("failed: the store answered 401")
    error = status["lastError"]
    assert error["resource"] is None
    assert error["message"].startswith("the store answered 401")
    assert "a-revoked-token" not in json.dumps(status)


def test_a_store_that_cannot_tell_its_time_fails_the_run_and_shows_why(
    api: ApiClient, sandbox: SandboxServer
) -> None:
    """The run raises (Lambda retries the invocation), and the status still records it."""
    from bcevents.errors import StoreRequestFailed

    instance = _legacy(api, sandbox)
    sandbox.store.inject_fault("/api/v2/time", "status", status=404)

    with pytest.raises(StoreRequestFailed):
        run_poll(instance)
    status = _status(api, instance)

    assert status["polling"]["state"] == "FAILING"
    assert status["polling"]["lastPoll"]["outcome"].startswith("failed: the store answered 404")
    assert status["lastError"]["message"].startswith("the store answered 404")


def test_a_resource_the_store_refuses_fails_alone_and_its_error_outlives_the_recovery(
    api: ApiClient, sandbox: SandboxServer
) -> None:
    instance = _legacy(api, sandbox)
    _settled_orders(sandbox, 1)
    sandbox.store.inject_fault("/api/v2/products", "status", status=404)

    run_poll(instance)
    failing = _status(api, instance)
    sandbox.store.advance(30)
    run_poll(instance)
    recovered = _status(api, instance)

    resources = {r["resource"]: r for r in failing["resources"]}
    assert failing["polling"]["state"] == "FAILING"
    assert resources["products"]["outcome"] == "failed"
    assert resources["products"]["error"].startswith("the store answered 404")
    assert resources["orders"]["outcome"] == resources["customers"]["outcome"] == "complete"
    assert failing["lastError"]["resource"] == "products"
    assert recovered["polling"]["state"] == "OK"
    assert {r["outcome"] for r in recovered["resources"]} == {"complete"}
    assert recovered["lastError"] == failing["lastError"]  # the last error is history, kept


def test_an_idle_poll_rewrites_the_status_only_after_the_heartbeat(
    api: ApiClient, sandbox: SandboxServer, setenv: Any, status_writes: list[dict[str, Any]]
) -> None:
    """Idle polls stay cheap: within POLL_STATUS_HEARTBEAT_MINUTES an unchanged run writes nothing;
    a run with events, a changed outcome, or one past the heartbeat writes the one status item."""
    instance = _legacy(api, sandbox)
    _settled_orders(sandbox, 1)
    run_poll(instance)  # events: written
    sandbox.store.advance(30)
    run_poll(instance)  # idle, unchanged: not written
    assert len(status_writes) == 1
    sandbox.store.create_order()
    sandbox.store.advance(30)
    run_poll(instance)  # events again: written
    assert len(status_writes) == 2

    setenv(POLL_STATUS_HEARTBEAT_MINUTES="0")
    sandbox.store.advance(30)
    run_poll(instance)  # idle, but the heartbeat is due at every run now

    assert len(status_writes) == 3
    assert status_writes[-1]["last_poll"]["events"] == 0


def test_polling_is_late_and_lag_grows_when_no_poll_was_recorded_for_long(
    api: ApiClient, sandbox: SandboxServer
) -> None:
    """Polls that stopped (a deleted schedule, a throttled function) show as LATE, and the lag
    is measured to now on the store's clock, not to the last poll."""
    instance = _legacy(api, sandbox)
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    get_storage().put_status(
        str(instance),
        {
            "recorded_date": clock.iso_seconds(two_hours_ago),
            "last_poll": {
                "started_date": clock.iso_seconds(two_hours_ago),
                "finished_date": clock.iso_seconds(two_hours_ago),
                "duration_ms": 800,
                "outcome": "polled",
                "requests": 4,
                "throttled": 0,
                "events": 0,
            },
            "resources": {"orders": {"outcome": "complete", "polled_through": two_hours_ago.isoformat()}},
            "store_clock_offset_seconds": 0,
        },
    )

    status = _status(api, instance)

    assert status["polling"]["state"] == "LATE"
    [orders] = status["resources"]
    assert 7200 <= orders["lagSeconds"] < 7300


# --- delivery ------------------------------------------------------------------------------------
def test_a_callback_answering_410_shows_delivery_disabled_with_the_reason(
    api: ApiClient,
    deliveries: Deliveries,
    receiver: CallbackReceiver,
    make_instance: MakeInstance,
    notify: Notify,
) -> None:
    receiver.script("/hook", Reply(410))
    item = make_instance(receiver.url())
    [n] = notify(item, 1)
    deliveries.enqueue(n)
    deliveries.run()

    status = _status(api, item["id"])

    assert status["delivery"] == {"state": "DISABLED", "reason": "callback answered 410 Gone"}
    assert status["polling"]["state"] == "OFF"
    assert status["last24Hours"]["disabled"] == 1
    [logged] = api.get(f"/instances/{item['id']}/events", query={"status": "DISABLED"}).body["notifications"]
    assert (logged["lastStatusCode"], logged["statusReason"]) == (410, "callback answered 410 Gone")


def test_the_24_hour_counters_count_events_by_where_their_notifications_stand(
    api: ApiClient, make_instance: MakeInstance, notify: Notify
) -> None:
    item = make_instance("http://127.0.0.1:9/hook")
    now = datetime.now(UTC)
    delivered, failed, pending = notify(item, *range(1, 11)), notify(item, 11, 12), notify(item, 13)
    old = notify(item, 14)
    event_log.record_enqueued([*delivered, *failed, *pending], now=now - timedelta(hours=1))
    event_log.record_enqueued(old, now=now - timedelta(hours=25))
    for n, status in ((delivered[0], Status.DELIVERED), (failed[0], Status.FAILED)):
        event_log.record_attempt(n, Attempt(number=1, at=now, latency_ms=5, status_code=200), status)

    counters = _status(api, item["id"])["last24Hours"]

    assert counters["notifications"] == 3
    assert (counters["enqueued"], counters["delivered"]) == (13, 10)
    assert (counters["failed"], counters["pending"], counters["disabled"]) == (2, 1, 0)
    assert counters["complete"] is True


# --- metrics -------------------------------------------------------------------------------------
def _emitted(out: str) -> list[dict[str, Any]]:
    """The EMF blobs printed to stdout, each metric's values summed (EMF writes a list)."""
    blobs = [json.loads(line) for line in out.splitlines() if '"_aws"' in line]
    for blob in blobs:
        for metric in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            value = blob[metric["Name"]]
            blob[metric["Name"]] = sum(value) if isinstance(value, list) else value
    return blobs


def test_a_poll_emits_its_metrics_and_per_resource_counts(
    api: ApiClient, sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    instance = _legacy(api, sandbox)
    _settled_orders(sandbox, 2)
    capsys.readouterr()

    run_poll(instance)

    blobs = _emitted(capsys.readouterr().out)
    per_resource = {
        (b["resource"], m["Name"]): b[m["Name"]]
        for b in blobs
        if "resource" in b
        for m in b["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    }
    assert per_resource[("orders", "EventsEnqueued")] == 2
    assert per_resource[("orders", "EventsPolled")] == 2
    assert per_resource[("products", "EventsEnqueued")] == 0
    [run] = [b for b in blobs if "PollDuration" in b]
    assert run["service"] == "bigcommerce-events"
    assert (run["StoreRequests"], run["StoreThrottles"], run["PollErrors"]) == (4, 0, 0)
    assert run["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "BigCommerceEvents"


def test_a_delivery_emits_its_latency_and_outcome(
    deliveries: Deliveries,
    receiver: CallbackReceiver,
    make_instance: MakeInstance,
    notify: Notify,
    capsys: pytest.CaptureFixture[str],
) -> None:
    receiver.script("/hook", Reply(500))
    item = make_instance(receiver.url())
    [n] = notify(item, 1)
    deliveries.enqueue(n)
    capsys.readouterr()

    deliveries.run()

    [blob] = _emitted(capsys.readouterr().out)
    assert (blob["CallbackAttempts"], blob["CallbackFailures"], blob["NotificationsRetrying"]) == (1, 1, 1)
    assert blob["DeliveryLatency"] >= 0
