"""Request and response bodies of the API: instances (Cloud Elements' shapes), event log, status."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from bcevents.aws.event_log import Status
from bcevents.compat.configuration import ELEMENT_KEY

#: The date part an ISO 8601 date-time begins with.
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_8601(value: object) -> object:
    # pydantic would also read a number, or a numeric string like "0.5", as Unix time: the API
    # documents ISO 8601 dates, and a number given by mistake must not silently mean 1970.
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_DATE.match(value.strip())):
        return value
    raise ValueError("is not an ISO 8601 date-time (e.g. 2024-05-01T00:00:00Z)")


#: A date the caller gives: ISO 8601 text only.
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_8601)]


class ElementRef(BaseModel):
    """``{"key": "bigcommerce"}``: the only element this service offers."""

    model_config = ConfigDict(extra="allow")

    key: Literal["bigcommerce"]


class ProviderData(BaseModel):
    """What BigCommerce sent the app's auth callback (``code``, ``context``, ``scope``)."""

    model_config = ConfigDict(extra="allow")

    code: str | None = None
    context: str | None = None
    scope: str | None = None


class InstanceBody(BaseModel):
    """The body of ``POST /instances`` and ``PUT /instances/{id}``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    element: ElementRef
    name: str = Field(min_length=1, max_length=200)
    configuration: dict[str, Any]
    tags: list[str] = Field(default_factory=list, max_length=50)
    provider_data: ProviderData | None = Field(None, alias="providerData")
    validate_credentials: bool = Field(True, alias="validateCredentials")


class InstancePatch(BaseModel):
    """The body of ``PATCH /instances/{id}``: configuration keys are merged (null removes one)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str | None = Field(None, min_length=1, max_length=200)
    configuration: dict[str, Any] | None = None
    tags: list[str] | None = Field(None, max_length=50)
    validate_credentials: bool = Field(True, alias="validateCredentials")


