"""Serving WSGI apps on loopback: the local stack's endpoints, the sandbox store, the callback receivers.

werkzeug's server, bound at once (so a port in use fails in the caller's thread), answering from a
background thread, with HTTP/1.1 keep-alive (werkzeug's own closes every connection) or one
request per connection, and stopped without waiting out a poll interval.

    with WsgiServer(app, port=0) as server:
        requests.get(f"{server.url}/hello")

An app answers with werkzeug's ``Response`` (``httpkit.Response`` adds no Content-Type of its
own); ``raise ResetConnection`` resets the connection instead of answering.
"""

from httpkit.messages import ResetConnection, Response, raw_headers, request_target
from httpkit.server import WsgiServer

__all__ = ["ResetConnection", "Response", "WsgiServer", "raw_headers", "request_target"]
