"""werkzeug's threaded WSGI server, on loopback, answering from a background thread."""

from __future__ import annotations

import contextlib
import io
import itertools
import socket
import struct
import sys
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any, Self

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler, select_address_family

from httpkit.messages import RAW_HEADERS, ResetConnection

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

#: How often the serving thread looks whether it was asked to stop.
POLL_SECONDS = 0.05


class _RequestHandler(WSGIRequestHandler):
    """werkzeug's request handler, answering HTTP/1.1 keep-alive: werkzeug's own closes every connection."""

    protocol_version = "HTTP/1.1"
    # Without TCP_NODELAY small keep-alive responses stall on Nagle + delayed ACK.
    disable_nagle_algorithm = True
    server: WsgiServer

    def setup(self) -> None:
        super().setup()
        if self.server.idle_timeout is not None:
            self.connection.settimeout(self.server.idle_timeout)
        if not self.server.keep_alive:
            self.protocol_version = "HTTP/1.0"  # the connection closes after one answer
        self.server.connection_opened(self.connection)

    def finish(self) -> None:
        self.server.connection_closed(self.connection)
        super().finish()

    def version_string(self) -> str:
        return self.server.server_header or super().version_string()

    def log(self, type: str, message: str, *args: Any) -> None:
        if self.server.verbose:
            super().log(type, message, *args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        BaseHTTPRequestHandler.log_request(self, code, size)  # the plain line: werkzeug's adds colours

    def run_wsgi(self) -> None:
        environ = self.make_environ()
        environ["wsgi.input"] = io.BytesIO(self._read_body(environ))
        environ[RAW_HEADERS] = list(self.headers.items())
        started: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            started[:] = [status, headers]
            return _no_write

        try:
            body = self.server.app(environ, start_response)
            try:
                self._answer(environ["REQUEST_METHOD"], body, started)
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()
        except ResetConnection:
            # werkzeug can only answer; a reset needs the socket: linger 0 makes close() send RST.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True

    def _read_body(self, environ: WSGIEnvironment) -> bytes:
        """The whole request body, which leaves the connection at the start of the next request."""
        if environ.get("wsgi.input_terminated"):  # chunked: werkzeug's environ decodes it
            return bytes(environ["wsgi.input"].read())
        length = int(environ.get("CONTENT_LENGTH") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _answer(self, method: str, body: Iterable[bytes], started: list[Any]) -> None:
        chunks = iter(body)
        first = next(chunks, b"")  # an app may call start_response only as its body starts
        status, headers = started
        code_text, _, reason = str(status).partition(" ")
        code = int(code_text)
        self.send_response_only(code, reason or None)
        self.log_request(code)
        names = {name.lower() for name, _ in headers}
        if "server" not in names:
            self.send_header("Server", self.version_string())
        if "date" not in names:
            self.send_header("Date", self.date_time_string())
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        sent = 0
        if method != "HEAD":
            for chunk in itertools.chain((first,), chunks):
                self.wfile.write(chunk)
                sent += len(chunk)
        declared = next((int(value) for name, value in headers if name.lower() == "content-length"), None)
        if method != "HEAD" and code not in (204, 304) and (declared is None or sent < declared):
            # Short of its promised length (or with none), only the connection closing ends the body.
            self.close_connection = True


def _no_write(data: bytes) -> object:
    raise NotImplementedError("an app served by httpkit returns its body; WSGI's write() is not offered")


class WsgiServer(ThreadedWSGIServer):
    """Serves a WSGI app on ``host:port`` (0 picks a free port) from a background thread; bound when made.

    With ``keep_alive`` (HTTP/1.1), ``stop()`` closes every connection, idle ones included, without
    waiting for answers in progress. Without it, each connection carries one request, and ``stop()``
    waits for the requests being answered (no idle connection can hold it up).
    ``idle_timeout``: seconds a connection may wait for a client (idle between requests, or
    stalled mid-request) before it is closed; None waits as long as the client keeps it open.
    ``request_handler`` replaces httpkit's with another werkzeug handler (moto's), which then
    decides about connections itself.
    """

    def __init__(
        self,
        app: WSGIApplication,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "httpkit",
        keep_alive: bool = True,
        idle_timeout: float | None = None,
        server_header: str | None = None,
        verbose: bool = False,
        request_handler: type[WSGIRequestHandler] | None = None,
    ) -> None:
        self.name = name
        self.keep_alive = keep_alive
        self.idle_timeout = idle_timeout
        self.server_header = server_header
        self.verbose = verbose
        self.daemon_threads = keep_alive
        #: TCP connections accepted so far (fewer than requests: clients reused them).
        self.accepted = 0
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        # Bound here: werkzeug's own bind calls sys.exit(1) when the port is taken.
        with socket.create_server((host, port), family=select_address_family(host, port)) as bound:
            super().__init__(
                host, bound.getsockname()[1], app, request_handler or _RequestHandler, fd=bound.fileno()
            )

    @property
    def url(self) -> str:
        """``http://host:port``, no trailing slash."""
        return f"http://{self.server_address[0]!s}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether it was started and not stopped since."""
        return self._thread is not None

    def start(self) -> Self:
        """Start answering (a second call does nothing); returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.serve_forever, kwargs={"poll_interval": POLL_SECONDS}, name=self.name, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering and close the listening socket (see the class for connections in use)."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join()  # werkzeug's serve_forever closes the server as it returns
            self._thread = None
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def connection_opened(self, connection: socket.socket) -> None:
        """Called by the request handler as a connection starts."""
        with self._lock:
            self._connections.add(connection)
            self.accepted += 1

    def connection_closed(self, connection: socket.socket) -> None:
        """Called by the request handler as a connection ends."""
        with self._lock:
            self._connections.discard(connection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-response (or a stop dropping its connection) is not a server bug.
        if isinstance(sys.exception(), OSError):
            return
        super().handle_error(request, client_address)

    def log(self, type: str, message: str, *args: Any) -> None:
        if self.verbose:
            super().log(type, message, *args)
