"""The Cloud Elements instance configuration: its models, its secrets and its stored form.

Field rules live on the pydantic models. Whether a resource URL names an endpoint the element
can poll is the planner's answer (``bigcommerce.planner``), which this pure layer does not
import: a caller that validates user input passes it as the validation context's ``plan``
(``api.validation`` does); a stored configuration is read without it.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator

from bcevents.compat import javadate, javazone, urltemplate
from bcevents.compat.javadate import RFC2822

ELEMENT_KEY = "bigcommerce"
MASK = "********"
#: Configuration keys whose values are secrets: stored, never returned, logged or enqueued.
SECRET_KEYS = frozenset({"password", "access.token", "oauth.api.secret", "event.notification.signature.key"})
_SECRET_WORDS = ("secret", "password", "token", "signature.key")


class AccountKind(StrEnum):
    """How the instance authenticates to the store."""

    LEGACY = "legacy"  # username + API token over Basic auth, v2 only
    API = "api"  # API-account access token (X-Auth-Token), v2 and v3
    OAUTH = "oauth"  # app credentials; exchanged for an API-account token at creation


class DatesConfiguration(BaseModel):
    """Where a record's dates are and how to read them (Cloud Elements' ``datesConfiguration``)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    updated_date_field: str = Field("date_modified", alias="updatedDateField", min_length=1)
    updated_date_format: str | None = Field(None, alias="updatedDateFormat")
    updated_date_timezone: str = Field("UTC", alias="updatedDateTimezone")
    created_date_field: str | None = Field("date_created", alias="createdDateField")
    created_date_format: str | None = Field(None, alias="createdDateFormat")
    created_date_timezone: str = Field("UTC", alias="createdDateTimezone")

    @field_validator("updated_date_format", "created_date_format")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            javadate.compile_pattern(value)
        return value

    @field_validator("updated_date_timezone", "created_date_timezone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        javazone.resolve_zone(value)
        return value


class ResourceConfig(BaseModel):
    """One polled resource of ``event.poller.configuration``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    url: str = Field(min_length=1)
    id_field: str = Field("id", alias="idField", min_length=1)
    dates: DatesConfiguration = Field(default_factory=DatesConfiguration, alias="datesConfiguration")
    filter_by_updated_date: bool = Field(True, alias="filterByUpdatedDate")
    filter_by_current_date: bool = Field(True, alias="filterByCurrentDate")
    created_check_tolerance: int = Field(0, ge=0, le=86_400, alias="createdCheckTolerance")
    page_size: int = Field(250, ge=1, le=250, alias="pageSize")
    poll_delay: int = Field(0, ge=0, le=86_400, alias="pollDelay")
    backfill_from: datetime | None = Field(None, alias="backfillFrom")

    @field_validator("url")
    @classmethod
    def _url_is_supported(cls, value: str, info: ValidationInfo) -> str:
        urltemplate.validate_template(value)
        plan = (info.context or {}).get("plan")
        if plan is not None:
            plan(value, AccountKind.API)  # raises ValueError naming what the element cannot poll
        return value

    @field_validator("backfill_from")
    @classmethod
    def _backfill_is_aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("backfillFrom needs a time zone, e.g. 2026-01-01T00:00:00Z")
        return value


def _default_resource(name: str) -> dict[str, Any]:
    return {
        "url": f"/hubs/ecommerce/{name}?where=min_date_modified='${{date:{RFC2822}}}'",
        "idField": "id",
        "datesConfiguration": {
            "updatedDateField": "date_modified",
            "updatedDateFormat": RFC2822,
            "createdDateField": "date_created",
            "createdDateFormat": RFC2822,
        },
    }


#: The bigcommerce element's defaults (the Cloud Elements page this product replaces).
DEFAULT_POLLER_CONFIGURATION: dict[str, Any] = {
    name: _default_resource(name) for name in ("orders", "products", "customers")
}


class InstanceConfiguration(BaseModel):
    """The ``configuration`` object of an instance, Cloud Elements' keys as aliases."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)

    username: str | None = Field(None, min_length=1)
    password: SecretStr | None = None
    store_url: str | None = Field(None, alias="store.url")
    access_token: SecretStr | None = Field(None, alias="access.token")
    oauth_api_key: str | None = Field(None, alias="oauth.api.key")
    oauth_api_secret: SecretStr | None = Field(None, alias="oauth.api.secret")
    oauth_callback_url: str | None = Field(None, alias="oauth.callback.url")
    events_enabled: bool = Field(False, alias="event.notification.enabled")
    callback_url: str | None = Field(None, alias="event.notification.callback.url")
    signature_key: SecretStr | None = Field(None, alias="event.notification.signature.key")
    refresh_interval: int | None = Field(None, alias="event.poller.refresh_interval")
    vendor_type: str = Field("polling", alias="event.vendor.type", pattern="^polling$")
    resources: dict[str, ResourceConfig] | None = Field(None, alias="event.poller.configuration")

    @field_validator("refresh_interval", mode="before")
    @classmethod
    def _minutes(cls, value: Any) -> Any:
        if value is None or isinstance(value, bool):
            return None if value is None else _not_minutes(value)
        if isinstance(value, str):
            text = value.strip()
            if not text.isdigit():
                _not_minutes(value)
            value = int(text)
        if not isinstance(value, int) or not 1 <= value <= 1440:
            _not_minutes(value)
        return value

    @field_validator("resources", mode="before")
    @classmethod
    def _json_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"is a string but not valid JSON ({exc.msg} at {exc.pos})") from exc
        if isinstance(value, dict) and not value:
            raise ValueError("names no resource to poll")
        return value

    @property
    def account_kind(self) -> AccountKind:
        """Which credentials the instance uses (valid only after cross-checks passed)."""
        if self.oauth_api_key or self.oauth_api_secret:
            return AccountKind.OAUTH if self.access_token is None else AccountKind.API
        return AccountKind.API if self.access_token is not None else AccountKind.LEGACY

    def poller_resources(self) -> dict[str, ResourceConfig]:
        """The resources to poll: the configured ones, else the element's three defaults."""
        if self.resources is not None:
            return self.resources
        return {k: ResourceConfig.model_validate(v) for k, v in DEFAULT_POLLER_CONFIGURATION.items()}


def _not_minutes(value: Any) -> None:
    raise ValueError(f"{json.dumps(value)} is not a number of minutes (a whole number from 1 to 1440)")


def is_secret_key(key: str) -> bool:
    """Whether a configuration key holds a secret (known secrets and secret-looking custom keys)."""
    return key in SECRET_KEYS or any(word in key.lower() for word in _SECRET_WORDS)


def masked(raw: dict[str, Any]) -> dict[str, Any]:
    """A copy of a stored configuration with every secret value replaced by a mask."""
    return {
        key: (MASK if is_secret_key(key) and value not in (None, "") else value) for key, value in raw.items()
    }


def stored_form(config: InstanceConfiguration) -> dict[str, Any]:
    """The configuration as stored: Cloud Elements' keys, secrets revealed, defaults left out."""
    data = config.model_dump(by_alias=True, exclude_none=True, exclude_unset=True, mode="json")
    for field_name, alias in (
        ("password", "password"),
        ("access_token", "access.token"),
        ("oauth_api_secret", "oauth.api.secret"),
        ("signature_key", "event.notification.signature.key"),
    ):
        secret = getattr(config, field_name)
        if secret is not None:
            data[alias] = secret.get_secret_value()
    if config.refresh_interval is not None:
        data["event.poller.refresh_interval"] = config.refresh_interval
    return data
