"""Records of real stores' sizes: notifications cut by bytes, a record too large for a message sent
by reference to its body in the event log, and the instance polling on afterwards."""

from __future__ import annotations

import json
import random
import string
from datetime import UTC, datetime, timedelta
from typing import Any

from bcsandbox import SandboxServer
from callbacks import CallbackReceiver, Reply
from devstack.resources import StackResources
from tests.integration.conftest import Deliveries
from tests.support.api import ApiClient
from tests.support.bodies import api_account
from tests.support.pipeline import run_poll

ORDERS = "/hubs/ecommerce/orders?where=date_modified>='${date:yyyy-MM-dd'T'HH:mm:ss'Z'}'"
PRODUCTS_ONLY = {
    "products": {"url": "/hubs/ecommerce/products?where=date_modified>='${date:yyyy-MM-dd'T'HH:mm:ss'Z'}'"}
}


def _text(rng: random.Random, size: int) -> str:
    """HTML-ish text that compresses about as badly as real descriptions with inline images do."""
    return "<p>" + "".join(rng.choices(string.ascii_letters + string.digits + " ", k=size)) + "</p>"


def _instance(
    api: ApiClient, sandbox: SandboxServer, callback: str, resources: dict[str, Any] | None = None
) -> str:
    store = sandbox.store
    body = api_account(
        f"{sandbox.url}/stores/{store.store_hash}/v3/",
        store.access_token,
        callback,
        **{"event.poller.configuration": resources or PRODUCTS_ONLY},
    )
    response = api.post("/instances", body)
    assert response.status == 200, response.body
    return str(response.body["id"])


def _delivered_products(receiver: CallbackReceiver) -> dict[int, dict[str, Any]]:
    """Every product record the receiver was sent, by id (the last version of each)."""
    records: dict[int, dict[str, Any]] = {}
    for request in receiver.requests:
        raw = json.loads(request.body)["message"]["raw"]
        for record in raw.get("products", []):
            records[int(record["id"])] = record
    return records


def _poll_and_deliver(instance: str, sandbox: SandboxServer, deliveries: Deliveries) -> dict[str, Any]:
    sandbox.store.advance(30)  # everything made so far is older than the settle lag
    result = run_poll(instance)
    assert [r["error"] for r in result["resources"]] == [None], result
    deliveries.run_until_empty(limit=40)
    return result


def test_thirty_60kb_products_and_one_of_2mb_are_delivered_whole_and_polling_goes_on(
    api: ApiClient,
    sandbox: SandboxServer,
    aws: StackResources,
    deliveries: Deliveries,
    receiver: CallbackReceiver,
) -> None:
    rng = random.Random(14)
    instance = _instance(api, sandbox, receiver.url())
    store = sandbox.store
    store.set_clock(datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=10))
    made = {store.create_product(description=_text(rng, 60_000))["id"]: None for _ in range(30)}
    huge = store.create_product(description=_text(rng, 2_000_000))["id"]

    _poll_and_deliver(instance, sandbox, deliveries)

    delivered = _delivered_products(receiver)
    assert set(delivered) == {*made, huge}
    for product_id, record in delivered.items():
        assert record["description"] == store.get("products", product_id).data["description"]
    assert max(len(r.body) for r in receiver.requests) > 2_000_000  # the large one arrived whole
    assert all(len(r.body) <= 256 * 1024 for r in receiver.requests if huge not in _ids(r.body))

    store.advance(5)
    store.update_product(next(iter(made)), name="Renamed after the large ones")
    _poll_and_deliver(instance, sandbox, deliveries)

    assert _delivered_products(receiver)[next(iter(made))]["name"] == "Renamed after the large ones"


def _ids(body: bytes) -> set[int]:
    return {int(r["id"]) for r in json.loads(body)["message"]["raw"].get("products", [])}


# --- a notification that travels by reference, through retries, redelivery and dead letters ----
def _huge(item: dict[str, Any]) -> Any:
    from bcevents.compat.envelope import ChangeEvent, InstanceInfo, build_notifications

    info = InstanceInfo(item["id"], item["name"], item["tags"], item["org_id"], item["user_id"])
    record = {"id": 7, "description": _text(random.Random(7), 1_500_000)}
    [n] = build_notifications(
        info, "products", [ChangeEvent("UPDATED", "7", datetime.now(UTC), record)], datetime.now(UTC)
    )
    return n


def test_a_large_notification_is_redelivered_whole_with_the_same_id(
    api: ApiClient, deliveries: Deliveries, receiver: CallbackReceiver, make_instance: Any
) -> None:
    item = make_instance(receiver.url())
    n = _huge(item)
    deliveries.enqueue(n)
    deliveries.run()

    assert api.post(f"/instances/{item['id']}/events/{n.id}/redeliver").status == 202
    deliveries.run()

    first, again = receiver.requests
    assert first.body == again.body == n.body
    assert first.header("webhook-id") == again.header("webhook-id") == n.id


