"""The contract suite's store, its opt-in switches, and the summary of what it found.

The suite runs only when ``BIGCOMMERCE_CONTRACT_STORE_URL`` and credentials are set (see
``ContractStore.from_environment``); it then reaches that store over the network, which every
other test is refused.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from bcevents.bigcommerce import endpoints
from bcevents.bigcommerce.client import BigCommerceClient
from tests.contract.probes import ContractStore, Finding, HttpOrderWriter, StoreProbe

FINDINGS = pytest.StashKey[list[Finding]]()
# Taken when this file is imported, before any test's loopback guard replaces it.
_REAL_CONNECT = socket.socket.connect


@pytest.fixture(scope="session")
def contract_store() -> ContractStore:
    configured = ContractStore.from_environment()
    if isinstance(configured, str):
        pytest.skip(configured)
    return configured


@pytest.fixture(autouse=True)
def _store_network(_isolated: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real store is beyond loopback: lift the guard, only when a store is configured."""
    if not isinstance(ContractStore.from_environment(), str):
        monkeypatch.setattr(socket.socket, "connect", _REAL_CONNECT)


@pytest.fixture(scope="session")
def probe(contract_store: ContractStore) -> Iterator[StoreProbe]:
    client = BigCommerceClient(contract_store.auth)
    try:
        yield StoreProbe(client, endpoints.store_base_urls(contract_store.url))
    finally:
        client.close()


@pytest.fixture(scope="session")
def writer(contract_store: ContractStore, probe: StoreProbe) -> Iterator[HttpOrderWriter]:
    if not contract_store.write:
        pytest.skip("writes to the store are opt-in: BIGCOMMERCE_CONTRACT_WRITE=1")
    writing = HttpOrderWriter(contract_store.auth, probe.base)
    try:
        yield writing
    finally:
        writing.close()


@pytest.fixture
def found(request: pytest.FixtureRequest) -> list[Finding]:
    """Where a test puts its findings: printed as it goes, summarised at the end of the session."""
    return request.config.stash.setdefault(FINDINGS, [])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    findings = terminalreporter.config.stash.get(FINDINGS, [])
    if findings:
        terminalreporter.section("what the BigCommerce store did (contract probes)")
        terminalreporter.line("(as assumed: as the sandbox store's default settings assume)")
        for finding in findings:
            mark = {True: "as assumed", False: "OTHERWISE", None: "undecided"}[finding.holds]
            terminalreporter.line(f"[{mark:>10}] {finding}")
