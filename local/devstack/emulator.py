"""The AWS emulator: moto's server in this process (DynamoDB, SQS, Scheduler, KMS and the rest).

In this process rather than a ``moto_server`` child because saving SQS messages in flight reads
moto's queue model (see ``sqs_state``). Served by httpkit, so the socket is bound in the caller's
thread and a port already in use is an error the caller sees (moto's ThreadedMotoServer would hang
instead).
"""

from __future__ import annotations

from typing import Any, Self

import requests
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

from httpkit import WsgiServer


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


class MotoServer(WsgiServer):
    """moto's server on ``host:port`` (0 picks a free port), fresh: every backend reset when it starts."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(
            _Dispatcher(create_backend_app), host=host, port=port, name="moto", request_handler=_QuietHandler
        )

    def start(self) -> Self:
        """Serve from a background thread, starting from empty backends (a second call does nothing)."""
        if not self.running:
            super().start()
            # Backends are process-wide: a stack started before in this process (tests) left its state.
            requests.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()
        return self

    def stop(self) -> None:
        """Stop serving and forget everything it held."""
        if self.running:
            requests.post(f"{self.url}/moto-api/reset", timeout=10)
        super().stop()
