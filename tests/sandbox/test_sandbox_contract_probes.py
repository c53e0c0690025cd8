"""The contract probes (tests/contract/probes.py) against the sandbox store, under each setting.

The probes run against a real store only on request; here they run in CI against the sandbox,
whose switches encode the same assumptions, and must report each switch as it is set. A probe
that reported "inclusive" whatever the store did would fail here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bcevents.bigcommerce import endpoints
from bcevents.bigcommerce.client import BigCommerceClient, StoreAuth
from bcsandbox import SandboxServer, SandboxStore
from tests.contract.probes import Finding, StoreProbe

ACCOUNTS = ("api", "legacy")


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    """One seeded store for the module: each test sets the switches it probes."""
    store = SandboxStore()
    store.seed(orders=6, products=4, customers=4)
    # Records sharing a second, one archived order, one Incomplete order.
    store.create_orders(3)
    store.create_products(3)
    store.create_customers(3)
    store.archive_order(store.create_order()["id"])
    store.create_order(status_id=0)
    with SandboxServer(store) as running:
        yield running


@pytest.fixture
def store(server: SandboxServer) -> Iterator[SandboxStore]:
    saved = server.store.settings.as_dict()
    yield server.store
    server.store.settings.update(saved)


def probe_for(server: SandboxServer, account: str) -> StoreProbe:
    store = server.store
    if account == "api":
        auth, url = StoreAuth(access_token=store.access_token), f"{server.url}/stores/{store.store_hash}"
    else:
        auth, url = StoreAuth(username=store.username, password=store.password), f"{server.url}/api/v2"
    return StoreProbe(BigCommerceClient(auth), endpoints.store_base_urls(url))


@pytest.fixture(params=ACCOUNTS)
def probe(request: pytest.FixtureRequest, server: SandboxServer, setenv: object) -> Iterator[StoreProbe]:
    setenv(ALLOW_PRIVATE_NETWORKS="true")  # type: ignore[operator]
    made = probe_for(server, request.param)
    yield made
    made.client.close()


def holds(findings: list[Finding]) -> list[bool | None]:
    return [f.holds for f in findings]


@pytest.mark.parametrize("inclusive", [True, False])
def test_the_date_bounds_probe_reports_the_stores_inclusivity(
    probe: StoreProbe, store: SandboxStore, inclusive: bool
) -> None:
    store.settings.date_bounds_inclusive = inclusive

    for resource in probe.resources():
        findings = probe.date_bounds(resource)
        assert holds(findings) == [inclusive, inclusive], [str(f) for f in findings]
        word = "inclusive" if inclusive else "exclusive"
        assert all(str(f).split(": ", 1)[1].startswith(word) for f in findings)


@pytest.mark.parametrize("listed", [True, False])
def test_the_archived_orders_probe_reports_the_default_listing(
    probe: StoreProbe, store: SandboxStore, listed: bool
) -> None:
    store.settings.include_archived_orders = listed

    assert probe.archived_orders_listed().holds is listed


@pytest.mark.parametrize("listed", [True, False])
def test_the_incomplete_orders_probe_reports_the_default_listing(
    probe: StoreProbe, store: SandboxStore, listed: bool
) -> None:
    store.settings.include_incomplete_orders = listed

    assert probe.incomplete_orders_listed().holds is listed


def test_the_fixed_behaviours_are_reported_as_the_sandbox_has_them(
    probe: StoreProbe, store: SandboxStore
) -> None:
    """Sorted ascending with ties by id, v2 lists in id order, inclusive min_id, a cursor on v3
    customers, 204 on an empty v2 list, rate-limit headers: the sandbox has no switch for these."""
    findings = [probe.min_id_inclusive(), probe.empty_v2_list(), probe.rate_limit_headers()]
    for resource in probe.resources():
        plan = probe.plan(resource)
        if plan.sort:
            findings += probe.sorted_by_date(resource)
        if plan.version == 2:
            findings.append(probe.default_v2_order(resource))
    if probe.base.v3_root is not None:
        findings += probe.customers_cursor()

    assert all(holds(findings)), [str(f) for f in findings if not f.holds]


class SandboxWriter:
    """The write probes' orders, made and archived in the sandbox (it serves reads only over HTTP)."""

    def __init__(self, store: SandboxStore) -> None:
        self.store = store
        self.archived: list[int] = []

    def create_order(self) -> int:
        return int(self.store.create_order()["id"])

    def archive_order(self, order_id: int) -> None:
        self.store.archive_order(order_id)
        self.archived.append(order_id)


@pytest.mark.parametrize("listed", [True, False])
def test_the_archive_probe_sees_the_bump_and_the_listing(
    probe: StoreProbe, store: SandboxStore, listed: bool
) -> None:
    store.settings.include_archived_orders = listed

    bumped, archived = probe.archive_bumps_date_modified(SandboxWriter(store), store.advance)

    assert bumped.holds is True, str(bumped)
    assert archived.holds is listed, str(archived)


def test_the_tie_probe_finds_orders_created_in_one_second_and_archives_them(
    probe: StoreProbe, store: SandboxStore
) -> None:
    writer = SandboxWriter(store)
    store.clock.freeze()
    try:
        finding = probe.created_ties(writer)
    finally:
        store.clock.unfreeze()

    assert finding.holds is True, str(finding)
    assert len(writer.archived) == 2
    assert all(store.get("orders", i).data["is_deleted"] for i in writer.archived)
