"""The store's changes during a load run: a record created, then updated a few minutes later, at a steady pace.

Orders, products and customers are created in turn over the sandbox store's admin API; every
change made is kept as a :class:`Change`, which every instance must deliver.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import requests

from bench.load.plan import Plan

RESOURCES = ("orders", "products", "customers")
#: Records are updated this many simulated minutes after their creation (so each change is its
#: own event: two changes of one record within a poll would be one event, its latest state).
UPDATE_AFTER_MINUTES = 3


@dataclass(frozen=True)
class Change:
    """One change made to the store: every instance must deliver it."""

    object_type: str
    event_type: str
    object_id: str
    at: float


_CREATE: dict[str, Any] = {
    "orders": lambda n: {"status_id": 11},
    "products": lambda n: {"name": f"Load product {n}", "price": 10.0 + n % 90},
    "customers": lambda n: {
        "first_name": "Load",
        "last_name": f"Customer {n}",
        "email": f"load{n}@example.com",
    },
}
_UPDATE: dict[str, Any] = {
    "orders": lambda n: {"status_id": 2},
    "products": lambda n: {"price": 5.0 + n % 50},
    "customers": lambda n: {"company": f"Company {n}"},
}


class Changer:
    """Changes the store at a steady pace: creates a record of each kind in turn, updates it later."""

    def __init__(self, sandbox: str, plan: Plan) -> None:
        self._admin = f"{sandbox}/__admin"
        self._http = requests.Session()
        self._plan = plan
        self._created: list[tuple[str, str, float]] = []  # (resource, id, at), oldest first
        self.changes: list[Change] = []
        self.errors: list[str] = []

    def run(self, until: float, stop: threading.Event) -> None:
        """Make one change every ``minute_seconds / changes_per_minute`` seconds until ``until``."""
        interval = self._plan.minute_seconds / self._plan.changes_per_minute
        due = time.time()
        n = 0
        while due < until and not stop.wait(max(0.0, due - time.time())):
            try:
                self.changes.append(self._change(n))
            except (requests.RequestException, ValueError, KeyError) as exc:
                self.errors.append(f"change {n}: {exc}")
            n += 1
            due += interval

    def _change(self, n: int) -> Change:
        ripe = time.time() - UPDATE_AFTER_MINUTES * self._plan.minute_seconds
        if n % 2 and self._created and self._created[0][2] <= ripe:
            resource, record_id, _ = self._created.pop(0)
            response = self._http.put(
                f"{self._admin}/{resource}/{record_id}", json=_UPDATE[resource](n), timeout=10
            )
            response.raise_for_status()
            return Change(resource, "UPDATED", record_id, time.time())
        resource = RESOURCES[(n // 2) % len(RESOURCES)]
        response = self._http.post(f"{self._admin}/{resource}", json=_CREATE[resource](n), timeout=10)
        response.raise_for_status()
        record_id = str(response.json()["id"])
        self._created.append((resource, record_id, time.time()))
        return Change(resource, "CREATED", record_id, time.time())
