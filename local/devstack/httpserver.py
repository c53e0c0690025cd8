"""A small loopback HTTP server for the stack's endpoints: a function from request to response.

HTTP/1.0 (one request per connection) keeps shutdown simple: no idle keep-alive connection can
hold a worker thread, so stopping waits only for requests actually being answered.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class HttpRequest:
    """A request as received: the path without its query, headers in arrival order."""

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    client: str

    def header(self, name: str) -> str | None:
        """The last value of a header (names compared case-insensitively)."""
        found = [value for key, value in self.headers if key.lower() == name.lower()]
        return found[-1] if found else None

    def query_pairs(self) -> list[tuple[str, str]]:
        """Query parameters in order, repeated names kept."""
        return parse_qsl(self.query, keep_blank_values=True)


@dataclass
class HttpResponse:
    """A response to send; Content-Length is added."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


Handler = Callable[[HttpRequest], HttpResponse]


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # so that stopping waits for the requests being answered
    block_on_close = True

    def __init__(self, address: tuple[str, int], handler: Handler) -> None:
        super().__init__(address, _RequestHandler)
        self.handler = handler


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "devstack"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the stack reports what matters on its console

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        request = HttpRequest(
            self.command, split.path, split.query, list(self.headers.items()), body, self.client_address[0]
        )
        response = self.server.handler(request)
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "date", "server"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body and self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


class LoopbackServer:
    """Serves ``handler`` on ``host:port`` (0 picks a free port) from a background thread; bound at once."""

    def __init__(self, name: str, handler: Handler, host: str, port: int) -> None:
        self.name = name
        self._httpd = _Server((host, port), handler)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://host:port``."""
        return f"http://{self._httpd.server_address[0]!s}:{self.port}"

    def start(self) -> LoopbackServer:
        """Start answering."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name=self.name, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering, after the requests in progress are answered."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()
