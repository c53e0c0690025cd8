"""The sandbox store: thread-safe in-memory orders, products and customers, with its own clock.

Everything a test or the admin interface changes goes through here; the HTTP layer reads
listings and records requests. The records themselves live in `tables.Tables`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bcsandbox import records as rec
from bcsandbox.clock import StoreClock
from bcsandbox.faults import Fault, FaultQueue
from bcsandbox.oauth import OAuthApps
from bcsandbox.query import Page, Selection
from bcsandbox.ratelimit import RateLimiter
from bcsandbox.records import Record
from bcsandbox.requestlog import RequestHook, RequestLog, RequestRecord
from bcsandbox.settings import StoreSettings
from bcsandbox.tables import RecordNotFound, Tables
from bcsandbox.views import customer_v3, order_v2, product_v3

__all__ = ["RecordNotFound", "SandboxStore"]


class SandboxStore:
    """A BigCommerce store in memory: credentials, records, clock, quota, faults, request log."""

    def __init__(
        self,
        *,
        store_hash: str = "sandbox",
        access_token: str = "sandbox-access-token",  # noqa: S107 - a loopback test double's well-known key
        username: str = "sandbox",
        password: str = "sandbox-api-token",  # noqa: S107
        name: str = "Sandbox Store",
        admin_email: str = "owner@example.com",
        settings: StoreSettings | None = None,
    ) -> None:
        self.store_hash = store_hash
        self.access_token = access_token
        self.username = username
        self.password = password
        self.name = name
        self.admin_email = admin_email
        self.settings = settings or StoreSettings()
        self.clock = StoreClock()
        self.rate_limiter = RateLimiter()
        self.faults = FaultQueue()
        self.oauth = OAuthApps()
        self._lock = threading.RLock()
        self._tokens: set[str] = set()
        self.tables = Tables(self.clock)
        self.log = RequestLog(self.settings.request_log_size)

    # --- clock -------------------------------------------------------------------------------
    def now(self) -> datetime:
        """The store's current time (UTC)."""
        return self.clock.now()

    def set_clock(self, when: datetime, *, frozen: bool = True) -> None:
        """Set the store clock; frozen by default so records made next share one second."""
        self.clock.set(when, frozen=frozen)

    def advance(self, seconds: float) -> None:
        """Move the store clock by `seconds` (negative jumps backwards)."""
        self.clock.advance(seconds)

    # --- credentials -------------------------------------------------------------------------
    def add_access_token(self, token: str) -> None:
        """Accept another API-account token (OAuth exchanges add theirs here)."""
        with self._lock:
            self._tokens.add(token)

    def token_valid(self, token: str) -> bool:
        """Whether `X-Auth-Token` names an API account of this store."""
        with self._lock:
            return token == self.access_token or token in self._tokens

    def register_oauth_app(self, client_id: str, client_secret: str) -> None:
        """Register an app whose codes `POST /oauth2/token` will exchange."""
        self.oauth.register(client_id, client_secret)

    def issue_auth_code(
        self, client_id: str, scope: str = "store_v2_orders_read_only", redirect_uri: str | None = None
    ) -> str:
        """A one-time code for a registered app, as BigCommerce's auth callback would carry it."""
        return self.oauth.issue_code(client_id, scope, redirect_uri)

    # --- faults and hooks --------------------------------------------------------------------
    def inject_fault(self, path_prefix: str, kind: str, count: int = 1, **options: Any) -> Fault:
        """Make the next `count` requests under `path_prefix` fail as `kind` (see `faults.KINDS`)."""
        return self.faults.add(path_prefix, kind, count, **options)

    def on_request(self, callback: RequestHook) -> Callable[[], None]:
        """Call `callback` after each API response is computed and before it is sent.

        Running before the send makes "between pages" deterministic: the client cannot ask for
        the next page until the callback has changed the records. Returns an unsubscribe function.
        """
        return self.log.subscribe(callback)

    @property
    def requests(self) -> list[RequestRecord]:
        """Recent API requests, oldest first (at most `settings.request_log_size`)."""
        return self.log.entries()

    @property
    def request_count(self) -> int:
        """API requests served since the last reset, beyond the log's bound too."""
        return self.log.count

    def clear_requests(self) -> None:
        """Empty the request log and zero the count."""
        self.log.clear(self.settings.request_log_size)

    # --- records -----------------------------------------------------------------------------
    def create_order(self, **fields: Any) -> dict[str, Any]:
        """Create an order; `id`, `date_created`, `date_modified` may be set (imports can)."""
        return order_v2(self.tables.create("orders", self._order_data, fields), self.store_hash)

    def create_orders(
        self, count: int, *, start: Any = None, step_seconds: float = 0, **fields: Any
    ) -> list[int]:
        """Create many orders in O(count); all share the clock's second unless `start` spreads them."""
        return self.tables.create_many(
            "orders", self._order_data, count, fields, start=start, step_seconds=step_seconds
        )

    def update_order(self, order_id: int, **fields: Any) -> dict[str, Any]:
        """Change fields; `date_modified` moves to the store clock unless given."""
        return order_v2(self.tables.update("orders", order_id, fields), self.store_hash)

    def archive_order(self, order_id: int) -> dict[str, Any]:
        """Archive as `DELETE /v2/orders/{id}` does: `is_deleted` true, `date_modified` bumped.

        Whether archiving bumps `date_modified` is unconfirmed (research §2); bumping it is what
        lets a date-windowed poller see the archive at all (setting `archive_bumps_date_modified`).
        """
        if self.settings.archive_bumps_date_modified:
            return self.update_order(order_id, is_deleted=True)
        kept = self.tables.get("orders", order_id).modified
        return self.update_order(order_id, is_deleted=True, date_modified=kept)

    def create_product(self, **fields: Any) -> dict[str, Any]:
        """Create a catalog product (v3 field names)."""
        return product_v3(self.tables.create("products", rec.product_data, fields), self.store_hash)

    def create_products(
        self, count: int, *, start: Any = None, step_seconds: float = 0, **fields: Any
    ) -> list[int]:
        """Create many products in O(count)."""
        return self.tables.create_many(
            "products", rec.product_data, count, fields, start=start, step_seconds=step_seconds
        )

    def update_product(self, product_id: int, **fields: Any) -> dict[str, Any]:
        """Change fields; `date_modified` moves to the store clock unless given."""
        return product_v3(self.tables.update("products", product_id, fields), self.store_hash)

    def delete_product(self, product_id: int) -> None:
        """Remove a product: BigCommerce keeps no tombstone (research §3)."""
        self.tables.delete("products", product_id)

    def create_customer(self, **fields: Any) -> dict[str, Any]:
        """Create a customer (v3 field names)."""
        return customer_v3(self.tables.create("customers", rec.customer_data, fields), self.store_hash)

    def create_customers(
        self, count: int, *, start: Any = None, step_seconds: float = 0, **fields: Any
    ) -> list[int]:
        """Create many customers in O(count)."""
        return self.tables.create_many(
            "customers", rec.customer_data, count, fields, start=start, step_seconds=step_seconds
        )

    def update_customer(self, customer_id: int, **fields: Any) -> dict[str, Any]:
        """Change fields; `date_modified` moves to the store clock unless given."""
        return customer_v3(self.tables.update("customers", customer_id, fields), self.store_hash)

    def delete_customer(self, customer_id: int) -> None:
        """Remove a customer: deleted customers simply disappear (research §4)."""
        self.tables.delete("customers", customer_id)

    def _order_data(self, n: int) -> dict[str, Any]:
        return rec.order_data(n, self.store_hash)

    def seed(self, orders: int = 5, products: int = 5, customers: int = 5) -> None:
        """Deterministic, realistic records, one minute apart and ending at the store clock."""
        now = self.clock.seconds()
        for resource, count in (("customers", customers), ("products", products), ("orders", orders)):
            if count:
                getattr(self, f"create_{resource}")(count, start=now - 60 * (count - 1), step_seconds=60)

    def reset(self) -> None:
        """Forget records, faults, codes, hooks, extra tokens, the log and the quota; real clock."""
        self.tables.clear()
        with self._lock:
            self._tokens.clear()
        self.log.clear_hooks()
        self.faults.clear()
        self.oauth.clear_codes()
        self.rate_limiter.reset()
        self.clock.reset()
        self.clear_requests()

    # --- reads -------------------------------------------------------------------------------
    def get(self, resource: str, record_id: int) -> Record:
        """One record; `RecordNotFound` if absent."""
        return self.tables.get(resource, record_id)

    def count(self, resource: str) -> int:
        """How many records of a resource exist."""
        return self.tables.count(resource)

    def ids(self, resource: str) -> list[int]:
        """Every id of a resource, ascending."""
        return self.tables.ids(resource)

    def select(self, resource: str, selection: Selection) -> Page:
        """One page of a listing (see `query.select`)."""
        return self.tables.select(resource, selection)

    def matching(self, resource: str, selection: Selection) -> list[Record]:
        """Every record a selection's filters admit, ignoring paging."""
        return self.tables.matching(resource, selection)
