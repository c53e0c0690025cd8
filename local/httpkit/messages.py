"""What an app served by httpkit reads and answers: the request as sent, a bare Response, a reset."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from werkzeug.datastructures import EnvironHeaders
from werkzeug.wrappers import Response as _WerkzeugResponse

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

#: The environ key under which httpkit's server leaves the request's headers as they arrived.
RAW_HEADERS = "httpkit.raw_headers"


class Response(_WerkzeugResponse):
    """werkzeug's Response without a default Content-Type: a body goes out with only the type it is given."""

    default_mimetype = None


class ResetConnection(Exception):
    """Raised by an app: the server resets the connection (TCP RST) instead of answering."""


def raw_headers(environ: WSGIEnvironment) -> list[tuple[str, str]]:
    """The request's headers in arrival order, names as sent, repeats kept (WSGI folds all three)."""
    found: list[tuple[str, str]] | None = environ.get(RAW_HEADERS)
    if found is not None:
        return found
    return list(EnvironHeaders(environ).items())  # another server, or werkzeug's test client


def request_target(environ: WSGIEnvironment) -> tuple[str, str]:
    """The path (not percent-decoded) and the query of the request line."""
    split = urlsplit(environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/"))
    return split.path, split.query or environ.get("QUERY_STRING", "")
