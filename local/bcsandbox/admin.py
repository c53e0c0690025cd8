"""The admin interface under `/__admin/`: how the local stack and the demo drive a store that runs
in another process. No BigCommerce auth; answered only to loopback clients.
"""

from __future__ import annotations

import ipaddress
import json
import re
from datetime import datetime
from typing import Any

from bcsandbox.messages import Request, Response, json_response, no_content
from bcsandbox.store import RecordNotFound, SandboxStore

_RESOURCE = re.compile(r"^/__admin/(?P<resource>orders|products|customers)(?:/(?P<id>\d+|bulk))?/?$")


class _BadRequest(Exception):
    pass


def _body(request: Request) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        value = json.loads(request.body)
    except ValueError as exc:
        raise _BadRequest(f"body is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise _BadRequest("body must be a JSON object")
    return value


def credentials(store: SandboxStore, base_url: str) -> dict[str, Any]:
    """What a client needs to reach this store with either kind of account."""
    return {
        "url": base_url,
        "store_hash": store.store_hash,
        "access_token": store.access_token,
        "api_path": f"{base_url}/stores/{store.store_hash}/v3/",
        "username": store.username,
        "password": store.password,
        "legacy_store_url": base_url,
        "legacy_api_path": f"{base_url}/api/v2/",
    }


def handle(store: SandboxStore, request: Request, *, base_url: str, client_host: str) -> Response:
    """Answer one admin request."""
    if not ipaddress.ip_address(client_host).is_loopback:
        return json_response(403, {"error": "the admin interface answers loopback clients only"})
    try:
        return _dispatch(store, request, base_url)
    except _BadRequest as exc:
        return json_response(400, {"error": str(exc)})
    except (ValueError, TypeError) as exc:
        return json_response(400, {"error": str(exc)})
    except RecordNotFound as exc:
        return json_response(404, {"error": f"not found: {exc}"})
    except KeyError as exc:
        return json_response(400, {"error": f"missing or unknown: {exc}"})


def _dispatch(store: SandboxStore, request: Request, base_url: str) -> Response:
    method, path = request.method, request.path.rstrip("/")
    match = _RESOURCE.match(request.path)
    if match:
        return _records(store, request, match["resource"], match["id"])
    if (method, path) == ("GET", "/__admin/credentials"):
        return json_response(200, credentials(store, base_url))
    if path == "/__admin/clock":
        return _clock(store, request)
    if path == "/__admin/faults":
        return _faults(store, request)
    if path == "/__admin/requests":
        if method == "DELETE":
            store.clear_requests()
            return no_content()
        limit = int(request.params.get("limit", "1000"))
        entries = [r.as_dict() for r in store.requests[-limit:]] if limit > 0 else []
        return json_response(200, {"count": store.request_count, "requests": entries})
    if (method, path) == ("POST", "/__admin/reset"):
        store.reset()
        if _body(request).get("seed"):
            store.seed()
        return json_response(200, {"reset": True})
    if (method, path) == ("POST", "/__admin/seed"):
        counts = {k: int(v) for k, v in _body(request).items() if k in ("orders", "products", "customers")}
        store.seed(**counts)
        return json_response(201, {k: store.count(k) for k in ("orders", "products", "customers")})
    if path == "/__admin/settings":
        if method == "POST":
            store.settings.update(_body(request))
        return json_response(200, store.settings.as_dict())
    if (method, path) == ("POST", "/__admin/oauth/apps"):
        body = _body(request)
        store.register_oauth_app(str(body["client_id"]), str(body["client_secret"]))
        return json_response(201, {"client_id": body["client_id"]})
    if (method, path) == ("POST", "/__admin/oauth/codes"):
        body = _body(request)
        code = store.issue_auth_code(
            str(body["client_id"]),
            str(body.get("scope", "store_v2_orders_read_only")),
            body.get("redirect_uri"),
        )
        return json_response(201, {"code": code, "context": f"stores/{store.store_hash}"})
    return json_response(404, {"error": f"no admin route {method} {request.path}"})


def _records(store: SandboxStore, request: Request, resource: str, raw_id: str | None) -> Response:
    singular = resource[:-1]
    if raw_id == "bulk" and request.method == "POST":
        body = _body(request)
        count = int(body.pop("count", 1))
        ids: list[int] = getattr(store, f"create_{resource}")(count, **body)
        return json_response(
            201,
            {"created": len(ids), "first_id": ids[0] if ids else None, "last_id": ids[-1] if ids else None},
        )
    if raw_id is None:
        if request.method == "POST":
            return json_response(201, getattr(store, f"create_{singular}")(**_body(request)))
        if request.method == "GET":
            return json_response(200, {"ids": store.ids(resource)})
        raise _BadRequest(f"use POST or GET on /__admin/{resource}")
    record_id = int(raw_id)
    if request.method in ("PUT", "PATCH"):
        return json_response(200, getattr(store, f"update_{singular}")(record_id, **_body(request)))
    if request.method == "DELETE":
        if resource == "orders":
            return json_response(200, store.archive_order(record_id))
        getattr(store, f"delete_{singular}")(record_id)
        return no_content()
    raise _BadRequest(f"use PUT, PATCH or DELETE on /__admin/{resource}/{{id}}")


def _clock(store: SandboxStore, request: Request) -> Response:
    if request.method == "POST":
        body = _body(request)
        if "set" in body:
            store.set_clock(
                datetime.fromisoformat(str(body["set"]).replace("Z", "+00:00")),
                frozen=bool(body.get("frozen", True)),
            )
        if "advance" in body:
            store.advance(float(body["advance"]))
        if body.get("freeze"):
            store.clock.freeze()
        if body.get("unfreeze"):
            store.clock.unfreeze()
        if body.get("real"):
            store.clock.reset()
    return json_response(
        200, {"now": store.now().isoformat(), "time": store.clock.seconds(), "frozen": store.clock.frozen}
    )


def _faults(store: SandboxStore, request: Request) -> Response:
    if request.method == "POST":
        body = _body(request)
        prefix, kind = str(body.pop("path_prefix")), str(body.pop("kind"))
        fault = store.inject_fault(prefix, kind, int(body.pop("count", 1)), **body)
        return json_response(201, fault.as_dict())
    if request.method == "DELETE":
        store.faults.clear()
        return no_content()
    return json_response(200, {"faults": [f.as_dict() for f in store.faults.pending()]})
