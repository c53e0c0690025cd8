"""Who gets in: every route of the OpenAPI document, for every kind of caller.

Routes are read from schemas/openapi.json (checked against the served document by
tests/integration/test_openapi.py), so a new route is in the matrix the day it is added.
Only the instance's own organization succeeds; a caller without valid credentials gets 401, and
another organization gets the very 404 a non-existent instance gets, so it learns nothing.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.api import ApiClient, ApiResponse
from tests.support.bodies import api_account

DOCUMENT = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "openapi.json").read_text())
OPERATIONS = sorted(
    (method.upper(), path)
    for path, item in DOCUMENT["paths"].items()
    for method in item
    if method in ("get", "put", "post", "patch", "delete")
)
STORE_URL = "https://api.bigcommerce.com/stores/abc123/v3/"
MISSING_ID = "999999999999"


def _instance_body(name: str) -> dict[str, Any]:
    body = api_account(STORE_URL, "store-token", "https://hooks.example.com/cb")
    body["name"], body["validateCredentials"] = name, False
    return body


def _request(client: ApiClient, method: str, path: str, values: dict[str, str]) -> ApiResponse:
    """The route called with ``values`` for its path parameters (unknown ones get "1") and a
    valid body where it takes one."""
    url = re.sub(r"\{(\w+)\}", lambda m: values.get(m[1], "1"), path)
    body: Any = None
    schema = DOCUMENT["paths"][path][method.lower()].get("requestBody")
    if (method, path) in (("POST", "/instances"), ("PUT", "/instances/{instance_id}")):
        body = _instance_body("written by the caller")
    elif method == "PATCH":
        body = {"name": "renamed by the caller"}
    elif schema is not None:
        body = {}  # other bodies have defaults for every field
    return client.request(method, url, body)


def _known_values(item: dict[str, Any]) -> dict[str, str]:
    """Path parameter values that exist for the instance: its id and a notification of its log."""
    from bcevents.aws.event_log import record_enqueued
    from bcevents.compat.envelope import ChangeEvent, InstanceInfo, build_notifications

    info = InstanceInfo(item["id"], item["name"], [], item["org_id"], item["user_id"])
    change = ChangeEvent("CREATED", "1", datetime.now(UTC), {"id": 1})
    [notification] = build_notifications(info, "orders", [change], datetime.now(UTC))
    record_enqueued([notification])
    return {"instance_id": item["id"], "notification_id": notification.id}


def _secrets(client: ApiClient) -> tuple[str, str]:
    match = re.fullmatch(r"User (\S+), Organization (\S+)", client.authorization or "")
    assert match
    return match[1], match[2]


@pytest.fixture
def triggered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Polls started by "poll now" (no Lambda service in moto)."""
    from bcevents.aws import schedules

    started: list[str] = []
    monkeypatch.setattr(schedules, "trigger_poll", started.append)
    return started


def test_the_matrix_covers_every_documented_route() -> None:
    assert len(OPERATIONS) >= 10
    assert ("POST", "/instances/{instance_id}/events/poll") in OPERATIONS


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_only_the_instances_organization_gets_in(
    api: ApiClient, method: str, path: str, triggered: list[str]
) -> None:
    """Given an instance of organization A, the route answers 401 to a missing, malformed or
    wrong credential, answers organization B exactly as for an instance that does not exist
    (item routes) or shows B only its own (collections), changes nothing of A's on any of those,
    and succeeds for A."""
    from bcevents.aws.tables import get_storage

    owner = api
    created = owner.post("/instances", _instance_body("owned by A"))
    assert created.status == 200, created.body
    instance_id = str(created.body["id"])
    before = get_storage().get_instance(instance_id)
    assert before is not None
    values = _known_values(before)
    other = ApiClient.with_new_organization("other")
    user, org = _secrets(owner)
    strangers = {
        "no credentials": ApiClient(None),
        "malformed header": ApiClient(f"Bearer {user}"),
        "wrong organization secret": ApiClient(f"User {user}, Organization {org[::-1]}"),
        "unknown user": ApiClient(f"User {user[::-1]}, Organization {org}"),
    }

    for who, client in strangers.items():
        response = _request(client, method, path, values)
        assert response.status == 401, (who, response.body)
        assert response.body["message"], who  # says what is wrong with the credentials
        assert instance_id not in json.dumps(response.body), who
    # A stranger learns nothing about which users exist: both wrong secrets read the same.
    assert (
        _request(strangers["wrong organization secret"], method, path, values).body["message"]
        == _request(strangers["unknown user"], method, path, values).body["message"]
    )

    as_other = _request(other, method, path, values)
    if "{instance_id}" in path:
        missing = _request(other, method, path, {**values, "instance_id": MISSING_ID})
        assert as_other.status == missing.status == 404, as_other.body
        assert _without_ids(as_other.body) == _without_ids(missing.body)
    elif method == "GET":
        assert as_other.status == 200
        assert as_other.body == []  # B sees none of A's instances
    else:
        assert as_other.status == 200  # B created an instance of its own, not one of A's
        assert str(as_other.body["id"]) not in [str(i["id"]) for i in owner.get("/instances").body]

    assert get_storage().get_instance(instance_id) == before  # nothing of A's changed
    assert triggered == []

    as_owner = _request(owner, method, path, values)
    assert 200 <= as_owner.status < 300, as_owner.body
    if path.endswith("/events/poll"):
        assert triggered == [instance_id]


def _without_ids(body: Any) -> Any:
    """A response with instance ids and request ids blanked (they differ by construction)."""
    text = re.sub(r"\b\d{12}\b", "<id>", json.dumps(body))
    return {k: v for k, v in json.loads(text).items() if k != "requestId"}


def test_an_unknown_route_is_401_to_strangers_and_404_to_callers(api: ApiClient) -> None:
    assert ApiClient(None).get("/no/such/route").status == 401
    response = api.get("/no/such/route")
    assert response.status == 404
    assert response.body["message"] == "No route GET /no/such/route"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/instances/not-a-number", None),
        ("POST", "/instances", {"name": ""}),
        ("PATCH", "/instances/123456789012", {"unknown": True}),
    ],
    ids=["malformed-id", "invalid-body", "unknown-key"],
)
def test_a_request_without_credentials_is_401_before_it_is_validated(
    aws: Any, fake_dns: Any, method: str, path: str, body: Any
) -> None:
    response = ApiClient(None).request(method, path, body)
    assert response.status == 401, response.body
