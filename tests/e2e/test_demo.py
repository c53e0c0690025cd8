"""``make demo``: the first command of the README, and how it tells its story."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest

from callbacks import Delivery, Event
from devstack import demo
from devstack.config import LocalSettings
from devstack.console import Console
from devstack.demo_story import Story, legacy_body
from devstack.stack import Stack, StackError

pytestmark = pytest.mark.e2e


def _delivery(status: int, webhook_id: str = "n1") -> Delivery:
    return Delivery(
        number=1,
        received_at=0.0,
        path="/callbacks",
        status=status,
        instance_id="42",
        webhook_id=webhook_id,
        events=[Event("CREATED", "orders", "6"), Event("UPDATED", "orders", "1")],
        standard_signature=True,
        elements_signature=True,
        headers={},
        body="{}",
    )


def test_the_demo_prints_signed_created_and_updated_events_and_exits_zero(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DELIVERY_RETRY_SCHEDULE", raising=False)  # the demo's own short schedule applies

    status = demo.main()

    out = capsys.readouterr().out
    assert status == 0, out
    for resource in ("orders", "products", "customers"):
        assert any(
            resource in line and "CREATED #6" in line and "elements ✓" in line for line in out.splitlines()
        )
    assert "every signature verified" in out
    assert "redelivered: same webhook-id" in out


def test_the_demo_body_is_the_seed_legacy_body_with_its_placeholders_filled() -> None:
    body = legacy_body("http://127.0.0.1:8010/api/v2/", "sandbox", "token", "http://127.0.0.1:9/callbacks")
    config = body["configuration"]

    assert config["event.poller.refresh_interval"] == "15"
    assert set(config["event.poller.configuration"]) == {"orders", "products", "customers"}
    assert config["event.poller.configuration"]["orders"]["url"] == (
        "/hubs/ecommerce/orders?where=min_date_modified='${date:EEE, dd MMM yyyy HH:mm:ss Z}'"
    )
    assert (config["username"], config["store.url"]) == ("sandbox", "http://127.0.0.1:8010/api/v2/")
    assert "<" not in str(body)


def test_the_story_shows_a_refused_delivery_then_its_redelivery() -> None:
    out = io.StringIO()
    story = Story(out)
    refused = _delivery(503)

    story.delivery(refused, [])
    story.delivery(_delivery(200), [refused])

    first, second = out.getvalue().splitlines()
    assert first.split()[:2] == ["503", "orders"]
    assert "refused on purpose" in first
    assert "standard-webhooks ✓  elements ✓" in second
    assert "redelivered: same webhook-id" in second


def test_a_port_in_use_is_named_and_nothing_is_left_running(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        settings = LocalSettings.from_env(
            {"LOCAL_AWS_PORT": "0", "LOCAL_API_PORT": str(port), "LOCAL_STATE_DIR": str(tmp_path)}
        )

        with pytest.raises(StackError, match="LOCAL_API_PORT"):
            Stack(settings, Console(None)).start()
