"""Every sample event in events/ goes through its function, so `sam local invoke -e` samples never rot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devstack.resources import StackResources
from tests.support.api import EVENTS, LambdaContext, load_event

API_EVENTS = sorted(p.name for p in EVENTS.glob("api_*.json"))
EXPECTED_STATUS = {
    "api_create_instance.json": 200,
    "api_list_instances.json": 200,
    "api_get_instance.json": 200,
    "api_patch_instance.json": 200,
    "api_delete_instance.json": 200,
    "api_disable_events.json": 200,
    "api_poll_now.json": 202,
}


def test_every_api_event_has_an_expected_status() -> None:
    assert set(API_EVENTS) == set(EXPECTED_STATUS)


@pytest.mark.parametrize("name", API_EVENTS)
def test_api_sample_events_run(
    name: str, aws: StackResources, fake_dns: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given the sample's own instance id and a real organization, the sample answers as documented."""
    from api_handler import lambda_handler
    from bcevents.api.access import create_organization
    from bcevents.aws import schedules
    from bcevents.aws.tables import get_storage

    monkeypatch.setattr(schedules, "trigger_poll", lambda instance_id: None)  # no Lambda service in moto
    org = create_organization("samples")
    create = load_event("api_create_instance.json")
    auth = f"User {org.user_secret}, Organization {org.organization_secret}"
    create["headers"]["Authorization"] = auth
    created = lambda_handler(create, LambdaContext())
    sample_id = "123456789012"
    if name != "api_create_instance.json":
        # Give the created instance the id the samples use.
        created_id = str(json.loads(created["body"])["id"])
        item = get_storage().get_instance(created_id)
        assert item is not None
        get_storage().delete_instance(created_id)
        item["id"] = sample_id
        assert get_storage().put_new_instance(item)
    event: dict[str, Any] = load_event(name)
    event["headers"]["Authorization"] = auth

    response = created if name == "api_create_instance.json" else lambda_handler(event, LambdaContext())

    assert response["statusCode"] == EXPECTED_STATUS[name], response["body"]


def test_the_deliver_sample_is_a_valid_sqs_event() -> None:
    event = load_event("deliver.json")
    [record] = event["Records"]
    assert record["eventSource"] == "aws:sqs"
    assert json.loads(record["body"])["message"]["instanceId"] == 123456789012


def test_the_env_file_for_sam_local_names_every_function() -> None:
    env = json.loads((Path(EVENTS) / "env.json").read_text())
    assert set(env) == {"ApiFunction", "PollFunction", "DeliverFunction"}
