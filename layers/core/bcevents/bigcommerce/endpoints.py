"""The BigCommerce endpoints the element polls: roots, date filters and their encoding, sorts, ids.

Per-endpoint choices (specs in shared/bigcommerce-openapi):
- v2 dates are RFC 2822 in UTC (orders.v2.oas2.yml ``min_date_modified``: "RFC-2822 or
  ISO-8601"; it is also what v2 returns), with every reserved character percent-encoded,
  colons included, as BigCommerce staff advised (bigcommerce/api#121).
- v3 dates are ISO 8601 UTC with ``Z`` and raw colons: products_catalog.v3.yml
  ``DateModifiedMinParam`` shows ``2025-01-15T00:03:17Z``; customers.v3.yml shows offset-less
  ISO values, and an encoded colon there is reported to fail (bigcommerce/docs#620). ``Z``
  needs no encoding at all, unlike ``+00:00``.
- Sort: v2 orders ``sort=date_modified:asc`` (orders.v2.oas2.yml ``sort``); v3 catalog products
  ``sort=date_modified&direction=asc`` (``SortParam``/``DirectionParam``); v3 customers
  ``sort=date_modified:asc`` (customers.v3.yml ``sort`` enum). v2 products and v2 customers
  document no sort at all (id order only), so their plans say ``sorted_by_date=False``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bcevents.compat.configuration import AccountKind

if TYPE_CHECKING:
    from bcevents.bigcommerce.planner import ResourcePlan

SUPPORTED = (
    "the bigcommerce element offers the ecommerce hub: orders, products, customers, or raw /v2 or /v3 paths"
)
MAX_LIMIT = 250
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_API_PATH = re.compile(r"/stores/([A-Za-z0-9]+)(?:/v[23])?")


class DateEncoding(StrEnum):
    """How an endpoint wants its date filter values written."""

    RFC2822 = "rfc2822"
    ISO8601_Z = "iso8601_z"


@dataclass(frozen=True)
class StoreBase:
    """The API roots of one store; ``v3_root`` is None for legacy accounts."""

    kind: AccountKind
    v2_root: str
    v3_root: str | None


@dataclass(frozen=True)
class Endpoint:
    """One listing endpoint: its date filters, their encoding, its date and id sorts, its id filters."""

    version: int
    path: str
    modified: tuple[str, str]
    created: tuple[str, str] | None
    encoding: DateEncoding
    sort_modified: tuple[tuple[str, str], ...]
    sort_created: tuple[tuple[str, str], ...]
    id_keys: dict[str, tuple[str, ...]]
    equals: dict[str, str]


_V2_DATES = {
    "modified": ("min_date_modified", "max_date_modified"),
    "created": ("min_date_created", "max_date_created"),
}
_V2_IDS = {
    ">=": ("min_id",),
    ">": ("min_id",),
    "<=": ("max_id",),
    "<": ("max_id",),
    "=": ("min_id", "max_id"),
}
_V2_ORDERS = Endpoint(
    2, "/orders", _V2_DATES["modified"], _V2_DATES["created"], DateEncoding.RFC2822,
    (("sort", "date_modified:asc"),), (("sort", "date_created:asc"),), _V2_IDS,
    {k: k for k in ("status_id", "customer_id", "email", "payment_method", "cart_id", "channel_id",
                    "external_order_id", "min_total", "max_total")},
)  # fmt: skip
_V2_PRODUCTS = Endpoint(
    2, "/products", _V2_DATES["modified"], _V2_DATES["created"], DateEncoding.RFC2822, (), (), _V2_IDS,
    {k: k for k in ("name", "sku", "is_visible", "is_featured", "brand_id", "condition", "availability",
                    "category", "keyword_filter")},
)  # fmt: skip
_V2_CUSTOMERS = Endpoint(
    2, "/customers", _V2_DATES["modified"], _V2_DATES["created"], DateEncoding.RFC2822, (), (), _V2_IDS,
    {k: k for k in ("first_name", "last_name", "company", "email", "phone", "customer_group_id")},
)  # fmt: skip
_V3_PRODUCTS = Endpoint(
    3, "/catalog/products", ("date_modified:min", "date_modified:max"), None, DateEncoding.ISO8601_Z,
    (("sort", "date_modified"), ("direction", "asc")), (),
    {"=": ("id",), ">=": ("id:min",), ">": ("id:greater",), "<=": ("id:max",), "<": ("id:less",)},
    {k: k for k in ("name", "sku", "is_visible", "is_featured", "brand_id", "condition", "availability",
                    "type", "categories")},
)  # fmt: skip
_V3_CUSTOMERS = Endpoint(
    3, "/customers", ("date_modified:min", "date_modified:max"), ("date_created:min", "date_created:max"),
    DateEncoding.ISO8601_Z, (("sort", "date_modified:asc"),), (("sort", "date_created:asc"),),
    {"=": ("id:in",)}, {"email": "email:in", "company": "company:in", "customer_group_id": "customer_group_id:in"},
)  # fmt: skip
HUB = {
    AccountKind.LEGACY: {"orders": _V2_ORDERS, "products": _V2_PRODUCTS, "customers": _V2_CUSTOMERS},
    AccountKind.API: {"orders": _V2_ORDERS, "products": _V3_PRODUCTS, "customers": _V3_CUSTOMERS},
}


def store_base_urls(store_url: str) -> StoreBase:
    """Read ``store.url``: ``.../stores/{hash}[/v2|/v3]`` is an API account, ``.../api/v2`` legacy."""
    parts = urlsplit(store_url.strip())
    host = parts.hostname or ""
    if not host or (parts.scheme != "https" and not (parts.scheme == "http" and host in _LOOPBACK)):
        raise ValueError(f"store.url {store_url!r} must be an https URL with a host")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"store.url {store_url!r} must not carry a query, fragment or credentials")
    origin = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    api = _API_PATH.fullmatch(path)
    if api:
        root = f"{origin}/stores/{api.group(1)}"
        return StoreBase(AccountKind.API, f"{root}/v2", f"{root}/v3")
    if path == "/api/v2" and host != "api.bigcommerce.com":
        return StoreBase(AccountKind.LEGACY, f"{origin}/api/v2", None)
    raise ValueError(
        f"store.url {store_url!r} is neither an API account path (https://api.bigcommerce.com/stores/"
        "{store_hash}/v3/) nor a legacy API path (https://store-{store_hash}.mybigcommerce.com/api/v2)"
    )


def id_sort(plan: ResourcePlan) -> Iterator[tuple[str, str]]:
    """The parameters that list an endpoint in ascending id order: asked for explicitly where the
    endpoint can sort by id (v2 orders' ``sort`` enum has ``id``); v2 products and customers document
    no sort (their default order is id, which the pager checks on every page); v3 customers keep
    their default order, the one their cursor walks."""
    if plan.version == 2 and plan.path == "/orders":
        yield ("sort", "id:asc")
    elif plan.version == 3 and plan.path == "/catalog/products":
        yield from (("sort", "id"), ("direction", "asc"))
    # v3 customers: no sort. Their drain follows the cursor, whose documented example encodes an
    # id ({"id":204}); `sort=date_created:asc` would order ties arbitrarily and might not be the
    # order that cursor walks. The default order is the one their cursor was made for.
