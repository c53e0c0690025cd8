"""What the poller assumes about BigCommerce, asked of a real store.

Skipped unless BIGCOMMERCE_CONTRACT_STORE_URL and credentials are set (tests/contract/conftest.py);
writes are opt-in with BIGCOMMERCE_CONTRACT_WRITE=1. Each test prints what the store did. Where
the poller copes either way the test only reports; where its correctness rests on the answer, the
test fails naming what the poller would then get wrong. docs/reliability.md ("What the poller
assumes about BigCommerce") lists each assumption with this probe.
"""

from __future__ import annotations

import time

import pytest

from bcevents.compat.configuration import AccountKind
from tests.contract.probes import ContractStore, Finding, HttpOrderWriter, StoreProbe

_CONFIGURED = ContractStore.from_environment()
if isinstance(_CONFIGURED, str):
    pytest.skip(_CONFIGURED, allow_module_level=True)


def report(found: list[Finding], *findings: Finding) -> None:
    for finding in findings:
        print(finding)  # the suite's job is to say what the store did
        found.append(finding)


def test_date_bounds_inclusive_or_not(probe: StoreProbe, found: list[Finding]) -> None:
    """Reported only: the poller widens each bound by a second and filters locally."""
    for resource in probe.resources():
        report(found, *probe.date_bounds(resource))


def test_archived_orders_in_the_default_listing(probe: StoreProbe, found: list[Finding]) -> None:
    """Reported only: if they are not listed, an archive is never reported as DELETED."""
    report(found, probe.archived_orders_listed())


def test_incomplete_orders_in_the_default_listing(probe: StoreProbe, found: list[Finding]) -> None:
    """Reported only: status 0 orders produce events only if the default listing has them."""
    report(found, probe.incomplete_orders_listed())


def test_date_sort_ascending_and_its_ties(probe: StoreProbe, found: list[Finding]) -> None:
    """Ties are reported only (``seen`` dedupes; a full same-second page is drained by id). The
    sort itself must ascend: the date keyset moves its lower bound to the last date of a page."""
    for resource in probe.resources():
        if not probe.plan(resource).sort:
            continue  # v2 products and customers document no sort: paged by id instead
        ascending, ties = probe.sorted_by_date(resource)
        report(found, ascending, ties)
        assert ascending.holds is not False, (
            f"{ascending}: the poller's date keyset would skip every {resource} dated before a "
            "page's last date but listed after it"
        )


def test_v2_lists_default_to_id_order(probe: StoreProbe, found: list[Finding]) -> None:
    """Same-second drains of v2 orders and passes over v2 products and customers page by
    ``min_id`` after the largest id of a page: that is only complete in ascending id order."""
    resources = [r for r in probe.resources() if probe.plan(r).version == 2]
    for resource in resources:
        finding = probe.default_v2_order(resource)
        report(found, finding)
        assert finding.holds is not False, (
            f"{finding}: the poller's id keyset (min_id after a page's largest id) would skip the "
            f"{resource} listed after it with smaller ids"
        )


def test_min_id_is_inclusive(probe: StoreProbe, found: list[Finding]) -> None:
    finding = probe.min_id_inclusive()
    report(found, finding)
    assert finding.holds is not False, (
        f"{finding}: the poller asks for min_id = last id + 1, so an exclusive bound skips one "
        "record at every page of a same-second drain or a v2 products/customers pass"
    )


def test_v3_customers_cursor_pagination(probe: StoreProbe, found: list[Finding]) -> None:
    """The same-second drain of v3 customers follows ``end_cursor`` with ``after=``. Without a
    cursor it falls back to page numbers (a customer changing mid-drain can hide another: reported
    only); an ``after=`` that does not move on would re-read one page until the run's time is up."""
    if probe.base.kind is not AccountKind.API:
        report(
            found,
            Finding("cursor pagination (v3 customers)", "not probed: legacy accounts reach only v2", None),
        )
        return
    findings = probe.customers_cursor()
    report(found, *findings)
    follow = findings[1:]
    assert not follow or follow[0].holds is not False, (
        f"{follow[0]}: a same-second drain of customers would read one page until its run ends"
    )


def test_an_empty_v2_list(probe: StoreProbe, found: list[Finding]) -> None:
    """Reported: the client reads both 204 without a body and 200 ``[]`` as an empty page (any
    other answer raises before this line)."""
    report(found, probe.empty_v2_list())


def test_rate_limit_headers(probe: StoreProbe, found: list[Finding]) -> None:
    """Reported only: without them the client paces itself only on 429s (5 s when a 429 has none)."""
    report(found, probe.rate_limit_headers())


def test_archiving_an_order(probe: StoreProbe, writer: HttpOrderWriter, found: list[Finding]) -> None:
    """Writes (opt-in): creates an order and archives it. Reported only: if the archive leaves
    ``date_modified`` alone, a date poller never sees it."""
    report(found, *probe.archive_bumps_date_modified(writer, time.sleep))


def test_orders_created_in_one_second(
    probe: StoreProbe, writer: HttpOrderWriter, found: list[Finding]
) -> None:
    """Writes (opt-in): creates orders until two share a second (then archives them all)."""
    report(found, probe.created_ties(writer))
