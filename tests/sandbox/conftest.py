"""Fixtures for the sandbox store's own tests: a running store, a client, the official specs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import yaml
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_schema_validator import OAS30Validator

from bcsandbox import SandboxServer, SandboxStore

_REPO = Path(__file__).resolve().parents[2]
# The official BigCommerce specs: a copy lives in the repository (schemas/bigcommerce-openapi);
# BIGCOMMERCE_OPENAPI_DIR may point at a newer one.
_SPEC_DIRS = [
    os.environ.get("BIGCOMMERCE_OPENAPI_DIR", ""),
    str(_REPO / "schemas" / "bigcommerce-openapi"),
]
SPEC_FILES = {
    "orders": "orders.v2.oas2.yml",
    "products": "products_catalog.v3.yml",
    "customers": "customers.v3.yml",
    "store": "store_information.v2.yml",
}


class Specs:
    """The official OpenAPI files, and response validation against them."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._apis: dict[str, OpenAPI] = {}
        self._raw: dict[str, dict[str, Any]] = {}

    def api(self, name: str) -> OpenAPI:
        if name not in self._apis:
            self._apis[name] = OpenAPI.from_path(self.directory / SPEC_FILES[name])
        return self._apis[name]

    def raw(self, name: str) -> dict[str, Any]:
        if name not in self._raw:
            self._raw[name] = yaml.safe_load((self.directory / SPEC_FILES[name]).read_text())
        return self._raw[name]

    @staticmethod
    def target(url: str) -> tuple[str, str]:
        """Which spec covers a sandbox URL, and the URL on BigCommerce's documented server."""
        parts = urlsplit(url)
        path = parts.path
        if path.startswith("/api/v2/"):
            # Legacy Basic-auth answers have the same bodies; the specs document the API-account host.
            path = "/stores/sandbox/v2/" + path.removeprefix("/api/v2/")
        _, _, store_hash, version, rest = path.split("/", 4)
        if version == "v2":
            name = "orders" if rest.startswith("orders") else "store"
        else:
            name = "products" if rest.startswith("catalog/products") else "customers"
        query = f"?{parts.query}" if parts.query else ""
        return name, f"https://api.bigcommerce.com/stores/{store_hash}/{version}/{rest}{query}"

    def validate(self, response: requests.Response) -> None:
        """Validate a response against the spec operation its request names (raises if invalid)."""
        assert response.request.url is not None
        name, url = self.target(response.request.url)
        request = requests.Request(response.request.method, url, headers=dict(response.request.headers))
        self.api(name).validate_response(RequestsOpenAPIRequest(request), RequestsOpenAPIResponse(response))

    def schema_errors(self, name: str, pointer: str, value: Any) -> list[str]:
        """Errors of `value` against a schema inside a spec file, given as `components/...`."""
        node: Any = self.raw(name)
        for key in pointer.split("/"):
            node = node[key]
        schema = node.get("content", {}).get("application/json", {}).get("schema", node)
        root = {**schema, "components": self.raw(name)["components"]}
        return [error.message for error in OAS30Validator(root).iter_errors(value)]


@pytest.fixture(scope="session")
def specs() -> Specs:
    for candidate in _SPEC_DIRS:
        if candidate and (Path(candidate) / SPEC_FILES["orders"]).is_file():
            return Specs(Path(candidate))
    pytest.fail(
        "BigCommerce OpenAPI specs not found in schemas/bigcommerce-openapi (or BIGCOMMERCE_OPENAPI_DIR)"
    )


@pytest.fixture
def store() -> SandboxStore:
    return SandboxStore()


@pytest.fixture
def server(store: SandboxStore) -> Iterator[SandboxServer]:
    with SandboxServer(store) as running:
        yield running


class Client:
    """Requests against the sandbox as each kind of BigCommerce account makes them."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.store = server.store
        self.session = requests.Session()

    @property
    def base(self) -> str:
        return f"{self.server.url}/stores/{self.store.store_hash}"

    def get(self, path: str, **params: Any) -> requests.Response:
        """An API-account request: `path` like `/v2/orders` or `/v3/customers`."""
        headers = {"X-Auth-Token": self.store.access_token, "Accept": "application/json"}
        return self.session.get(self.base + path, params=params, headers=headers, timeout=10)

    def legacy(self, path: str, **params: Any) -> requests.Response:
        """A legacy Basic-auth request: `path` like `/orders`."""
        auth = (self.store.username, self.store.password)
        return self.session.get(f"{self.server.url}/api/v2{path}", params=params, auth=auth, timeout=10)

    def admin(self, method: str, path: str, body: Any = None) -> requests.Response:
        return self.session.request(method, f"{self.server.url}/__admin{path}", json=body, timeout=10)

    def all_v2(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every record of a v2 listing, page by page until the 204."""
        records: list[dict[str, Any]] = []
        page = 1
        while True:
            response = self.get(path, page=page, **params)
            if response.status_code == 204:
                return records
            assert response.status_code == 200, response.text
            records.extend(response.json())
            page += 1


@pytest.fixture
def client(server: SandboxServer) -> Iterator[Client]:
    c = Client(server)
    yield c
    c.session.close()
