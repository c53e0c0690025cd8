"""The event log API against moto: newest first, cursor pagination, filters, attempts, 404s."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bcevents.aws import event_bodies, event_log
from bcevents.aws.event_log import Attempt, Status
from bcevents.compat.envelope import ChangeEvent, InstanceInfo, build_notifications
from callbacks import CallbackReceiver, Reply
from tests.integration.conftest import Deliveries
from tests.support.api import ApiClient

MakeInstance = Callable[..., dict[str, Any]]
Notify = Callable[..., list[Any]]
UNUSED_CALLBACK = "http://127.0.0.1:9/hook"  # never called: these notifications are only logged
T0 = datetime(2025, 3, 4, 10, 0, 0, tzinfo=UTC)


def _log(n: Any, at: datetime, status: Status = Status.NEW, code: int | None = None) -> Any:
    """Log a notification created at ``at``, then (optionally) one attempt that left it at ``status``."""
    event_log.record_enqueued([n], now=at)
    if status is not Status.NEW:
        attempt = Attempt(number=1, at=at + timedelta(seconds=5), latency_ms=12, status_code=code)
        event_log.record_attempt(n, attempt, status)
    return n


def _products(item: dict[str, Any], *ids: int, event_type: str = "CREATED") -> Any:
    info = InstanceInfo(item["id"], item["name"], item["tags"], item["org_id"], item["user_id"])
    changes = [ChangeEvent(event_type, str(i), T0, {"id": i, "name": f"product {i}"}) for i in ids]
    [n] = build_notifications(info, "products", changes, T0)
    return n


def _ids(response: Any) -> list[str]:
    assert response.status == 200, response.body
    return [n["id"] for n in response.body["notifications"]]


def _walk(api: ApiClient, path: str, **query: str) -> tuple[list[str], int]:
    """Every notification id of a listing, following nextCursor; and how many pages it took."""
    ids: list[str] = []
    cursor: str | None = None
    for pages in range(1, 50):
        response = api.get(path, query={**query, **({"cursor": cursor} if cursor else {})})
        ids += _ids(response)
        cursor = response.body["nextCursor"]
        if cursor is None:
            return ids, pages
    raise AssertionError("the cursor never ended")


@pytest.fixture
def instance(make_instance: MakeInstance) -> dict[str, Any]:
    return make_instance(UNUSED_CALLBACK)


@pytest.fixture
def mixed(instance: dict[str, Any], notify: Notify) -> dict[str, Any]:
    """Five notifications an hour apart: orders delivered, failed, retrying, new; products created."""
    [delivered] = notify(instance, 1, 2)
    [failed] = notify(instance, 3)
    [retrying] = notify(instance, 4, event_type="CREATED")
    [new] = notify(instance, 5, 3)
    products = _products(instance, 7, 8)
    _log(delivered, T0, Status.DELIVERED, 200)
    _log(failed, T0 + timedelta(hours=1), Status.FAILED, 500)
    _log(retrying, T0 + timedelta(hours=2), Status.RETRYING, 503)
    _log(new, T0 + timedelta(hours=3))
    _log(products, T0 + timedelta(hours=4))
    return {
        "delivered": delivered.id,
        "failed": failed.id,
        "retrying": retrying.id,
        "new": new.id,
        "products": products.id,
    }


# --- listing ---------------------------------------------------------------------------------------
def test_the_log_lists_notifications_newest_first_with_where_they_stand(
    api: ApiClient, instance: dict[str, Any], mixed: dict[str, str]
) -> None:
    response = api.get(f"/instances/{instance['id']}/events")

    assert _ids(response) == [mixed[k] for k in ("products", "new", "retrying", "failed", "delivered")]
    assert response.body["nextCursor"] is None
    by_id = {n["id"]: n for n in response.body["notifications"]}
    failed = by_id[mixed["failed"]]
    assert failed["status"] == "FAILED"
    assert failed["objectType"] == "orders"
    assert failed["objectIds"] == ["3"]
    assert failed["eventTypes"] == ["UPDATED"]
    assert failed["attempts"] == 1
    assert failed["lastStatusCode"] == 500
    assert failed["createdDate"] == "2025-03-04T11:00:00Z"
    assert failed["redeliverable"] is True
    assert by_id[mixed["products"]]["objectType"] == "products"
    assert by_id[mixed["new"]]["status"] == "NEW"


def test_an_instance_without_notifications_has_an_empty_log(api: ApiClient, instance: dict[str, Any]) -> None:
    response = api.get(f"/instances/{instance['id']}/events")

    assert response.status == 200
    assert response.body == {"notifications": [], "nextCursor": None}


def test_the_cursor_walks_every_notification_once_even_within_one_second(
    api: ApiClient, instance: dict[str, Any], notify: Notify
) -> None:
    """Seven notifications, four of them created in the same second, three per page."""
    notifications = [notify(instance, order_id)[0] for order_id in range(1, 8)]
    for i, n in enumerate(notifications):
        _log(n, T0 + timedelta(seconds=max(0, i - 3)))

    ids, pages = _walk(api, f"/instances/{instance['id']}/events", limit="3")

    assert pages == 3
    assert len(ids) == 7
    assert set(ids) == {n.id for n in notifications}
    assert ids[:3] == [notifications[6].id, notifications[5].id, notifications[4].id]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "FAILED"}, ["failed"]),
        ({"status": "NEW"}, ["products", "new"]),
        ({"objectType": "products"}, ["products"]),
        ({"objectId": "3"}, ["new", "failed"]),
        ({"eventType": "CREATED"}, ["products", "retrying"]),
        ({"objectType": "orders", "objectId": "3", "status": "NEW"}, ["new"]),
        ({"from": "2025-03-04T11:00:00Z", "to": "2025-03-04T13:00:00Z"}, ["new", "retrying", "failed"]),
        ({"from": "2025-03-04T12:00:00+01:00"}, ["products", "new", "retrying", "failed"]),
        ({"to": "2025-03-04T10:59:59"}, ["delivered"]),
        ({"status": "DISABLED"}, []),
    ],
    ids=lambda value: json.dumps(value) if isinstance(value, dict) else None,
)
def test_filters_select_matching_notifications(
    api: ApiClient,
    instance: dict[str, Any],
    mixed: dict[str, str],
    query: dict[str, str],
    expected: list[str],
) -> None:
    response = api.get(f"/instances/{instance['id']}/events", query=query)

    assert _ids(response) == [mixed[k] for k in expected]


def test_a_filter_pages_through_its_matches_only(
    api: ApiClient, instance: dict[str, Any], notify: Notify
) -> None:
    """Ten notifications, every third FAILED: one match per page, the others never shown."""
    notifications = [notify(instance, order_id)[0] for order_id in range(1, 11)]
    for i, n in enumerate(notifications):
        _log(n, T0 + timedelta(minutes=i), Status.FAILED if i % 3 == 0 else Status.DELIVERED, 500)

    ids, pages = _walk(api, f"/instances/{instance['id']}/events", status="FAILED", limit="1")

    assert ids == [notifications[i].id for i in (9, 6, 3, 0)]
    assert pages in (4, 5)  # the last match may or may not be known to be the last


def test_a_rare_match_gives_a_short_page_with_a_cursor(
    api: ApiClient, instance: dict[str, Any], notify: Notify, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One request reads a bounded number of index pages: past it, the page is short, not slow."""
    from bcevents.api import events

    monkeypatch.setattr(events, "MAX_PAGES", 2)
    monkeypatch.setattr(events, "FILTERED_PAGE_SIZE", 2)
    notifications = [notify(instance, order_id)[0] for order_id in range(1, 8)]
    for i, n in enumerate(notifications):
        _log(n, T0 + timedelta(minutes=i), Status.FAILED if i == 0 else Status.DELIVERED, 200)

    first = api.get(f"/instances/{instance['id']}/events", query={"status": "FAILED"})
    ids, _ = _walk(api, f"/instances/{instance['id']}/events", status="FAILED")

    assert (_ids(first), bool(first.body["nextCursor"])) == ([], True)
    assert ids == [notifications[0].id]


