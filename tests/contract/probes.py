"""Probes of what the poller assumes about BigCommerce, for a real store or the sandbox store.

Each probe asks the store as the poller does (the product's client and credentials, its plans,
its URL building) and returns findings: one line per assumption saying what the store did, and
whether that agrees with the sandbox store's default (``holds``; None when the store's data cannot
decide it). Probes report; the tests decide what must hold.

Read-only probes work on any store with some data. Probes that write (an order created to share a
second, an order archived) take an ``OrderWriter`` and are opt-in on a real store.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any, Protocol

import requests

from bcevents.bigcommerce import endpoints, planner
from bcevents.bigcommerce.client import USER_AGENT, BigCommerceClient, StoreAuth
from bcevents.compat.classify import read_date
from bcevents.compat.javadate import RFC2822, compile_pattern
from bcevents.egress import guarded_session
from bcevents.polling.strategies import end_cursor
from bcevents.settings import get_settings

#: The widest page the poller asks for; probes read pages this size.
LIMIT = 250
#: How many sorted pages the tie probe reads at most (a real store's quota is shared).
TIE_PAGES = 4
URL_VARIABLE = "BIGCOMMERCE_CONTRACT_STORE_URL"
RATE_HEADERS = ("X-Rate-Limit-Requests-Left", "X-Rate-Limit-Time-Reset-Ms")

Record = dict[str, Any]


@dataclass(frozen=True)
class Finding:
    """What the store did about one assumption."""

    assumption: str
    observed: str
    #: True: as the sandbox's default assumes; False: the other way; None: undecided.
    holds: bool | None

    def __str__(self) -> str:
        return f"{self.assumption}: {self.observed}"


class OrderWriter(Protocol):
    """Creates and archives orders for the write probes (a real store over HTTP, or the sandbox)."""

    def create_order(self) -> int:
        """A new order's id."""
        ...

    def archive_order(self, order_id: int) -> None:
        """Archive an order (``DELETE /v2/orders/{id}``)."""
        ...


