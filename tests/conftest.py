"""Fixtures shared by every test: an isolated environment, moto, fake DNS, the API as a client."""

from __future__ import annotations

import io
import ipaddress
import logging
import os
import socket
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

# Powertools' Logger and Metrics read these when bcevents.observability is first imported, which a
# test module may do at collection, before any fixture runs.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "bigcommerce-events")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "BigCommerceEvents")

from devstack.resources import StackResources, create_resources
from tests.support.api import ApiClient

REGION = "us-east-1"
POLL_FUNCTION_ARN = f"arn:aws:lambda:{REGION}:123456789012:function:bcevents-PollFunction"
SCHEDULER_ROLE_ARN = "arn:aws:iam::123456789012:role/bcevents-SchedulerRole"
_real_connect = socket.socket.connect
_real_getaddrinfo = socket.getaddrinfo


def _clear_caches() -> None:
    """Drop every per-process cache of the core (settings, boto3 clients) between tests."""
    for name, module in list(sys.modules.items()):
        if name.startswith("bcevents"):
            for value in vars(module).values():
                if callable(getattr(value, "cache_clear", None)) and hasattr(value, "cache_info"):
                    value.cache_clear()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No real AWS credentials, no network beyond loopback, no cache leaking between tests."""
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "bigcommerce-events")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "BigCommerceEvents")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")

    def loopback_only(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple):
            host = address[0]
            try:
                allowed = ipaddress.ip_address(host).is_loopback
            except ValueError:
                allowed = host == "localhost"
            if not allowed:
                raise AssertionError(f"a test tried to connect beyond loopback: {address!r}")
        return _real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    _clear_caches()
    yield
    _clear_caches()


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Name resolution without a resolver: tests map names to addresses; unknown names fail."""
    names: dict[str, str] = {
        "mycoolapp.example": "93.184.215.14",
        "store-wuxeae6.mybigcommerce.com": "93.184.215.15",
    }

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, bytes):
            host = host.decode()
        if host in names:
            host = names[host]
        elif host not in ("localhost",):
            try:
                socket.inet_aton(host)
            except OSError:
                try:
                    ipaddress.ip_address(host)
                except ValueError:
                    raise socket.gaierror(socket.EAI_NONAME, f"fake DNS has no {host}") from None
        return _real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[StackResources]:
    """moto with the template's tables, queues and schedule group, and the functions' environment."""
    with mock_aws():
        resources = create_resources(boto3.session.Session(region_name=REGION))
        for key, value in resources.environment().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("POLL_FUNCTION_ARN", POLL_FUNCTION_ARN)
        monkeypatch.setenv("SCHEDULER_ROLE_ARN", SCHEDULER_ROLE_ARN)
        monkeypatch.setenv("ALLOW_PRIVATE_NETWORKS", "true")
        _clear_caches()
        yield resources


@pytest.fixture
def api(aws: StackResources, fake_dns: dict[str, str]) -> ApiClient:
    """The api function as an HTTP-ish client, authenticated as a fresh organization."""
    return ApiClient.with_new_organization("acme")


@pytest.fixture
def sandbox() -> Iterator[Any]:
    """A real HTTP BigCommerce sandbox store on loopback (its store object is ``sandbox.store``)."""
    from bcsandbox import SandboxServer, SandboxStore

    server = SandboxServer(SandboxStore())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def setenv(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Change a deployment setting mid-test (settings are cached per process, as in Lambda)."""

    def set_values(**values: str) -> None:
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        _clear_caches()

    return set_values


@pytest.fixture
def service_logs() -> Iterator[Any]:
    """The service's own log lines (DEBUG and up, formatted as in Lambda) written during the test."""
    from bcevents.observability import logger

    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logger.registered_formatter)
    std = logging.getLogger(logger.name)
    level = std.level
    std.addHandler(handler)
    std.setLevel(logging.DEBUG)
    try:
        yield buffer.getvalue
    finally:
        std.removeHandler(handler)
        std.setLevel(level)
