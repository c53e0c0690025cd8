"""The instance service: create, read, change and delete element instances and their schedules."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from bcevents import clock
from bcevents.api import access
from bcevents.api.access import Principal
from bcevents.api.models import CreatedInstanceView, InstanceBody, InstancePatch, InstanceView
from bcevents.api.validation import validate_configuration
from bcevents.aws import lifecycle, schedules
from bcevents.aws.tables import Item, get_storage
from bcevents.bigcommerce.client import check_credentials, exchange_oauth_code
from bcevents.clock import iso_millis
from bcevents.compat.configuration import (
    MASK,
    AccountKind,
    InstanceConfiguration,
    is_secret_key,
    masked,
    stored_form,
)
from bcevents.delivery import signing
from bcevents.errors import FieldProblem, InstanceNotFound, InvalidConfiguration
from bcevents.observability import logger
from bcevents.settings import get_settings

_ID_LOW, _ID_SPAN = 10**11, 9 * 10**11  # twelve-digit numeric ids, like Cloud Elements' instance ids


def create_instance(
    principal: Principal, body: InstanceBody, *, on_stored: Callable[[str], None] | None = None
) -> CreatedInstanceView:
    """Validate, authorize against the store, store, and schedule a new instance; ``on_stored`` is told
    its id as soon as it exists (``api.creation`` records it against the Idempotency-Key)."""
    config = validate_configuration(body.configuration, allow_private=get_settings().allow_private_networks)
    stored = _with_store_token(config, stored_form(config), body)
    config = InstanceConfiguration.model_validate(stored)
    if body.validate_credentials:
        check_credentials(config)
    token, webhook_secret = access.new_secret(), signing.new_webhook_secret()
    now = iso_millis(clock.now())
    item: Item = {
        "org_id": principal.org_id,
        "user_id": principal.user_id,
        "name": body.name,
        "tags": body.tags,
        "created_date": now,
        "updated_date": now,
        "configuration": stored,
        "resource_starts": _resource_starts({}, config, now),
        "events_enabled": config.events_enabled,
        "token_hash": access.hash_secret(token),
        "webhook_secret": webhook_secret,
    }
    for _ in range(5):
        item["id"] = str(_ID_LOW + secrets.randbelow(_ID_SPAN))
        if get_storage().put_new_instance(item):
            break
    else:  # pragma: no cover - five collisions in 9e11 ids
        raise RuntimeError("could not allocate an instance id")
    if on_stored is not None:
        on_stored(item["id"])
    lifecycle.sync_schedule(item)
    logger.info(
        "instance created", extra={"instance_id": item["id"], "events_enabled": config.events_enabled}
    )
    return CreatedInstanceView(**to_view(item).model_dump(), token=token, webhook_secret=webhook_secret)


def get_instance(principal: Principal, instance_id: int | str) -> Item:
    """The stored instance, if it belongs to the caller's organization."""
    item = get_storage().get_instance(str(instance_id))
    if item is None or item["org_id"] != principal.org_id:
        raise InstanceNotFound(str(instance_id))
    return item


def list_instances(principal: Principal) -> list[InstanceView]:
    """The caller's instances, oldest first."""
    return [to_view(item) for item in get_storage().list_instances(principal.org_id)]


def update_instance(principal: Principal, instance_id: int, patch: InstancePatch) -> InstanceView:
    """Merge configuration keys (null removes one; a masked secret means "unchanged"), name, tags."""
    item = get_instance(principal, instance_id)
    _secrets_follow_the_store(item["configuration"], patch.configuration or {})
    raw = dict(item["configuration"])
    for key, value in (patch.configuration or {}).items():
        if value is None:
            raw.pop(key, None)
        elif not (value == MASK and is_secret_key(key)):
            raw[key] = value
    if patch.name is not None:
        item["name"] = patch.name
    if patch.tags is not None:
        item["tags"] = patch.tags
    return _save_configuration(item, raw, validate=patch.validate_credentials and _touches_store(patch))


def replace_instance(principal: Principal, instance_id: int, body: InstanceBody) -> InstanceView:
    """Replace name, tags and configuration; id, token and history stay."""
    item = get_instance(principal, instance_id)
    stored = item["configuration"]
    _secrets_follow_the_store(stored, body.configuration, replaced=True)
    raw = {
        key: (stored.get(key) if value == MASK and is_secret_key(key) else value)
        for key, value in body.configuration.items()
    }
    item["name"], item["tags"] = body.name, body.tags
    return _save_configuration(item, raw, validate=body.validate_credentials)


def delete_instance(principal: Principal, instance_id: int) -> None:
    """Remove the instance, its schedule, watermarks and lease."""
    item = get_instance(principal, instance_id)
    schedules.delete_schedule(item["id"])
    get_storage().delete_instance(item["id"])
    logger.info("instance deleted", extra={"instance_id": item["id"]})


def set_events_enabled(
    principal: Principal, instance_id: int, enabled: bool, *, reason: str | None = None
) -> InstanceView:
    """Turn an instance's events on or off (its schedule follows)."""
    item = get_instance(principal, instance_id)
    return _set_events(item, enabled, reason=reason)


def rotate_webhook_secret(principal: Principal, instance_id: int) -> str:
    """A new Standard Webhooks signing secret; the old one keeps signing alongside it for a day."""
    item = get_instance(principal, instance_id)
    secret, fields = signing.rotated(item, clock.now())
    get_storage().update_instance_fields(item["id"], **fields)
    logger.info("webhook secret rotated", extra={"instance_id": item["id"]})
    return secret


