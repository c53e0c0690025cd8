"""The instances API: API Gateway (REST) proxy events in, Cloud Elements-compatible JSON out."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

import api_docs
import api_errors
from bcevents.api import access, creation, events, instances, redelivery
from bcevents.api.models import (
    CreatedInstanceView,
    DeadLetterRedrive,
    EventType,
    InstanceBody,
    InstancePatch,
    InstanceStatus,
    InstanceView,
    IsoDateTime,
    NotificationDetail,
    NotificationPage,
    PollStarted,
    RedeliverBody,
    RedeliveryBatch,
    RedeliveryView,
)
from bcevents.api.status import instance_status as status_of
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
        return api_errors.error(app, HTTPStatus.NOT_FOUND, "Swagger UI is disabled in this deployment")
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
        IsoDateTime | None, Query(alias="from", description="created at or after (ISO 8601)")
    ] = None,
    until: Annotated[
        IsoDateTime | None, Query(alias="to", description="created at or before (ISO 8601)")
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


def _accepted(view: Any) -> Response[Any]:
    return api_errors.json_response(HTTPStatus.ACCEPTED, view.model_dump(mode="json", by_alias=True))


api_errors.register(app, PUBLIC_PATHS)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    refused = api_errors.not_json(event, context, PUBLIC_PATHS)
    return refused if refused is not None else app.resolve(api_errors.read_as_json(event), context)
