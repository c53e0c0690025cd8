"""The AWS emulator: moto's server in this process (DynamoDB, SQS, Scheduler, KMS and the rest).

In this process rather than a ``moto_server`` child because saving SQS messages in flight reads
moto's queue model (see ``sqs_state``). The socket is bound here, in the caller's thread, so a
port already in use is an error the caller sees (moto's ThreadedMotoServer would hang instead).
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import requests
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server


class _QuietHandler(MotoRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # one line per AWS call would drown the stack's own console

    def log(self, type: str, message: str, *args: Any) -> None:
        pass


class _Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher, remembering which backend answers which host.

    moto works it out again for every request (listing its own package directory and trying every
    service's URL patterns): under load that was a sixth of the stack's time. The answer depends
    on the host alone, so it is kept.
    """

    def __init__(self, create_backend_app: Any) -> None:
        super().__init__(create_backend_app)
        self._backends: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        if host not in self._backends:
            self._backends[host] = super().get_backend_for_host(host)
        return self._backends[host]


class MotoServer:
    """moto's server on ``host:port`` (0 picks a free port), fresh: every backend reset when it starts."""

    def __init__(self, host: str, port: int) -> None:
        # Bound here: werkzeug's own bind calls sys.exit(1) when the port is taken.
        with socket.create_server((host, port)) as sock:
            app = _Dispatcher(create_backend_app)
            self._server: BaseWSGIServer = make_server(
                host,
                sock.getsockname()[1],
                app,
                threaded=True,
                request_handler=_QuietHandler,
                fd=sock.fileno(),
            )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://host:port``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> MotoServer:
        """Serve from a background thread, starting from empty backends (a second call does nothing)."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="moto", daemon=True
        )
        self._thread.start()
        # Backends are process-wide: a stack started before in this process (tests) left its state.
        requests.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()
        return self

    def stop(self) -> None:
        """Stop serving and forget everything it held."""
        if self._thread is not None:
            requests.post(f"{self.url}/moto-api/reset", timeout=10)
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
