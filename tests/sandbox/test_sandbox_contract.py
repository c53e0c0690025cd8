"""Every route's answers checked against BigCommerce's official OpenAPI specs.

Where BigCommerce behaves outside its spec (204 on an empty v2 list; 401, 413 and 429 on list
endpoints that document only 200) the body is checked against the error shape the same spec uses
elsewhere, and the test says so.
"""

from __future__ import annotations

import json

import pytest
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.validation.response.exceptions import InvalidData

from tests.sandbox.conftest import Client, Specs

pytestmark = pytest.mark.usefixtures("seeded")


@pytest.fixture
def seeded(client: Client) -> None:
    client.store.seed(orders=7, products=6, customers=5)
    client.store.archive_order(3)


def test_specs_are_openapi_3(specs: Specs) -> None:
    # The orders file is named "oas2" but, like the others, is OpenAPI 3.0.x (SOURCE.md).
    for name in ("orders", "products", "customers", "store"):
        assert str(specs.raw(name)["openapi"]).startswith("3.0"), name


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v2/orders", {}),
        ("/v2/orders", {"sort": "date_modified:asc", "limit": 3, "page": 2}),
        ("/v2/orders", {"min_date_modified": "2000-01-01T00:00:00Z", "is_deleted": "true"}),
        ("/v2/orders/1", {}),
        ("/v2/orders/3", {}),
        ("/v2/orders/count", {}),
        ("/v2/orders/count", {"status_id": 11}),
        ("/v2/time", {}),
        ("/v2/store", {}),
        ("/v3/catalog/products", {}),
        ("/v3/catalog/products", {"sort": "date_modified", "direction": "desc", "limit": 2, "page": 2}),
        ("/v3/catalog/products", {"id:in": "1,2,99"}),
        ("/v3/catalog/products", {"date_modified:min": "2099-01-01T00:00:00Z"}),
        ("/v3/catalog/products/2", {}),
        ("/v3/customers", {}),
        ("/v3/customers", {"sort": "date_modified:asc", "limit": 2, "page": 2}),
        ("/v3/customers", {"date_created:min": "2000-01-01", "limit": 2}),
    ],
)
def test_api_account_responses_match_the_spec(client: Client, specs: Specs, path: str, params: dict) -> None:
    response = client.get(path, **params)

    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    specs.validate(response)


@pytest.mark.parametrize("path", ["/orders", "/orders/2", "/orders/count", "/time", "/store"])
def test_legacy_basic_auth_responses_match_the_spec(client: Client, specs: Specs, path: str) -> None:
    response = client.legacy(path)

    assert response.status_code == 200, response.text
    specs.validate(response)


def test_unknown_order_is_a_404_the_spec_documents(client: Client, specs: Specs) -> None:
    response = client.get("/v2/orders/999")

    assert response.status_code == 404
    specs.validate(response)
    assert specs.schema_errors("orders", "components/responses/404_Resp", response.json()) == []


def test_unknown_product_is_a_404_the_spec_documents(client: Client, specs: Specs) -> None:
    response = client.get("/v3/catalog/products/999")

    assert response.status_code == 404
    specs.validate(response)
    assert response.json()["status"] == 404


def test_empty_v2_list_is_204_without_body_which_the_spec_omits(client: Client, specs: Specs) -> None:
    # Real BigCommerce answers an empty v2 list with 204 and no body (research §2); the spec
    # documents only 200, so openapi-core has no 204 to match.
    response = client.get("/v2/orders", min_id=1000)

    assert response.status_code == 204
    assert response.content == b""
    assert "Content-Type" not in response.headers
    with pytest.raises(ResponseNotFound):
        specs.validate(response)


def test_empty_v3_list_is_200_with_an_empty_page(client: Client, specs: Specs) -> None:
    response = client.get("/v3/customers", **{"id:in": "999"})

    assert response.status_code == 200
    specs.validate(response)
    assert response.json()["data"] == []
    assert response.json()["meta"]["pagination"]["total"] == 0


# --- errors on list endpoints, outside the specs' documented responses -------------------------
V2_ERROR = "components/responses/404_Resp"  # the orders spec's v2 error array: [{status, message}]
V3_ERRORS = {"products": "components/schemas/GeneralError", "customers": "components/schemas/ErrorResponse"}


def _check_v2_error(specs: Specs, body: object, status: int) -> None:
    assert specs.schema_errors("orders", V2_ERROR, body) == []
    assert isinstance(body, list)
    assert body[0]["status"] == status
    assert body[0]["message"]


def _check_v3_error(specs: Specs, name: str, body: object, status: int) -> None:
    assert specs.schema_errors(name, V3_ERRORS[name], body) == []
    assert isinstance(body, dict)
    assert body["status"] == status
    assert body["title"]
    assert body["type"]


@pytest.mark.parametrize("token", ["wrong-token", ""])
def test_v2_wrong_token_is_401_with_a_v2_error(client: Client, specs: Specs, token: str) -> None:
    response = client.session.get(f"{client.base}/v2/orders", headers={"X-Auth-Token": token})

    assert response.status_code == 401
    _check_v2_error(specs, response.json(), 401)


@pytest.mark.parametrize(
    ("path", "name"), [("/v3/catalog/products", "products"), ("/v3/customers", "customers")]
)
def test_v3_wrong_token_is_401_with_a_v3_error(client: Client, specs: Specs, path: str, name: str) -> None:
    # The catalog spec's `UnauthorizedError` says "plain/text"; BigCommerce's gateway answers JSON,
    # and the sandbox answers in the v3 error shape so clients parse one format.
    response = client.session.get(f"{client.base}{path}", headers={"X-Auth-Token": "nope"})

    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/json"
    _check_v3_error(specs, name, response.json(), 401)


