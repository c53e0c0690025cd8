"""(c) The official ``bigcommerce`` client: ``Orders.iterall`` (pages of 250 by page number).

Its connection hard-codes ``https://``; the runner points it at the sandbox by replacing
``Connection.full_path`` in this process (nothing of the package is copied or changed on disk).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from email.utils import format_datetime
from typing import Any

import _peer
import bigcommerce
from bigcommerce.connection import Connection


def main() -> None:
    args = _peer.arguments()
    scheme, host = args.base_url.split("://", 1)

    def full_path(self: Any, url: str) -> str:
        return f"{scheme}://{self.host}{self.api_path.format(url)}"

    Connection.full_path = full_path
    since = format_datetime(datetime.fromisoformat(args.since))

    def extract() -> Iterator[int]:
        api = bigcommerce.api.BigcommerceApi(host=host, basic_auth=(args.username, args.password))
        for order in api.Orders.iterall(min_date_modified=since, sort="date_modified:asc"):
            yield order.id

    _peer.measure(extract, client=f"bigcommerce {_peer.version('bigcommerce')}")


if __name__ == "__main__":
    main()