class InstanceView(BaseModel):
    """An instance as the API shows it: never a secret (``token`` and the signing secret only once)."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    id: int
    name: str
    tags: list[str]
    element: dict[str, str] = Field(default_factory=lambda: {"key": ELEMENT_KEY})
    events_enabled: bool = Field(alias="eventsEnabled")
    events_notification_callback_url: str | None = Field(None, alias="eventsNotificationCallbackUrl")
    events_disabled_reason: str | None = Field(None, alias="eventsDisabledReason")
    created_date: str = Field(alias="createdDate")
    updated_date: str = Field(alias="updatedDate")
    configuration: dict[str, Any]


class CreatedInstanceView(InstanceView):
    """The answer to ``POST /instances``: the only time the token and signing secret are shown."""

    token: str
    webhook_secret: str = Field(alias="webhookSigningSecret")


class Problem(BaseModel):
    """One offending key of a request and why."""

    key: str
    reason: str


class ErrorBody(BaseModel):
    """Every 4xx/5xx body: a message, and for 400s each offending key."""

    message: str
    errors: list[Problem] = Field(default_factory=list)
    request_id: str | None = Field(None, alias="requestId")

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


# --- the event log ------------------------------------------------------------------------------
class PollStarted(BaseModel):
    """The answer to ``POST .../events/poll``: the poll was started (it runs asynchronously)."""

    message: str


class EventType(StrEnum):
    """What happened to an object (Cloud Elements' ``eventType``)."""

    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"
    UNKNOWN = "UNKNOWN"


class _View(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class NotificationView(_View):
    """One notification of the event log (up to ten events of one resource) and where it stands."""

    id: str
    object_type: str = Field(alias="objectType")
    event_types: list[str] = Field(alias="eventTypes")
    object_ids: list[str] = Field(alias="objectIds")
    status: Status
    status_reason: str | None = Field(None, alias="statusReason")
    attempts: int
    last_attempt_date: str | None = Field(None, alias="lastAttemptDate")
    last_status_code: int | None = Field(None, alias="lastStatusCode")
    last_error: str | None = Field(None, alias="lastError")
    next_attempt_at: str | None = Field(None, alias="nextAttemptAt")
    redeliveries: int = 0
    redelivered_date: str | None = Field(None, alias="redeliveredDate")
    redeliverable: bool = Field(description="whether the body was kept, so it can be sent again")
    created_date: str = Field(alias="createdDate")
    updated_date: str | None = Field(None, alias="updatedDate")


class AttemptView(_View):
    """One POST to the callback: its answer (``statusCode``) or why there was none (``error``)."""

    attempt: int
    attempted_date: str = Field(alias="attemptedDate")
    status_code: int | None = Field(None, alias="statusCode")
    error: str | None = Field(
        None, description="an error class: ReadTimeout, ConnectionError, EgressRefused..."
    )
    latency_ms: int = Field(alias="latencyMs")
    response_bytes: int = Field(0, alias="responseBytes")
    status: Status = Field(description="the notification's status after this attempt")
    redelivery: int = Field(0, description="0 for the first delivery, n for the n-th redelivery")


class NotificationDetail(NotificationView):
    """A notification with every delivery attempt and the exact body that was (or will be) POSTed."""

    delivery_attempts: list[AttemptView] = Field(alias="deliveryAttempts")
    body: dict[str, Any] | None = Field(
        None,
        description="the notification as POSTed; null if not kept, or over 4 MB (too large for an answer)",
    )


class NotificationPage(_View):
    """A page of the event log, newest first; ``nextCursor`` continues it (null: no more)."""

    notifications: list[NotificationView]
    next_cursor: str | None = Field(None, alias="nextCursor")


class RedeliverBody(BaseModel):
    """The body of ``POST /instances/{id}/events/redeliver``: which notifications to send again."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    status: Status = Status.FAILED
    from_date: IsoDateTime | None = Field(None, alias="from", description="created at or after (ISO 8601)")
    to_date: IsoDateTime | None = Field(None, alias="to", description="created at or before (ISO 8601)")
    limit: int = Field(100, ge=1, le=500, description="at most this many per request")
    cursor: str | None = Field(None, max_length=200)


class RedeliveryView(_View):
    """A notification queued again: same id, its redelivery number."""

    id: str
    redelivery: int
    status: Status


class RedeliveryBatch(_View):
    """What a bulk redelivery queued; ``nextCursor`` (when not null) continues through the range."""

    redelivered: int
    notification_ids: list[str] = Field(alias="notificationIds")
    not_redeliverable: list[str] = Field(default_factory=list, alias="notRedeliverable")
    next_cursor: str | None = Field(None, alias="nextCursor")


class DeadLetterRedrive(_View):
    """What a per-instance dead-letter redrive did; other instances' messages were left in place."""

    moved: int
    notification_ids: list[str] = Field(alias="notificationIds")
    already_delivered: int = Field(alias="alreadyDelivered", description="dropped: delivered since")
    left: int = Field(description="messages of other instances seen and left in the queue")
    complete: bool = Field(description="false when the scan stopped at its budget: call again")


# --- instance status ----------------------------------------------------------------------------
class PollView(_View):
    """The last recorded poll run of an instance."""

    started_date: str = Field(alias="startedDate")
    finished_date: str = Field(alias="finishedDate")
    duration_ms: int = Field(alias="durationMs")
    outcome: str
    requests: int
    throttled: int = Field(description="store answers 429 during the run")
    events: int


class ResourceStatus(_View):
    """One resource: its last poll, its watermark and how far it lags behind the store's clock."""

    resource: str
    started_date: str | None = Field(None, alias="startedDate")
    finished_date: str | None = Field(None, alias="finishedDate")
    outcome: str | None = Field(None, description="complete, incomplete (resumes next run) or failed")
    error: str | None = None
    records: int = 0
    events: int = 0
    requests: int = 0
    watermark: str | None = Field(None, description="the checkpoint the next window starts from")
    polled_through: str | None = Field(None, alias="polledThrough")
    lag_seconds: int | None = Field(None, alias="lagSeconds")


class ErrorView(_View):
    """The last error a poll met, kept after later polls succeed."""

    date: str
    resource: str | None = None
    message: str


class DeliveryState(_View):
    """Whether notifications are delivered (``DISABLED`` names why: e.g. the callback said 410)."""

    state: Literal["ENABLED", "DISABLED"]
    reason: str | None = None


class PollingState(_View):
    """Whether polls run and succeed."""

    state: Literal["OK", "FAILING", "LATE", "OFF", "NOT_POLLED_YET"]
    refresh_interval_minutes: int = Field(alias="refreshIntervalMinutes")
    last_poll: PollView | None = Field(None, alias="lastPoll")


class Counters(_View):
    """Events of the notifications created since ``since``, by where they stand now."""

    since: str
    notifications: int
    enqueued: int
    delivered: int
    failed: int
    pending: int
    disabled: int
    complete: bool = Field(description="false when too many to count in one request")


class InstanceStatus(_View):
    """``GET /instances/{id}/status``: is it polling, is it delivering, and if not, why."""

    instance_id: int = Field(alias="instanceId")
    delivery: DeliveryState
    polling: PollingState
    resources: list[ResourceStatus]
    last_error: ErrorView | None = Field(None, alias="lastError")
    last_24_hours: Counters = Field(alias="last24Hours")
