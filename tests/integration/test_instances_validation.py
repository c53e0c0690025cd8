"""Bad input to the instances API: each malformed body gets a 400 naming the offending key."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.support.api import ApiClient
from tests.support.bodies import api_account

CALLBACK = "https://mycoolapp.example/cb"
STORE = "https://api.bigcommerce.com/stores/abc123/v3/"


def _body(**config: Any) -> dict[str, Any]:
    body = api_account(STORE, "tok", CALLBACK)
    body["validateCredentials"] = False
    body["configuration"].update(config)
    return body


def _without(key: str) -> dict[str, Any]:
    body = _body()
    del body["configuration"][key]
    return body


def _resource(**fields: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {"url": "/hubs/ecommerce/orders?where=date_modified>='${gmtDate:yyyy-MM-dd}'"}
    resource.update(fields)
    return _body(**{"event.poller.configuration": {"orders": resource}})


def _top(**fields: Any) -> dict[str, Any]:
    body = _body()
    body.update(fields)
    return body


MALFORMED: list[tuple[str, Any, str]] = [
    ("element-key", _top(element={"key": "shopify"}), "element.key"),
    ("element-missing", {k: v for k, v in _body().items() if k != "element"}, "element"),
    ("name-missing", {k: v for k, v in _body().items() if k != "name"}, "name"),
    ("name-empty", _top(name=""), "name"),
    ("tags-not-list", _top(tags="a,b"), "tags"),
    ("configuration-not-object", _top(configuration=["x"]), "configuration"),
    ("unknown-top-level-key", _top(colour="blue"), "colour"),
    (
        "interval-placeholder",
        _body(**{"event.poller.refresh_interval": "<minutes>"}),
        "event.poller.refresh_interval",
    ),
    ("interval-zero", _body(**{"event.poller.refresh_interval": 0}), "event.poller.refresh_interval"),
    ("interval-too-long", _body(**{"event.poller.refresh_interval": 1441}), "event.poller.refresh_interval"),
    ("interval-fraction", _body(**{"event.poller.refresh_interval": "1.5"}), "event.poller.refresh_interval"),
    (
        "interval-missing-with-events",
        _without("event.poller.refresh_interval"),
        "event.poller.refresh_interval",
    ),
    (
        "callback-missing-with-events",
        _without("event.notification.callback.url"),
        "event.notification.callback.url",
    ),
    ("callback-not-http", _body(**{"event.notification.callback.url": "ftp://x.example/"}), "callback.url"),
    (
        "callback-metadata",
        _body(**{"event.notification.callback.url": "http://169.254.169.254/"}),
        "callback.url",
    ),
    ("enabled-not-bool", _body(**{"event.notification.enabled": "perhaps"}), "event.notification.enabled"),
    (
        "poller-config-bad-json",
        _body(**{"event.poller.configuration": "{orders:"}),
        "event.poller.configuration",
    ),
    ("poller-config-empty", _body(**{"event.poller.configuration": {}}), "event.poller.configuration"),
    (
        "resource-without-url",
        _body(**{"event.poller.configuration": {"orders": {"idField": "id"}}}),
        "orders.url",
    ),
    ("resource-unknown-key", _resource(colour="red"), "orders.colour"),
    ("resource-crm-hub", _resource(url="/hubs/crm/contacts?where=x='1'"), "orders.url"),
    ("resource-bad-ceql", _resource(url="/hubs/ecommerce/orders?where=a='1' or b='2'"), "orders.url"),
    ("resource-bad-placeholder", _resource(url="/v2/orders?min_date_modified=${nope:x}"), "orders.url"),
    # #14: a raw URL's own limit made the poller read 50 of 120 orders and move past the rest.
    (
        "resource-raw-own-limit",
        _resource(url="/v2/orders?min_date_modified=${epoch:s}&limit=50"),
        "orders.url",
    ),
    ("resource-raw-own-page", _resource(url="/v2/orders?min_date_modified=${epoch:s}&page=2"), "orders.url"),
    (
        "resource-bad-date-pattern",
        _resource(datesConfiguration={"updatedDateFormat": "yyyy-qq"}),
        "updatedDateFormat",
    ),
    (
        "resource-bad-zone",
        _resource(datesConfiguration={"updatedDateTimezone": "Mars/Olympus"}),
        "updatedDateTimezone",
    ),
    ("resource-page-size", _resource(pageSize=500), "orders.pageSize"),
    ("resource-negative-delay", _resource(pollDelay=-5), "orders.pollDelay"),
    ("resource-naive-backfill", _resource(backfillFrom="2026-01-01T00:00:00"), "orders.backfillFrom"),
    ("unknown-non-event-key", _body(colour="red"), "configuration.colour"),
    ("store-url-not-api-path", _body(**{"store.url": "https://example.com/shop"}), "store.url"),
    ("token-without-store-url", _without("store.url"), "store.url"),
    ("no-credentials", _body(**{"store.url": None, "access.token": None}), "configuration"),
    (
        "legacy-missing-password",
        _body(
            **{"access.token": None, "store.url": "https://store-x.mybigcommerce.com/api/v2", "username": "u"}
        ),
        "password",
    ),
    (
        "legacy-v3-resource",
        _body(
            **{
                "access.token": None,
                "store.url": "https://store-x.mybigcommerce.com/api/v2",
                "username": "u",
                "password": "p",
                "event.poller.configuration": {
                    "p": {"url": "/v3/catalog/products?date_modified:min=${epoch:s}"}
                },
            }
        ),
        "p.url",
    ),
    (
        "oauth-missing-secret",
        _body(
            **{
                "store.url": None,
                "access.token": None,
                "oauth.api.key": "k",
                "oauth.callback.url": "https://a.example",
            }
        ),
        "oauth.api.secret",
    ),
    ("validate-not-bool", _top(validateCredentials="maybe"), "validateCredentials"),
]


@pytest.mark.parametrize(("case", "body", "key"), MALFORMED, ids=[c[0] for c in MALFORMED])
def test_a_malformed_body_is_a_400_naming_the_key(api: ApiClient, case: str, body: Any, key: str) -> None:
    response = api.post("/instances", copy.deepcopy(body))

    assert response.status == 400, response.body
    keys = [p["key"] for p in response.body["errors"]]
    assert any(key in k for k in keys), keys
    assert all(p["reason"] for p in response.body["errors"])


@pytest.mark.parametrize("raw", ["{not json", "[]", '"a string"', ""])
def test_a_body_that_is_not_a_json_object_is_a_400(api: ApiClient, raw: str) -> None:
    response = api.request("POST", "/instances", raw_body=raw)

    assert response.status == 400
    assert response.body["errors"]


def test_every_problem_is_reported_at_once(api: ApiClient) -> None:
    body = _body(**{"event.poller.refresh_interval": "soon", "event.notification.enabled": "maybe"})

    keys = {p["key"] for p in api.post("/instances", body).body["errors"]}

    assert {"configuration.event.poller.refresh_interval", "configuration.event.notification.enabled"} <= keys


def test_a_non_numeric_instance_id_is_a_400(api: ApiClient) -> None:
    response = api.get("/instances/abc")

    assert response.status == 400
    assert response.body["errors"][0]["key"] == "path.instance_id"


def test_an_unknown_route_is_a_404(api: ApiClient) -> None:
    response = api.get("/nothing-here")

    assert response.status == 404
    assert "No route" in response.body["message"]


def test_private_callbacks_are_refused_unless_the_deployment_allows_them(api: ApiClient, setenv: Any) -> None:
    setenv(ALLOW_PRIVATE_NETWORKS="false")
    response = api.post(
        "/instances", _body(**{"event.notification.callback.url": "http://127.0.0.1:9000/cb"})
    )

    assert response.status == 400
    assert "loopback" in json.dumps(response.body)
