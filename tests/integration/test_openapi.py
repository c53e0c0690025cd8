"""The OpenAPI document is generated from the code, served, and its checked-in copy is current."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from devstack.resources import StackResources
from tests.support.api import ApiClient

CHECKED_IN = Path(__file__).resolve().parents[2] / "schemas" / "openapi.json"


def test_the_checked_in_openapi_document_is_current() -> None:
    from api_handler import openapi_document

    assert json.loads(CHECKED_IN.read_text()) == json.loads(openapi_document()), "run `make openapi`"


def test_the_document_declares_the_errors_the_api_answers_not_powertools_422() -> None:
    """A request the API cannot accept is a 400 naming each problem (never a 422); every route
    can answer 400 and 401, instance routes 404, all with the same error body."""
    from api_handler import openapi_document

    document = json.loads(openapi_document())
    operations = [
        (method, path, operation["responses"])
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]

    assert len(operations) >= 16
    for method, path, responses in operations:
        assert "422" not in responses, (method, path)
        expected = {"400", "401"} | ({"404"} if "{instance_id}" in path else set())
        assert expected <= set(responses), (method, path)
        for status in expected:
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}
    error_body = document["components"]["schemas"]["ErrorBody"]
    assert error_body["required"] == ["message"]
    assert error_body["properties"]["errors"]["items"] == {"$ref": "#/components/schemas/Problem"}
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_openapi_json_is_served_without_credentials(aws: StackResources) -> None:
    response = ApiClient(None).get("/openapi.json")

    assert response.status == 200
    assert "/instances" in response.body["paths"]
    assert response.body["components"]["securitySchemes"]["CloudElements"]["name"] == "Authorization"


def test_swagger_ui_is_off_unless_enabled(aws: StackResources, setenv: Any) -> None:
    from api_handler import lambda_handler
    from tests.support.api import LambdaContext, load_event

    event = load_event("api_get_instance.json")
    event.update(path="/docs", resource="/docs", pathParameters=None, headers={})
    assert lambda_handler(event, LambdaContext())["statusCode"] == 404

    setenv(ENABLE_SWAGGER_UI="true")
    page = lambda_handler(event, LambdaContext())

    assert page["statusCode"] == 200
    assert "swagger" in page["body"].lower()
