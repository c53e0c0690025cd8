"""How the sandbox behaves where BigCommerce's documentation is silent; each is a store setting."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


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
            setattr(self, name, kind(value))

    def as_dict(self) -> dict[str, Any]:
        """Every setting by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