class StoreProbe:
    """Asks one store the questions the poller's correctness rests on."""

    def __init__(self, client: BigCommerceClient, base: endpoints.StoreBase) -> None:
        self.client = client
        self.base = base

    # -- asking --------------------------------------------------------------------------------
    def resources(self) -> list[str]:
        """The hub resources this account kind polls (orders, products, customers)."""
        return list(endpoints.HUB[self.base.kind])

    def plan(self, resource: str) -> planner.ResourcePlan:
        """The poller's plan for a hub resource (its endpoint, date keys, sort, encoding)."""
        return planner.plan_request(f"/hubs/ecommerce/{resource}", self.base.kind)

    def label(self, resource: str) -> str:
        """``v2 orders``, ``v3 customers``..."""
        return f"v{self.plan(resource).version} {resource}"

    def ask(self, resource: str, params: list[tuple[str, str]]) -> tuple[list[Record], dict[str, Any]]:
        """One page of a resource's listing, built as the poller builds it: records and meta."""
        url = planner.build_url(self.base, self.plan(resource), params)
        body, _ = self.client.get_json(url)
        if body is None:
            return [], {}
        if isinstance(body, list):
            return body, {}
        return list(body.get("data") or []), dict(body.get("meta") or {})

    def order(self, order_id: int) -> Record:
        """``GET /v2/orders/{id}``."""
        body, _ = self.client.get_json(f"{self.base.v2_root}/orders/{order_id}")
        return dict(body or {})

    def encode(self, resource: str, when: datetime) -> str:
        """A date filter value in the endpoint's encoding (RFC 2822 on v2, ISO 8601 ``Z`` on v3)."""
        utc = when.astimezone(UTC)
        if self.plan(resource).date_encoding is endpoints.DateEncoding.RFC2822:
            return compile_pattern(RFC2822).format(utc)
        return utc.replace(microsecond=0, tzinfo=None).isoformat() + "Z"

    # -- read-only probes ----------------------------------------------------------------------
    def date_bounds(self, resource: str) -> list[Finding]:
        """Whether the lower and the upper date bound each admit a record dated exactly on it."""
        plan = self.plan(resource)
        lower, upper = plan.since_key or "", plan.until_key or ""
        names = [f"date bounds ({self.label(resource)} {key})" for key in (lower, upper)]
        records, _ = self.ask(resource, [("limit", "50")])
        dated = [(r, modified(r)) for r in records]
        found = next(((r, d) for r, d in dated if d is not None), None)
        if found is None:
            return [Finding(name, f"undecided: no {resource} on the store", None) for name in names]
        record, when = found
        minute = timedelta(seconds=60)
        windows = ((when, when + minute), (when - minute, when))
        findings = []
        for name, (since, until) in zip(names, windows, strict=True):
            params = [(lower, self.encode(resource, since)), (upper, self.encode(resource, until))]
            page, _ = self.ask(resource, [*params, ("limit", str(LIMIT))])
            admitted = any(same_record(r, record) for r in page)
            if admitted:
                findings.append(Finding(name, "inclusive", True))
            elif len(page) < LIMIT:
                findings.append(
                    Finding(name, f"exclusive (record {record.get('id')} at {when:%H:%M:%S})", False)
                )
            else:
                findings.append(Finding(name, "undecided: a full page around the bound", None))
        return findings

    def archived_orders_listed(self) -> Finding:
        """Whether an archived order (``is_deleted``) is in the default ``GET /v2/orders``."""
        name = "archived orders (v2 orders default listing)"
        page, _ = self.ask("orders", [("is_deleted", "true"), ("limit", str(LIMIT))])
        archived = [r for r in page if r.get("is_deleted") is True]
        if not archived:
            return Finding(
                name, "undecided: no archived order found (BIGCOMMERCE_CONTRACT_WRITE=1 archives one)", None
            )
        return self._order_listed(name, int(archived[0]["id"]), "archived")

    def incomplete_orders_listed(self) -> Finding:
        """Whether an Incomplete order (``status_id`` 0) is in the default ``GET /v2/orders``."""
        name = "incomplete orders (v2 orders default listing)"
        page, _ = self.ask("orders", [("status_id", "0"), ("limit", str(LIMIT))])
        incomplete = [r for r in page if r.get("status_id") == 0]
        if not incomplete:
            return Finding(name, "undecided: no order with status_id 0 on the store", None)
        return self._order_listed(name, int(incomplete[0]["id"]), "incomplete")

    def _order_listed(self, name: str, order_id: int, what: str) -> Finding:
        page, _ = self.ask("orders", [("min_id", str(order_id)), ("max_id", str(order_id))])
        if any(r.get("id") == order_id for r in page):
            return Finding(name, f"listed (the {what} order {order_id} came back)", True)
        return Finding(name, f"not listed (the {what} order {order_id} did not come back)", False)

    def sorted_by_date(self, resource: str) -> list[Finding]:
        """The poller's ``date_modified`` ascending sort: is it ascending, and are ties by id?"""
        plan = self.plan(resource)
        sort = "&".join(f"{k}={v}" for k, v in plan.sort)
        records = list(self._sorted_pages(resource))
        dates = [modified(r) for r in records]
        known = [d for d in dates if d is not None]
        order = f"sort ({self.label(resource)} {sort})"
        ties = f"ties of {sort} ({self.label(resource)})"
        if len(known) < 2:
            undecided = f"undecided: {len(known)} dated {resource}"
            return [Finding(order, undecided, None), Finding(ties, undecided, None)]
        backwards = [(a, b) for a, b in pairwise(known) if b < a]
        if backwards:
            a, b = backwards[0]
            ascending = Finding(order, f"not ascending ({a:%Y-%m-%d %H:%M:%S} before {b:%H:%M:%S})", False)
        else:
            ascending = Finding(order, f"ascending over {len(records)} {resource}", True)
        groups = [g for g in same_second_groups(records) if len(g) > 1]
        if not groups:
            tie = Finding(
                ties, f"undecided: no two of the first {len(records)} {resource} share a second", None
            )
        else:
            unsorted = [ids for ids in ([record_id(r) for r in g] for g in groups) if ids != sorted(ids)]
            if unsorted:
                tie = Finding(ties, f"not by id (ids {unsorted[0]} share a second)", False)
            else:
                tie = Finding(ties, f"by id ascending ({len(groups)} seconds shared by 2+ {resource})", True)
        return [ascending, tie]

    def _sorted_pages(self, resource: str) -> Iterator[Record]:
        plan = self.plan(resource)
        for page in range(1, TIE_PAGES + 1):
            records, _ = self.ask(resource, [*plan.sort, ("limit", str(LIMIT)), ("page", str(page))])
            yield from records
            if len(records) < LIMIT:
                return

    def default_v2_order(self, resource: str) -> Finding:
        """Whether a v2 listing without ``sort`` is in ascending id order (id keysets rely on it)."""
        name = f"default order ({self.label(resource)}, no sort)"
        records, _ = self.ask(resource, [("limit", str(LIMIT))])
        ids = [record_id(r) for r in records]
        if len(ids) < 2:
            return Finding(name, f"undecided: {len(ids)} {resource}", None)
        if ids == sorted(ids):
            return Finding(name, f"id ascending ({len(ids)} {resource})", True)
        return Finding(name, f"not id ascending (first ids {ids[:5]})", False)

    def min_id_inclusive(self) -> Finding:
        """Whether ``min_id=N`` lists order N itself (the poller's id keyset asks for ``last + 1``)."""
        name = "min_id (v2 orders)"
        records, _ = self.ask("orders", [("limit", "2")])
        if not records:
            return Finding(name, "undecided: no orders", None)
        wanted = int(records[-1]["id"])
        page, _ = self.ask("orders", [("min_id", str(wanted)), ("limit", "1")])
        if page and page[0].get("id") == wanted:
            return Finding(name, "inclusive", True)
        return Finding(
            name, f"exclusive (min_id={wanted} began at {page[0].get('id') if page else 'nothing'})", False
        )

    def customers_cursor(self) -> list[Finding]:
        """``/v3/customers`` in its default order (what the same-second drain asks for): a cursor on
        the first page; ``after=`` moving on."""
        name = "cursor pagination (v3 customers, default order, first page)"
        follow = "after= (v3 customers, default order)"
        first, meta = self.ask("customers", [("limit", "1")])
        if not first:
            return [Finding(name, "undecided: no customers", None)]
        cursor = end_cursor(meta)
        if cursor is None:
            return [Finding(name, "absent (no meta.cursor_pagination.end_cursor)", False)]
        present = Finding(name, "present", True)
        second, meta2 = self.ask("customers", [("limit", "1"), ("after", cursor)])
        if not second:
            return [present, Finding(follow, "undecided: an empty page (one customer only)", None)]
        if second[0].get("id") == first[0].get("id"):
            return [present, Finding(follow, "repeats the first page", False)]
        shape = "with" if "cursor_pagination" in meta2 else "without"
        return [present, Finding(follow, f"moves on to the next customer ({shape} cursor_pagination)", True)]

    def empty_v2_list(self) -> Finding:
        """What an empty v2 list answers: BigCommerce is reported to send 204 without a body."""
        name = "empty v2 list (v2 orders, min_date_modified a year ahead)"
        ahead = self.client.store_time(self.base.v2_root) + timedelta(days=366)
        plan = self.plan("orders")
        url = planner.build_url(self.base, plan, [(plan.since_key or "", self.encode("orders", ahead))])
        body, response = self.client.get_json(url)
        if response.status_code == 204 and not response.content:
            return Finding(name, "204 without a body", True)
        return Finding(name, f"{response.status_code} with {body!r}", False)

    def rate_limit_headers(self) -> Finding:
        """Whether answers carry the quota headers the client paces itself by."""
        name = f"rate-limit headers ({self.base.kind.value} account, GET /v2/time)"
        _, response = self.client.get_json(f"{self.base.v2_root}/time")
        present = [h for h in RATE_HEADERS if h in response.headers]
        if len(present) == len(RATE_HEADERS):
            return Finding(name, "present", True)
        return Finding(name, f"absent ({', '.join(sorted(set(RATE_HEADERS) - set(present)))})", False)

    # -- write probes (opt-in on a real store) -------------------------------------------------
    def archive_bumps_date_modified(
        self, writer: OrderWriter, wait: Callable[[float], None]
    ) -> list[Finding]:
        """Archive a new order a second or more after creating it: does its ``date_modified`` move,
        and is it in the default listing afterwards?"""
        name = "archiving bumps date_modified (v2 orders)"
        order_id = writer.create_order()
        try:
            before = modified(self.order(order_id))
            wait(1.5)
        finally:
            writer.archive_order(order_id)  # the probe itself, and its cleanup
        after = modified(self.order(order_id))
        listed = self._order_listed("archived orders (v2 orders default listing)", order_id, "archived")
        if before is None or after is None:
            return [Finding(name, "undecided: the order's date_modified is unreadable", None), listed]
        if after > before:
            return [Finding(name, f"bumps it ({before:%H:%M:%S} -> {after:%H:%M:%S})", True), listed]
        return [Finding(name, f"leaves it ({before:%H:%M:%S})", False), listed]

    def created_ties(self, writer: OrderWriter, attempts: int = 5) -> Finding:
        """Create orders until two share a second, then list that second sorted by date: by id?"""
        name = "ties of sort=date_modified:asc (v2 orders, orders created in one second)"
        created: list[int] = []
        try:
            for _ in range(attempts):
                pair = [writer.create_order(), writer.create_order()]
                created += pair
                dates = [modified(self.order(i)) for i in pair]
                if dates[0] is not None and dates[0] == dates[1]:
                    return self._tie_at(name, dates[0], pair)
            return Finding(name, f"undecided: no two of {len(created)} new orders shared a second", None)
        finally:
            for order_id in created:
                writer.archive_order(order_id)

    def _tie_at(self, name: str, second: datetime, pair: list[int]) -> Finding:
        plan = self.plan("orders")
        one = timedelta(seconds=1)
        params = [
            (plan.since_key or "", self.encode("orders", second - one)),
            (plan.until_key or "", self.encode("orders", second + one)),
            *plan.sort,
            ("limit", str(LIMIT)),
        ]
        page, _ = self.ask("orders", params)
        ids = [record_id(r) for r in page if modified(r) == second]
        if not set(pair) <= set(ids):
            return Finding(name, f"undecided: orders {pair} not both listed in their second", None)
        if ids == sorted(ids):
            return Finding(name, f"by id ascending (ids {ids})", True)
        return Finding(name, f"not by id (ids {ids})", False)


