"""A callback receiver on loopback that answers 200 and counts notifications, events and connections."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """Counts what it is sent; ``connections`` tells whether the sender reused its connections."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.notifications = 0
        self.events = 0
        self.connections = 0
        self.object_ids: set[str] = set()
        self.last_at = 0.0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Where to POST."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def start(self) -> Receiver:
        """Serve on a daemon thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        """Forget every count."""
        with self._lock:
            self.notifications = self.events = self.connections = 0
            self.object_ids = set()
            self.last_at = 0.0

    def _received(self, body: bytes) -> None:
        events = json.loads(body)["message"]["events"]
        with self._lock:
            self.notifications += 1
            self.events += len(events)
            self.object_ids.update(f"{e['objectType']}:{e['objectId']}" for e in events)
            self.last_at = time.perf_counter()

    def _connected(self) -> None:
        with self._lock:
            self.connections += 1


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            receiver._connected()

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver._received(body)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler
