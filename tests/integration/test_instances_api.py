"""The instances API against moto and the sandbox store: create, read, change, delete, schedules."""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
import pytest

from devstack.resources import StackResources
from tests.conftest import POLL_FUNCTION_ARN, SCHEDULER_ROLE_ARN
from tests.support.api import ApiClient
from tests.support.bodies import LEGACY_SEED_VERBATIM, OAUTH_SEED, api_account, legacy_filled

CALLBACK = "https://mycoolapp.example/bigcommerce/events"


def _schedule(aws: StackResources, instance_id: int) -> dict[str, Any] | None:
    client = boto3.client("scheduler")
    try:
        return client.get_schedule(Name=f"instance-{instance_id}", GroupName=aws.schedule_group)
    except client.exceptions.ResourceNotFoundException:
        return None


def _legacy(sandbox: Any, **changes: Any) -> dict[str, Any]:
    store = sandbox.store
    body = legacy_filled(f"{sandbox.url}/api/v2", store.username, store.password, CALLBACK)
    body["configuration"].update(changes)
    return body


def _api_body(sandbox: Any, **extra: Any) -> dict[str, Any]:
    store = sandbox.store
    return api_account(f"{sandbox.url}/stores/{store.store_hash}/v3/", store.access_token, CALLBACK, **extra)


# --- creation ------------------------------------------------------------------------------------
def test_the_oauth_seed_body_with_provider_data_is_accepted(
    api: ApiClient, sandbox: Any, aws: StackResources, setenv: Any
) -> None:
    """Given the seed's "Example JSON with Polling" and the code BigCommerce sent the app,
    when it is posted, then the code is exchanged, the store answers and a 15-minute schedule exists."""
    setenv(BIGCOMMERCE_LOGIN_URL=sandbox.url, BIGCOMMERCE_API_URL=sandbox.url)
    config = OAUTH_SEED["configuration"]
    sandbox.store.register_oauth_app(config["oauth.api.key"], config["oauth.api.secret"])
    code = sandbox.store.issue_auth_code(config["oauth.api.key"], redirect_uri=config["oauth.callback.url"])
    body = {
        **copy.deepcopy(OAUTH_SEED),
        "providerData": {
            "code": code,
            "context": f"stores/{sandbox.store.store_hash}",
            "scope": "store_v2_orders",
        },
    }

    response = api.post("/instances", body)

    assert response.status == 200, response.body
    created = response.body
    assert created["token"]
    assert created["webhookSigningSecret"].startswith("whsec_")
    assert created["eventsEnabled"] is True
    assert created["element"] == {"key": "bigcommerce"}
    assert created["configuration"]["oauth.api.secret"] == "********"
    assert created["configuration"]["access.token"] == "********"
    assert created["configuration"]["store.url"] == f"{sandbox.url}/stores/{sandbox.store.store_hash}/v3/"
    assert set(created["configuration"]["event.poller.configuration"]) == {"orders", "products", "customers"}
    schedule = _schedule(aws, created["id"])
    assert schedule is not None
    assert schedule["ScheduleExpression"] == "rate(15 minutes)"


def test_an_oauth_body_without_a_code_says_where_the_code_comes_from(api: ApiClient) -> None:
    response = api.post("/instances", OAUTH_SEED)

    assert response.status == 400
    [problem] = response.body["errors"]
    assert problem["key"] == "providerData.code"
    assert "auth callback" in problem["reason"]


def test_a_refused_oauth_code_is_a_400_naming_the_answer(api: ApiClient, sandbox: Any, setenv: Any) -> None:
    setenv(BIGCOMMERCE_LOGIN_URL=sandbox.url)
    body = {**copy.deepcopy(OAUTH_SEED), "providerData": {"code": "not-a-code", "context": "stores/sandbox"}}

    response = api.post("/instances", body)

    assert response.status == 400
    assert "token endpoint refused the code" in response.body["message"]


def test_the_legacy_seed_verbatim_names_the_placeholder_and_the_crm_resource(api: ApiClient) -> None:
    response = api.post("/instances", LEGACY_SEED_VERBATIM)

    assert response.status == 400
    problems = {p["key"]: p["reason"] for p in response.body["errors"]}
    interval = problems["configuration.event.poller.refresh_interval"]
    assert '"<minutes>" is not a number' in interval
    [contacts_key] = [k for k in problems if "contacts" in k]
    assert "ecommerce hub: orders, products, customers" in problems[contacts_key]


def test_the_legacy_seed_with_its_placeholders_filled_is_accepted(
    api: ApiClient, sandbox: Any, aws: StackResources
) -> None:
    response = api.post("/instances", _legacy(sandbox))

    assert response.status == 200, response.body
    assert response.body["configuration"]["password"] == "********"
    assert response.body["configuration"]["username"] == sandbox.store.username
    assert _schedule(aws, response.body["id"])["ScheduleExpression"] == "rate(15 minutes)"  # type: ignore[index]
    time_checks = [r for r in sandbox.store.requests if r.path.endswith("/v2/time")]
    assert len(time_checks) == 1  # the credentials were checked against the store


def test_api_account_credentials_are_accepted(api: ApiClient, sandbox: Any) -> None:
    response = api.post("/instances", _api_body(sandbox))

    assert response.status == 200, response.body
    assert response.body["configuration"]["access.token"] == "********"


def test_a_wrong_password_is_a_400_saying_what_the_store_answered(api: ApiClient, sandbox: Any) -> None:
    response = api.post("/instances", _legacy(sandbox, password="wrong"))

    assert response.status == 400
    assert "the store answered 401" in response.body["message"]


def test_credentials_are_not_checked_when_the_caller_opts_out(api: ApiClient, sandbox: Any) -> None:
    body = {**_legacy(sandbox, password="wrong"), "validateCredentials": False}

    assert api.post("/instances", body).status == 200
    assert not sandbox.store.requests


def test_the_poller_configuration_may_be_a_json_string_and_the_interval_a_number(
    api: ApiClient, sandbox: Any
) -> None:
    body = _legacy(sandbox)
    config = body["configuration"]
    config["event.poller.configuration"] = json.dumps(config["event.poller.configuration"])
    config["event.poller.refresh_interval"] = 30

    response = api.post("/instances", body)

    assert response.status == 200, response.body
    assert isinstance(response.body["configuration"]["event.poller.configuration"], dict)
    assert response.body["configuration"]["event.poller.refresh_interval"] == 30


def test_unknown_event_keys_are_kept(api: ApiClient, sandbox: Any) -> None:
    response = api.post("/instances", _legacy(sandbox, **{"event.vendor.custom": "kept"}))

    assert response.status == 200, response.body
    assert response.body["configuration"]["event.vendor.custom"] == "kept"


def test_events_disabled_instances_get_no_schedule(api: ApiClient, sandbox: Any, aws: StackResources) -> None:
    response = api.post("/instances", _legacy(sandbox, **{"event.notification.enabled": False}))

    assert response.status == 200
    assert _schedule(aws, response.body["id"]) is None


# --- schedules follow the instance -------------------------------------------------------------
def test_the_schedule_targets_the_poll_function_with_the_instance_id(
    api: ApiClient, sandbox: Any, aws: StackResources
) -> None:
    created = api.post("/instances", _legacy(sandbox)).body

    target = _schedule(aws, created["id"])["Target"]  # type: ignore[index]

    assert target["Arn"] == POLL_FUNCTION_ARN
    assert target["RoleArn"] == SCHEDULER_ROLE_ARN
    assert json.loads(target["Input"]) == {"instanceId": str(created["id"])}


def test_patching_the_interval_changes_the_rate(api: ApiClient, sandbox: Any, aws: StackResources) -> None:
    created = api.post("/instances", _legacy(sandbox)).body

    response = api.patch(
        f"/instances/{created['id']}", {"configuration": {"event.poller.refresh_interval": 1}}
    )

    assert response.status == 200, response.body
    assert _schedule(aws, created["id"])["ScheduleExpression"] == "rate(1 minute)"  # type: ignore[index]


def test_disable_removes_the_schedule_and_enable_restores_it(
    api: ApiClient, sandbox: Any, aws: StackResources
) -> None:
    created = api.post("/instances", _legacy(sandbox)).body
    path = f"/instances/{created['id']}/events/enabled"

    disabled = api.delete(path)
    assert disabled.status == 200
    assert disabled.body["eventsEnabled"] is False
    assert _schedule(aws, created["id"]) is None

    enabled = api.put(path)
    assert enabled.status == 200
    assert enabled.body["eventsEnabled"] is True
    assert _schedule(aws, created["id"])["ScheduleExpression"] == "rate(15 minutes)"  # type: ignore[index]


def test_delete_removes_the_instance_and_its_schedule(
    api: ApiClient, sandbox: Any, aws: StackResources
) -> None:
    created = api.post("/instances", _legacy(sandbox)).body

    assert api.delete(f"/instances/{created['id']}").status == 200

    assert _schedule(aws, created["id"]) is None
    assert api.get(f"/instances/{created['id']}").status == 404


def test_patch_with_events_disabled_removes_the_schedule(
    api: ApiClient, sandbox: Any, aws: StackResources
) -> None:
    created = api.post("/instances", _legacy(sandbox)).body

    api.patch(f"/instances/{created['id']}", {"configuration": {"event.notification.enabled": False}})

    assert _schedule(aws, created["id"]) is None


# --- reading and changing --------------------------------------------------------------------
def test_list_and_get_show_the_organizations_instances(api: ApiClient, sandbox: Any) -> None:
    first = api.post("/instances", _legacy(sandbox)).body
    second = api.post("/instances", _api_body(sandbox)).body

    listed = api.get("/instances")
    fetched = api.get(f"/instances/{second['id']}")

    assert [i["id"] for i in listed.body] == [first["id"], second["id"]]
    assert "token" not in listed.body[0] or listed.body[0]["token"] is None
    assert fetched.body["name"] == "api-account"


def test_patch_merges_configuration_keys_and_keeps_masked_secrets(api: ApiClient, sandbox: Any) -> None:
    created = api.post("/instances", _legacy(sandbox)).body
    new_callback = "https://other.example/cb"

    response = api.patch(
        f"/instances/{created['id']}",
        {
            "name": "renamed",
            "configuration": {"event.notification.callback.url": new_callback, "password": "********"},
        },
    )

    assert response.status == 200, response.body
    assert response.body["name"] == "renamed"
    assert response.body["eventsNotificationCallbackUrl"] == new_callback
    assert response.body["configuration"]["event.poller.refresh_interval"] == 15
    from bcevents.aws.tables import get_storage

    stored = get_storage().get_instance(str(created["id"]))
    assert stored is not None
    assert stored["configuration"]["password"] == sandbox.store.password


def test_put_replaces_the_configuration(api: ApiClient, sandbox: Any, aws: StackResources) -> None:
    created = api.post("/instances", _legacy(sandbox)).body
    body = _legacy(sandbox, **{"event.poller.refresh_interval": "60"})
    body["name"] = "replaced"

    response = api.put(f"/instances/{created['id']}", body)

    assert response.status == 200, response.body
    assert response.body["name"] == "replaced"
    assert response.body["id"] == created["id"]
    assert _schedule(aws, created["id"])["ScheduleExpression"] == "rate(60 minutes)"  # type: ignore[index]


def test_a_patch_that_breaks_the_configuration_is_refused_and_changes_nothing(
    api: ApiClient, sandbox: Any
) -> None:
    created = api.post("/instances", _legacy(sandbox)).body

    response = api.patch(
        f"/instances/{created['id']}", {"configuration": {"event.poller.refresh_interval": 0}}
    )

    assert response.status == 400
    assert response.body["errors"][0]["key"] == "configuration.event.poller.refresh_interval"
    assert api.get(f"/instances/{created['id']}").body["configuration"]["event.poller.refresh_interval"] == 15


# --- authorization ---------------------------------------------------------------------------
ROUTES = [
    ("GET", "/instances/{id}"),
    ("PATCH", "/instances/{id}"),
    ("PUT", "/instances/{id}"),
    ("DELETE", "/instances/{id}"),
    ("PUT", "/instances/{id}/events/enabled"),
    ("DELETE", "/instances/{id}/events/enabled"),
    ("POST", "/instances/{id}/events/poll"),
    ("POST", "/instances/{id}/webhook-secret/rotate"),
]


@pytest.mark.parametrize(("method", "route"), ROUTES)
def test_another_organizations_instance_is_not_found(
    api: ApiClient, sandbox: Any, aws: StackResources, method: str, route: str
) -> None:
    created = api.post("/instances", _legacy(sandbox)).body
    intruder = ApiClient.with_new_organization("intruder")
    body: Any = None
    if route.endswith("{id}") and method in ("PUT", "PATCH"):
        body = _legacy(sandbox) if method == "PUT" else {"name": "stolen"}

    response = intruder.request(method, route.format(id=created["id"]), body)

    assert response.status == 404
    assert api.get(f"/instances/{created['id']}").body["name"] == created["name"]
    assert _schedule(aws, created["id"]) is not None


