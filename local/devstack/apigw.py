"""The API bridge: HTTP requests become API Gateway REST proxy events; the function's answer goes back unchanged.

Routes are the template's ``Api`` events. Like API Gateway, a path or method no route declares
(``TRACE``, ``OPTIONS``, ``HEAD``, a method of another resource, any unknown one) is refused with a
403 before any function runs (:func:`no_route`), and a function that fails or answers something
that is not a proxy response becomes 502 ``Internal server error``.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Sequence
from typing import Any

from devstack.functions import ACCOUNT_ID, ApiRoute, StackModel
from devstack.httpserver import HttpRequest, HttpResponse
from devstack.runtime import Runtime


def _json(status: int, body: Any, headers: Sequence[tuple[str, str]] = ()) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "application/json"), *headers], json.dumps(body).encode())


def no_route(request: HttpRequest) -> HttpResponse:
    """API Gateway's (REST) answer when no route has this method and path: always a 403.

    Without an ``Authorization`` header it is ``Missing Authentication Token``. With one, API
    Gateway reads the header as a SigV4 signature, and Cloud Elements' ``User ..., Organization
    ...`` is not one: the 403 says which part is not a ``key=value`` pair (the message AWS gives,
    as users report it; for a header whose parts all have an ``=``, its list of missing parameters
    is shortened to the first).
    """
    authorization = request.header("Authorization")
    if not authorization:
        error_type, message = "MissingAuthenticationTokenException", "Missing Authentication Token"
    else:
        error_type = "IncompleteSignatureException"
        parts = re.split(r"[\s,]+", authorization.strip())[1:]
        unpaired = next((part for part in parts if part and "=" not in part), None)
        if unpaired is not None:
            message = (
                f"'{unpaired}' not a valid key=value pair (missing equal-sign) in Authorization header: "
                f"'{authorization}'."
            )
        else:
            message = f"Authorization header requires 'Credential' parameter. Authorization={authorization}"
    headers = [("x-amzn-ErrorType", error_type), ("x-amzn-RequestId", str(uuid.uuid4()))]
    return _json(403, {"message": message}, headers)


def find_route(routes: Sequence[ApiRoute], method: str, path: str) -> tuple[ApiRoute, dict[str, str]] | None:
    """The route answering ``method path`` and its path parameters; a literal path beats a template."""
    candidates = []
    for route in routes:
        if route.method not in (method, "ANY"):
            continue
        params = route.match(path)
        if params is not None:
            candidates.append((len(params), route, params))
    if not candidates:
        return None
    _, route, params = min(candidates, key=lambda c: c[0])
    return route, params


def proxy_event(request: HttpRequest, route: ApiRoute, params: dict[str, str], stage: str) -> dict[str, Any]:
    """The REST API (v1) proxy event API Gateway would send for this request."""
    multi_headers: dict[str, list[str]] = {}
    for name, value in [
        *request.headers,
        ("X-Forwarded-For", request.client),
        ("X-Forwarded-Proto", "http"),
    ]:
        multi_headers.setdefault(name, []).append(value)
    multi_query: dict[str, list[str]] = {}
    for name, value in request.query_pairs():
        multi_query.setdefault(name, []).append(value)
    body: str | None = None
    encoded = False
    if request.body:
        try:
            body = request.body.decode("utf-8")
        except UnicodeDecodeError:
            body, encoded = base64.b64encode(request.body).decode(), True
    now = time.time()
    user_agent = request.header("User-Agent")
    return {
        "resource": route.path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": {name: values[-1] for name, values in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route.path,
            "httpMethod": request.method,
            "path": f"/{stage}{request.path}",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "extendedRequestId": str(uuid.uuid4()),
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "protocol": "HTTP/1.1",
            "domainName": request.header("Host") or "127.0.0.1",
            "identity": {"sourceIp": request.client, "userAgent": user_agent},
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
        },
        "body": body,
        "isBase64Encoded": encoded,
    }


def http_response(result: Any) -> HttpResponse | None:
    """The HTTP response a proxy result describes, or None if it is not a valid proxy result."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        return None
    headers: list[tuple[str, str]] = []
    multi = result.get("multiValueHeaders") or {}
    for name, value in (result.get("headers") or {}).items():
        if name not in multi:
            headers.append((name, str(value)))
    for name, values in multi.items():
        headers += [(name, str(value)) for value in values]
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    return HttpResponse(result["statusCode"], headers, raw)


class ApiBridge:
    """What ``sam local start-api`` does, without Docker: a request handler for a LoopbackServer."""

    def __init__(self, runtime: Runtime, model: StackModel) -> None:
        self._runtime = runtime
        self._model = model

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Answer one HTTP request through the function its route names."""
        found = find_route(self._model.routes, request.method, request.path)
        if found is None:
            return no_route(request)
        route, params = found
        spec = self._model.functions[route.function]
        event = proxy_event(request, route, params, self._model.stage)
        with self._runtime.gate.entered():
            outcome = self._runtime.invoke(spec, event)
        response = http_response(outcome.payload) if outcome.ok else None
        note = ""
        if response is None:
            response = _json(502, {"message": "Internal server error"})
            note = f"  ({outcome.error or 'not a proxy response'})"
        self._runtime.console.activity(
            "api",
            f"{request.method} {request.path} → {response.status}  {outcome.seconds * 1000:.0f} ms{note}",
        )
        return response
