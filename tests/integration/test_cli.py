"""The operator CLI creates an organization whose printed secrets authenticate."""

from __future__ import annotations

import pytest

from bcevents.cli import main
from devstack.resources import StackResources
from tests.support.api import ApiClient


def test_create_organization_prints_working_secrets_once(
    aws: StackResources, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["create-organization", "--name", "acme"]) == 0

    header = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("Authorization: "))
    client = ApiClient(header.removeprefix("Authorization: "))
    assert client.get("/instances").status == 200
