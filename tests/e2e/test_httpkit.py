"""httpkit, the server under the stack's endpoints, the sandbox store and the callback receivers."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

import pytest
import requests

from httpkit import Response, WsgiServer, raw_headers, request_target

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


def _echo(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    path, query = request_target(environ)
    seen = f"{path}?{query} " + ";".join(f"{k}={v}" for k, v in raw_headers(environ) if k.startswith("x"))
    return Response(seen.encode(), headers={"Date": "Tue, 20 Nov 2012 00:00:00 GMT"})(environ, start_response)


def test_an_app_reads_the_request_as_it_was_sent() -> None:
    with WsgiServer(_echo) as server:
        answer = requests.get(f"{server.url}/a%2Fb?x=1", headers={"x-one": "1", "x_two": "2"}, timeout=5).text

    assert answer == "/a%2Fb?x=1 x-one=1;x_two=2"


def test_a_keep_alive_server_answers_a_session_over_one_connection() -> None:
    with WsgiServer(_echo) as server, requests.Session() as session:
        statuses = [session.get(server.url, timeout=5).status_code for _ in range(3)]

    assert statuses == [200, 200, 200]
    assert server.accepted == 1


def test_without_keep_alive_each_request_has_its_own_connection() -> None:
    with WsgiServer(_echo, keep_alive=False) as server, requests.Session() as session:
        versions = [session.get(server.url, timeout=5).raw.version for _ in range(3)]

    assert versions == [10, 10, 10]
    assert server.accepted == 3


def test_the_apps_own_date_header_is_the_only_one() -> None:
    with WsgiServer(_echo, server_header="kit") as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        connection.request("GET", "/")
        response = connection.getresponse()
        connection.close()

    assert response.msg.get_all("Date") == ["Tue, 20 Nov 2012 00:00:00 GMT"]
    assert response.getheader("Server") == "kit"


def test_stop_answers_the_request_in_progress_first_without_keep_alive() -> None:
    arrived, release = threading.Event(), threading.Event()

    def slow(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        arrived.set()
        release.wait(5)
        return Response(b"done")(environ, start_response)

    server = WsgiServer(slow, keep_alive=False).start()
    answers: list[str] = []
    client = threading.Thread(target=lambda: answers.append(requests.get(server.url, timeout=10).text))
    client.start()
    assert arrived.wait(5)
    threading.Timer(0.2, release.set).start()

    server.stop()
    client.join(5)

    assert answers == ["done"]


def test_a_port_in_use_is_an_error_for_the_caller() -> None:
    with WsgiServer(_echo) as server, pytest.raises(OSError, match="in use"):
        WsgiServer(_echo, port=server.port)
