"""The Cloud Elements instance configuration: parsing, validation and masking.

``validate_configuration`` turns the ``configuration`` object of a ``POST /instances`` body into
an :class:`InstanceConfiguration`, or raises :class:`InvalidConfiguration` naming every offending
key at once. Field rules live on the pydantic models; rules that span fields (which credentials,
which endpoints those credentials can reach, where URLs point) live in :func:`_cross_checks`.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from bcevents import hub, javadate, javazone, urltemplate
from bcevents.egress import check_url
from bcevents.errors import EgressRefused, FieldProblem, InvalidConfiguration

ELEMENT_KEY = "bigcommerce"
MASK = "********"
#: Configuration keys whose values are secrets: stored, never returned, logged or enqueued.
SECRET_KEYS = frozenset({"password", "access.token", "oauth.api.secret", "event.notification.signature.key"})
_SECRET_WORDS = ("secret", "password", "token", "signature.key")
RFC2822 = "EEE, dd MMM yyyy HH:mm:ss Z"


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
    def _url_is_supported(cls, value: str) -> str:
        urltemplate.validate_template(value)
        hub.plan_request(value, hub.AccountKind.API)
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


def validate_configuration(raw: Any, *, allow_private: bool) -> InstanceConfiguration:
    """Parse and check a configuration object; raise InvalidConfiguration naming every problem."""
    if not isinstance(raw, dict):
        raise InvalidConfiguration([FieldProblem("configuration", "must be a JSON object")])
    try:
        config = InstanceConfiguration.model_validate(raw)
    except ValidationError as exc:
        raise InvalidConfiguration(problems_from(exc, prefix="configuration")) from None
    problems = _cross_checks(config, allow_private=allow_private)
    if problems:
        raise InvalidConfiguration(problems)
    return config


def problems_from(exc: ValidationError, *, prefix: str = "") -> list[FieldProblem]:
    """Readable problems from a pydantic error: the key path and why (never the input value)."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        path = ".".join(
            str(part) for part in error["loc"] if part not in ("function-after", "function-before")
        )
        key = f"{prefix}.{path}" if prefix and path else (prefix or path)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "is not a known key"
        problems.append(FieldProblem(key, message))
    return problems


def _cross_checks(config: InstanceConfiguration, *, allow_private: bool) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    extras = config.model_extra or {}
    problems += [
        FieldProblem(f"configuration.{key}", "is not a known key (custom keys must start with 'event.')")
        for key in extras
        if not key.startswith("event.")
    ]
    problems += _credential_problems(config)
    if config.store_url:
        problems += _url_problem("store.url", config.store_url, allow_private)
    if config.callback_url:
        problems += _url_problem("event.notification.callback.url", config.callback_url, allow_private)
    if config.events_enabled:
        if not config.callback_url:
            problems.append(_missing("event.notification.callback.url", "events are enabled"))
        if config.refresh_interval is None:
            problems.append(_missing("event.poller.refresh_interval", "events are enabled"))
    if config.account_kind is AccountKind.LEGACY:
        for name, resource in (config.resources or {}).items():
            try:
                hub.plan_request(resource.url, hub.AccountKind.LEGACY)
            except ValueError as exc:
                key = f"configuration.event.poller.configuration.{name}.url"
                problems.append(
                    FieldProblem(key, f"{exc}; use an API account (store.url + access.token) for v3")
                )
    return problems


def _credential_problems(config: InstanceConfiguration) -> list[FieldProblem]:
    kind = config.account_kind
    if kind is AccountKind.OAUTH:
        required = ("oauth.api.key", "oauth.api.secret", "oauth.callback.url")
        values = (config.oauth_api_key, config.oauth_api_secret, config.oauth_callback_url)
        return [
            _missing(k, "OAuth credentials are given") for k, v in zip(required, values, strict=True) if not v
        ]
    if kind is AccountKind.API:
        if not config.store_url:
            return [_missing("store.url", "access.token is given (the store's API path)")]
        return _store_shape("store.url", config.store_url, hub.AccountKind.API)
    if not (config.username or config.password or config.store_url):
        return [
            FieldProblem(
                "configuration",
                "no BigCommerce credentials: give username, password and store.url (legacy API account), "
                "store.url and access.token (API account), or oauth.api.key, oauth.api.secret and "
                "oauth.callback.url with providerData.code (OAuth app)",
            )
        ]
    problems = [
        _missing(key, "legacy credentials are given")
        for key, value in (
            ("username", config.username),
            ("password", config.password),
            ("store.url", config.store_url),
        )
        if not value
    ]
    if config.store_url:
        problems += _store_shape("store.url", config.store_url, hub.AccountKind.LEGACY)
    return problems


def _store_shape(key: str, url: str, kind: hub.AccountKind) -> list[FieldProblem]:
    try:
        base = hub.store_base_urls(url)
    except ValueError as exc:
        return [FieldProblem(f"configuration.{key}", str(exc))]
    if base.kind is not kind:
        expected = (
            "https://api.bigcommerce.com/stores/{store_hash}/v3/ with access.token"
            if kind is hub.AccountKind.API
            else "https://store-{store_hash}.mybigcommerce.com/api/v2 with username and password"
        )
        return [
            FieldProblem(f"configuration.{key}", f"does not match the credentials given: expected {expected}")
        ]
    return []


def _url_problem(key: str, url: str, allow_private: bool) -> list[FieldProblem]:
    try:
        check_url(url, allow_private=allow_private)
    except EgressRefused as exc:
        return [FieldProblem(f"configuration.{key}", str(exc))]
    return []


def _missing(key: str, because: str) -> FieldProblem:
    return FieldProblem(f"configuration.{key}", f"is required when {because}")


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
