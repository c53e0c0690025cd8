"""A sandbox BigCommerce store: a small, real HTTP server that stands in for BigCommerce.

Used by the integration tests, the local stack and the benchmarks. Its responses agree with the
official OpenAPI specs in `shared/bigcommerce-openapi/`; where BigCommerce's behaviour is
undocumented the choice is a `StoreSettings` switch.

    store = SandboxStore()
    store.seed()
    with SandboxServer(store) as server:
        requests.get(f"{server.url}/stores/{store.store_hash}/v2/orders",
                     headers={"X-Auth-Token": store.access_token})
"""

from bcsandbox.faults import KINDS as FAULT_KINDS
from bcsandbox.faults import Fault
from bcsandbox.requestlog import RequestRecord
from bcsandbox.server import SandboxServer
from bcsandbox.settings import StoreSettings
from bcsandbox.store import RecordNotFound, SandboxStore

__all__ = [
    "FAULT_KINDS",
    "Fault",
    "RecordNotFound",
    "RequestRecord",
    "SandboxServer",
    "SandboxStore",
    "StoreSettings",
]