class HttpOrderWriter:
    """Orders created and archived on a real store, with the client's credentials and egress guard."""

    def __init__(self, auth: StoreAuth, base: endpoints.StoreBase) -> None:
        self.base = base
        allow_private = get_settings().allow_private_networks
        self.session = guarded_session(
            allow_private=allow_private, user_agent=USER_AGENT, timeout=(5.0, 30.0)
        )
        self.session.headers["Accept"] = "application/json"
        auth.apply(self.session)

    def create_order(self) -> int:
        """A guest order of one custom product (no catalog product, so no stock moves)."""
        response = self.session.post(f"{self.base.v2_root}/orders", json=PROBE_ORDER)
        _raise_for(response)
        return int(response.json()["id"])

    def archive_order(self, order_id: int) -> None:
        """``DELETE /v2/orders/{id}`` archives (BigCommerce no longer deletes orders)."""
        _raise_for(self.session.delete(f"{self.base.v2_root}/orders/{order_id}"))

    def close(self) -> None:
        """Release pooled connections."""
        self.session.close()


PROBE_ORDER: dict[str, Any] = {
    "status_id": 1,
    "customer_id": 0,
    "staff_notes": "bigcommerce-events contract probe; archived by the probe",
    "billing_address": {
        "first_name": "Contract",
        "last_name": "Probe",
        "street_1": "1 Probe Street",
        "city": "Austin",
        "state": "Texas",
        "zip": "78751",
        "country": "United States",
        "country_iso2": "US",
        "email": "contract-probe@example.com",
    },
    "products": [{"name": "Contract probe", "quantity": 1, "price_inc_tax": 1, "price_ex_tax": 1}],
}


