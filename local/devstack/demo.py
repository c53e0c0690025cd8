"""``python -m devstack.demo`` (``make demo``): the whole product in twenty seconds, on this machine.

Starts the local stack (free ports, a throwaway state directory), a callback receiver, creates an
instance with the Cloud Elements page's legacy body against the sandbox store, changes a few
orders, products and customers, asks for a poll, and prints each notification as it arrives with
its signatures checked. Exits 0 once every expected event arrived, 1 if they did not in time.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from callbacks import CallbackReceiver, Delivery, WebhookSecrets
from devstack.config import HOST, LocalSettings, SettingError
from devstack.console import Console
from devstack.demo_story import Expectation, Story, legacy_body
from devstack.stack import Stack, StackError

#: Gaps between delivery attempts for the demo: a failed one is retried a second later.
RETRY_SCHEDULE = "1,2,4"
SIGNATURE_KEY = "demo-signature-key"
#: The poller reads the store up to two seconds ago (records still being written are left for the
#: next run), in whole seconds of the store's clock: three seconds later, a change is always in.
SETTLE_SECONDS = 3.0
TIMEOUT_SECONDS = 60.0
REPOLL_SECONDS = 6.0


def main() -> int:
    """Run the demo; returns the exit status."""
    story = Story(sys.stdout)
    try:
        settings = _settings()
    except SettingError as exc:
        story.fail(str(exc))
        return 2
    story.title()
    started = time.monotonic()
    stack = Stack(settings, Console(None), snapshot_seconds=3600)
    known: dict[str, WebhookSecrets] = {}
    receiver = CallbackReceiver(known.get, host=HOST, name="demo-callbacks")
    ok = False
    try:
        stack.start()
        receiver.start()
        story.step("Local stack", f"ready in {time.monotonic() - started:.1f} s  ({stack.urls['api']})")
        ok = _run(stack, receiver, known, receiver.url("/callbacks"), story)
    except (StackError, requests.RequestException, DemoFailed) as exc:
        story.fail(str(exc))
    except KeyboardInterrupt:
        story.fail("interrupted")
    finally:
        story.step("Stopping", "", end="")
        receiver.stop()
        stack.stop(save=False)
        story.done("done")
    if ok:
        shutil.rmtree(settings.state_dir, ignore_errors=True)
        story.finish(time.monotonic() - started)
        return 0
    story.note(f"function logs kept in {settings.state_dir / 'logs' / 'functions.log'}")
    return 1


class DemoFailed(RuntimeError):
    """A step of the demo did not go as it should (the message says which)."""


def _settings() -> LocalSettings:
    base = LocalSettings.from_env()
    overrides = dict(base.overrides)
    overrides.setdefault("DELIVERY_RETRY_SCHEDULE", RETRY_SCHEDULE)
    return base.on_free_ports(state_dir=Path(tempfile.mkdtemp(prefix="bcevents-demo-")), overrides=overrides)


def _run(
    stack: Stack,
    receiver: CallbackReceiver,
    known: dict[str, WebhookSecrets],
    callback_url: str,
    story: Story,
) -> bool:
    api, sandbox = stack.urls["api"], stack.urls["sandbox"]
    http = requests.Session()
    http.headers["Authorization"] = stack.authorization
    story.step("Callback receiver", callback_url)

    credentials = _ok(
        http.get(f"{sandbox}/__admin/credentials", timeout=10), "read the sandbox's credentials"
    )
    body = legacy_body(
        credentials["legacy_api_path"], credentials["username"], credentials["password"], callback_url
    )
    body["configuration"]["event.notification.signature.key"] = SIGNATURE_KEY
    created = _ok(http.post(f"{api}/instances", json=body, timeout=30), "create the instance")
    instance_id = str(created["id"])
    # What a receiver keeps from the creation answer to check signatures with.
    known[instance_id] = WebhookSecrets(created["webhookSigningSecret"], SIGNATURE_KEY)
    story.step("Instance", f"{instance_id}, from the Cloud Elements page's legacy body (POST /instances)")
    story.more("orders, products, customers every 15 min; signed: Standard Webhooks + Elements key")

    expected = _change_store(http, sandbox, story)
    # The first notification is refused once, to show a retry: same id, a second later.
    receiver.fail_next(1, 503)
    time.sleep(SETTLE_SECONDS)
    _poll_now(http, api, instance_id, story)
    return _watch(http, api, instance_id, receiver, expected, story)


def _change_store(http: requests.Session, sandbox: str, story: Story) -> list[Expectation]:
    expected: list[Expectation] = []
    created = []
    new_records: list[tuple[str, dict[str, Any]]] = [
        ("orders", {"status_id": 11}),
        ("products", {"name": "Demo Lamp", "price": 49.0}),
        ("customers", {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}),
    ]
    for resource, fields in new_records:
        record = _ok(
            http.post(f"{sandbox}/__admin/{resource}", json=fields, timeout=10), f"create a {resource[:-1]}"
        )
        expected.append(Expectation(resource, "CREATED", str(record["id"])))
        created.append(f"{resource[:-1]} #{record['id']}")
    updated = []
    changes: list[tuple[str, int, dict[str, Any]]] = [
        ("orders", 1, {"status_id": 2}),
        ("products", 2, {"price": 42.0}),
        ("customers", 3, {"company": "Acme"}),
    ]
    for resource, record_id, changed in changes:
        _ok(
            http.put(f"{sandbox}/__admin/{resource}/{record_id}", json=changed, timeout=10),
            f"update {resource}",
        )
        expected.append(Expectation(resource, "UPDATED", str(record_id)))
        updated.append(f"{resource[:-1]} #{record_id}")
    story.step("Store changes", "created " + ", ".join(created))
    story.more("updated " + ", ".join(updated) + "   (sandbox admin API)")
    return expected


def _poll_now(http: requests.Session, api: str, instance_id: str, story: Story) -> None:
    response = http.post(f"{api}/instances/{instance_id}/events/poll", timeout=30)
    if response.status_code != 202:
        raise DemoFailed(f"poll now answered {response.status_code}: {response.text}")
    story.step("Poll now", "202 Accepted (the api function invoked the poll function, asynchronously)")


def _watch(
    http: requests.Session,
    api: str,
    instance_id: str,
    receiver: CallbackReceiver,
    expected: list[Expectation],
    story: Story,
) -> bool:
    story.step("Notifications", "as they arrive at the receiver:")
    shown = 0
    deadline = time.monotonic() + TIMEOUT_SECONDS
    repoll = time.monotonic() + REPOLL_SECONDS
    while time.monotonic() < deadline:
        deliveries = receiver.deliveries()
        for delivery in deliveries[shown:]:
            story.delivery(delivery, deliveries[:shown])
        shown = len(deliveries)
        missing = _missing(expected, deliveries)
        if not missing:
            return _verdict(deliveries, story)
        if time.monotonic() > repoll:
            # Nothing lost if a poll ran before the changes settled: the next one finds them.
            _poll_now(http, api, instance_id, story)
            repoll = time.monotonic() + REPOLL_SECONDS
        time.sleep(0.1)
    story.fail(
        f"after {TIMEOUT_SECONDS:.0f} s these events had not arrived: "
        + ", ".join(
            f"{e.object_type} {e.event_type.lower()} #{e.object_id}"
            for e in _missing(expected, receiver.deliveries())
        )
    )
    return False


def _missing(expected: list[Expectation], deliveries: list[Delivery]) -> list[Expectation]:
    arrived = {
        Expectation(e.object_type, e.event_type, e.object_id)
        for d in deliveries
        if d.acknowledged
        for e in d.events
    }
    return [e for e in expected if e not in arrived]


def _verdict(deliveries: list[Delivery], story: Story) -> bool:
    acknowledged = [d for d in deliveries if d.acknowledged]
    unverified = [
        d for d in deliveries if d.standard_signature is not True or d.elements_signature is not True
    ]
    if unverified:
        story.fail(f"{len(unverified)} notification(s) carried a wrong or missing signature")
        return False
    events = sum(len(d.events) for d in acknowledged)
    story.summary(events, len(acknowledged), len(deliveries) - len(acknowledged))
    return True


def _ok(response: requests.Response, what: str) -> Any:
    if not response.ok:
        raise DemoFailed(f"could not {what}: HTTP {response.status_code} {response.text[:300]}")
    return response.json()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
