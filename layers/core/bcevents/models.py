"""Request and response bodies of the instances API (Cloud Elements' shapes)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bcevents.configuration import ELEMENT_KEY


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
