"""A callback receiver on loopback: every request recorded, each notification read and its signatures checked.

How a request is answered, first match wins:

1. a script for its path (``script``): status, headers and body, a delay, a reset connection, or
   a body that never ends; the last reply of a script repeats;
2. a POST meets a planned failure (``fail_next``), answered with its status;
3. a POST is acknowledged 200; a GET lists the notifications received (``?since=N`` skips the
   first N); anything else is 405.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Self
from urllib.parse import parse_qsl

from callbacks.notifications import (
    Delivery,
    Event,
    WebhookSecrets,
    notification_events,
    verify_elements,
    verify_standard,
)
from httpkit import ResetConnection, Response, WsgiServer, raw_headers, request_target

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

_ACKNOWLEDGED = b'{"received": true}'
_JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0  # seconds to wait before answering
    reset: bool = False  # close the connection without answering
    endless: bool = False  # stream a body that never ends (until the client hangs up)


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as it arrived; ``path`` is the request target, query included."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def header(self, name: str) -> str | None:
        """A header by case-insensitive name."""
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


class CallbackReceiver:
    """Serves on ``host:port`` (0 picks a free port) once started; bound when made.

    ``secrets`` gives an instance's signing secrets, so signatures are checked; ``on_delivery`` is
    told of each notification as it is recorded.
    """

    def __init__(
        self,
        secrets: Callable[[str], WebhookSecrets | None] | None = None,
        on_delivery: Callable[[Delivery], None] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "callbacks",
    ) -> None:
        self._secrets = secrets
        self._on_delivery = on_delivery
        self._condition = threading.Condition()
        self._scripts: dict[str, list[Reply]] = {}
        self._failures: list[tuple[int, str | None]] = []
        self._deliveries: list[Delivery] = []
        #: Every request, oldest first.
        self.requests: list[ReceivedRequest] = []
        #: Endless bodies the client stopped reading.
        self.hangups = 0
        #: ``time.perf_counter()`` when the latest notification arrived (0.0: none yet).
        self.last_at = 0.0
        self._accepted_before = 0
        self._server = WsgiServer(self, host=host, port=port, name=name)

    # --- serving ------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The bound port."""
        return self._server.port

    def url(self, path: str = "/hook", host: str | None = None) -> str:
        """Where to send callbacks: ``path`` here, under ``host`` if given (a name a test resolves here)."""
        return f"http://{host or self._server.server_address[0]!s}:{self.port}{path}"

    def start(self) -> Self:
        """Start answering; returns self."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop answering and close every connection."""
        self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- answers ------------------------------------------------------------------------------
    def script(self, path: str, *replies: Reply) -> None:
        """Answer ``path`` (query included, if any) with ``replies`` in order; the last one repeats."""
        with self._condition:
            self._scripts[path] = list(replies)

    def fail_next(self, count: int, status: int = 503, object_type: str | None = None) -> None:
        """Answer the next ``count`` notifications (of ``object_type`` only, if given) with ``status``."""
        with self._condition:
            self._failures += [(status, object_type)] * count

    def stop_failing(self) -> None:
        """Forget failures still to come: answer 200 again."""
        with self._condition:
            self._failures.clear()

    # --- what arrived -------------------------------------------------------------------------
    def requests_to(self, path: str) -> list[ReceivedRequest]:
        """The requests to ``path`` (query included, if any)."""
        with self._condition:
            return [r for r in self.requests if r.path == path]

    def deliveries(self) -> list[Delivery]:
        """Every notification (POST) received so far, oldest first."""
        with self._condition:
            return list(self._deliveries)

    def wait_for(self, predicate: Callable[[list[Delivery]], bool], timeout: float) -> bool:
        """Wait until ``predicate(deliveries)`` holds; returns whether it did in time."""
        with self._condition:
            return self._condition.wait_for(lambda: predicate(self._deliveries), timeout)

    @property
    def notifications(self) -> int:
        """How many notifications arrived."""
        with self._condition:
            return len(self._deliveries)

    @property
    def events(self) -> int:
        """How many events the notifications carried."""
        return sum(len(d.events) for d in self.deliveries())

    @property
    def object_ids(self) -> set[str]:
        """``objectType:objectId`` of every event received."""
        return {f"{e.object_type}:{e.object_id}" for d in self.deliveries() for e in d.events}

    @property
    def connections(self) -> int:
        """TCP connections the senders opened (fewer than notifications: they reused them)."""
        return self._server.accepted - self._accepted_before

    def reset(self) -> None:
        """Forget what arrived and every count (scripts and planned failures stay)."""
        with self._condition:
            self.requests.clear()
            self._deliveries.clear()
            self.hangups = 0
            self.last_at = 0.0
            self._accepted_before = self._server.accepted

    # --- the WSGI app -------------------------------------------------------------------------
    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Record the request and answer it (see the module)."""
        path, query = request_target(environ)
        request = ReceivedRequest(
            environ["REQUEST_METHOD"],
            f"{path}?{query}" if query else path,
            dict(raw_headers(environ)),
            environ["wsgi.input"].read(),
            time.time(),
        )
        with self._condition:
            self.requests.append(request)
            script = self._scripts.get(request.path)
            reply = (script.pop(0) if len(script) > 1 else script[0]) if script else None
        if request.method == "POST":
            delivery = self._record(request, path, reply)
            if self._on_delivery is not None:
                self._on_delivery(delivery)
            if reply is None:
                return Response(_ACKNOWLEDGED, delivery.status, _JSON)(environ, start_response)
        if reply is not None:
            return self._play(reply)(environ, start_response)
        if request.method == "GET":
            return self._listing(query)(environ, start_response)
        return Response(status=405, headers={"Allow": "GET, POST"})(environ, start_response)

    def _record(self, request: ReceivedRequest, path: str, reply: Reply | None) -> Delivery:
        try:
            payload = json.loads(request.body)
        except ValueError:
            payload = None
        instance_id, events = notification_events(payload)
        secrets = self._secrets(instance_id) if self._secrets and instance_id else None
        secrets = secrets or WebhookSecrets()
        lowered = {k.lower(): v for k, v in request.headers.items()}
        standard = verify_standard(secrets.webhook_secret, request.body, request.headers)
        elements = verify_elements(secrets.signature_key, request.body, request.headers)
        scripted = None if reply is None else 0 if reply.reset else reply.status
        with self._condition:
            status = self._planned(events) if scripted is None else scripted
            delivery = Delivery(
                number=len(self._deliveries) + 1,
                received_at=request.at,
                path=path,
                status=status,
                instance_id=instance_id,
                webhook_id=lowered.get("webhook-id") or lowered.get("elements-webhook-id"),
                events=events,
                standard_signature=standard,
                elements_signature=elements,
                headers=request.headers,
                body=request.body.decode("utf-8", "replace"),
            )
            self._deliveries.append(delivery)
            self.last_at = time.perf_counter()
            self._condition.notify_all()
        return delivery

    def _planned(self, events: list[Event]) -> int:
        """The status for a notification of these events: a planned failure, else 200 (lock held)."""
        types = {e.object_type for e in events}
        for index, (status, object_type) in enumerate(self._failures):
            if object_type is None or object_type in types:
                del self._failures[index]
                return status
        return 200

    def _play(self, reply: Reply) -> Response:
        if reply.delay:
            time.sleep(reply.delay)
        if reply.reset:
            raise ResetConnection
        if not reply.endless:
            return Response(reply.body, reply.status, reply.headers)
        endless = Response(self._endless(), reply.status, reply.headers)
        endless.headers["Content-Length"] = str(10**12)
        return endless

    def _endless(self) -> Iterator[bytes]:
        chunk = b"x" * 65536
        try:
            for _ in range(100_000):  # ~6.5 GB: "forever" for any test
                yield chunk
        except GeneratorExit:  # the server stopped sending: the client hung up
            with self._condition:
                self.hangups += 1
            raise

    def _listing(self, query: str) -> Response:
        since = int(dict(parse_qsl(query)).get("since", "0") or 0)
        deliveries = self.deliveries()
        listed = [d.as_dict() for d in deliveries[since:]]
        body = json.dumps({"count": len(deliveries), "deliveries": listed}).encode()
        return Response(body, 200, _JSON)
