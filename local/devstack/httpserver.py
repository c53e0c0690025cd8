"""The stack's endpoints (the API, the Lambda invoke endpoint): a function from request to response.

Served by httpkit one request per connection, which keeps shutdown simple: no idle keep-alive
connection can hold a worker thread, so stopping waits only for requests actually being answered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from httpkit import Response, WsgiServer, raw_headers, request_target

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: Headers the server writes itself; a handler's own are dropped.
_SERVER_HEADERS = frozenset({"content-length", "connection", "date", "server"})


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


def handler_app(handler: Handler) -> WSGIApplication:
    """A WSGI app answering each request with ``handler``."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path, query = request_target(environ)
        request = HttpRequest(
            environ["REQUEST_METHOD"],
            path,
            query,
            raw_headers(environ),
            environ["wsgi.input"].read(),
            environ.get("REMOTE_ADDR", ""),
        )
        response = handler(request)
        headers = [(name, value) for name, value in response.headers if name.lower() not in _SERVER_HEADERS]
        return Response(response.body, response.status, headers)(environ, start_response)

    return app


class LoopbackServer(WsgiServer):
    """Serves ``handler`` on ``host:port`` (0 picks a free port) from a background thread; bound at once."""

    def __init__(self, name: str, handler: Handler, host: str, port: int) -> None:
        super().__init__(
            handler_app(handler), host=host, port=port, name=name, keep_alive=False, server_header="devstack"
        )
