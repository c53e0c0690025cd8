"""(d) The Singer tap ``tap-bigcommerce``: its own ``main()``, orders stream only.

Pointed at the sandbox in this process: ``Bigcommerce.base_url`` (API-account paths under
``/stores/{hash}/``) and the sub-resource URLs the orders carry (``https://api.bigcommerce.com/...``,
fetched three per order). Its Singer messages go to a file, counted after the clock stops.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import _peer

API = "https://api.bigcommerce.com"


def main() -> None:
    args = _peer.arguments()
    from tap_bigcommerce import bigcommerce as tap_client
    from tap_bigcommerce import main as tap_main
    from tap_bigcommerce.discover import discover_streams

    tap_client.Bigcommerce.base_url = f"{args.base_url}/stores/"
    get = tap_client.Bigcommerce.get

    def local_get(self: Any, url: str, params: Any = None, resolve: bool = False) -> Any:
        return get(self, url.replace(API, args.base_url), params or {}, resolve)

    tap_client.Bigcommerce.get = local_get
    work = Path(args.workdir)
    config = work / "tap_config.json"
    config.write_text(
        json.dumps(
            {
                "start_date": args.since,
                "client_id": "bench",
                "access_token": args.access_token,
                "store_hash": args.store_hash,
            }
        )
    )
    catalog = discover_streams(None)
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if not entry["breadcrumb"]:
                entry["metadata"]["selected"] = stream["tap_stream_id"] == "orders"
    catalog_path = work / "tap_catalog.json"
    catalog_path.write_text(json.dumps(catalog))
    output = work / "tap_output.jsonl"

    def extract() -> Iterator[Any]:
        sys.argv = ["tap-bigcommerce", "--config", str(config), "--catalog", str(catalog_path)]
        with output.open("w") as sink:
            sys.stdout = sink
            try:
                tap_main()
            finally:
                sys.stdout = sys.__stdout__
        return iter(_ids(output))

    _peer.measure(extract, client=f"tap-bigcommerce {_peer.version('tap-bigcommerce')}")


def _ids(output: Path) -> list[Any]:
    ids: list[Any] = _peer.records_in(output, "singer")
    return ids


if __name__ == "__main__":
    main()