def test_a_cursor_continues_within_a_time_range(
    api: ApiClient, instance: dict[str, Any], mixed: dict[str, str]
) -> None:
    ids, _ = _walk(
        api,
        f"/instances/{instance['id']}/events",
        limit="1",
        **{"from": "2025-03-04T10:30:00Z", "to": "2025-03-04T13:30:00Z"},
    )

    assert ids == [mixed[k] for k in ("new", "retrying", "failed")]


def test_a_cursor_outside_the_range_starts_at_its_newest_or_ends_it(
    api: ApiClient, instance: dict[str, Any], mixed: dict[str, str]
) -> None:
    """A cursor kept while the range changed: newer than ``to`` starts at the range's newest;
    older than ``from`` means nothing is left."""
    path = f"/instances/{instance['id']}/events"
    cursor = api.get(path, query={"limit": "1"}).body["nextCursor"]  # after "products" (14:00)

    earlier = api.get(path, query={"cursor": cursor, "to": "2025-03-04T11:30:00Z"})
    later = api.get(path, query={"cursor": cursor, "from": "2025-03-04T14:30:00Z"})

    assert _ids(earlier) == [mixed["failed"], mixed["delivered"]]
    assert (_ids(later), later.body["nextCursor"]) == ([], None)


def test_a_cursor_never_reads_another_instance_log(
    api: ApiClient,
    make_instance: MakeInstance,
    instance: dict[str, Any],
    mixed: dict[str, str],
    notify: Notify,
) -> None:
    """A cursor of instance A used on instance B positions the read in B's log, never A's."""
    other = make_instance(UNUSED_CALLBACK)
    [theirs] = notify(other, 99)
    _log(theirs, T0 - timedelta(hours=1))
    first = api.get(f"/instances/{instance['id']}/events", query={"limit": "2"})
    cursor = first.body["nextCursor"]
    assert cursor

    response = api.get(f"/instances/{other['id']}/events", query={"cursor": cursor})

    assert _ids(response) == [theirs.id]
    assert not set(mixed.values()) & set(_ids(response))


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ({"status": "LOST"}, "query.status"),
        ({"eventType": "MOVED"}, "query.eventType"),
        ({"from": "yesterday"}, "query.from"),
        ({"to": "2025-13-01T00:00:00Z"}, "query.to"),
        ({"to": "0.5"}, "query.to"),  # #14: a number was read as Unix time (1970)
        ({"from": "1741089600"}, "query.from"),
        ({"limit": "0"}, "query.limit"),
        ({"limit": "101"}, "query.limit"),
        ({"limit": "ten"}, "query.limit"),
        ({"objectType": ""}, "query.objectType"),
        ({"cursor": "not-a-cursor"}, "query.cursor"),
        ({"cursor": base64.urlsafe_b64encode(b"INSTANCE#1#NOTIFICATION#x").decode()}, "query.cursor"),
        ({"from": "2025-03-05T00:00:00Z", "to": "2025-03-04T00:00:00Z"}, "query.from"),
    ],
    ids=lambda value: json.dumps(value) if isinstance(value, dict) else value,
)
def test_a_bad_parameter_is_a_400_naming_it(
    api: ApiClient, instance: dict[str, Any], query: dict[str, str], key: str
) -> None:
    response = api.get(f"/instances/{instance['id']}/events", query=query)

    assert response.status == 400, response.body
    assert [p["key"] for p in response.body["errors"]] == [key]


