"""How the sandbox behaves where BigCommerce's documentation is silent; each is a store setting."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

#: Settings that take one of a few words; the rest take their field's type.
CHOICES: dict[str, tuple[str, ...]] = {
    "tie_order": ("id", "reverse", "unstable"),
    "v2_default_order": tuple(
        f"{name}:{direction}"
        for name in ("id", "date_created", "date_modified")
        for direction in ("asc", "desc")
    ),
}


@dataclass
class StoreSettings:
    """Behaviour switches. Defaults are the sandbox's best reading of the research notes."""

    # Inclusivity of `min_/max_date_*` and `date_*:min/:max` is undocumented for v2 and customers
    # (research §2, §4, §10); the generic filtering page calls `:min` >= and `:max` <=. Inclusive.
    date_bounds_inclusive: bool = True
    # Whether a default `GET /v2/orders` lists archived orders is unconfirmed (research §2, §10);
    # listing them lets a poller see the archive as a DELETED change. `is_deleted=` filters either way.
    include_archived_orders: bool = True
    # Whether status 0 (Incomplete) orders appear without `status_id=0` is unconfirmed (§9.12).
    include_incomplete_orders: bool = True
    # Among records sharing a sort value no order is documented (research §2-§4). "id": by id in
    # the sort's direction; "reverse": against it; "unstable": afresh on every offset page, as a
    # database without a tiebreak may answer (a listing offering a cursor keeps one order).
    tie_order: str = "id"
    # `GET /v2/orders` without `sort` lists by id ascending (orders.v2.oas2.yml, line 320); v2
    # products and customers document no sort and answer in this order whatever `sort` says.
    v2_default_order: str = "id:asc"
    # v3 customers' cursor (`meta.cursor_pagination`, `after=`/`before=`) dates from 2025-01-28
    # (research §4). False: no cursor in `meta`, and `after`/`before` ignored as unknown keys.
    customers_cursor: bool = True
    # Whether v2 `min_id`/`max_id` include the id itself is undocumented ("Minimum ID", §2).
    id_bounds_inclusive: bool = True
    # Whether archiving an order bumps its `date_modified` is not found (research §2).
    archive_bumps_date_modified: bool = True
    # `X-Rate-Limit-*` are documented on OAuth responses; legacy Basic accounts are "rate limited
    # differently" (research §1b, §5). False: their answers carry `X-BC-ApiLimit-Remaining` only.
    legacy_rate_limit_headers: bool = True
    default_limit: int = 50
    max_limit: int = 250
    # Default generous; BigCommerce's Standard plan is 150 per 30 000 ms (research §5).
    rate_limit_quota: int = 10_000
    rate_limit_window_ms: int = 30_000
    # Sandbox milliseconds per real millisecond: 10 makes a 30 000 ms window pass in 3 real seconds.
    # Headers keep reporting sandbox milliseconds, as BigCommerce would.
    rate_limit_time_scale: float = 1.0
    request_log_size: int = 10_000

    def update(self, values: dict[str, Any]) -> None:
        """Apply known settings, converting to each field's type; unknown names are an error."""
        known = {f.name: f for f in fields(self)}
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown setting {name!r}")
            kind = type(getattr(self, name))
            if kind is bool and not isinstance(value, bool):
                raise ValueError(f"setting {name!r} takes true or false")
            if name in CHOICES and value not in CHOICES[name]:
                raise ValueError(f"setting {name!r} takes one of {', '.join(CHOICES[name])}")
            setattr(self, name, kind(value))

    def as_dict(self) -> dict[str, Any]:
        """Every setting by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
