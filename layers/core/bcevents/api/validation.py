"""Checking a configuration a user sends: every problem named at once, never a 500.

``validate_configuration`` turns the ``configuration`` object of a ``POST /instances`` body into
an :class:`InstanceConfiguration`, or raises :class:`InvalidConfiguration` naming every offending
key at once. Field rules live on the models (``compat.configuration``); the planner tells which
resource URLs the element can poll; rules that span fields (which credentials, which endpoints
those credentials can reach, where URLs point, checked by the egress guard) live here.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from bcevents.bigcommerce import endpoints, planner
from bcevents.compat.configuration import AccountKind, InstanceConfiguration
from bcevents.egress import check_url
from bcevents.errors import EgressRefused, FieldProblem, InvalidConfiguration


def validate_configuration(raw: Any, *, allow_private: bool) -> InstanceConfiguration:
    """Parse and check a configuration object; raise InvalidConfiguration naming every problem."""
    if not isinstance(raw, dict):
        raise InvalidConfiguration([FieldProblem("configuration", "must be a JSON object")])
    try:
        config = InstanceConfiguration.model_validate(raw, context={"plan": planner.plan_request})
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
                planner.plan_request(resource.url, AccountKind.LEGACY)
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
        return _store_shape("store.url", config.store_url, AccountKind.API)
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
        problems += _store_shape("store.url", config.store_url, AccountKind.LEGACY)
    return problems


def _store_shape(key: str, url: str, kind: AccountKind) -> list[FieldProblem]:
    try:
        base = endpoints.store_base_urls(url)
    except ValueError as exc:
        return [FieldProblem(f"configuration.{key}", str(exc))]
    if base.kind is not kind:
        expected = (
            "https://api.bigcommerce.com/stores/{store_hash}/v3/ with access.token"
            if kind is AccountKind.API
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
