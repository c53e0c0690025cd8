"""The instances API: API Gateway (REST) proxy events in, Cloud Elements-compatible JSON out."""

from __future__ import annotations

import re
from datetime import datetime
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

import api_docs
from bcevents import errors
from bcevents.api import access, creation, events, instances, redelivery
from bcevents.api.models import (
    CreatedInstanceView,
    DeadLetterRedrive,
    ErrorBody,
    EventType,
    InstanceBody,
    InstancePatch,
    InstanceStatus,
    InstanceView,
    NotificationDetail,
    NotificationPage,
    PollStarted,
    Problem,
    RedeliverBody,
    RedeliveryBatch,
    RedeliveryView,
)
from bcevents.api.status import instance_status as status_of
from bcevents.api.validation import problems_from
from bcevents.aws.event_log import Status
from bcevents.observability import logger, metrics, tracer
from bcevents.settings import get_settings

app = APIGatewayRestResolver(enable_validation=True)
api_docs.configure(app)
#: Documentation needs no credentials (it holds no data); everything else does.
PUBLIC_PATHS = frozenset({"/openapi.json", "/docs"})


def authenticate(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Every route needs ``Authorization: User <secret>, Organization <secret>``."""
    if app.current_event.path not in PUBLIC_PATHS:
        principal = access.authenticate(app.current_event.headers.get("Authorization"))
        app.append_context(principal=principal)
    return next_middleware(app)


def docs_enabled(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Swagger UI is served only where the deployment turned it on (ENABLE_SWAGGER_UI)."""
    if not get_settings().enable_swagger_ui:
        return _error(HTTPStatus.NOT_FOUND, "Swagger UI is disabled in this deployment")
    return next_middleware(app)


app.use(middlewares=[authenticate])


def _principal() -> access.Principal:
    principal: access.Principal = app.context["principal"]
    return principal


@app.post("/instances")
def create_instance(
    body: InstanceBody,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description="the same key (and body) within a day answers with the instance the first request created",
        ),
    ] = None,
) -> CreatedInstanceView:
    return creation.create_instance(_principal(), body, idempotency_key=idempotency_key)


@app.get("/instances")
def list_instances() -> list[InstanceView]:
    return instances.list_instances(_principal())


@app.get("/instances/<instance_id>")
def get_instance(instance_id: int) -> InstanceView:
    return instances.to_view(instances.get_instance(_principal(), instance_id))


@app.patch("/instances/<instance_id>")
def update_instance(instance_id: int, body: InstancePatch) -> InstanceView:
    return instances.update_instance(_principal(), instance_id, body)


@app.put("/instances/<instance_id>")
def replace_instance(instance_id: int, body: InstanceBody) -> InstanceView:
    return instances.replace_instance(_principal(), instance_id, body)


@app.delete("/instances/<instance_id>")
def delete_instance(instance_id: int) -> dict[str, Any]:
    instances.delete_instance(_principal(), instance_id)
    return {}


@app.put("/instances/<instance_id>/events/enabled")
def enable_events(instance_id: int) -> InstanceView:
    return instances.set_events_enabled(_principal(), instance_id, True)


@app.delete("/instances/<instance_id>/events/enabled")
def disable_events(instance_id: int) -> InstanceView:
    return instances.set_events_enabled(_principal(), instance_id, False, reason="disabled by the user")


@app.post("/instances/<instance_id>/webhook-secret/rotate")
def rotate_webhook_secret(instance_id: int) -> dict[str, str]:
    return {"webhookSigningSecret": instances.rotate_webhook_secret(_principal(), instance_id)}


@app.post("/instances/<instance_id>/events/poll", responses=api_docs.queued(PollStarted))
def poll_now(instance_id: int) -> Response[PollStarted]:
    instances.poll_now(_principal(), instance_id)
    return _accepted(PollStarted(message="poll started"))


@app.get("/instances/<instance_id>/status")
def instance_status(instance_id: int) -> InstanceStatus:
    return status_of(_principal(), instance_id)


