"""Query parameters of each list endpoint, read into a `Selection` as BigCommerce documents them.

Unknown parameters are ignored, as BigCommerce ignores them; a malformed known one is refused:
400 "The field 'x' is invalid." on v2, 422 on v3, 413 for a limit above the maximum.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bcsandbox import dates
from bcsandbox.errors import invalid_field, limit_too_large
from bcsandbox.query import Bound, Selection, decode_cursor
from bcsandbox.records import Record
from bcsandbox.settings import StoreSettings

Params = dict[str, str]

V2_ORDER_SORTS = (
    "id",
    "customer_id",
    "date_created",
    "date_modified",
    "status_id",
    "channel_id",
    "external_id",
)
V3_PRODUCT_SORTS = (
    "id",
    "name",
    "sku",
    "price",
    "date_modified",
    "date_last_imported",
    "inventory_level",
    "is_visible",
    "total_sold",
    "calculated_price",
)
V3_CUSTOMER_SORTS = ("date_created", "last_name", "date_modified")
_TRUE, _FALSE = ("true", "1"), ("false", "0")


def _int(params: Params, name: str, *, v3: bool) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        # `page` and `limit` are `type: number` in the orders spec; accept "2.0" but not "2.5".
        try:
            as_float = float(raw)
        except ValueError:
            raise invalid_field(name, v3=v3) from None
        if not as_float.is_integer():
            raise invalid_field(name, v3=v3) from None
        return int(as_float)


def _ints(params: Params, name: str, *, v3: bool) -> set[int] | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        return {int(part) for part in raw.split(",") if part.strip()}
    except ValueError:
        raise invalid_field(name, v3=v3) from None


def _bool(params: Params, name: str, *, v3: bool) -> bool | None:
    raw = params.get(name)
    if raw is None:
        return None
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise invalid_field(name, v3=v3)


def _paging(params: Params, sel: Selection, settings: StoreSettings, *, v3: bool) -> None:
    page = _int(params, "page", v3=v3)
    limit = _int(params, "limit", v3=v3)
    if page is not None and page < 1:
        raise invalid_field("page", v3=v3)
    if limit is not None and limit < 1:
        raise invalid_field("limit", v3=v3)
    if limit is not None and limit > settings.max_limit:
        raise limit_too_large(settings.max_limit)
    sel.page = page or 1
    sel.limit = limit or settings.default_limit


def _date_bound(field: str, ts: int, settings: StoreSettings, *, upper: bool) -> Bound:
    incl = settings.date_bounds_inclusive
    if upper:
        return Bound(field, hi=ts, hi_inclusive=incl)
    return Bound(field, lo=ts, lo_inclusive=incl)


def _equals(name: str, expected: Any) -> Callable[[Record], bool]:
    return lambda r: r.data.get(name) == expected


def v2_selection(params: Params, settings: StoreSettings, *, orders: bool) -> Selection:
    """`GET /v2/orders` (or the deprecated v2 products and customers) filters, sort and paging."""
    sel = Selection(ties=settings.tie_order)
    # The default order; orders take `sort=` over it (`_v2_order_filters`).
    name, _, direction = settings.v2_default_order.partition(":")
    sel.sort_field, sel.descending = name, direction == "desc"
    _paging(params, sel, settings, v3=False)
    min_id, max_id = _int(params, "min_id", v3=False), _int(params, "max_id", v3=False)
    if min_id is not None or max_id is not None:
        incl = settings.id_bounds_inclusive
        sel.bound(Bound("id", lo=min_id, hi=max_id, lo_inclusive=incl, hi_inclusive=incl))
    for field in ("date_created", "date_modified"):
        for prefix, upper in (("min_", False), ("max_", True)):
            name = f"{prefix}{field}"
            if name in params:
                try:
                    ts = dates.parse_v2(params[name])
                except dates.InvalidDate:
                    raise invalid_field(name) from None
                sel.bound(_date_bound(field, ts, settings, upper=upper))
    if orders:
        _v2_order_filters(params, sel, settings)
    # The Customers V2 spec documents no `sort`, and /v2/products has no spec left: both answer in
    # the default order (id) whatever `sort` says, so a poller cannot come to rely on an
    # undocumented sort there.
    return sel


def _v2_order_filters(params: Params, sel: Selection, settings: StoreSettings) -> None:
    if "sort" in params:
        name, _, direction = params["sort"].partition(":")
        if name not in V2_ORDER_SORTS or direction not in ("", "asc", "desc"):
            raise invalid_field("sort")
        sel.sort_field, sel.descending = name, direction == "desc"
    for name in ("customer_id", "status_id", "channel_id"):
        value = _int(params, name, v3=False)
        if value is not None:
            sel.predicates.append(_equals(name, value))
    for name in ("cart_id", "payment_method", "external_order_id"):
        if name in params:
            sel.predicates.append(_equals(name, params[name]))
    if "email" in params:
        email = params["email"].lower()
        sel.predicates.append(lambda r: str(r.data["billing_address"].get("email", "")).lower() == email)
    for name, upper in (("min_total", False), ("max_total", True)):
        if name in params:
            try:
                limit = float(params[name])
            except ValueError:
                raise invalid_field(name) from None
            sel.predicates.append(_total_within(limit, upper=upper))
    # `is_deleted` left the spec in 2024 (research §2); it still filters here either way.
    is_deleted = _bool(params, "is_deleted", v3=False)
    if is_deleted is not None:
        sel.predicates.append(lambda r: bool(r.data.get("is_deleted")) is is_deleted)
    elif not settings.include_archived_orders:
        sel.predicates.append(lambda r: not r.data.get("is_deleted"))
    if "status_id" not in params and not settings.include_incomplete_orders:
        sel.predicates.append(lambda r: r.data.get("status_id") != 0)


def _total_within(limit: float, *, upper: bool) -> Callable[[Record], bool]:
    if upper:
        return lambda r: float(r.data["total_inc_tax"]) <= limit
    return lambda r: float(r.data["total_inc_tax"]) >= limit


def _v3_dates(
    params: Params, sel: Selection, settings: StoreSettings, field: str, now: datetime, *, time_of_day: bool
) -> None:
    for suffix, upper in ((":min", False), (":max", True)):
        name = field + suffix
        if name in params:
            try:
                ts = dates.parse_v3(params[name], now=now, date_only_adds_time_of_day=time_of_day)
            except dates.InvalidDate:
                raise invalid_field(name, v3=True) from None
            sel.bound(_date_bound(field, ts, settings, upper=upper))
    if field in params:
        try:
            day = dates.parse_day(params[field])
            if day is not None:
                first, last = dates.day_bounds(day)
                sel.bound(Bound(field, lo=first, hi=last))
            else:
                ts = dates.parse_v3(params[field], now=now, date_only_adds_time_of_day=False)
                sel.bound(Bound(field, lo=ts, hi=ts))
        except dates.InvalidDate:
            raise invalid_field(field, v3=True) from None


def _v3_ids(params: Params, sel: Selection) -> None:
    wanted = _ints(params, "id:in", v3=True)
    if wanted is not None:
        sel.predicates.append(lambda r: r.id in wanted)
    unwanted = _ints(params, "id:not_in", v3=True)
    if unwanted is not None:
        sel.predicates.append(lambda r: r.id not in unwanted)
    exact = _int(params, "id", v3=True)
    if exact is not None:
        sel.bound(Bound("id", lo=exact, hi=exact))
    for name in ("id:min", "id:max", "id:greater", "id:less"):
        value = _int(params, name, v3=True)
        if value is None:
            continue
        if name in ("id:min", "id:greater"):
            sel.bound(Bound("id", lo=value, lo_inclusive=name == "id:min"))
        else:
            sel.bound(Bound("id", hi=value, hi_inclusive=name == "id:max"))


def v3_products(params: Params, settings: StoreSettings, now: datetime) -> Selection:
    """`GET /v3/catalog/products`: `sort` + `direction`, id and date filters, a few field filters."""
    sel = Selection(ties=settings.tie_order)
    _paging(params, sel, settings, v3=True)
    sort = params.get("sort", "id")
    direction = params.get("direction", "asc")
    if sort not in V3_PRODUCT_SORTS:
        raise invalid_field("sort", v3=True)
    if direction not in ("asc", "desc"):
        raise invalid_field("direction", v3=True)
    # No product here was ever imported, so that sort falls back to id order.
    sel.sort_field = "id" if sort == "date_last_imported" else sort
    sel.descending = direction == "desc"
    _v3_ids(params, sel)
    _v3_dates(params, sel, settings, "date_modified", now, time_of_day=True)
    for name in ("name", "sku", "type"):
        if name in params:
            sel.predicates.append(_equals(name, params[name]))
    for name in ("is_visible", "is_featured"):
        flag = _bool(params, name, v3=True)
        if flag is not None:
            sel.predicates.append(_equals(name, flag))
    if "keyword" in params:
        word = params["keyword"].lower()
        sel.predicates.append(lambda r: word in f"{r.data['name']} {r.data['sku']}".lower())
    return sel


def v3_customers(params: Params, settings: StoreSettings, now: datetime) -> Selection:
    """`GET /v3/customers`: `sort=field:dir`, id/email/date filters, offset or cursor paging."""
    # A keyset cursor needs one order: with a cursor on offer, "unstable" ties are one arbitrary order.
    unstable = settings.tie_order == "unstable" and settings.customers_cursor
    sel = Selection(ties="scrambled" if unstable else settings.tie_order)
    _paging(params, sel, settings, v3=True)
    if "sort" in params:
        name, _, direction = params["sort"].partition(":")
        if name not in V3_CUSTOMER_SORTS or direction not in ("asc", "desc"):
            raise invalid_field("sort", v3=True)
        sel.sort_field, sel.descending = name, direction == "desc"
    _v3_ids(params, sel)
    if "email:in" in params:
        emails = {e.strip().lower() for e in params["email:in"].split(",")}
        sel.predicates.append(lambda r: str(r.data["email"]).lower() in emails)
    for field in ("date_created", "date_modified"):
        _v3_dates(params, sel, settings, field, now, time_of_day=False)
    for name, attr in (("after", "after"), ("before", "before")):
        if params.get(name) and settings.customers_cursor:
            setattr(sel, attr, decode_cursor(params[name], sel.sort_field, name))
    return sel
