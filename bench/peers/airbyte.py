"""(e) Airbyte's BigCommerce source (a declarative manifest on ``airbyte-cdk``), orders stream only.

Pointed at the sandbox in this process by rewriting the manifest's ``url_base`` in the parsed
source configuration. Its Airbyte messages go to a file, counted after the clock stops.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import _peer

URL_BASE = 'https://api.bigcommerce.com/stores/{{ config["store_hash"] }}/'


def _rewrite(node: Any, local: str) -> Any:
    if isinstance(node, dict):
        return {k: _rewrite(v, local) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite(v, local) for v in node]
    if isinstance(node, str) and node == URL_BASE:
        return local
    return node


def main() -> None:
    args = _peer.arguments()
    from airbyte_cdk.entrypoint import launch
    from source_bigcommerce import SourceBigcommerce

    source = SourceBigcommerce()
    local = f'{args.base_url}/stores/{{{{ config["store_hash"] }}}}/'
    source._source_config = _rewrite(source._source_config, local)
    work = Path(args.workdir)
    config = work / "airbyte_config.json"
    config.write_text(
        json.dumps(
            {"start_date": args.since[:10], "access_token": args.access_token, "store_hash": args.store_hash}
        )
    )
    catalog = work / "airbyte_catalog.json"
    catalog.write_text(
        json.dumps(
            {
                "streams": [
                    {
                        "stream": {
                            "name": "orders",
                            "json_schema": {},
                            "supported_sync_modes": ["full_refresh", "incremental"],
                        },
                        "sync_mode": "full_refresh",
                        "destination_sync_mode": "append",
                    }
                ]
            }
        )
    )
    output = work / "airbyte_output.jsonl"

    def extract() -> Iterator[Any]:
        with output.open("w") as sink:
            sys.stdout = sink
            try:
                launch(source, ["read", "--config", str(config), "--catalog", str(catalog)])
            finally:
                sys.stdout = sys.__stdout__
        return iter(_peer.records_in(output, "airbyte"))

    _peer.measure(
        extract,
        client=f"airbyte-source-bigcommerce {_peer.version('airbyte-source-bigcommerce')} "
        f"(airbyte-cdk {_peer.version('airbyte-cdk')})",
    )


if __name__ == "__main__":
    main()
