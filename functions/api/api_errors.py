"""The one place where the API's exceptions become status codes, each with the error body.

Typed service errors map through :data:`SERVICE_ERRORS` (a status and a message each); the ones
that name offending keys (a 400) have handlers of their own. A body that is not JSON is refused
before routing (:func:`not_json`): Powertools would otherwise read a form as the body, or fail on
a multipart type without its boundary; a JSON one reaches Powertools as ``application/json``
(:func:`read_as_json`), the only JSON type it reads.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from bcevents import errors
from bcevents.api import access
from bcevents.api.models import ErrorBody, Problem
from bcevents.api.validation import problems_from

#: Each typed service error: the status it answers, and what the body's message says.
SERVICE_ERRORS: list[tuple[tuple[type[Exception], ...], HTTPStatus, Callable[[Exception], str]]] = [
    ((errors.Unauthorized,), HTTPStatus.UNAUTHORIZED, str),
    ((errors.InstanceNotFound,), HTTPStatus.NOT_FOUND, lambda e: f"No instance {e} in this organization"),
    (
        (errors.NotificationNotFound,),
        HTTPStatus.NOT_FOUND,
        lambda e: f"No notification {e} in this instance's event log",
    ),
    (
        (errors.NotRedeliverable,),
        HTTPStatus.CONFLICT,
        lambda e: f"Notification {e} cannot be redelivered: its body was not kept",
    ),
    (
        (errors.EventsDisabled,),
        HTTPStatus.CONFLICT,
        lambda e: f"Events are disabled for this instance ({e}); enable them (PUT .../events/enabled) first",
    ),
    (
        (errors.InstanceChanged,),
        HTTPStatus.CONFLICT,
        lambda e: f"Instance {e} was changed by another request meanwhile: read it and try again",
    ),
    (
        (errors.CreationInProgress, errors.IdempotencyKeyReused),
        HTTPStatus.CONFLICT,
        lambda e: f"Idempotency-Key: {e}",
    ),
    (
        (errors.StoreRejectedCredentials, errors.StoreRequestFailed, errors.EgressRefused),
        HTTPStatus.BAD_REQUEST,
        lambda e: f"BigCommerce credentials were not accepted: {e}",
    ),
    (
        (errors.StoreUnavailable, errors.StoreThrottled),
        HTTPStatus.BAD_GATEWAY,
        lambda e: f"BigCommerce could not be reached to check the credentials: {e}",
    ),
    (
        (errors.EnqueueFailed,),
        HTTPStatus.SERVICE_UNAVAILABLE,
        lambda e: "The events queue did not take the redelivery; nothing changed, try again",
    ),
]

#: JSON media types (``application/json``, ``application/merge-patch+json``, parameters allowed).
_JSON_TYPE = re.compile(r"^\s*application/(?:[\w.+-]+\+)?json\s*(?:;.*)?$", re.IGNORECASE)


def json_response(status: HTTPStatus, body: Any) -> Response[Any]:
    """A JSON answer."""
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def error(
    app: APIGatewayRestResolver, status: HTTPStatus, message: str, problems: list[Problem] | None = None
) -> Response[Any]:
    """An error answer: the message, each offending key, the request id."""
    request_id = app.lambda_context.aws_request_id if app.lambda_context else None
    body = ErrorBody(message=message, errors=problems or [], request_id=request_id)
    return json_response(status, body.model_dump(mode="json", by_alias=True, exclude_none=True))


def register(app: APIGatewayRestResolver, public_paths: Collection[str]) -> None:
    """Map every exception the routes raise to its answer."""
    for types, status, describe in SERVICE_ERRORS:
        app.exception_handler(list(types))(_answer(app, status, describe))

    @app.exception_handler(RequestValidationError)
    def _invalid_request(exc: RequestValidationError) -> Response[Any]:
        # Powertools validates a request before any middleware runs: a caller without valid
        # credentials gets its 401 here, not a description of what the route accepts.
        if app.current_event.path not in public_paths:
            try:
                access.authenticate(app.current_event.headers.get("Authorization"))
            except errors.Unauthorized as unauthorized:
                return error(app, HTTPStatus.UNAUTHORIZED, str(unauthorized))
        problems = []
        for found in exc.errors():
            loc = [str(part) for part in found["loc"]]
            where = loc[0] if loc else "body"
            path = ".".join(loc[1:]) or where
            reason = found["msg"].removeprefix("Value error, ")
            if found.get("type") == "extra_forbidden":
                reason = "is not a known key"
            if found.get("type") == "json_invalid":  # its location is a character offset, not a key
                where, path, reason = "body", "body", "is not valid JSON"
            problems.append(Problem(key=path if where == "body" else f"{where}.{path}", reason=reason))
        return error(app, HTTPStatus.BAD_REQUEST, "The request is invalid", problems)

    @app.exception_handler(UnicodeDecodeError)
    def _undecodable_body(exc: UnicodeDecodeError) -> Response[Any]:
        # API Gateway hands over a body that is not UTF-8 base64-encoded; JSON must be UTF-8.
        problem = Problem(key="body", reason="is not UTF-8 text (JSON must be UTF-8)")
        return error(app, HTTPStatus.BAD_REQUEST, "The request is invalid", [problem])

    @app.exception_handler([errors.InvalidConfiguration, errors.InvalidRequest])
    def _invalid_keys(exc: errors.InvalidConfiguration | errors.InvalidRequest) -> Response[Any]:
        problems = [Problem(key=p.key, reason=p.reason) for p in exc.problems]
        what = "The instance configuration" if isinstance(exc, errors.InvalidConfiguration) else "The request"
        return error(app, HTTPStatus.BAD_REQUEST, f"{what} is invalid", problems)

    @app.exception_handler(ValidationError)
    def _invalid_stored(exc: ValidationError) -> Response[Any]:
        problems = [Problem(key=p.key, reason=p.reason) for p in problems_from(exc)]
        return error(app, HTTPStatus.BAD_REQUEST, "The request is invalid", problems)

    @app.not_found
    def _no_route(_: Exception) -> Response[Any]:
        event = app.current_event
        return error(app, HTTPStatus.NOT_FOUND, f"No route {event.http_method} {event.path}")


def not_json(
    event: dict[str, Any], context: LambdaContext, public_paths: Collection[str]
) -> dict[str, Any] | None:
    """The answer to a request whose body is not JSON (401 without credentials, else 415), or None."""
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "application/json")
    if not event.get("body") or event.get("path") in public_paths or _JSON_TYPE.match(content_type):
        return None
    try:
        access.authenticate(headers.get("authorization"))
    except errors.Unauthorized as exc:
        status, message = HTTPStatus.UNAUTHORIZED, str(exc)
    else:
        status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE
        message = "The request body must be JSON (Content-Type: application/json)"
    body = ErrorBody(message=message, request_id=context.aws_request_id)
    return {
        "statusCode": int(status),
        "multiValueHeaders": {"Content-Type": [content_types.APPLICATION_JSON]},
        "body": body.model_dump_json(by_alias=True, exclude_none=True),
        "isBase64Encoded": False,
    }


def read_as_json(event: dict[str, Any]) -> dict[str, Any]:
    """The event as Powertools must read it: a JSON body (or none), whatever JSON type it was sent as.

    Powertools reads a body as JSON only when its type starts with ``application/json``; any other
    (``application/merge-patch+json``, ``Application/JSON``, or a type sent without a body) got its
    own 415 answer, not the error body. :func:`not_json` has already refused what is not JSON.
    """
    headers = event.get("headers") or {}
    multi = event.get("multiValueHeaders") or {}
    names = [name for name in {*headers, *multi} if str(name).lower() == "content-type"]
    if not names or all(
        str(headers.get(name, "")).startswith(content_types.APPLICATION_JSON) for name in names
    ):
        return event
    return {
        **event,
        "headers": {k: v for k, v in headers.items() if k not in names}
        | {"Content-Type": content_types.APPLICATION_JSON},
        "multiValueHeaders": {k: v for k, v in multi.items() if k not in names}
        | {"Content-Type": [content_types.APPLICATION_JSON]},
    }


def _answer(
    app: APIGatewayRestResolver, status: HTTPStatus, describe: Callable[[Exception], str]
) -> Callable[[Exception], Response[Any]]:
    def handler(exc: Exception) -> Response[Any]:
        return error(app, status, describe(exc))

    return handler