def poll_now(principal: Principal, instance_id: int) -> None:
    """Start a poll of the instance now (asynchronously)."""
    item = get_instance(principal, instance_id)
    schedules.trigger_poll(item["id"])


def to_view(item: Item) -> InstanceView:
    """An instance as the API shows it: every secret masked."""
    config = item["configuration"]
    return InstanceView(
        id=int(item["id"]),
        name=item["name"],
        tags=item.get("tags", []),
        events_enabled=item["events_enabled"],
        events_notification_callback_url=config.get("event.notification.callback.url"),
        events_disabled_reason=item.get("events_disabled_reason"),
        created_date=item["created_date"],
        updated_date=item["updated_date"],
        configuration=masked(config),
    )


# ------------------------------------------------------------------------------------------
def _with_store_token(
    config: InstanceConfiguration, stored: dict[str, Any], body: InstanceBody
) -> dict[str, Any]:
    """For an OAuth body, exchange ``providerData.code`` for a token and record the store URL."""
    if config.account_kind is not AccountKind.OAUTH:
        return stored
    provider = body.provider_data
    if provider is None or not provider.code:
        raise InvalidConfiguration(
            [
                FieldProblem(
                    "providerData.code",
                    "is required for OAuth credentials: it is the 'code' query parameter BigCommerce "
                    "sends to your app's auth callback (oauth.callback.url) when the merchant installs it",
                )
            ]
        )
    if not provider.context:
        raise InvalidConfiguration(
            [
                FieldProblem(
                    "providerData.context", "is required with providerData.code ('stores/{store_hash}')"
                )
            ]
        )
    grant = exchange_oauth_code(
        client_id=config.oauth_api_key or "",
        client_secret=config.oauth_api_secret.get_secret_value() if config.oauth_api_secret else "",
        code=provider.code,
        context=provider.context,
        scope=provider.scope or "",
        redirect_uri=config.oauth_callback_url or "",
    )
    api_url = get_settings().bigcommerce_api_url.rstrip("/")
    return {
        **stored,
        "access.token": grant.access_token,
        "store.url": f"{api_url}/stores/{grant.store_hash}/v3/",
    }


def _save_configuration(item: Item, raw: dict[str, Any], *, validate: bool) -> InstanceView:
    config = validate_configuration(raw, allow_private=get_settings().allow_private_networks)
    if config.account_kind is AccountKind.OAUTH:
        raise InvalidConfiguration(
            [FieldProblem("configuration.access.token", "an OAuth instance cannot drop its access token")]
        )
    if validate:
        check_credentials(config)
    # A resource added now starts now (an older instance's resources started at its creation); one
    # removed, or pointed elsewhere, forgets its watermark and starts anew if it comes back.
    before = InstanceConfiguration.model_validate(item["configuration"]).poller_resources()
    created: str = item["created_date"]
    known: dict[str, str] = item.get("resource_starts") or dict.fromkeys(before, created)
    after = config.poller_resources()
    for name, resource in before.items():
        if name not in after or (after[name].url, after[name].id_field) != (resource.url, resource.id_field):
            known.pop(name, None)
            get_storage().delete_watermark(item["id"], name)
    item["configuration"] = stored_form(config)
    item["updated_date"] = iso_millis(clock.now())
    item["resource_starts"] = _resource_starts(known, config, item["updated_date"])
    item["events_enabled"] = config.events_enabled
    if config.events_enabled:
        item["events_disabled_reason"] = None
    lifecycle.save(item)
    return to_view(item)


def _set_events(item: Item, enabled: bool, *, reason: str | None) -> InstanceView:
    if enabled:
        validate_configuration(
            {**item["configuration"], "event.notification.enabled": True},
            allow_private=get_settings().allow_private_networks,
        )
    lifecycle.switch_events(item, enabled, reason=reason)
    return to_view(item)


def _resource_starts(known: dict[str, str], config: InstanceConfiguration, now: str) -> dict[str, str]:
    """When each polled resource was added: kept for those still configured, ``now`` for new ones."""
    return {name: known.get(name, now) for name in config.poller_resources()}


_STORE_KEYS = frozenset({"username", "password", "store.url", "access.token"})
#: The store credentials that are secrets: they may go only to the store they were given for.
_STORE_SECRETS = ("password", "access.token")


def _secrets_follow_the_store(
    stored: dict[str, Any], given: dict[str, Any], *, replaced: bool = False
) -> None:
    """A new ``store.url`` needs its credentials given again: a kept (or masked) secret would be
    sent to the new host, so whoever may change an instance could read a store's secret back."""
    new_url = given.get("store.url") if "store.url" in given or replaced else stored.get("store.url")
    if _same_store(new_url, stored.get("store.url")):
        return
    problems = [
        FieldProblem(
            f"configuration.{key}",
            "must be given again when store.url changes: the stored one belongs to the previous store",
        )
        for key in _STORE_SECRETS
        if stored.get(key)
        and given.get(key) in (None, MASK)
        and (replaced or key not in given or given[key] == MASK)
    ]
    if problems:
        raise InvalidConfiguration(problems)


def _same_store(a: Any, b: Any) -> bool:
    return str(a or "").strip().rstrip("/").lower() == str(b or "").strip().rstrip("/").lower()


def _touches_store(patch: InstancePatch) -> bool:
    return bool(patch.configuration) and any(key in _STORE_KEYS for key in patch.configuration or {})
