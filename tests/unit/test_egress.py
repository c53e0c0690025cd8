"""The egress policy: which addresses user-supplied URLs may reach, at creation and at connect."""

from __future__ import annotations

import ipaddress
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests

from bcevents.egress import check_url, guarded_session, refusal_reason
from bcevents.errors import EgressRefused


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "fd00:ec2::254",
        "169.254.1.1",
        "fe80::1",
        "0.0.0.0",
        "::",
        "224.0.0.1",
        "::ffff:169.254.169.254",
    ],
)
def test_link_local_metadata_and_non_unicast_are_refused_even_when_private_is_allowed(address: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address), allow_private=True)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "::1",
        "10.0.0.5",
        "172.16.3.4",
        "192.168.1.1",
        "fd12::1",
        "::ffff:127.0.0.1",
        "100.64.0.1",
    ],
)
def test_loopback_and_private_are_refused_unless_allowed(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert refusal_reason(ip, allow_private=False)
    assert refusal_reason(ip, allow_private=True) is None


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:220:1:248:1893:25c8:1946"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address), allow_private=False) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/cb",
        "http://2130706433/cb",  # decimal notation of 127.0.0.1
        "http://0x7f000001/cb",  # hex
        "http://0177.0.0.1/cb",  # octal
        "http://[::1]:8080/cb",
        "http://[::ffff:127.0.0.1]/cb",
        "http://10.1.2.3/cb",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://internal.example/cb",  # resolves to a private address
    ],
)
def test_check_url_refuses_every_spelling_of_an_internal_address(url: str, fake_dns: dict[str, str]) -> None:
    fake_dns["internal.example"] = "10.0.0.7"
    with pytest.raises(EgressRefused):
        check_url(url, allow_private=False)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "file:///etc/passwd", "http:///nohost", "http://h:99999/"]
)
def test_check_url_refuses_non_http_urls(url: str) -> None:
    with pytest.raises(EgressRefused):
        check_url(url, allow_private=True)


def test_check_url_accepts_unresolvable_names_unless_resolution_is_required(fake_dns: dict[str, str]) -> None:
    check_url("https://not-yet-in-dns.example/cb", allow_private=False)
    with pytest.raises(EgressRefused, match="does not resolve"):
        check_url("https://not-yet-in-dns.example/cb", allow_private=False, require_resolution=True)


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = self.headers.get("Host", "").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback_server() -> object:
    server = HTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("target", ["127.0.0.1", "169.254.169.254"])
def test_a_name_resolving_to_an_internal_address_is_refused_at_connect(
    target: str, fake_dns: dict[str, str], loopback_server: HTTPServer
) -> None:
    """Given a hostname that resolves to loopback or metadata, when private networks are not allowed,
    then the guarded session refuses before connecting."""
    fake_dns["rebind.example"] = target
    session = guarded_session(allow_private=False, user_agent="t", timeout=2)
    with pytest.raises(EgressRefused):
        session.get(f"http://rebind.example:{loopback_server.server_port}/")


def test_the_checked_address_is_the_one_connected_to(
    fake_dns: dict[str, str], loopback_server: HTTPServer
) -> None:
    """DNS rebinding: the first answer is checked and pinned; a second lookup is never made."""
    answers = iter(["127.0.0.1", "169.254.169.254"])
    real = socket.getaddrinfo

    def rebinding(host: str, port: int, *args: object, **kwargs: object) -> object:
        if host == "rebind.example":
            return real(next(answers), port, *args, **kwargs)  # type: ignore[arg-type]
        return real(host, port, *args, **kwargs)  # type: ignore[arg-type]

    socket.getaddrinfo = rebinding  # type: ignore[assignment]
    try:
        session = guarded_session(allow_private=True, user_agent="t", timeout=2)
        response = session.get(f"http://rebind.example:{loopback_server.server_port}/")
    finally:
        socket.getaddrinfo = real
    assert response.status_code == 200
    assert response.text == f"rebind.example:{loopback_server.server_port}"  # the name is kept for Host


def test_redirects_are_never_followed(loopback_server: HTTPServer) -> None:
    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        session = guarded_session(allow_private=True, user_agent="t", timeout=2)
        response = session.get(f"http://127.0.0.1:{server.server_port}/")
    finally:
        server.shutdown()
        server.server_close()
    assert response.status_code == 302


def test_connection_errors_surface_as_requests_errors(fake_dns: dict[str, str]) -> None:
    session = guarded_session(allow_private=True, user_agent="t", timeout=2)
    with pytest.raises(requests.ConnectionError):
        session.get("http://nowhere.example/")
