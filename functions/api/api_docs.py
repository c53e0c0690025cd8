"""The API's OpenAPI document and Swagger page, built from the resolver's routes and models.

Powertools documents a 422 for every validated route; this API answers a request it cannot accept
with a 400 that names each problem instead, so the document says that, and every other error a
route can answer (:func:`error_answers`), each with its body (ErrorBody).
"""

from __future__ import annotations

import json
from functools import cache
from http import HTTPStatus
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn
from aws_lambda_powertools.event_handler.openapi.swagger_ui import html as swagger_ui_html
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic.json_schema import models_json_schema

from bcevents.api.models import ErrorBody


def configure(app: APIGatewayRestResolver) -> None:
    """The document's title, description and security scheme (Cloud Elements' ``Authorization``)."""
    app.configure_openapi(
        title="BigCommerce polling events",
        version="1.0.0",
        description="Cloud Elements-compatible element instances whose BigCommerce changes are POSTed to a callback.",
        security_schemes={
            "CloudElements": APIKey(
                name="Authorization",
                in_=APIKeyIn.header,
                description="User <user secret>, Organization <org secret>",
            )
        },
        security=[{"CloudElements": []}],
    )


def queued(model: type[Any]) -> dict[int, OpenAPIResponse]:
    """The OpenAPI answer of a route that queues work: 202 with ``model``."""
    return {202: {"description": "Queued", "content": {"application/json": {"model": model}}}}


def script_safe_document(app: APIGatewayRestResolver) -> str:
    """The document, safe inside a page's script (no ``</script>``)."""
    return openapi_document(app).replace("</", "<\\/")


@cache
def swagger_page(app: APIGatewayRestResolver) -> str:
    """Swagger UI with the document and Powertools' bundled assets inlined (built once per environment)."""
    assets = Path(swagger_ui_html.__file__).parent
    return swagger_ui_html.generate_swagger_html(
        script_safe_document(app),
        (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        (assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
        "",
        None,
    )


@cache
def openapi_document(app: APIGatewayRestResolver) -> str:
    """The API's OpenAPI document, generated from the routes and models (built once per environment)."""
    document = json.loads(app.get_openapi_json_schema())
    _, definitions = models_json_schema(
        [(ErrorBody, "serialization")], ref_template="#/components/schemas/{model}"
    )
    schemas = document["components"]["schemas"]
    schemas.update(definitions["$defs"])
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            responses.pop("422", None)
            for code, meaning in error_answers(method, path).items():
                responses[str(code.value)] = {
                    "description": meaning,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
                }
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)
    return json.dumps(document, indent=2)


#: Routes that write the instance as they read it (a concurrent change is a 409, never undone).
_WRITES_INSTANCE = frozenset(
    {
        ("put", "/instances/{instance_id}"),
        ("patch", "/instances/{instance_id}"),
        ("put", "/instances/{instance_id}/events/enabled"),
        ("delete", "/instances/{instance_id}/events/enabled"),
    }
)
#: Routes that ask the store to accept the credentials before saving them.
_CHECKS_STORE = frozenset(
    {("post", "/instances"), ("put", "/instances/{instance_id}"), ("patch", "/instances/{instance_id}")}
)


def error_answers(method: str, path: str) -> dict[HTTPStatus, str]:
    """The error statuses one route (an OpenAPI path) can answer, each with what it means there."""
    answers = {
        HTTPStatus.BAD_REQUEST: "The request is invalid: `errors` names each offending key and why"
        + (" (also when BigCommerce refuses the credentials)" if (method, path) in _CHECKS_STORE else ""),
        HTTPStatus.UNAUTHORIZED: "No credentials, or not those of a user of an organization",
        HTTPStatus.TOO_MANY_REQUESTS: "API Gateway's throttling: retry after a moment",
    }
    if "{instance_id}" in path:
        answers[HTTPStatus.NOT_FOUND] = "No such instance in the caller's organization" + (
            ", or no such notification in its event log" if "{notification_id}" in path else ""
        )
    if path.endswith(("/redeliver", "/redrive")):
        answers[HTTPStatus.CONFLICT] = "Events are disabled for the instance" + (
            ", or the notification's body was not kept" if "{notification_id}" in path else ""
        )
        answers[HTTPStatus.SERVICE_UNAVAILABLE] = (
            "The events queue did not take it: nothing changed, try again"
        )
    if (method, path) == ("post", "/instances"):
        answers[HTTPStatus.CONFLICT] = (
            "The Idempotency-Key was sent with another body, or its first request is still running"
        )
    if (method, path) in _WRITES_INSTANCE:
        answers[HTTPStatus.CONFLICT] = "Another request changed the instance meanwhile: read it and try again"
    if method in ("post", "put", "patch"):
        answers[HTTPStatus.UNSUPPORTED_MEDIA_TYPE] = (
            "A body that is not JSON (Content-Type: application/json)"
        )
    if (method, path) in _CHECKS_STORE:
        answers[HTTPStatus.BAD_GATEWAY] = "BigCommerce could not be reached to check the credentials"
    return answers
