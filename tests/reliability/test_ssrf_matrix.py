"""Nobody makes the service reach inside: store and callback URLs against every internal address.

tests/unit/test_egress.py holds the address-level policy (and the pinning of a checked address
for one connection). Here the same policy is shown where users meet it: at the API when an
instance is saved (400 naming the key), and at connect time, after the instance was saved, for
the store client (poll) and for callbacks (delivery). A TCP listener on loopback stands in for
the internal target: it counts the connections it accepts, and must count none.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bcevents.errors import StoreRequestFailed
from callbacks import CallbackReceiver, Reply
from tests.integration.conftest import Deliveries
from tests.reliability.conftest import Harness
from tests.support.api import ApiClient
from tests.support.bodies import api_account

STORE_KEY = "configuration.store.url"
CALLBACK_KEY = "configuration.event.notification.callback.url"
PUBLIC = "93.184.215.20"
#: Every spelling of an internal host: (URL host, why it is internal).
INTERNAL_HOSTS = [
    ("127.0.0.1", "loopback"),
    ("127.1", "loopback, short form"),
    ("2130706433", "loopback, decimal"),
    ("0x7f000001", "loopback, hex"),
    ("0177.0.0.1", "loopback, octal"),
    ("localhost", "loopback by name"),
    ("[::1]", "IPv6 loopback"),
    ("[::ffff:127.0.0.1]", "IPv4-mapped loopback"),
    ("[::ffff:7f00:1]", "IPv4-mapped loopback, hex"),
    ("0.0.0.0", "unspecified"),
    ("[::]", "IPv6 unspecified"),
    ("10.0.0.1", "RFC 1918"),
    ("172.16.0.1", "RFC 1918"),
    ("192.168.1.1", "RFC 1918"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("[fd12::1]", "IPv6 unique local"),
    ("169.254.169.254", "metadata"),
    ("2852039166", "metadata, decimal"),
    ("0xa9fea9fe", "metadata, hex"),
    ("[fd00:ec2::254]", "metadata, IPv6"),
    ("[::ffff:169.254.169.254]", "metadata, IPv4-mapped"),
    ("169.254.1.1", "link-local"),
    ("[fe80::1]", "IPv6 link-local"),
    ("internal.example", "a name resolving to RFC 1918"),
    ("metadata.example", "a name resolving to the metadata address"),
]
#: Refused even where the deployment allows private networks (the local stack).
ALWAYS_REFUSED = [
    host for host, why in INTERNAL_HOSTS if "metadata" in why or "link-local" in why or "unspecified" in why
]


def _store_url(host: str) -> str:
    return f"https://{host}/stores/abc123/v3/"


def _callback_url(host: str) -> str:
    return f"https://{host}/hooks/orders"


@pytest.fixture
def internal_dns(fake_dns: dict[str, str]) -> dict[str, str]:
    fake_dns.update({"internal.example": "10.0.0.7", "metadata.example": "169.254.169.254"})
    fake_dns.update({"store.example": PUBLIC, "hooks.example": PUBLIC})
    return fake_dns


def _create(api: ApiClient, store_host: str = "store.example", callback_host: str = "hooks.example") -> Any:
    body = api_account(_store_url(store_host), "store-token", _callback_url(callback_host))
    return api.post("/instances", body)


def _refused_keys(response: Any) -> dict[str, str]:
    if response.status != 400:
        return {"<status>": str(response.status)}
    return {p["key"]: p["reason"] for p in response.body["errors"]}


# --- at the API ------------------------------------------------------------------------------------
@pytest.mark.usefixtures("internal_dns")
def test_an_internal_store_or_callback_url_is_refused_naming_the_key(api: ApiClient, setenv: Any) -> None:
    """With private networks not allowed (the default), an instance whose store URL or callback
    URL points inside, in any spelling, is refused with a 400 naming the key, before anything is
    contacted (one test over the whole list: moto's setup costs more than the requests)."""
    setenv(ALLOW_PRIVATE_NETWORKS="false")
    wrong: list[str] = []
    for host, why in INTERNAL_HOSTS:
        store = _refused_keys(_create(api, store_host=host))
        callback = _refused_keys(_create(api, callback_host=host))
        if set(store) != {STORE_KEY} or set(callback) != {CALLBACK_KEY}:
            wrong.append(f"{host} ({why}): {store} / {callback}")
        elif not any(word in store[STORE_KEY] for word in ("resolves to", "not a unicast")):
            wrong.append(f"{host} ({why}): the reason does not say why: {store[STORE_KEY]}")
    assert wrong == []
    assert api.get("/instances").body == []


@pytest.mark.usefixtures("internal_dns")
def test_metadata_and_link_local_urls_are_refused_even_where_private_networks_are_allowed(
    api: ApiClient, setenv: Any
) -> None:
    setenv(ALLOW_PRIVATE_NETWORKS="true")
    accepted = [
        host
        for host in ALWAYS_REFUSED
        if set(_refused_keys(_create(api, store_host=host))) != {STORE_KEY}
        or set(_refused_keys(_create(api, callback_host=host))) != {CALLBACK_KEY}
    ]
    assert accepted == []


@pytest.mark.usefixtures("internal_dns")
def test_a_public_store_and_callback_are_accepted(api: ApiClient, setenv: Any) -> None:
    """The control: the same bodies with public hosts are accepted."""
    setenv(ALLOW_PRIVATE_NETWORKS="false")
    body = api_account(_store_url("store.example"), "store-token", _callback_url("hooks.example"))
    body["validateCredentials"] = False
    assert api.post("/instances", body).status == 200


# --- at connect time ---------------------------------------------------------------------------------
class Listener:
    """A TCP port on loopback that counts the connections it accepts (the internal target)."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._socket.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    target = Listener()
    yield target
    target.close()


REBOUND = [
    ("127.0.0.1", False),
    ("10.0.0.1", False),
    ("169.254.169.254", False),
    ("169.254.169.254", True),
    ("fd00:ec2::254", True),
]
REBOUND_IDS = [f"{address}{' (private allowed)' if allowed else ''}" for address, allowed in REBOUND]


@pytest.mark.parametrize(("address", "allow_private"), REBOUND, ids=REBOUND_IDS)
def test_a_store_host_rebound_to_an_internal_address_is_never_contacted(
    harness: Harness,
    internal_dns: dict[str, str],
    listener: Listener,
    setenv: Any,
    address: str,
    allow_private: bool,
) -> None:
    """DNS rebinding between check and connect: the store's name was public when the instance
    was saved and resolves inside when the poll connects. The poll is refused before connecting:
    the run answers and records "failed" with the reason (retrying the invocation cannot help),
    the lease is released, nothing is enqueued and nothing is checkpointed."""
    setenv(ALLOW_PRIVATE_NETWORKS="false")
    body = api_account(
        f"https://store.example:{listener.port}/stores/abc123/v3/", "t", _callback_url("hooks.example")
    )
    body["validateCredentials"] = False
    created = harness.api.post("/instances", body)
    assert created.status == 200, created.body
    instance = str(created.body["id"])
    internal_dns["store.example"] = address
    setenv(ALLOW_PRIVATE_NETWORKS="true" if allow_private else "false")

    result = harness.poll(instance)

    assert result["outcome"].startswith("failed: ")
    assert "store.example" in result["outcome"]
    status = harness.api.get(f"/instances/{instance}/status").body
    assert status["polling"]["lastPoll"]["outcome"] == result["outcome"]
    assert listener.accepted == 0
    assert harness.received.events == []
    assert harness.watermarks(instance) == {}
    assert harness.lease(instance) is None


@pytest.mark.parametrize(
    "location",
    ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:{port}/", "http://10.0.0.1/"],
    ids=["metadata", "loopback", "rfc1918"],
)
def test_a_store_redirecting_inside_is_not_followed(
    harness: Harness, listener: Listener, location: str, setenv: Any
) -> None:
    """A store that answers 3xx is a failed request, never a hop to the Location."""
    store = CallbackReceiver()  # answers GET too: here, the store's /v2/time redirects
    store.script("/api/v2/time", Reply(302, headers={"Location": location.format(port=listener.port)}))
    store.start()
    try:
        body = {
            "element": {"key": "bigcommerce"},
            "name": "redirecting store",
            "validateCredentials": False,
            "configuration": {
                "username": "u",
                "password": "p",
                "store.url": f"http://127.0.0.1:{store.port}/api/v2",
                "event.notification.enabled": True,
                "event.notification.callback.url": "http://127.0.0.1:9/cb",
                "event.poller.refresh_interval": 5,
            },
        }
        created = harness.api.post("/instances", body)
        assert created.status == 200, created.body
        instance = str(created.body["id"])

        with pytest.raises(StoreRequestFailed, match="302"):
            harness.poll(instance)
    finally:
        store.stop()
    assert len(store.requests) == 1
    assert listener.accepted == 0


CallbackTarget = Callable[[CallbackReceiver, Listener], str]


@pytest.mark.parametrize(
    "callback",
    [
        lambda r, t: f"http://2130706433:{t.port}/hook",
        lambda r, t: f"http://0x7f000001:{t.port}/hook",
        lambda r, t: f"http://[::ffff:127.0.0.1]:{t.port}/hook",
        lambda r, t: f"http://localhost:{t.port}/hook",
    ],
    ids=["decimal", "hex", "ipv4-mapped", "localhost"],
)
def test_a_callback_saved_while_private_networks_were_allowed_is_refused_once_they_are_not(
    deliveries: Deliveries,
    receiver: CallbackReceiver,
    listener: Listener,
    make_instance: Callable[..., dict[str, Any]],
    notify: Callable[..., list[Any]],
    setenv: Any,
    callback: CallbackTarget,
) -> None:
    """The connect-time guard does not trust what was checked when the instance was saved: a
    loopback callback (in any notation) saved under ALLOW_PRIVATE_NETWORKS=true is refused at
    delivery once the deployment says false; the attempt is EgressRefused and nothing connects."""
    from bcevents.aws import event_log

    item = make_instance(callback(receiver, listener))
    [n] = notify(item, 1)
    deliveries.enqueue(n)
    setenv(ALLOW_PRIVATE_NETWORKS="false")

    _, response = deliveries.run()

    assert response == {"batchItemFailures": []}
    assert deliveries.counts()["delayed"] == 1  # a new message waits for the retry
    [attempt] = event_log.list_attempts(n.instance_id, n.id)
    assert attempt["error"] == "EgressRefused"
    assert listener.accepted == 0


def test_a_callback_redirecting_inside_is_not_followed(
    deliveries: Deliveries,
    receiver: CallbackReceiver,
    listener: Listener,
    make_instance: Callable[..., dict[str, Any]],
    notify: Callable[..., list[Any]],
) -> None:
    receiver.script("/hook", Reply(307, headers={"Location": f"http://127.0.0.1:{listener.port}/"}))
    item = make_instance(receiver.url())
    deliveries.enqueue(*notify(item, 1))

    _, response = deliveries.run()

    assert response == {"batchItemFailures": []}
    assert deliveries.counts()["delayed"] == 1  # a new message waits for the retry
    assert len(receiver.requests) == 1
    assert listener.accepted == 0
