"""The request and response values passed between the socket layer and the route handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from bcsandbox.views import encode

JSON = "application/json"


@dataclass
class Request:
    """One HTTP request, already read off the socket."""

    method: str
    path: str
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def params(self) -> dict[str, str]:
        """Query parameters, first value of each; `+` decodes to a space, as on any web server."""
        return {k: v[0] for k, v in parse_qs(self.query, keep_blank_values=True).items()}

    def header(self, name: str) -> str | None:
        """A header, case-insensitively."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


@dataclass
class Response:
    """What to send back; a `None` body sends no body and no Content-Type (204)."""

    status: int
    body: bytes | None = None
    content_type: str | None = JSON
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, value: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON response."""
    return Response(status, encode(value), JSON, dict(headers or {}))


def no_content(headers: dict[str, str] | None = None) -> Response:
    """204 with no body, as v2 answers an empty list (research §2)."""
    return Response(204, None, None, dict(headers or {}))
