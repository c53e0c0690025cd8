"""The HTTP side: the store as a WSGI app, served on loopback with HTTP/1.1 keep-alive like BigCommerce's gateway.

Per request: admin routes go to `admin`; everything else is logged, may meet an injected fault,
and is answered by `api` (or `oauth`). Request hooks run before the response is sent.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from email.utils import formatdate
from http import HTTPStatus
from typing import TYPE_CHECKING

from bcsandbox import admin, api, oauth
from bcsandbox.errors import ApiError, v2_body, v3_body
from bcsandbox.faults import Fault
from bcsandbox.messages import JSON, Request, Response, json_response, no_content
from bcsandbox.requestlog import RequestRecord
from bcsandbox.store import SandboxStore
from httpkit import ResetConnection, WsgiServer, raw_headers, request_target
from httpkit import Response as WireResponse

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

_MAINTENANCE_HTML = (
    b"<!DOCTYPE html><html><head><title>Store Unavailable</title></head>"
    b"<body><h1>This store is down for maintenance</h1></body></html>"
)
_BROKEN_JSON = b'[{"id":1,"customer_id":0,"date_modified":"Tue, 20 Nov 2012 00:00:00 +0000","status":'
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


class SandboxApp:
    """The store's WSGI app."""

    def __init__(self, store: SandboxStore) -> None:
        self.store = store

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        arrived = time.monotonic()
        path, query = request_target(environ)
        method = environ["REQUEST_METHOD"]
        request = Request(method, path, query, dict(raw_headers(environ)), environ["wsgi.input"].read())
        if method not in _METHODS:
            response = Response(501, None, None)
        elif path == "/__admin" or path.startswith("/__admin/"):
            base_url = f"http://{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
            client = environ.get("REMOTE_ADDR", "")
            response = admin.handle(self.store, request, base_url=base_url, client_host=client)
        else:
            response = self._answer(request, arrived)
        return self._wire(response)(environ, start_response)

    def _answer(self, request: Request, arrived: float) -> Response:
        store = self.store
        fault = store.faults.take(request.path)
        if fault is not None and fault.kind != "delay":
            faulted = _faulted(fault, store, request)
            # Logged before anything reaches the client, so a test that reads the log right after
            # its request returns always finds the entry.
            store.log.append(self._entry(request, faulted.status if faulted else 0, arrived, fault.kind))
            if faulted is None:
                raise ResetConnection
            return faulted
        if fault is not None:
            time.sleep(float(fault.option("seconds", 1.0)))
        if request.path.rstrip("/") == "/oauth2/token":
            response = oauth.handle_token_request(store, request)
        else:
            response = api.handle(store, request)
        entry = self._entry(request, response.status, arrived, fault.kind if fault else None)
        store.log.append(entry)
        for hook in store.log.hooks():
            hook(entry)
        return response

    def _entry(self, request: Request, status: int, arrived: float, fault: str | None) -> RequestRecord:
        return RequestRecord(
            request.method, request.path, request.query, status, arrived, self.store.clock.seconds(), fault
        )

    def _wire(self, response: Response) -> WireResponse:
        wire = WireResponse(response.body or b"", response.status)
        if response.body is not None and response.content_type:
            wire.headers["Content-Type"] = response.content_type
        # The Date header tells the store clock, which a poller may read as BigCommerce's "now".
        wire.headers["Date"] = formatdate(self.store.clock.timestamp(), usegmt=True)
        for name, value in response.headers.items():
            wire.headers[name] = value
        return wire


def _faulted(fault: Fault, store: SandboxStore, request: Request) -> Response | None:
    """What a faulted request is answered with; None: the connection is reset instead."""
    v2 = "/v2/" in request.path  # legacy `/api/v2/` and `/stores/{hash}/v2/` alike
    if fault.kind == "reset":
        return None
    if fault.kind == "empty_204":
        return no_content()
    if fault.kind == "status":
        status = int(fault.option("status", 500))
        error = ApiError(status, _phrase(status))
        response = json_response(status, v2_body(error) if v2 else v3_body(error))
        if fault.option("body", None) is not None:
            raw = fault.options["body"]
            response.body = raw.encode() if isinstance(raw, str) else json_response(status, raw).body
        if fault.option("retry_after", None) is not None:
            response.headers["Retry-After"] = str(fault.options["retry_after"])
        return response
    if fault.kind == "rate_limit":
        s = store.settings
        reset_ms = int(fault.option("reset_ms", 1000))
        error = ApiError(429, "Too many requests")
        response = json_response(429, v2_body(error) if v2 else v3_body(error))
        if fault.option("with_headers", True):
            response.headers.update(
                {
                    "X-Rate-Limit-Requests-Quota": str(s.rate_limit_quota),
                    "X-Rate-Limit-Requests-Left": "0",
                    "X-Rate-Limit-Time-Window-Ms": str(s.rate_limit_window_ms),
                    "X-Rate-Limit-Time-Reset-Ms": str(reset_ms),
                    "X-Retry-After": str(-(-reset_ms // 1000)),
                }
            )
        return response
    status = int(fault.option("status", 200))
    if fault.kind == "malformed_json":
        return Response(status, _BROKEN_JSON, JSON)
    if fault.kind == "wrong_content_type":
        return Response(status, _MAINTENANCE_HTML, "text/html; charset=UTF-8")
    # truncated: promise more bytes than are sent (the server then hangs up).
    return Response(status, _BROKEN_JSON, JSON, {"Content-Length": str(len(_BROKEN_JSON) + 512)})


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class SandboxServer(WsgiServer):
    """Serves a `SandboxStore` over HTTP on a background thread; bound when constructed.

    `stop()` closes every connection, idle keep-alive ones included.
    """

    def __init__(
        self, store: SandboxStore, host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False
    ) -> None:
        self.store = store
        super().__init__(
            SandboxApp(store),
            host=host,
            port=port,
            name="bcsandbox",
            idle_timeout=60,
            server_header="bcsandbox",
            verbose=verbose,
        )