def test_another_organization_lists_nothing(api: ApiClient, sandbox: Any) -> None:
    api.post("/instances", _legacy(sandbox))

    assert ApiClient.with_new_organization("other").get("/instances").body == []


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic dXNlcjpwYXNz", "User only", "User wrong, Organization wrong"],
    ids=["missing", "basic", "malformed", "wrong-secret"],
)
def test_requests_without_valid_credentials_are_401(aws: StackResources, authorization: str | None) -> None:
    response = ApiClient(authorization).get("/instances")

    assert response.status == 401
    assert response.body["message"]


def test_the_wrong_organization_secret_for_a_user_is_401(api: ApiClient) -> None:
    user_part = api.authorization.split(",")[0]  # type: ignore[union-attr]

    assert ApiClient(f"{user_part}, Organization nope").get("/instances").status == 401


def test_the_webhook_secret_rotates_and_the_old_one_signs_for_a_grace_period(
    api: ApiClient, sandbox: Any
) -> None:
    created = api.post("/instances", _legacy(sandbox)).body

    response = api.post(f"/instances/{created['id']}/webhook-secret/rotate")

    assert response.status == 200
    new_secret = response.body["webhookSigningSecret"]
    assert new_secret.startswith("whsec_")
    assert new_secret != created["webhookSigningSecret"]
    from bcevents.aws.tables import get_storage

    stored = get_storage().get_instance(str(created["id"]))
    assert stored is not None
    assert stored["webhook_secret"] == new_secret
    assert [p["secret"] for p in stored["previous_webhook_secrets"]] == [created["webhookSigningSecret"]]
    assert "webhook" not in json.dumps(api.get(f"/instances/{created['id']}").body).lower()


# --- Idempotency-Key (#14) -------------------------------------------------------------------
def _idempotent_body() -> dict[str, Any]:
    from tests.support.bodies import api_account

    body = api_account("https://api.bigcommerce.com/stores/abc123/v3/", "tok", "https://cb.example/x")
    body["validateCredentials"] = False
    return body


def test_a_retried_creation_with_its_idempotency_key_answers_with_the_first_instance(api: ApiClient) -> None:
    """Before, a client retry after API Gateway's 29 s timeout created a second live instance on the
    same store, and every change was delivered twice under different ids."""
    key = {"Idempotency-Key": "create-shop-42"}

    first = api.post("/instances", _idempotent_body(), headers=key)
    again = api.post("/instances", _idempotent_body(), headers=key)

    assert (first.status, again.status) == (200, 200)
    assert again.body["id"] == first.body["id"]
    assert again.body["webhookSigningSecret"] == first.body["webhookSigningSecret"]
    assert len(api.get("/instances").body) == 1
    # The retry's token is the instance's now (the first answer's never reached the client).
    from bcevents.api.access import hash_secret
    from bcevents.aws.tables import get_storage

    stored = get_storage().get_instance(str(first.body["id"]))
    assert stored is not None
    assert stored["token_hash"] == hash_secret(again.body["token"]) != hash_secret(first.body["token"])


def test_an_idempotency_key_reused_with_another_body_is_a_409(api: ApiClient) -> None:
    key = {"Idempotency-Key": "create-shop-42"}
    other = _idempotent_body()
    other["name"] = "another"

    assert api.post("/instances", _idempotent_body(), headers=key).status == 200
    response = api.post("/instances", other, headers=key)

    assert response.status == 409
    assert "another body" in response.body["message"]
    assert len(api.get("/instances").body) == 1


def test_a_failed_creation_frees_its_idempotency_key(api: ApiClient) -> None:
    key = {"Idempotency-Key": "create-shop-43"}
    bad = _idempotent_body()
    bad["configuration"]["event.poller.refresh_interval"] = "soon"

    assert api.post("/instances", bad, headers=key).status == 400
    fixed = api.post("/instances", _idempotent_body(), headers=key)

    assert fixed.status == 200, fixed.body


def test_without_an_idempotency_key_each_creation_is_a_new_instance(api: ApiClient) -> None:
    first = api.post("/instances", _idempotent_body())
    second = api.post("/instances", _idempotent_body())

    assert first.body["id"] != second.body["id"]


def test_a_retry_while_the_first_request_still_runs_is_a_409(api: ApiClient) -> None:
    from bcevents.api import creation
    from bcevents.api.models import InstanceBody
    from bcevents.aws import creation_keys

    body = _idempotent_body()
    org_id = _org_of(api)
    body_hash = creation.body_hash(InstanceBody.model_validate(body))
    assert creation_keys.claim(org_id, "create-shop-45", body_hash).claimed  # the first request, running

    response = api.post("/instances", body, headers={"Idempotency-Key": "create-shop-45"})

    assert response.status == 409
    assert "still creating" in response.body["message"]


