"""No secret in any response or log line of the instances API (captured and asserted)."""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.support.api import ApiClient
from tests.support.bodies import OAUTH_SEED, legacy_filled

SIGNATURE_KEY = "sig-key-5f3a9c0e2b7d"


def test_no_secret_reaches_a_response_or_a_log_line(
    api: ApiClient, sandbox: Any, setenv: Any, service_logs: Any
) -> None:
    """Given instances with every kind of secret, when every route is exercised (including error
    paths), then none of the secrets appears in any response body or captured log output."""
    setenv(BIGCOMMERCE_LOGIN_URL=sandbox.url, BIGCOMMERCE_API_URL=sandbox.url)
    store = sandbox.store
    legacy = legacy_filled(f"{sandbox.url}/api/v2", store.username, store.password, "https://cb.example/x")
    legacy["configuration"]["event.notification.signature.key"] = SIGNATURE_KEY
    oauth_config = OAUTH_SEED["configuration"]
    store.register_oauth_app(oauth_config["oauth.api.key"], oauth_config["oauth.api.secret"])
    code = store.issue_auth_code(
        oauth_config["oauth.api.key"], redirect_uri=oauth_config["oauth.callback.url"]
    )
    oauth = {
        **copy.deepcopy(OAUTH_SEED),
        "providerData": {"code": code, "context": f"stores/{store.store_hash}"},
    }

    bodies: list[Any] = []
    created = [api.post("/instances", legacy), api.post("/instances", oauth)]
    first = created[0].body["id"]
    bodies.append(api.get("/instances").body)
    bodies.append(api.get(f"/instances/{first}").body)
    bodies.append(
        api.patch(f"/instances/{first}", {"configuration": {"event.poller.refresh_interval": 5}}).body
    )
    bodies.append(api.put(f"/instances/{first}", legacy).body)
    bodies.append(api.delete(f"/instances/{first}/events/enabled").body)
    wrong = legacy_filled(
        f"{sandbox.url}/api/v2", store.username, "wrong-password-abc", "https://cb.example/x"
    )
    bodies.append(api.post("/instances", wrong).body)
    bad = copy.deepcopy(legacy)
    bad["configuration"]["event.poller.refresh_interval"] = "soon"
    bodies.append(api.post("/instances", bad).body)
    bodies.append(ApiClient(api.authorization.replace("User ", "User x")).get("/instances").body)  # type: ignore[union-attr]

    secrets = {
        store.password,
        store.access_token,
        "wrong-password-abc",
        SIGNATURE_KEY,
        oauth_config["oauth.api.secret"],
        *(r.body["token"] for r in created),
        *(r.body["webhookSigningSecret"] for r in created),
        *api.authorization.replace(",", " ").split()[1::2],  # type: ignore[union-attr]
    }
    issued = [
        t for t in store.requests if t.path == "/oauth2/token"
    ]  # the access token issued by the exchange is a secret too
    assert issued
    from bcevents.aws.tables import get_storage

    oauth_item = get_storage().get_instance(str(created[1].body["id"]))
    assert oauth_item is not None
    secrets.add(oauth_item["configuration"]["access.token"])

    logs = service_logs()
    text = json.dumps(bodies) + logs
    assert "instance created" in logs  # the logs were captured
    assert sorted(s for s in secrets if s and s in text) == []
    # The creation responses show their own token and signing secret, once, and nothing else.
    for response in created:
        own = {response.body["token"], response.body["webhookSigningSecret"]}
        shown = json.dumps(response.body)
        assert sorted(s for s in secrets - own if s and s in shown) == []


# --- credentials follow their store (#14) -------------------------------------------------------
OTHER_STORE = "https://api.bigcommerce.com/stores/elsewhere9/v3/"


def _api_instance(api: ApiClient) -> dict[str, Any]:
    from tests.support.bodies import api_account

    body = api_account("https://api.bigcommerce.com/stores/abc123/v3/", "tok-abc123", "https://cb.example/x")
    body["validateCredentials"] = False
    response = api.post("/instances", body)
    assert response.status == 200, response.body
    return dict(response.body)


def test_moving_an_instance_to_another_store_without_its_credentials_is_a_400(api: ApiClient) -> None:
    """Before, PATCH store.url alone kept the token, and the next check or poll sent it to the new host."""
    instance = _api_instance(api)

    response = api.patch(
        f"/instances/{instance['id']}",
        {"configuration": {"store.url": OTHER_STORE}, "validateCredentials": False},
    )

    assert response.status == 400
    assert [e["key"] for e in response.body["errors"]] == ["configuration.access.token"]


def test_moving_an_instance_with_a_masked_token_is_a_400_but_with_a_new_one_is_fine(api: ApiClient) -> None:
    instance = _api_instance(api)
    configuration = {**instance["configuration"], "store.url": OTHER_STORE}  # the token comes back masked
    body = {
        "element": {"key": "bigcommerce"},
        "name": "moved",
        "configuration": configuration,
        "validateCredentials": False,
    }

    refused = api.put(f"/instances/{instance['id']}", body)
    configuration["access.token"] = "tok-elsewhere9"
    accepted = api.put(f"/instances/{instance['id']}", body)

    assert refused.status == 400
    assert [e["key"] for e in refused.body["errors"]] == ["configuration.access.token"]
    assert accepted.status == 200, accepted.body


def test_the_same_store_written_differently_keeps_its_token(api: ApiClient) -> None:
    instance = _api_instance(api)

    response = api.patch(
        f"/instances/{instance['id']}",
        {
            "configuration": {"store.url": "https://api.bigcommerce.com/stores/abc123/v3"},
            "validateCredentials": False,
        },
    )

    assert response.status == 200, response.body