@app.get("/instances/<instance_id>/events")
def list_events(
    instance_id: int,
    status: Annotated[Status | None, Query()] = None,
    object_type: Annotated[str | None, Query(alias="objectType", min_length=1, max_length=100)] = None,
    object_id: Annotated[str | None, Query(alias="objectId", min_length=1, max_length=100)] = None,
    event_type: Annotated[EventType | None, Query(alias="eventType")] = None,
    since: Annotated[
        datetime | None, Query(alias="from", description="created at or after (ISO 8601)")
    ] = None,
    until: Annotated[
        datetime | None, Query(alias="to", description="created at or before (ISO 8601)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[
        str | None, Query(max_length=200, description="nextCursor of the previous page")
    ] = None,
) -> NotificationPage:
    filters = events.LogFilter(status, object_type, object_id, event_type, since, until)
    return events.list_notifications(_principal(), instance_id, filters, limit=limit, cursor=cursor)


@app.get("/instances/<instance_id>/events/<notification_id>")
def get_event(instance_id: int, notification_id: str) -> NotificationDetail:
    return events.get_notification(_principal(), instance_id, notification_id)


@app.post(
    "/instances/<instance_id>/events/<notification_id>/redeliver", responses=api_docs.queued(RedeliveryView)
)
def redeliver_event(instance_id: int, notification_id: str) -> Response[RedeliveryView]:
    return _accepted(redelivery.redeliver(_principal(), instance_id, notification_id))


@app.post("/instances/<instance_id>/events/redeliver", responses=api_docs.queued(RedeliveryBatch))
def redeliver_events(instance_id: int, body: RedeliverBody) -> Response[RedeliveryBatch]:
    return _accepted(redelivery.redeliver_many(_principal(), instance_id, body))


@app.post("/instances/<instance_id>/events/dead-letters/redrive")
def redrive_dead_letters(instance_id: int) -> DeadLetterRedrive:
    return redelivery.redrive_dead_letters(_principal(), instance_id)


def openapi_document() -> str:
    """The API's OpenAPI document (``make openapi`` checks it in as schemas/openapi.json)."""
    return api_docs.openapi_document(app)


@app.get("/openapi.json", include_in_schema=False)
def openapi_json() -> Response[str]:
    return Response(
        status_code=HTTPStatus.OK, content_type=content_types.APPLICATION_JSON, body=openapi_document()
    )


@app.get("/docs", include_in_schema=False, middlewares=[docs_enabled])
def swagger_ui() -> Response[str]:
    # Powertools' enable_swagger renders its own document (with its 422s); this one shows ours.
    if (app.current_event.query_string_parameters or {}).get("format") == "json":
        return Response(
            status_code=HTTPStatus.OK,
            content_type=content_types.APPLICATION_JSON,
            body=api_docs.script_safe_document(app),
        )
    return Response(
        status_code=HTTPStatus.OK, content_type=content_types.TEXT_HTML, body=api_docs.swagger_page(app)
    )


# --- errors: the one place where exceptions become status codes ------------------------------
def _json(status: HTTPStatus, body: Any) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def _accepted(view: Any) -> Response[Any]:
    return _json(HTTPStatus.ACCEPTED, view.model_dump(mode="json", by_alias=True))


def _error(status: HTTPStatus, message: str, problems: list[Problem] | None = None) -> Response[Any]:
    request_id = app.lambda_context.aws_request_id if app.lambda_context else None
    body = ErrorBody(message=message, errors=problems or [], request_id=request_id)
    return _json(status, body.model_dump(mode="json", by_alias=True, exclude_none=True))


@app.exception_handler(RequestValidationError)
def _invalid_request(exc: RequestValidationError) -> Response[Any]:
    # Powertools validates a request before any middleware runs: a caller without valid
    # credentials gets its 401 here, not a description of what the route accepts.
    if app.current_event.path not in PUBLIC_PATHS:
        try:
            access.authenticate(app.current_event.headers.get("Authorization"))
        except errors.Unauthorized as unauthorized:
            return _error(HTTPStatus.UNAUTHORIZED, str(unauthorized))
    problems = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        where = loc[0] if loc else "body"
        path = ".".join(loc[1:]) or where
        reason = error["msg"].removeprefix("Value error, ")
        if error.get("type") == "extra_forbidden":
            reason = "is not a known key"
        problems.append(Problem(key=path if where == "body" else f"{where}.{path}", reason=reason))
    return _error(HTTPStatus.BAD_REQUEST, "The request is invalid", problems)


@app.exception_handler(UnicodeDecodeError)
def _undecodable_body(exc: UnicodeDecodeError) -> Response[Any]:
    # API Gateway hands over a body that is not UTF-8 base64-encoded; JSON must be UTF-8.
    return _error(
        HTTPStatus.BAD_REQUEST,
        "The request is invalid",
        [Problem(key="body", reason="is not UTF-8 text (JSON must be UTF-8)")],
    )


@app.exception_handler(errors.InvalidConfiguration)
def _invalid_configuration(exc: errors.InvalidConfiguration) -> Response[Any]:
    problems = [Problem(key=p.key, reason=p.reason) for p in exc.problems]
    return _error(HTTPStatus.BAD_REQUEST, "The instance configuration is invalid", problems)


@app.exception_handler(ValidationError)
def _invalid_stored(exc: ValidationError) -> Response[Any]:
    problems = [Problem(key=p.key, reason=p.reason) for p in problems_from(exc)]
    return _error(HTTPStatus.BAD_REQUEST, "The request is invalid", problems)


@app.exception_handler(errors.InvalidRequest)
def _invalid_parameter(exc: errors.InvalidRequest) -> Response[Any]:
    problems = [Problem(key=p.key, reason=p.reason) for p in exc.problems]
    return _error(HTTPStatus.BAD_REQUEST, "The request is invalid", problems)


@app.exception_handler(errors.NotificationNotFound)
def _no_notification(exc: errors.NotificationNotFound) -> Response[Any]:
    return _error(HTTPStatus.NOT_FOUND, f"No notification {exc} in this instance's event log")


@app.exception_handler(errors.NotRedeliverable)
def _not_redeliverable(exc: errors.NotRedeliverable) -> Response[Any]:
    return _error(HTTPStatus.CONFLICT, f"Notification {exc} cannot be redelivered: its body was not kept")


@app.exception_handler(errors.EventsDisabled)
def _events_disabled(exc: errors.EventsDisabled) -> Response[Any]:
    return _error(
        HTTPStatus.CONFLICT,
        f"Events are disabled for this instance ({exc}); enable them (PUT .../events/enabled) first",
    )


@app.exception_handler(errors.Unauthorized)
def _unauthorized(exc: errors.Unauthorized) -> Response[Any]:
    return _error(HTTPStatus.UNAUTHORIZED, str(exc))


@app.exception_handler(errors.InstanceNotFound)
def _not_found(exc: errors.InstanceNotFound) -> Response[Any]:
    return _error(HTTPStatus.NOT_FOUND, f"No instance {exc} in this organization")


@app.exception_handler([errors.StoreRejectedCredentials, errors.StoreRequestFailed, errors.EgressRefused])
def _store_refused(exc: errors.ServiceError) -> Response[Any]:
    return _error(HTTPStatus.BAD_REQUEST, f"BigCommerce credentials were not accepted: {exc}")


@app.exception_handler(errors.InstanceChanged)
def _changed(exc: errors.InstanceChanged) -> Response[Any]:
    return _error(
        HTTPStatus.CONFLICT, f"Instance {exc} was changed by another request meanwhile: read it and try again"
    )


@app.exception_handler([errors.CreationInProgress, errors.IdempotencyKeyReused])
def _idempotency_conflict(exc: errors.ServiceError) -> Response[Any]:
    return _error(HTTPStatus.CONFLICT, f"Idempotency-Key: {exc}")


@app.exception_handler(errors.EnqueueFailed)
def _not_queued(exc: errors.EnqueueFailed) -> Response[Any]:
    return _error(
        HTTPStatus.SERVICE_UNAVAILABLE,
        "The events queue did not take the redelivery; nothing changed, try again",
    )


@app.exception_handler([errors.StoreUnavailable, errors.StoreThrottled])
def _store_unavailable(exc: errors.ServiceError) -> Response[Any]:
    return _error(HTTPStatus.BAD_GATEWAY, f"BigCommerce could not be reached to check the credentials: {exc}")


@app.not_found
def _no_route(_: Exception) -> Response[Any]:
    return _error(HTTPStatus.NOT_FOUND, f"No route {app.current_event.http_method} {app.current_event.path}")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    refused = _not_json(event, context)
    return refused if refused is not None else app.resolve(event, context)


#: JSON media types (``application/json``, ``application/merge-patch+json``, parameters allowed).
_JSON_TYPE = re.compile(r"^\s*application/(?:[\w.+-]+\+)?json\s*(?:;.*)?$", re.IGNORECASE)


def _not_json(event: dict[str, Any], context: LambdaContext) -> dict[str, Any] | None:
    """Refuse a body that is not JSON before routing: Powertools would read a form as the body (or
    fail on a multipart type without its boundary). 401 without credentials, else 415."""
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "application/json")
    if not event.get("body") or event.get("path") in PUBLIC_PATHS or _JSON_TYPE.match(content_type):
        return None
    try:
        access.authenticate(headers.get("authorization"))
    except errors.Unauthorized as exc:
        status, message = HTTPStatus.UNAUTHORIZED, str(exc)
    else:
        status, message = (
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "The request body must be JSON (Content-Type: application/json)",
        )
    body = ErrorBody(message=message, request_id=context.aws_request_id)
    return {
        "statusCode": int(status),
        "multiValueHeaders": {"Content-Type": [content_types.APPLICATION_JSON]},
        "body": body.model_dump_json(by_alias=True, exclude_none=True),
        "isBase64Encoded": False,
    }