@pytest.mark.parametrize("auth", [("sandbox", "wrong"), ("someone", "sandbox-api-token"), None])
def test_legacy_wrong_basic_auth_is_401(client: Client, specs: Specs, auth: tuple[str, str] | None) -> None:
    response = client.session.get(f"{client.server.url}/api/v2/orders", auth=auth)

    assert response.status_code == 401
    _check_v2_error(specs, response.json(), 401)


def test_legacy_route_refuses_an_api_account_token(client: Client) -> None:
    response = client.session.get(
        f"{client.server.url}/api/v2/orders", headers={"X-Auth-Token": client.store.access_token}
    )

    assert response.status_code == 401


@pytest.mark.parametrize(("version", "path"), [("v2", "orders"), ("v3", "customers")])
def test_unknown_store_hash_is_404(client: Client, specs: Specs, version: str, path: str) -> None:
    response = client.session.get(
        f"{client.server.url}/stores/nosuchstore/{version}/{path}",
        headers={"X-Auth-Token": client.store.access_token},
    )

    assert response.status_code == 404
    if version == "v2":
        _check_v2_error(specs, response.json(), 404)
    else:
        _check_v3_error(specs, "customers", response.json(), 404)


@pytest.mark.parametrize(
    ("path", "name"),
    [("/v2/orders", None), ("/v3/catalog/products", "products"), ("/v3/customers", "customers")],
)
def test_limit_above_250_is_413(client: Client, specs: Specs, path: str, name: str | None) -> None:
    response = client.get(path, limit=251)

    assert response.status_code == 413
    body = response.json()
    if name is None:
        _check_v2_error(specs, body, 413)
        assert body[0]["details"] == {"max_limit": 250}
    else:
        _check_v3_error(specs, name, body, 413)
        assert body["max_limit"] == 250


def test_limit_of_250_is_allowed(client: Client, specs: Specs) -> None:
    response = client.get("/v2/orders", limit=250)

    assert response.status_code == 200
    specs.validate(response)


@pytest.mark.parametrize(
    ("path", "name"),
    [("/v2/orders", None), ("/v3/catalog/products", "products"), ("/v3/customers", "customers")],
)
def test_spent_quota_is_429_with_an_error_body(
    client: Client, specs: Specs, path: str, name: str | None
) -> None:
    client.store.settings.rate_limit_quota = 1
    client.get("/v2/time")

    response = client.get(path)

    assert response.status_code == 429
    if name is None:
        _check_v2_error(specs, response.json(), 429)
    else:
        _check_v3_error(specs, name, response.json(), 429)


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v2/orders", {"min_date_modified": "yesterday"}, "min_date_modified"),
        ("/v2/orders", {"max_date_created": "Mon, 15 Apr 2019 10:41:59  0000"}, "max_date_created"),
        ("/v2/orders", {"min_id": "abc"}, "min_id"),
        ("/v2/orders", {"sort": "total:asc"}, "sort"),
    ],
)
def test_v2_malformed_filter_is_400_naming_the_field(
    client: Client, specs: Specs, path: str, params: dict, field: str
) -> None:
    response = client.get(path, **params)

    assert response.status_code == 400
    _check_v2_error(specs, response.json(), 400)
    assert response.json()[0]["message"] == f"The field '{field}' is invalid."


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v3/catalog/products", {"date_modified:min": "not-a-date"}, "date_modified:min"),
        ("/v3/catalog/products", {"sort": "colour"}, "sort"),
        ("/v3/customers", {"id:in": "1,x"}, "id:in"),
        ("/v3/customers", {"sort": "date_modified"}, "sort"),
    ],
)
def test_v3_malformed_filter_is_422_naming_the_field(
    client: Client, specs: Specs, path: str, params: dict, field: str
) -> None:
    response = client.get(path, **params)

    assert response.status_code == 422
    name = "products" if "catalog" in path else "customers"
    _check_v3_error(specs, name, response.json(), 422)
    assert field in response.json()["errors"]


def test_customers_422_is_the_documented_response(client: Client, specs: Specs) -> None:
    # The customers list documents 422 with its `Error` schema, so openapi-core checks it directly.
    response = client.get("/v3/customers", **{"date_modified:max": "garbage"})

    assert response.status_code == 422
    specs.validate(response)


def test_writes_are_refused_with_405(client: Client) -> None:
    response = client.session.post(
        f"{client.base}/v2/orders", json={}, headers={"X-Auth-Token": client.store.access_token}
    )

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"


def test_unknown_route_is_404(client: Client) -> None:
    assert client.get("/v3/catalog/brands").status_code == 404
    assert client.session.get(f"{client.server.url}/nowhere").status_code == 404


@pytest.mark.parametrize(
    ("path", "field", "bad"),
    [("/v2/orders/1", "date_shipped", 0), ("/v3/catalog/products/1", "type", "spaceship")],
)
def test_validation_catches_a_body_off_the_spec(
    client: Client, specs: Specs, path: str, field: str, bad: object
) -> None:
    # Guards the checks above: the same response, one field broken, must fail validation.
    response = client.get(path)
    body = response.json()
    body.get("data", body)[field] = bad
    response._content = json.dumps(body).encode()

    with pytest.raises(InvalidData):
        specs.validate(response)
