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


def test_the_document_is_valid_openapi_for_code_generators() -> None:
    """openapi-spec-validator, not our reading of the spec: every $ref resolves (#14 found one that
    did not: Powertools' ResponseValidationError pointed at a removed schema)."""
    from openapi_spec_validator import validate

    validate(json.loads(CHECKED_IN.read_text()))


#: Every route and the statuses it can answer: 400 and 401 everywhere (and API Gateway's 429),
#: 404 for an instance (or notification) not found, 409 where events must be on, 502 where the
#: store is asked to accept the credentials, 415 where a body can be sent.
EVERY = {"400", "401", "429"}
INSTANCE = EVERY | {"404"}
ROUTES = {
    ("post", "/instances"): {"200", "409", "415", "502"} | EVERY,
    ("get", "/instances"): {"200"} | EVERY,
    ("get", "/instances/{instance_id}"): {"200"} | INSTANCE,
    ("put", "/instances/{instance_id}"): {"200", "409", "502", "415"} | INSTANCE,
    ("patch", "/instances/{instance_id}"): {"200", "409", "502", "415"} | INSTANCE,
    ("delete", "/instances/{instance_id}"): {"200"} | INSTANCE,
    ("put", "/instances/{instance_id}/events/enabled"): {"200", "409", "415"} | INSTANCE,
    ("delete", "/instances/{instance_id}/events/enabled"): {"200", "409"} | INSTANCE,
    ("post", "/instances/{instance_id}/webhook-secret/rotate"): {"200", "415"} | INSTANCE,
    ("post", "/instances/{instance_id}/events/poll"): {"202", "415"} | INSTANCE,
    ("get", "/instances/{instance_id}/status"): {"200"} | INSTANCE,
    ("get", "/instances/{instance_id}/events"): {"200"} | INSTANCE,
    ("get", "/instances/{instance_id}/events/{notification_id}"): {"200"} | INSTANCE,
    ("post", "/instances/{instance_id}/events/{notification_id}/redeliver"): {"202", "409", "415", "503"}
    | INSTANCE,
    ("post", "/instances/{instance_id}/events/redeliver"): {"202", "409", "415", "503"} | INSTANCE,
    ("post", "/instances/{instance_id}/events/dead-letters/redrive"): {"200", "409", "415", "503"} | INSTANCE,
}


def test_the_document_declares_what_each_route_answers_not_powertools_422() -> None:
    """A request the API cannot accept is a 400 naming each problem (never a 422); each route
    declares exactly the statuses it can answer, every error with the same body (ErrorBody)."""
    from api_handler import openapi_document

    document = json.loads(openapi_document())
    declared = {
        (method, path): operation["responses"]
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }

    assert {route: set(responses) for route, responses in declared.items()} == ROUTES
    for responses in declared.values():
        for status, answer in responses.items():
            if status >= "400":
                assert answer["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorBody"
                }
                assert answer["description"]
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
    assert "ErrorBody" in page["body"]  # the page shows this API's document, not Powertools' own
    assert "HTTPValidationError" not in page["body"]
    event["queryStringParameters"] = {"format": "json"}
    spec = lambda_handler(event, LambdaContext())
    assert json.loads(spec["body"]) == json.loads(CHECKED_IN.read_text())
