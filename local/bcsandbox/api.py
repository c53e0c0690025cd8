"""BigCommerce's REST routes: legacy Basic auth under `/api/v2/`, API accounts under `/stores/{hash}/`.

Order of checks, as a gateway would apply them: unknown store → 404, bad credentials → 401,
quota spent → 429, then the route. Rate-limit headers go on every authenticated response
(`X-Rate-Limit-*`; on legacy answers only while `legacy_rate_limit_headers` is on).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from bcsandbox import params as qp
from bcsandbox import views
from bcsandbox.errors import ApiError, v2_body, v3_body
from bcsandbox.messages import Request, Response, json_response, no_content
from bcsandbox.query import Page, Selection, encode_cursor
from bcsandbox.statuses import ORDER_STATUSES, STATUS_SORT_ORDER
from bcsandbox.store import RecordNotFound, SandboxStore

_LEGACY = re.compile(r"^/api/v2/(?P<rest>.*?)/?$")
_ACCOUNT = re.compile(r"^/stores/(?P<hash>[^/]+)/(?P<version>v2|v3)/(?P<rest>.*?)/?$")
_NOT_FOUND = "The requested resource was not found."


@dataclass(frozen=True)
class Call:
    """A routed API request: which store API it is in and what it asks for."""

    store: SandboxStore
    request: Request
    v3: bool
    match: re.Match[str]

    @property
    def params(self) -> dict[str, str]:
        """Query parameters."""
        return self.request.params


Handler = Callable[[Call], Response]


def _error(error: ApiError, *, v3: bool, headers: dict[str, str] | None = None) -> Response:
    return json_response(error.status, v3_body(error) if v3 else v2_body(error), headers)


def handle(store: SandboxStore, request: Request) -> Response:
    """Answer one API request (not the admin interface, not OAuth)."""
    legacy = _LEGACY.match(request.path)
    match = legacy or _ACCOUNT.match(request.path)
    if match is None:
        return _error(ApiError(404, _NOT_FOUND), v3=True)
    v3 = legacy is None and match["version"] == "v3"
    if legacy is None and match["hash"] != store.store_hash:
        return _error(ApiError(404, "Store not found."), v3=v3)
    if not _authenticated(store, request, legacy=legacy is not None):
        message = "Username or API token is incorrect." if legacy else "Invalid or missing X-Auth-Token."
        return _error(ApiError(401, message), v3=v3)
    s = store.settings
    quota = store.rate_limiter.take(s.rate_limit_quota, s.rate_limit_window_ms, s.rate_limit_time_scale)
    if legacy is None or s.legacy_rate_limit_headers:
        headers = quota.headers()
    else:
        headers = {"X-BC-ApiLimit-Remaining": str(quota.left)}
    if not quota.allowed:
        headers["X-Retry-After"] = str(math.ceil(quota.reset_ms / 1000))
        return _error(ApiError(429, "Too many requests"), v3=v3, headers=headers)
    try:
        response = _route(store, request, match["rest"], v3=v3)
    except ApiError as error:
        response = _error(error, v3=v3)
    except RecordNotFound:
        response = _error(ApiError(404, _NOT_FOUND), v3=v3)
    response.headers.update(headers)
    return response


def _authenticated(store: SandboxStore, request: Request, *, legacy: bool) -> bool:
    if not legacy:
        return store.token_valid(request.header("X-Auth-Token") or "")
    scheme, _, encoded = (request.header("Authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return secrets.compare_digest(user, store.username) & secrets.compare_digest(password, store.password)


def _route(store: SandboxStore, request: Request, rest: str, *, v3: bool) -> Response:
    for pattern, handler in _V3_ROUTES if v3 else _V2_ROUTES:
        match = pattern.match(rest)
        if match:
            if request.method != "GET":
                error = ApiError(405, "The sandbox serves reads only.")
                return _error(error, v3=v3, headers={"Allow": "GET"})
            return handler(Call(store, request, v3, match))
    raise ApiError(404, _NOT_FOUND)


# --- v2 ------------------------------------------------------------------------------------------
def _v2_list(resource: str, view: views.View) -> Handler:
    def handler(call: Call) -> Response:
        sel = qp.v2_selection(call.params, call.store.settings, orders=resource == "orders")
        page = call.store.select(resource, sel)
        if not page.records:
            return no_content()
        return _raw(views.encode_records(page.records, view, call.store.store_hash))

    return handler


def _v2_one(resource: str, view: views.View) -> Handler:
    def handler(call: Call) -> Response:
        record = call.store.get(resource, int(call.match["id"]))
        return json_response(200, view(record, call.store.store_hash))

    return handler


def _v2_count(resource: str) -> Handler:
    def handler(call: Call) -> Response:
        if resource != "orders":
            return json_response(200, {"count": call.store.count(resource)})
        sel = qp.v2_selection(call.params, call.store.settings, orders=True)
        counts = dict.fromkeys(ORDER_STATUSES, 0)
        total = 0
        for record in call.store.matching("orders", sel):
            counts[record.data["status_id"]] = counts.get(record.data["status_id"], 0) + 1
            total += 1
        statuses = [
            {
                "id": sid,
                "name": ORDER_STATUSES[sid][0],
                "system_label": ORDER_STATUSES[sid][0],
                "custom_label": ORDER_STATUSES[sid][0],
                "system_description": ORDER_STATUSES[sid][1],
                "count": counts[sid],
                "sort_order": position,
            }
            for position, sid in enumerate(STATUS_SORT_ORDER)
        ]
        return json_response(200, {"statuses": statuses, "count": total})

    return handler


def _time(call: Call) -> Response:
    return json_response(200, {"time": call.store.clock.seconds()})


def _store_info(call: Call) -> Response:
    store = call.store
    return json_response(200, views.store_information(store.store_hash, store.name, store.admin_email))


_V2_ROUTES: list[tuple[re.Pattern[str], Handler]] = [
    (re.compile(r"^orders$"), _v2_list("orders", views.order_v2)),
    (re.compile(r"^orders/count$"), _v2_count("orders")),
    (re.compile(r"^orders/(?P<id>\d+)$"), _v2_one("orders", views.order_v2)),
    (re.compile(r"^products$"), _v2_list("products", views.product_v2)),
    (re.compile(r"^products/count$"), _v2_count("products")),
    (re.compile(r"^products/(?P<id>\d+)$"), _v2_one("products", views.product_v2)),
    (re.compile(r"^customers$"), _v2_list("customers", views.customer_v2)),
    (re.compile(r"^customers/count$"), _v2_count("customers")),
    (re.compile(r"^customers/(?P<id>\d+)$"), _v2_one("customers", views.customer_v2)),
    (re.compile(r"^time$"), _time),
    (re.compile(r"^store$"), _store_info),
]


# --- v3 ------------------------------------------------------------------------------------------
def _links(params: dict[str, str], page: int, limit: int, more: bool) -> dict[str, str]:
    others = {k: v for k, v in params.items() if k not in ("page", "limit")}

    def link(number: int) -> str:
        return "?" + urlencode({"page": number, "limit": limit, **others})

    links = {"current": link(page)}
    if page > 1:
        links["previous"] = link(page - 1)
    if more:
        links["next"] = link(page + 1)
    return links


def _pagination(call: Call, sel: Selection, page: Page) -> dict[str, Any]:
    return {
        "total": page.total,
        "count": len(page.records),
        "per_page": sel.limit,
        "current_page": sel.page,
        "total_pages": math.ceil(page.total / sel.limit),
        "links": _links(call.params, sel.page, sel.limit, page.more_after),
    }


def _products(call: Call) -> Response:
    sel = qp.v3_products(call.params, call.store.settings, call.store.now())
    page = call.store.select("products", sel)
    data = [views.product_v3(r, call.store.store_hash) for r in page.records]
    return json_response(200, {"data": data, "meta": {"pagination": _pagination(call, sel, page)}})


def _product(call: Call) -> Response:
    record = call.store.get("products", int(call.match["id"]))
    return json_response(200, {"data": views.product_v3(record, call.store.store_hash), "meta": {}})


def _customers(call: Call) -> Response:
    sel = qp.v3_customers(call.params, call.store.settings, call.store.now())
    page = call.store.select("customers", sel)
    data = [views.customer_v3(r, call.store.store_hash) for r in page.records]
    cursor_mode = sel.after is not None or sel.before is not None
    # Customers spec `_metaCollectionWithCursorPagination`: both blocks on the first page, only
    # `pagination` past it, only `cursor_pagination` when `before`/`after` was given.
    meta: dict[str, Any] = {}
    if not cursor_mode:
        meta["pagination"] = _pagination(call, sel, page)
    if call.store.settings.customers_cursor and (cursor_mode or sel.page == 1):
        cursor: dict[str, Any] = {"count": len(page.records), "per_page": sel.limit, "links": {}}
        if page.records:
            cursor["start_cursor"] = encode_cursor(page.records[0], sel)
            cursor["end_cursor"] = encode_cursor(page.records[-1], sel)
            if page.more_after:
                cursor["links"]["next"] = "?" + urlencode({"after": cursor["end_cursor"], "limit": sel.limit})
            if page.more_before and cursor_mode:
                cursor["links"]["previous"] = "?" + urlencode(
                    {"before": cursor["start_cursor"], "limit": sel.limit}
                )
        meta["cursor_pagination"] = cursor
    return json_response(200, {"data": data, "meta": meta})


_V3_ROUTES: list[tuple[re.Pattern[str], Handler]] = [
    (re.compile(r"^catalog/products$"), _products),
    (re.compile(r"^catalog/products/(?P<id>\d+)$"), _product),
    (re.compile(r"^customers$"), _customers),
]


def _raw(body: bytes) -> Response:
    return Response(200, body)