def test_a_large_notification_dead_lettered_is_redriven_whole(
    api: ApiClient,
    deliveries: Deliveries,
    receiver: CallbackReceiver,
    make_instance: Any,
    monkeypatch: Any,
) -> None:
    from tests.integration.conftest import set_retry_schedule

    receiver.script("/hook", Reply(503))
    item = make_instance(receiver.url())
    n = _huge(item)
    set_retry_schedule(monkeypatch, 0)
    deliveries.enqueue(n)
    deliveries.run_until_empty()
    [dead] = deliveries.sqs.receive_message(QueueUrl=deliveries.aws.events_dlq_url, VisibilityTimeout=0)[
        "Messages"
    ]
    assert len(dead["Body"]) < 2_000  # the reference, not the body

    receiver.script("/hook", Reply(200))
    response = api.post(f"/instances/{item['id']}/events/dead-letters/redrive")
    assert response.body["moved"] == 1, response.body
    deliveries.run()

    assert [r.body == n.body for r in receiver.requests] == [True, True, True]  # 503, 503, then 200
    from bcevents.aws.event_log import get_notification

    assert (get_notification(item["id"], n.id) or {})["status"] == "DELIVERED"


def test_a_reference_whose_body_is_gone_fails_without_a_post(
    aws: StackResources, deliveries: Deliveries, receiver: CallbackReceiver, make_instance: Any
) -> None:
    from bcevents.aws.event_bodies import body_sk
    from bcevents.aws.tables import get_storage

    item = make_instance(receiver.url())
    n = _huge(item)
    deliveries.enqueue(n)
    get_storage().events.delete_item(Key={"pk": f"INSTANCE#{item['id']}", "sk": body_sk(n.id, 1)})

    deliveries.run()

    from bcevents.aws.event_log import get_notification

    state = get_notification(item["id"], n.id)
    assert state is not None
    assert (state["status"], state["status_reason"]) == (
        "FAILED",
        "its body, too large for a message, is no longer in the event log",
    )
    assert receiver.requests == []


def test_a_record_too_large_to_keep_fails_its_resource_alone_and_the_status_says_why(
    api: ApiClient,
    sandbox: SandboxServer,
    aws: StackResources,
    deliveries: Deliveries,
    receiver: CallbackReceiver,
    monkeypatch: Any,
) -> None:
    from bcevents.aws import event_bodies

    monkeypatch.setattr(event_bodies, "MAX_STORED_BODY_BYTES", 100_000)
    resources = {**PRODUCTS_ONLY, "orders": {"url": ORDERS}}
    instance = _instance(api, sandbox, receiver.url(), resources)
    store = sandbox.store
    store.set_clock(datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=10))
    store.create_product(description=_text(random.Random(3), 1_000_000))
    order = store.create_order()["id"]
    store.advance(30)

    result = run_poll(instance)
    deliveries.run_until_empty()

    errors = {r["resource"]: r["error"] for r in result["resources"]}
    assert errors["orders"] is None
    assert "too large to keep" in (errors["products"] or "")
    orders = [json.loads(r.body)["message"]["raw"].get("orders", []) for r in receiver.requests]
    assert [o["id"] for batch in orders for o in batch] == [order]
    status = api.get(f"/instances/{instance}/status").body
    assert status["lastError"]["resource"] == "products"
    assert "too large to keep" in status["lastError"]["message"]


def test_a_body_outlives_the_retry_schedule_whatever_the_retention(
    aws: StackResources, make_instance: Any, setenv: Any
) -> None:
    """With EventRetentionDays=1 a body by reference expired while its ~73 h of retries ran."""
    from bcevents.aws.event_bodies import body_sk
    from bcevents.aws.event_log import record_enqueued
    from bcevents.aws.tables import get_storage
    from bcevents.settings import get_settings

    setenv(EVENT_RETENTION_DAYS="1")
    item = make_instance("http://127.0.0.1:9/hook")
    n = _huge(item)
    before = int(datetime.now(UTC).timestamp())

    record_enqueued([n])

    stored = get_storage().events.get_item(Key={"pk": f"INSTANCE#{item['id']}", "sk": body_sk(n.id)})["Item"]
    assert int(stored["expires_at"]) >= before + sum(get_settings().delivery_retry_schedule)


def test_the_detail_of_a_notification_too_large_for_an_answer_omits_its_body(
    api: ApiClient, deliveries: Deliveries, make_instance: Any, monkeypatch: Any
) -> None:
    from bcevents.api import events

    monkeypatch.setattr(events, "MAX_SHOWN_BODY_BYTES", 1_000_000)
    item = make_instance("http://127.0.0.1:9/hook")
    n = _huge(item)
    deliveries.enqueue(n)

    detail = api.get(f"/instances/{item['id']}/events/{n.id}")

    assert detail.status == 200
    assert detail.body["body"] is None
    assert detail.body["redeliverable"] is True
