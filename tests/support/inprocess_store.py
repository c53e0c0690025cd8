"""The sandbox store answered in-process, as the pager's client: no socket, no server thread.

Unit tests of the pager hand this to a pass instead of the BigCommerce client: every page is the
sandbox's own answer (``bcsandbox.api.handle``), decoded the way the real client decodes it.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import urlsplit

from bcevents.bigcommerce.client import Page
from bcevents.bigcommerce.endpoints import StoreBase
from bcevents.compat.configuration import AccountKind
from bcsandbox import api
from bcsandbox.messages import Request
from bcsandbox.store import SandboxStore

ORIGIN = "https://api.bigcommerce.com"


class InProcessClient:
    """``list_page`` and ``requests_made``: the part of the BigCommerce client a pass uses."""

    def __init__(self, store: SandboxStore, *, legacy: bool = False) -> None:
        self.store = store
        self.legacy = legacy
        self.requests_made = 0
        self.urls: list[str] = []

    @property
    def base(self) -> StoreBase:
        """The store's roots: a legacy account's v2, or an API account's v2 and v3."""
        if self.legacy:
            return StoreBase(
                AccountKind.LEGACY, f"https://store-{self.store.store_hash}.mybigcommerce.com/api/v2", None
            )
        root = f"{ORIGIN}/stores/{self.store.store_hash}"
        return StoreBase(AccountKind.API, f"{root}/v2", f"{root}/v3")

    def list_page(self, url: str, params: list[tuple[str, str]] | None = None) -> Page:
        """One page, as the client would read it (v2: a bare array or 204; v3: data and meta)."""
        assert params is None, "the pager puts its parameters in the URL"
        self.requests_made += 1
        self.urls.append(url)
        parts = urlsplit(url)
        if self.legacy:
            basic = base64.b64encode(f"{self.store.username}:{self.store.password}".encode()).decode()
            headers = {"Authorization": f"Basic {basic}"}
        else:
            headers = {"X-Auth-Token": self.store.access_token}
        request = Request("GET", parts.path, parts.query, headers=headers)
        response = api.handle(self.store, request)
        assert response.status in (200, 204), (response.status, response.body)
        if response.body is None:
            return Page([])
        body = json.loads(response.body)
        if isinstance(body, list):
            return Page(body)
        return Page(body["data"], body.get("meta") or {})


class StoreQuirk:
    """The pass's client with one behaviour changed: subclasses override ``list_page`` (the
    sandbox store answering as a store that behaves otherwise would); the rest is the client's."""

    def __init__(self, client: InProcessClient) -> None:
        self.client = client

    def __getattr__(self, name: str) -> object:
        return getattr(self.client, name)