# --- one notification ------------------------------------------------------------------------------
@pytest.mark.usefixtures("fast_retries")
def test_a_notification_shows_every_attempt_and_its_body(
    api: ApiClient,
    deliveries: Deliveries,
    receiver: CallbackReceiver,
    make_instance: MakeInstance,
    notify: Notify,
) -> None:
    receiver.script("/hook", Reply(reset=True), Reply(503), Reply(200))
    item = make_instance(receiver.url())
    [n] = notify(item, 123, 124)
    deliveries.enqueue(n)
    deliveries.run_until_empty()

    response = api.get(f"/instances/{item['id']}/events/{n.id}")

    assert response.status == 200, response.body
    detail = response.body
    assert detail["id"] == n.id
    assert detail["status"] == "DELIVERED"
    assert detail["attempts"] == 3
    assert detail["objectIds"] == ["123", "124"]
    assert detail["body"] == json.loads(n.body)
    first, second, third = detail["deliveryAttempts"]
    assert (first["attempt"], first["statusCode"], first["status"]) == (1, None, "RETRYING")
    assert first["error"]  # the error class, e.g. ConnectionError
    assert (second["statusCode"], second["status"]) == (503, "RETRYING")
    assert (third["attempt"], third["statusCode"], third["status"]) == (3, 200, "DELIVERED")
    assert all(a["latencyMs"] >= 0 and a["attemptedDate"].endswith("Z") for a in detail["deliveryAttempts"])
    assert all(a["redelivery"] == 0 for a in detail["deliveryAttempts"])