def _org_of(api: ApiClient) -> str:
    from bcevents.api.access import authenticate

    assert api.authorization is not None
    return authenticate(api.authorization).org_id


# --- optimistic versions (#14) -------------------------------------------------------------------
def test_a_patch_racing_a_secret_rotation_is_a_409_and_never_puts_the_old_secret_back(
    api: ApiClient, monkeypatch: Any
) -> None:
    """Before, the PATCH's whole-item put (read before the rotation) put the old secret back."""
    from bcevents.api import instances
    from bcevents.aws.tables import get_storage

    created = api.post("/instances", _idempotent_body()).body
    rotated: list[str] = []

    def rotation_meanwhile(config: Any) -> None:  # runs between the PATCH's read and its write
        rotated.append(
            api.post(f"/instances/{created['id']}/webhook-secret/rotate").body["webhookSigningSecret"]
        )

    monkeypatch.setattr(instances, "check_credentials", rotation_meanwhile)
    same_store = {"store.url": "https://api.bigcommerce.com/stores/abc123/v3/"}  # so the store is asked

    response = api.patch(
        f"/instances/{created['id']}", {"configuration": {**same_store, "event.poller.refresh_interval": 7}}
    )

    assert response.status == 409, (rotated, response.body)
    stored = get_storage().get_instance(str(created["id"]))
    assert stored is not None
    assert stored["webhook_secret"] == rotated[0] != created["webhookSigningSecret"]
    assert stored["configuration"]["event.poller.refresh_interval"] == 5  # the PATCH did not land
    monkeypatch.undo()
    again = api.patch(
        f"/instances/{created['id']}",
        {"configuration": {"event.poller.refresh_interval": 7}, "validateCredentials": False},
    )
    assert again.status == 200, again.body


def test_a_410_disable_racing_a_rotation_reads_again_and_keeps_the_new_secret(
    api: ApiClient, monkeypatch: Any
) -> None:
    from bcevents.aws import lifecycle
    from bcevents.aws.tables import Storage, get_storage

    created = api.post("/instances", _idempotent_body()).body
    real_get = Storage.get_instance
    calls: list[int] = []

    def stale_first_read(self: Storage, instance_id: str) -> Any:
        item = real_get(self, instance_id)
        if not calls:  # the rotation lands right after the disable's first read
            calls.append(1)
            get_storage().update_instance_fields(instance_id, webhook_secret="whsec_rotated")
        return item

    monkeypatch.setattr(Storage, "get_instance", stale_first_read)

    lifecycle.disable_events(str(created["id"]), "callback answered 410 Gone")

    monkeypatch.undo()
    stored = get_storage().get_instance(str(created["id"]))
    assert stored is not None
    assert (stored["webhook_secret"], stored["events_enabled"]) == ("whsec_rotated", False)


def test_a_creation_that_failed_after_its_instance_was_stored_is_finished_by_its_retry(
    api: ApiClient, monkeypatch: Any
) -> None:
    """A key was freed whenever the request failed, even after the instance was written (its
    schedule refused, its time up): the retry then made a second instance."""
    from bcevents.aws import lifecycle

    real_sync = lifecycle.sync_schedule
    failures = iter([RuntimeError("EventBridge Scheduler refused")])

    def flaky_sync(item: Any) -> None:
        error = next(failures, None)
        if error is not None:
            raise error
        real_sync(item)

    monkeypatch.setattr(lifecycle, "sync_schedule", flaky_sync)
    key = {"Idempotency-Key": "create-shop-46"}
    with pytest.raises(RuntimeError):
        api.post("/instances", _idempotent_body(), headers=key)

    retry = api.post("/instances", _idempotent_body(), headers=key)

    assert retry.status == 200, retry.body
    assert [i["id"] for i in api.get("/instances").body] == [retry.body["id"]]


def test_the_same_body_with_its_keys_in_another_order_is_the_same_request(api: ApiClient) -> None:
    key = {"Idempotency-Key": "create-shop-47"}
    body = _idempotent_body()
    reordered = dict(reversed(list(body.items())))
    reordered["configuration"] = dict(reversed(list(body["configuration"].items())))

    first = api.post("/instances", body, headers=key)
    again = api.post("/instances", reordered, headers=key)

    assert (first.status, again.status) == (200, 200)
    assert again.body["id"] == first.body["id"]