def _raise_for(response: requests.Response) -> None:
    if response.status_code >= 300:
        raise AssertionError(f"the store refused a probe write: {response.status_code} {response.text[:300]}")


def modified(record: Record) -> datetime | None:
    """A record's ``date_modified`` (RFC 2822 on v2, ISO 8601 on v3), read as the poller reads it."""
    return read_date(record, "date_modified", None, "UTC")


def record_id(record: Record) -> int:
    """A record's id as a number (-1 when it has none, which sorts it first)."""
    value = record.get("id")
    return value if isinstance(value, int) else -1


def same_record(a: Record, b: Record) -> bool:
    """The same record (by id)."""
    return a.get("id") is not None and a.get("id") == b.get("id")


def same_second_groups(records: list[Record]) -> list[list[Record]]:
    """Consecutive records sharing a ``date_modified`` second."""
    groups: list[list[Record]] = []
    last: datetime | None = None
    for record in records:
        when = modified(record)
        if groups and when is not None and when == last:
            groups[-1].append(record)
        else:
            groups.append([record])
        last = when
    return groups


@dataclass(frozen=True)
class ContractStore:
    """A real store to probe: its URL, credentials, and whether probes may write to it."""

    url: str
    auth: StoreAuth
    write: bool

    @classmethod
    def from_environment(cls) -> ContractStore | str:
        """The configured store, or why the suite is skipped."""
        env = os.environ
        url = env.get(URL_VARIABLE, "").strip()
        if not url:
            return f"{URL_VARIABLE} is not set (a real store's API path and credentials run this suite)"
        token = env.get("BIGCOMMERCE_CONTRACT_ACCESS_TOKEN", "")
        username, api_key = (
            env.get("BIGCOMMERCE_CONTRACT_USERNAME", ""),
            env.get("BIGCOMMERCE_CONTRACT_API_KEY", ""),
        )
        if token:
            auth = StoreAuth(access_token=token)
        elif username and api_key:
            auth = StoreAuth(username=username, password=api_key)
        else:
            return (
                f"{URL_VARIABLE} is set but no credentials: set BIGCOMMERCE_CONTRACT_ACCESS_TOKEN "
                "(API account) or BIGCOMMERCE_CONTRACT_USERNAME and BIGCOMMERCE_CONTRACT_API_KEY (legacy)"
            )
        return cls(url, auth, env.get("BIGCOMMERCE_CONTRACT_WRITE", "") == "1")
