"""The HTTP side: a threaded loopback server speaking HTTP/1.1 keep-alive, like BigCommerce's gateway.

Per request: admin routes go to `admin`; everything else is logged, may meet an injected fault,
and is answered by `api` (or `oauth`). Request hooks run before the response is sent.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import sys
import threading
import time
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from bcsandbox import admin, api, oauth
from bcsandbox.errors import ApiError, v2_body, v3_body
from bcsandbox.faults import Fault
from bcsandbox.messages import JSON, Request, Response, json_response, no_content
from bcsandbox.requestlog import RequestRecord
from bcsandbox.store import SandboxStore

_MAINTENANCE_HTML = (
    b"<!DOCTYPE html><html><head><title>Store Unavailable</title></head>"
    b"<body><h1>This store is down for maintenance</h1></body></html>"
)
_BROKEN_JSON = b'[{"id":1,"customer_id":0,"date_modified":"Tue, 20 Nov 2012 00:00:00 +0000","status":'


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], store: SandboxStore, verbose: bool) -> None:
        super().__init__(address, _Handler)
        self.store = store
        self.verbose = verbose
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()

    def serve(self) -> None:
        """Accept until `wake()`; unlike `serve_forever`'s polling, stopping takes no poll interval."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self.socket and not self._stopping.is_set():
                        self.handle_request()

    def wake(self) -> None:
        """Make `serve()` return."""
        self._stopping.set()
        self._wake_w.send(b"x")

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-response (or a stop dropping its connection) is not a server bug.
        if isinstance(sys.exception(), OSError):
            return
        super().handle_error(request, client_address)

    def server_close(self) -> None:
        super().server_close()
        self._wake_r.close()
        self._wake_w.close()

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def track(self, conn: socket.socket, *, open_: bool) -> None:
        with self._connections_lock:
            (self._connections.add if open_ else self._connections.discard)(conn)

    def drop_connections(self) -> None:
        """Close idle keep-alive connections so a stopped server answers nothing more."""
        with self._connections_lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "bcsandbox"
    sys_version = ""
    timeout = 60
    server: _Server
    # A faulted request waiting to be logged (see _log_fault).
    _fault_entry: tuple[Request, float, str] | None = None

    def setup(self) -> None:
        super().setup()
        # Without TCP_NODELAY small keep-alive responses stall on Nagle + delayed ACK (perf-anchors).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, open_=True)

    def finish(self) -> None:
        self.server.track(self.connection, open_=False)
        super().finish()

    def version_string(self) -> str:
        return self.server_version

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header tells the store clock, which a poller may read as BigCommerce's "now".
        return formatdate(
            self.server.store.clock.timestamp() if timestamp is None else timestamp, usegmt=True
        )

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _dispatch(self) -> None:
        arrived = time.monotonic()
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        request = Request(self.command, split.path, split.query, dict(self.headers.items()), body)
        store = self.server.store
        if split.path == "/__admin" or split.path.startswith("/__admin/"):
            self._send(
                admin.handle(
                    store, request, base_url=self.server.base_url, client_host=self.client_address[0]
                )
            )
            return
        fault = store.faults.take(split.path)
        if fault is not None and fault.kind != "delay":
            # Logged before anything reaches the client, so a test that reads the log right after
            # its request returns always finds the entry.
            self._fault_entry = (request, arrived, fault.kind)
            self._perform(fault, request)
            return
        if fault is not None:
            time.sleep(float(fault.option("seconds", 1.0)))
        if split.path.rstrip("/") == "/oauth2/token":
            response = oauth.handle_token_request(store, request)
        else:
            response = api.handle(store, request)
        entry = self._entry(request, response.status, arrived, fault.kind if fault else None)
        store.log.append(entry)
        for hook in store.log.hooks():
            hook(entry)
        self._send(response)

    def _entry(self, request: Request, status: int, arrived: float, fault: str | None) -> RequestRecord:
        return RequestRecord(
            request.method,
            request.path,
            request.query,
            status,
            arrived,
            self.server.store.clock.seconds(),
            fault,
        )

    def _send(self, response: Response, *, declared_length: int | None = None) -> None:
        self._log_fault(response.status)
        self.send_response(response.status)
        body = response.body
        if body is not None and response.content_type:
            self.send_header("Content-Type", response.content_type)
        if response.status != 204:
            self.send_header("Content-Length", str(declared_length or len(body or b"")))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _log_fault(self, status: int) -> None:
        pending = self._fault_entry
        if pending is not None:
            self._fault_entry = None
            request, arrived, kind = pending
            self.server.store.log.append(self._entry(request, status, arrived, kind))

    def _perform(self, fault: Fault, request: Request) -> int:
        """Carry out a fault; returns the status sent (0 when none was)."""
        store = self.server.store
        v2 = "/v2/" in request.path  # legacy `/api/v2/` and `/stores/{hash}/v2/` alike
        if fault.kind == "reset":
            self._log_fault(0)
            # Linger 0 makes close() send RST: the client sees a reset, not a clean end of stream.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return 0
        if fault.kind == "empty_204":
            self._send(no_content())
            return 204
        if fault.kind == "status":
            status = int(fault.option("status", 500))
            error = ApiError(status, _phrase(status))
            response = json_response(status, v2_body(error) if v2 else v3_body(error))
            if fault.option("body", None) is not None:
                raw = fault.options["body"]
                response.body = raw.encode() if isinstance(raw, str) else json_response(status, raw).body
            if fault.option("retry_after", None) is not None:
                response.headers["Retry-After"] = str(fault.options["retry_after"])
            self._send(response)
            return status
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
            self._send(response)
            return 429
        status = int(fault.option("status", 200))
        if fault.kind == "malformed_json":
            self._send(Response(status, _BROKEN_JSON, JSON))
        elif fault.kind == "wrong_content_type":
            self._send(Response(status, _MAINTENANCE_HTML, "text/html; charset=UTF-8"))
        else:  # truncated: promise more bytes than are sent, then hang up.
            self._send(Response(status, _BROKEN_JSON, JSON), declared_length=len(_BROKEN_JSON) + 512)
            self.close_connection = True
        return status


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class SandboxServer:
    """Serves a `SandboxStore` over HTTP on a background thread; bound when constructed."""

    def __init__(
        self, store: SandboxStore, host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False
    ) -> None:
        self.store = store
        self._httpd = _Server((host, port), store, verbose)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:54321` (no trailing slash)."""
        return self._httpd.base_url

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self._httpd.server_address[1])

    def start(self) -> SandboxServer:
        """Serve on a daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve, name=f"bcsandbox:{self.port}", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every connection, idle keep-alive ones included."""
        if self._thread is not None:
            self._httpd.wake()
            self._thread.join()
            self._thread = None
        self._httpd.drop_connections()
        self._httpd.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
