"""The admin interface, the OAuth token exchange and the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from bcsandbox import admin
from bcsandbox.messages import Request
from tests.sandbox.conftest import Client

REPO = Path(__file__).resolve().parents[2]


# --- admin --------------------------------------------------------------------------------------
def test_credentials_describe_both_account_kinds(client: Client) -> None:
    body = client.admin("GET", "/credentials").json()

    assert body["url"] == client.server.url
    assert body["api_path"] == f"{client.server.url}/stores/sandbox/v3/"
    assert (body["username"], body["password"]) == (client.store.username, client.store.password)
    assert body["access_token"] == client.store.access_token


def test_orders_are_created_updated_and_archived_over_http(client: Client) -> None:
    created = client.admin("POST", "/orders", {"status_id": 7, "customer_id": 42})
    updated = client.admin("PUT", f"/orders/{created.json()['id']}", {"status_id": 2})
    archived = client.admin("DELETE", f"/orders/{created.json()['id']}")

    assert created.status_code == 201
    assert created.json()["status"] == "Awaiting Payment"
    assert updated.json()["status"] == "Shipped"
    assert archived.json()["is_deleted"] is True
    assert client.get("/v2/orders/1").json()["is_deleted"] is True


@pytest.mark.parametrize(
    ("resource", "path"), [("products", "/v3/catalog/products"), ("customers", "/v3/customers")]
)
def test_products_and_customers_are_deleted_outright(client: Client, resource: str, path: str) -> None:
    client.admin("POST", f"/{resource}", {})
    client.admin("PATCH", f"/{resource}/1", {"notes": "x"} if resource == "customers" else {"price": 3.5})

    deleted = client.admin("DELETE", f"/{resource}/1")

    assert deleted.status_code == 204
    assert client.get(path).json()["data"] == []


def test_bulk_create(client: Client) -> None:
    body = client.admin("POST", "/orders/bulk", {"count": 300, "status_id": 10}).json()

    assert body == {"created": 300, "first_id": 1, "last_id": 300}
    assert client.get("/v2/orders/count", status_id=10).json()["count"] == 300


def test_clock_is_set_and_advanced_over_http(client: Client) -> None:
    client.admin("POST", "/clock", {"set": "2025-01-15T13:00:00Z"})
    moved = client.admin("POST", "/clock", {"advance": 30}).json()

    assert moved["time"] == 1736946030
    assert moved["frozen"] is True
    assert client.get("/v2/time").json() == {"time": 1736946030}
    assert client.get("/v2/time").headers["Date"] == "Wed, 15 Jan 2025 13:00:30 GMT"


def test_clock_can_return_to_real_time(client: Client) -> None:
    client.admin("POST", "/clock", {"set": "2001-01-01T00:00:00Z"})

    body = client.admin("POST", "/clock", {"real": True}).json()

    assert body["frozen"] is False
    assert body["time"] > 1_700_000_000


def test_faults_are_injected_listed_and_cleared_over_http(client: Client) -> None:
    injected = client.admin(
        "POST", "/faults", {"path_prefix": "/stores/sandbox/v2", "kind": "status", "status": 503, "count": 2}
    )
    listed = client.admin("GET", "/faults").json()
    first = client.get("/v2/time")
    client.admin("DELETE", "/faults")

    assert injected.status_code == 201
    assert listed["faults"][0]["count"] == 2
    assert first.status_code == 503
    assert client.get("/v2/time").status_code == 200


def test_request_log_over_http(client: Client) -> None:
    client.get("/v2/time")
    client.get("/v2/store")

    body = client.admin("GET", "/requests?limit=1").json()

    assert body["count"] == 2
    assert [r["path"] for r in body["requests"]] == ["/stores/sandbox/v2/store"]


def test_reset_forgets_records_and_can_reseed(client: Client) -> None:
    client.store.create_orders(3)

    client.admin("POST", "/reset", {"seed": True})

    assert client.store.count("orders") == 5
    assert client.store.request_count == 0


def test_settings_over_http(client: Client) -> None:
    body = client.admin(
        "POST", "/settings", {"rate_limit_quota": 150, "include_archived_orders": False}
    ).json()

    assert body["rate_limit_quota"] == 150
    assert client.store.settings.include_archived_orders is False
    assert client.admin("POST", "/settings", {"max_limit": 1, "nope": 1}).status_code == 400
    assert client.admin("POST", "/settings", {"date_bounds_inclusive": "no"}).status_code == 400


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("PUT", "/orders/99", {"status_id": 2}, 404),
        ("PUT", "/orders/1", {"status_id": 99}, 400),
        ("POST", "/faults", {"kind": "status"}, 400),
        ("POST", "/faults", {"path_prefix": "/x", "kind": "nope"}, 400),
        ("GET", "/nothing", None, 404),
    ],
)
def test_admin_errors(client: Client, method: str, path: str, body: object, status: int) -> None:
    client.store.create_order()

    assert client.admin(method, path, body).status_code == status


def test_admin_refuses_unparseable_json(client: Client) -> None:
    response = client.session.post(f"{client.server.url}/__admin/orders", data=b"{not json")

    assert response.status_code == 400


def test_admin_answers_loopback_clients_only(client: Client) -> None:
    response = admin.handle(
        client.store, Request("GET", "/__admin/credentials"), base_url="http://x", client_host="192.0.2.10"
    )

    assert response.status == 403


def test_stop_closes_idle_keep_alive_connections(client: Client) -> None:
    assert client.get("/v2/time").status_code == 200  # leaves a pooled keep-alive connection

    client.server.stop()

    with pytest.raises(requests.ConnectionError):
        client.get("/v2/time")


# --- OAuth --------------------------------------------------------------------------------------
@pytest.fixture
def app_code(client: Client) -> str:
    client.store.register_oauth_app("client-1", "secret-1")
    return client.store.issue_auth_code(
        "client-1", scope="store_v2_orders_read_only", redirect_uri="https://app.example/auth"
    )


def _token_form(code: str, overrides: dict[str, str] | None = None) -> dict[str, str]:
    form = {
        "client_id": "client-1",
        "client_secret": "secret-1",
        "code": code,
        "context": "stores/sandbox",
        "scope": "store_v2_orders_read_only",
        "grant_type": "authorization_code",
        "redirect_uri": "https://app.example/auth",
    }
    form.update(overrides or {})
    return form


@pytest.mark.parametrize("as_json", [True, False])
def test_code_exchange_gives_a_working_token(client: Client, app_code: str, as_json: bool) -> None:
    url = f"{client.server.url}/oauth2/token"
    form = _token_form(app_code)
    response = (
        requests.post(url, json=form, timeout=5) if as_json else requests.post(url, data=form, timeout=5)
    )

    body = response.json()
    orders = client.session.get(f"{client.base}/v2/time", headers={"X-Auth-Token": body["access_token"]})

    assert response.status_code == 200
    assert body["context"] == "stores/sandbox"
    assert body["scope"] == "store_v2_orders_read_only"
    assert set(body) == {"access_token", "scope", "user", "owner", "context", "account_uuid"}
    assert set(body["user"]) == {"id", "username", "email"}
    assert orders.status_code == 200


@pytest.mark.parametrize(
    ("overrides", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "someone-else"}, 401, "invalid_client"),
        ({"code": "made-up"}, 400, "invalid_grant"),
        ({"context": "stores/other"}, 400, "invalid_grant"),
        ({"redirect_uri": "https://evil.example/"}, 400, "invalid_grant"),
        ({"grant_type": "client_credentials"}, 400, "unsupported_grant_type"),
        ({"code": ""}, 400, "invalid_request"),
    ],
)
def test_bad_exchange_is_refused(
    client: Client, app_code: str, overrides: dict, status: int, error: str
) -> None:
    response = requests.post(
        f"{client.server.url}/oauth2/token", json=_token_form(app_code, overrides), timeout=5
    )

    assert response.status_code == status
    assert response.json()["error"] == error


def test_a_code_works_once(client: Client, app_code: str) -> None:
    url = f"{client.server.url}/oauth2/token"
    assert requests.post(url, json=_token_form(app_code), timeout=5).status_code == 200

    assert requests.post(url, json=_token_form(app_code), timeout=5).status_code == 400


def test_codes_can_be_issued_over_admin(client: Client) -> None:
    client.admin("POST", "/oauth/apps", {"client_id": "client-1", "client_secret": "secret-1"})
    code = client.admin("POST", "/oauth/codes", {"client_id": "client-1"}).json()["code"]

    form = _token_form(code, {"redirect_uri": ""})
    assert requests.post(f"{client.server.url}/oauth2/token", data=form, timeout=5).status_code == 200


# --- command line -------------------------------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_command_line_serves_until_signalled(sig: signal.Signals) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO / "local")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bcsandbox", "--port", "0", "--seed"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        banner = json.loads(proc.stdout.readline())
        response = requests.get(
            f"{banner['url']}/stores/{banner['store_hash']}/v2/orders",
            headers={"X-Auth-Token": banner["access_token"]},
            timeout=5,
        )
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert banner["bcsandbox"] == "listening"
    assert len(response.json()) == 5