@pytest.mark.parametrize("notification_id", ["7d1c3f5e-0000-5000-8000-000000000000", "not-an-id", "enabled"])
def test_an_unknown_notification_is_404(
    api: ApiClient, instance: dict[str, Any], notification_id: str
) -> None:
    response = api.get(f"/instances/{instance['id']}/events/{notification_id}")

    assert response.status == 404
    assert "notification" in response.body["message"]


def test_the_log_keeps_notifications_attempts_and_bodies_for_the_retention(
    instance: dict[str, Any], notify: Notify, setenv: Any
) -> None:
    """EVENT_RETENTION_DAYS (the template's EventRetentionDays) sets the TTL of every log item."""
    from bcevents.aws.tables import get_storage, instance_key

    setenv(EVENT_RETENTION_DAYS="7")
    [n] = notify(instance, 1)
    now = datetime.now(UTC)
    _log(n, now, Status.DELIVERED, 200)

    items = get_storage().events.query(
        KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": instance_key(instance["id"])}
    )["Items"]

    assert sorted(str(i["sk"]).split("#")[0] for i in items) == ["ATTEMPT", "BODY", "NOTIFICATION"]
    week = now.timestamp() + 7 * 86400
    assert all(abs(int(i["expires_at"]) - week) < 60 for i in items)


def test_a_notification_enqueued_twice_in_one_call_is_logged_once(
    api: ApiClient, instance: dict[str, Any], notify: Notify
) -> None:
    [n] = notify(instance, 1)

    event_log.record_enqueued([n, n])

    assert _ids(api.get(f"/instances/{instance['id']}/events")) == [n.id]
    assert event_bodies.load_body(instance["id"], n.id) == n.body


# --- another organization ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/events", None),
        ("GET", "/events/{nid}", None),
        ("POST", "/events/{nid}/redeliver", None),
        ("POST", "/events/redeliver", {"status": "NEW"}),
        ("POST", "/events/dead-letters/redrive", None),
        ("GET", "/status", None),
    ],
)
def test_another_organization_gets_404_for_every_route(
    api: ApiClient, instance: dict[str, Any], notify: Notify, setenv: Any, method: str, path: str, body: Any
) -> None:
    """The same request by the owner succeeds; by another organization it is a 404 and changes nothing."""
    setenv(DLQ_RECEIVE_WAIT_SECONDS="0")
    [n] = notify(instance, 1)
    _log(n, T0)
    stranger = ApiClient.with_new_organization("stranger")
    url = f"/instances/{instance['id']}{path.format(nid=n.id)}"

    response = stranger.request(method, url, body)

    assert response.status == 404, response.body
    assert response.body["message"] == f"No instance {instance['id']} in this organization"
    assert (event_log.get_notification(instance["id"], n.id) or {}).get("redeliveries") is None
    assert api.request(method, url, body).status in (200, 202)
