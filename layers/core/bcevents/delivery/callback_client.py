"""The callback client: one POST of a notification to a callback URL, through the egress guard.

One pooled session per process (connections are reused across invocations). Every connection
passes the egress guard at connect time, with the checked address pinned; redirects are never
followed; at most MAX_RESPONSE_BYTES of an answer are read before the connection is dropped.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import requests
import urllib3

from bcevents.egress import GuardedSession, guarded_session
from bcevents.errors import EgressRefused
from bcevents.settings import get_settings

USER_AGENT = "BigCommerce-Events-Webhooks/1.0"
#: Only this much of a response body is read; the connection is closed on the rest.
MAX_RESPONSE_BYTES = 64 * 1024
_CHUNK_BYTES = 8 * 1024


@dataclass(frozen=True)
class Answer:
    """What a callback answered (``status_code``), or why it did not (``error``, an error class)."""

    status_code: int | None
    error: str | None
    retry_after: str | None  # the Retry-After header, as sent
    latency_ms: int
    response_bytes: int


def _timeouts() -> tuple[float, float]:
    """Seconds to connect, and to wait for the answer (DELIVERY_*_TIMEOUT_SECONDS)."""
    settings = get_settings()
    return settings.delivery_connect_timeout_seconds, settings.delivery_timeout_seconds


@lru_cache(maxsize=2)
def _session(allow_private: bool) -> GuardedSession:
    return guarded_session(allow_private=allow_private, user_agent=USER_AGENT, timeout=_timeouts())


def post(url: str, body: bytes, headers: Mapping[str, str], *, allow_private: bool) -> Answer:
    """POST ``body`` once. Transport failures (timeouts, TLS, DNS, refused egress) are answers too."""
    status_code: int | None = None
    error: str | None = None
    retry_after: str | None = None
    size = 0
    started = time.monotonic()
    timeouts = _timeouts()
    try:
        with _session(allow_private).post(
            url, data=body, headers=dict(headers), stream=True, timeout=timeouts
        ) as response:
            status_code = response.status_code
            retry_after = response.headers.get("Retry-After")
            size = _read_capped(response, deadline=started + timeouts[1])
    except EgressRefused:
        error = "EgressRefused"
    except requests.RequestException as exc:
        error = _error_class(exc)
    latency_ms = int((time.monotonic() - started) * 1000)
    return Answer(status_code, error, retry_after, latency_ms, size)


def _read_capped(response: requests.Response, *, deadline: float) -> int:
    """Read at most MAX_RESPONSE_BYTES of the body, until the deadline; closing drops the rest."""
    size = 0
    while size < MAX_RESPONSE_BYTES and time.monotonic() < deadline:
        try:
            chunk = response.raw.read(min(_CHUNK_BYTES, MAX_RESPONSE_BYTES - size), decode_content=False)
        except (urllib3.exceptions.HTTPError, OSError):
            # The status line decides the outcome; a body cut short does not change it.
            break
        if not chunk:
            break
        size += len(chunk)
    return size


def _error_class(exc: requests.RequestException) -> str:
    """The class of a transport failure (never its message: it may quote the URL)."""
    if isinstance(exc.__cause__, socket.gaierror):
        return "NameResolutionError"
    return type(exc).__name__
