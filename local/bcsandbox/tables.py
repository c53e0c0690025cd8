"""Thread-safe record storage: one dict per resource, keyed by id, with cached sort orders.

A listing's sort order is built once (O(n log n)) and kept until that resource next changes, so
paging through 50 000 orders does not re-sort per page; bulk creation invalidates it once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from bcsandbox.clock import StoreClock
from bcsandbox.dates import to_timestamp
from bcsandbox.query import Page, Selection, select, sort_key
from bcsandbox.records import Record, apply_order_fields

RESOURCES = ("orders", "products", "customers")
_SPECIAL = ("id", "date_created", "date_modified")

Maker = Callable[[int], dict[str, Any]]


class RecordNotFound(KeyError):
    """No record of that resource has that id."""


def _merge(resource: str, data: dict[str, Any], fields: dict[str, Any]) -> None:
    plain = {k: v for k, v in fields.items() if k not in _SPECIAL}
    if resource == "orders":
        apply_order_fields(data, plain)
    else:
        data.update(plain)


class Tables:
    """Orders, products and customers; record dates come from the store clock in whole seconds."""

    def __init__(self, clock: StoreClock) -> None:
        self._clock = clock
        self._lock = threading.RLock()
        self._data: dict[str, dict[int, Record]] = {r: {} for r in RESOURCES}
        self._next_id = dict.fromkeys(RESOURCES, 1)
        self._sorted: dict[tuple[str, str, str], list[Record]] = {}
        self._draws = 0  # "unstable" tie orders: one per request, reproducible from a reset

    def clear(self) -> None:
        """Forget every record; ids start at 1 again."""
        with self._lock:
            self._data = {r: {} for r in RESOURCES}
            self._next_id = dict.fromkeys(RESOURCES, 1)
            self._sorted.clear()
            self._draws = 0

    def _changed(self, resource: str) -> None:
        for key in [k for k in self._sorted if k[0] == resource]:
            del self._sorted[key]

    def _insert(
        self, resource: str, make: Maker, fields: dict[str, Any], default_created: int | None
    ) -> Record:
        record_id = int(fields.get("id", self._next_id[resource]))
        if record_id in self._data[resource]:
            raise ValueError(f"{resource} id {record_id} already exists")
        data = make(record_id - 1)
        _merge(resource, data, fields)
        if "date_created" in fields:
            created = to_timestamp(fields["date_created"])
        else:
            created = self._clock.seconds() if default_created is None else default_created
        modified = to_timestamp(fields["date_modified"]) if "date_modified" in fields else created
        record = Record(record_id, created, modified, data)
        self._data[resource][record_id] = record
        self._next_id[resource] = max(self._next_id[resource], record_id + 1)
        return record

    def create(self, resource: str, make: Maker, fields: dict[str, Any]) -> Record:
        """One record from `make(n)`'s realistic defaults, overridden by `fields`.

        `id`, `date_created` and `date_modified` may be given (historical imports set
        `date_created`); otherwise both dates are the store clock's current second.
        """
        with self._lock:
            record = self._insert(resource, make, fields, None)
            self._changed(resource)
            return record

    def create_many(
        self,
        resource: str,
        make: Maker,
        count: int,
        fields: dict[str, Any],
        *,
        start: Any,
        step_seconds: float,
    ) -> list[int]:
        """`count` records in O(count); dated `start + i * step_seconds` when `start` is given."""
        first = to_timestamp(start) if start is not None else None
        shared = {k: v for k, v in fields.items() if k != "id"}
        with self._lock:
            ids = [
                self._insert(
                    resource, make, shared, None if first is None else first + int(i * step_seconds)
                ).id
                for i in range(count)
            ]
            self._changed(resource)
        return ids

    def update(self, resource: str, record_id: int, fields: dict[str, Any]) -> Record:
        """Change fields; `date_modified` moves to the store clock unless given."""
        with self._lock:
            old = self.get(resource, record_id)
            data = dict(old.data)
            _merge(resource, data, fields)
            created = to_timestamp(fields["date_created"]) if "date_created" in fields else old.created
            if "date_modified" in fields:
                modified = to_timestamp(fields["date_modified"])
            else:
                modified = self._clock.seconds()
            record = Record(record_id, created, modified, data)
            self._data[resource][record_id] = record
            self._changed(resource)
            return record

    def delete(self, resource: str, record_id: int) -> None:
        """Remove a record outright."""
        with self._lock:
            self.get(resource, record_id)
            del self._data[resource][record_id]
            self._changed(resource)

    def get(self, resource: str, record_id: int) -> Record:
        """One record; `RecordNotFound` if absent."""
        with self._lock:
            try:
                return self._data[resource][record_id]
            except KeyError:
                raise RecordNotFound(f"{resource} {record_id}") from None

    def count(self, resource: str) -> int:
        """How many records of a resource exist."""
        with self._lock:
            return len(self._data[resource])

    def ids(self, resource: str) -> list[int]:
        """Every id of a resource, ascending."""
        with self._lock:
            return sorted(self._data[resource])

    def select(self, resource: str, selection: Selection) -> Page:
        """One page of a listing (see `query.select`)."""
        with self._lock:
            if selection.ties == "unstable" and selection.sort_field != "id":
                # A new order of ties for every request: sorted afresh, never cached.
                self._draws += 1
                selection.salt = self._draws
                key = sort_key(selection.sort_field, selection.ties, selection.salt)
                return select(sorted(self._data[resource].values(), key=key), selection)
            cache = (resource, selection.sort_field, selection.ties)
            ordered = self._sorted.get(cache)
            if ordered is None:
                key = sort_key(selection.sort_field, selection.ties)
                ordered = sorted(self._data[resource].values(), key=key)
                self._sorted[cache] = ordered
            return select(ordered, selection)

    def matching(self, resource: str, selection: Selection) -> list[Record]:
        """Every record a selection's filters admit, ignoring paging (for `/orders/count`)."""
        with self._lock:
            everything = Selection(
                sort_field=selection.sort_field,
                bounds=selection.bounds,
                predicates=selection.predicates,
                limit=max(1, len(self._data[resource])),
            )
            return self.select(resource, everything).records
