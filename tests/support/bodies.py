"""The instance bodies of the seed document (the Cloud Elements page this product replaces)."""

from __future__ import annotations

from typing import Any

from devstack.demo_story import RFC2822, legacy_body, seed_resource

__all__ = ["RFC2822", "seed_resource"]

#: "Example JSON with Polling", verbatim but for the element key the page templates in.
OAUTH_SEED: dict[str, Any] = {
    "element": {"key": "bigcommerce"},
    "configuration": {
        "oauth.api.key": "xxxxxxxxxxxxxxxxxx",
        "oauth.api.secret": "xxxxxxxxxxxxxxxxxxxxxx",
        "oauth.callback.url": "https://mycoolapp.com",
        "event.notification.enabled": True,
        "event.notification.callback.url": "http://mycoolapp.com",
        "event.poller.refresh_interval": "15",
        "event.poller.configuration": {
            name: seed_resource(name) for name in ("orders", "products", "customers")
        },
    },
    "tags": ["Test"],
    "name": "API_Polling",
}

#: The page's legacy template, verbatim, placeholders and the CRM resource included.
LEGACY_SEED_VERBATIM: dict[str, Any] = {
    "element": {"key": "bigcommerce"},
    "configuration": {
        "username": "xxxxxxxxxxxxxxxxxx",
        "password": "xxxxxxxxxxxxxxxxxxxxxxxx",
        "store.url": "https://store-wuxeae6.mybigcommerce.com/api/v2",
        "event.notification.enabled": True,
        "event.notification.callback.url": "http://mycoolapp.com",
        "event.poller.refresh_interval": "<minutes>",
        "event.poller.configuration": {
            "contacts": {
                "url": "/hubs/crm/contacts?where=lastUpdated>'${gmtDate:yyyy-MM-dd'T'HH:mm:ss'Z'}'",
                "idField": "id",
                "datesConfiguration": {
                    "updatedDateField": "_info.lastUpdated",
                    "updatedDateFormat": "yyyy-MM-dd'T'HH:mm:ss'Z'",
                    "updatedDateTimezone": "GMT",
                    "createdDateField": "_info.lastUpdated",
                    "createdDateFormat": "yyyy-MM-dd'T'HH:mm:ss'Z'",
                    "createdDateTimezone": "GMT",
                },
            }
        },
    },
    "tags": ["<Add_Your_Tag>"],
    "name": "<INSTANCE_NAME>",
}


def legacy_filled(store_url: str, username: str, password: str, callback_url: str) -> dict[str, Any]:
    """The legacy template with its placeholders filled (the demo's body): 15 minutes; orders,
    products, customers."""
    body = legacy_body(store_url, username, password, callback_url)
    body["name"] = "legacy-demo"
    return body


def api_account(store_url: str, token: str, callback_url: str, **extra: Any) -> dict[str, Any]:
    """An API-account body: store.url is the API path, access.token the account's token."""
    return {
        "element": {"key": "bigcommerce"},
        "name": "api-account",
        "tags": [],
        "configuration": {
            "store.url": store_url,
            "access.token": token,
            "event.notification.enabled": True,
            "event.notification.callback.url": callback_url,
            "event.poller.refresh_interval": 5,
            **extra,
        },
    }
